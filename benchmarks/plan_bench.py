"""Benchmark: planning one week for N active pairs on SQLite and PostgreSQL: wall time and peak RSS.

Pairs are seeded in bulk (SQLAlchemy Core, not through commands), one program 4 weeks in, people
spread over 10 time zones and 7 countries.  Each measurement runs in a fresh subprocess: one
``plan(now)`` call (wall time, the process's peak RSS from ``getrusage``), then a second
``plan(now)`` that must create nothing (cost grows with the pairs that need work, not with history).
Targets on a 2-core machine: 100,000 pairs in <= 20 s and <= 400 MB, cost linear in pairs.

Run: ``.venv/bin/python benchmarks/plan_bench.py [--pairs 10000,100000] [--backend sqlite,postgres]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._seed import database, machine, seed_pairs

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # a Monday morning
TARGET_S, TARGET_MB = 20.0, 400.0
CHILD_TIMEOUT_S = 600


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(url: str) -> None:
    """Runs in its own process: plan twice, print one JSON line."""
    from bot.model.config import Settings
    from bot.outbox import planner
    from storage.db import Database

    db = Database(url)
    settings = Settings()
    with db.engine.connect():  # connect and warm imports before measuring
        pass
    base = _rss_mb()
    t = time.perf_counter()
    first = planner.plan(db, settings, NOW)
    t1 = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    second = planner.plan(db, settings, NOW)
    t2 = time.perf_counter() - t
    db.dispose()
    print(
        json.dumps(
            {
                "pairs": first.pairs,
                "prompts": first.prompts,
                "s": t1,
                "peak_mb": peak,
                "base_mb": base,
                "again_pairs": second.pairs,
                "again_prompts": second.prompts,
                "again_s": t2,
            }
        )
    )


def measure(backend: str, pairs: int, workdir: Path) -> dict[str, float]:
    with database(backend, workdir) as url:
        from sqlalchemy import text

        from storage.db import Database

        db = Database(url)
        t = time.perf_counter()
        seed_pairs(db.engine, pairs, NOW)
        if backend == "postgres":  # what autovacuum would have done on a live database
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM ANALYZE"))
        seeded_s = time.perf_counter() - t
        db.dispose()
        out = subprocess.run(
            [sys.executable, __file__, "--child", url],
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            check=False,
        )
        if out.returncode != 0:
            raise SystemExit(f"planning run failed:\n{out.stderr[-3000:]}")
        res: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
        res["seed_s"] = seeded_s
        return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", default="10000,100000", help="comma-separated pair counts")
    ap.add_argument("--backend", default="sqlite,postgres", help="sqlite, postgres or both")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    print(machine())
    print(
        f"planning one week from {NOW:%Y-%m-%d %H:%M} UTC; target {TARGET_S:.0f} s and {TARGET_MB:.0f} MB "
        "for 100,000 pairs"
    )
    print(
        f"{'backend':<9} {'pairs':>8} {'prompts':>8} {'plan s':>8} {'us/pair':>8} {'peak RSS MB':>12} "
        f"{'base MB':>8} {'re-plan s':>10} {'re-plan new':>12} {'seed s':>7}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backend.split(","):
            for pairs in (int(p) for p in args.pairs.split(",")):
                r = measure(backend.strip(), pairs, Path(tmp))
                print(
                    f"{backend:<9} {pairs:>8,} {int(r['prompts']):>8,} {r['s']:>8.2f} "
                    f"{r['s'] / pairs * 1e6:>8.1f} {r['peak_mb']:>12.0f} {r['base_mb']:>8.0f} "
                    f"{r['again_s']:>10.3f} {int(r['again_prompts']):>12} {r['seed_s']:>7.1f}",
                    flush=True,
                )
                ok = r["s"] <= TARGET_S * pairs / 100_000 and r["peak_mb"] <= TARGET_MB
                if pairs >= 100_000:
                    print(
                        f"          -> {'meets' if ok else 'MISSES'} the target "
                        f"({r['s']:.1f} s <= {TARGET_S:.0f} s, {r['peak_mb']:.0f} MB <= {TARGET_MB:.0f} MB)"
                    )


if __name__ == "__main__":
    main()
