"""Benchmark: delivery through the core with a zero-latency fake platform, in prompts per second.

N due prompts (half weekly check-ins to sponsorees, half sponsor nudges with their digest) are
seeded in bulk; one ``Momentum.deliver_due(now)`` call claims, composes, "sends" and records them
all with the default batch size and concurrency.  The platform returns at once, so the figure is
the core's own overhead.  Target: >= 1,000 prompts/s on SQLite (under 1 ms per prompt).

Run: ``.venv/bin/python benchmarks/delivery_bench.py [--prompts 20000] [--backend sqlite,postgres]``
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._seed import count_by_status, database, machine, seed_due_prompts, seed_pairs
from bot.app import Momentum
from bot.model.clock import FakeClock
from bot.model.config import Settings
from bot.model.messages import Message
from bot.model.ports import Delivered
from storage.db import Database
from tests.helpers.platforms import SendOnlyPlatform

NOW = datetime(2026, 3, 3, 10, 30, tzinfo=UTC)
TARGET_PER_S = 1000.0


class InstantPlatform(SendOnlyPlatform):
    """Accepts every message at once and only counts them."""

    def __init__(self) -> None:
        self.sent = 0

    async def deliver(self, message: Message) -> Delivered:
        self.sent += 1
        return Delivered(ref={"ts": str(self.sent)})


def measure(backend: str, prompts: int, workdir: Path, profile: bool) -> dict[str, float]:
    with database(backend, workdir) as url:
        db = Database(url)
        seeded = seed_pairs(db.engine, prompts // 2, NOW)
        seed_due_prompts(db.engine, seeded, NOW - timedelta(minutes=30))
        platform = InstantPlatform()
        m = Momentum(db, Settings(), FakeClock(NOW), {"test": platform})
        prof = cProfile.Profile() if profile else None
        t = time.perf_counter()
        if prof:
            prof.enable()
        stats = asyncio.run(m.deliver_due(NOW, worker_id="bench"))
        if prof:
            prof.disable()
        took = time.perf_counter() - t
        statuses = count_by_status(db.engine)
        db.dispose()
        if prof:
            pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
    if stats.sent != prompts or platform.sent != prompts or statuses != {"sent": prompts}:
        raise SystemExit(f"{backend}: expected {prompts} sent, got {stats} / {platform.sent} / {statuses}")
    return {"s": took, "per_s": prompts / took, "ms": took / prompts * 1000}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompts", type=int, default=20_000)
    ap.add_argument("--backend", default="sqlite,postgres")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of the delivery run")
    args = ap.parse_args()
    s = Settings()
    print(machine())
    print(
        f"{args.prompts:,} due prompts (check-ins and nudges), batch {s.worker_batch}, "
        f"concurrency {s.worker_concurrency}, zero-latency platform; target >= {TARGET_PER_S:,.0f}/s on SQLite"
    )
    print(f"{'backend':<9} {'prompts':>8} {'seconds':>8} {'prompts/s':>10} {'ms/prompt':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in (b.strip() for b in args.backend.split(",")):
            r = measure(backend, args.prompts, Path(tmp), args.profile)
            verdict = ""
            if backend == "sqlite":
                verdict = "  meets the target" if r["per_s"] >= TARGET_PER_S else "  MISSES the target"
            print(
                f"{backend:<9} {args.prompts:>8,} {r['s']:>8.2f} {r['per_s']:>10,.0f} {r['ms']:>10.3f}{verdict}",
                flush=True,
            )


if __name__ == "__main__":
    main()
