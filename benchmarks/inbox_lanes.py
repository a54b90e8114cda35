"""Benchmark: nothing in the inbox holds up the rest (``adapters.inbox.InboxPool`` on a real database).

- *Unreadable rows*: ``--unreadable`` rows sealed with a key that is no longer configured are in the inbox
  when 12 new commands arrive; how long until all 12 are answered, and how many claims that took.
- *Slow poison rows*: 16 rows whose processing fails after ``--poison-s`` seconds, then 12 other people's
  commands; each person's wait from its accept to its answer (median, max).

Run: ``.venv/bin/python benchmarks/inbox_lanes.py [--backend sqlite,postgres] [--unreadable 50000]
[--poison-s 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.inbox import InboxPool
from benchmarks._seed import database, machine
from bot.app import Momentum
from bot.model.config import Settings
from storage import inbox
from storage.crypto import SecretBox
from storage.db import Database


async def unreadable(db: Database, n: int) -> str:
    m = Momentum(db, Settings(MOMENTUM_SECRET_KEY="the new key"))
    old = SecretBox("a key rotated away")
    rows = [inbox.New(f"old{i}", "slack", "command", {"text": "help"}) for i in range(n)]
    for i in range(0, n, 1000):
        inbox.accept_many(db, rows[i:i + 1000], old)
    claims = 0
    real = inbox.claim

    def counted(*a: Any, **kw: Any) -> list[inbox.Item]:
        nonlocal claims
        claims += kw.get("lane") == "main"
        return real(*a, **kw)

    inbox.claim = counted  # type: ignore[assignment]
    answered: list[float] = []

    async def handler(item: inbox.Item) -> bool:
        answered.append(time.monotonic())
        return True

    pool = InboxPool(m, sweep_s=3600)
    pool.register("slack", handler)
    pool.start()
    t0 = time.monotonic()
    for i in range(12):
        await pool.accept(f"new{i}", "slack", "command", {"n": i})
    while len(answered) < 12:
        await asyncio.sleep(0.01)
    took = max(answered) - t0
    await pool.stop(grace_s=0.5)
    inbox.claim = real  # type: ignore[assignment]
    return (f"{n:,} unreadable rows: 12 of 12 new commands answered in {took:.2f} s, {claims} claims, "
            f"parked {inbox.parked(db)}")


async def poison(db: Database, slow_s: float) -> str:
    m = Momentum(db, Settings(MOMENTUM_SECRET_KEY="k"))
    waits: list[float] = []
    accepted: dict[int, float] = {}

    async def handler(item: inbox.Item) -> bool:
        if item.payload.get("poison"):
            await asyncio.sleep(slow_s)
            raise RuntimeError("poison")
        waits.append(time.monotonic() - accepted[item.payload["n"]])
        return True

    pool = InboxPool(m)
    pool.register("slack", handler)
    pool.start()
    for i in range(16):
        await pool.accept(f"poison{i}", "slack", "action", {"poison": True})
    for i in range(12):
        accepted[i] = time.monotonic()
        await pool.accept(f"person{i}", "slack", "command", {"n": i})
    while len(waits) < 12:
        await asyncio.sleep(0.01)
    await pool.stop(grace_s=0.5)
    return (f"16 poison rows failing after {slow_s:g} s, 8 workers: other people's wait median "
            f"{statistics.median(waits):.2f} s, max {max(waits):.2f} s")


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default="sqlite,postgres")
    ap.add_argument("--unreadable", type=int, default=50_000)
    ap.add_argument("--poison-s", type=float, default=5.0)
    args = ap.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backend.split(","):
            for case in (lambda db: unreadable(db, args.unreadable), lambda db: poison(db, args.poison_s)):
                with database(backend, Path(tmp)) as url:
                    db = Database(url)
                    try:
                        print(f"{backend}: {await case(db)}")
                    finally:
                        db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
