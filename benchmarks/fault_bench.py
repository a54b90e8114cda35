"""Benchmark: what riding out database faults costs.

- The write probe ``/healthz`` runs (``storage.faults.probe_writes``: a page-sized row, rolled back),
  ``--probes`` times uncached: p50 / p99.
- `report` through the core with writes working, and while writes fail (SQLite: ``PRAGMA query_only``
  on every connection; PostgreSQL: sessions with ``default_transaction_read_only``): the first attempt
  fails on its incidental writes and the read-only retry answers; p50 / p95 over ``--runs``.

Run: ``.venv/bin/python benchmarks/fault_bench.py [--pairs 2000] [--runs 9] [--probes 200]
[--backend sqlite,postgres]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._seed import database, machine, seed_pairs

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def _timed(fn: Callable[[], object], runs: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def measure(backend: str, pairs: int, runs: int, probes: int, workdir: Path) -> dict[str, Any]:
    from sqlalchemy import event, text

    from bot.app import Momentum
    from bot.model.clock import FakeClock
    from bot.model.config import Settings
    from bot.model.interactions import Interaction, InteractionKind, Profile
    from bot.outbox.faults import words
    from storage.db import Database
    from storage.faults import probe_writes
    from tests.helpers.seed import seed_history

    out: dict[str, Any] = {}
    with database(backend, workdir) as url:
        db = Database(url)
        seeded = seed_pairs(db.engine, pairs, NOW, weeks_in=8)
        seed_history(db.engine, seeded, NOW, weeks=8)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:  # as autovacuum would
            c.execute(text("VACUUM ANALYZE" if backend == "postgres" else "ANALYZE"))
        admin = Profile("U0000000", "Person 0", "p0@example.com", "UTC")
        settings = Settings(MOMENTUM_SECRET_KEY="bench", MOMENTUM_ADMINS=admin.email)

        def report(m: Momentum) -> Callable[[], object]:
            def run() -> object:
                r = asyncio.run(m.handle(Interaction("test", "T1", admin.external_id, InteractionKind.COMMAND,
                                                     text="report", profile=admin)))
                assert r.reply is not None and "Program health" in r.reply.text, r.reply
                return r
            return run

        out["probe"] = _timed(lambda: probe_writes(db.engine), probes)
        out["report ok"] = _timed(report(Momentum(db, settings, FakeClock(NOW))), runs)

        if backend == "sqlite":
            ro = db

            def query_only(dbapi: Any, *_: Any) -> None:
                dbapi.execute("PRAGMA query_only=1")

            event.listen(db.engine, "checkout", query_only)
        else:
            ro = Database(url.replace("options=-csearch_path", "options=-cdefault_transaction_read_only%3Don"
                                                               "%20-csearch_path"))
        fault = probe_writes(ro.engine)
        assert fault is not None and fault.kind == "read_only", fault
        m = Momentum(ro, settings, FakeClock(NOW))
        out["report ro"] = _timed(report(m), runs)
        r = asyncio.run(m.handle(Interaction("test", "T1", admin.external_id, InteractionKind.COMMAND, text="win Bench",
                                             profile=admin)))
        out["win ro"] = r.reply.text if r.reply else ""
        assert out["win ro"] in (words()["cant_save"], "") or "pair" in out["win ro"], out["win ro"]
        if ro is not db:
            ro.dispose()
        db.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=2_000)
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--probes", type=int, default=200)
    ap.add_argument("--backend", default="sqlite,postgres")
    args = ap.parse_args()
    print(machine())
    print(f"{args.pairs:,} pairs, 8 weeks of history; {args.probes} probes; report {args.runs} runs after a warm-up")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backend.split(","):
            r = measure(backend.strip(), args.pairs, args.runs, args.probes, Path(tmp))
            print(f"\n{backend}:")
            print(f"  write probe                    p50 {statistics.median(r['probe']):7.2f} ms   "
                  f"p99 {_pct(r['probe'], 0.99):7.2f} ms")
            for name, label in (("report ok", "report, writes working"), ("report ro", "report, writes failing")):
                print(f"  {label:<30} p50 {statistics.median(r[name]):7.1f} ms   p95 {_pct(r[name], 0.95):7.1f} ms")
            print(f"  `win` while writes fail answers: {r['win ro']!r}", flush=True)


if __name__ == "__main__":
    main()
