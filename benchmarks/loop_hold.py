"""Benchmark: how long one interaction holds the event loop, per kind of interaction.

A sampling task wakes every 5 ms and records how late it woke (the loop lag): while the core
works on the database executor the loop stays free and the lag stays near zero; when a unit of
work runs on the loop itself the lag is the time it held it. Each kind is run ``--rounds`` times,
one after another, against ``--pairs`` seeded pairs on SQLite (or PostgreSQL with ``--backend
postgres``). Then the admin mix: `me` commands while reports run back to back. ``--inline``
runs every unit of work on the loop instead (what the core did before the database executor),
for a side-by-side figure. Printed: the loop lag p50/p99/max and the interaction latency
p50/p99 per kind, and the `me` latency under the admin mix.

Run: ``.venv/bin/python benchmarks/loop_hold.py [--pairs 2000] [--rounds 20] [--inline]``
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

from sqlalchemy import update

from benchmarks._seed import database, machine, seed_pairs
from bot.app import Momentum
from bot.model.clock import FakeClock
from bot.model.config import Settings
from bot.model.interactions import Interaction, InteractionKind, Profile
from storage.db import Database
from storage.models import Person
from tests.fakes import RecordingPlatform

TICK_S = 0.005
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


async def sampled(fn: Callable[[], Any]) -> tuple[list[float], float]:
    """Run ``fn()`` (a coroutine function) while sampling the loop lag; (lags in s, elapsed s)."""
    lags: list[float] = []
    stop = asyncio.Event()

    async def sampler() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            t = loop.time()
            await asyncio.sleep(TICK_S)
            lags.append(max(0.0, loop.time() - t - TICK_S))

    task = asyncio.create_task(sampler())
    await asyncio.sleep(0)
    started = time.perf_counter()
    await fn()
    elapsed = time.perf_counter() - started
    stop.set()
    await task
    return lags, elapsed


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--inline", action="store_true", help="run units of work on the loop (the old way)")
    args = ap.parse_args()
    print(machine())
    print(f"{args.backend}, {args.pairs} pairs, {args.rounds} rounds per kind, "
          f"units of work {'ON THE LOOP (--inline)' if args.inline else 'on the database executor'}")
    if args.inline:
        async def inline(self: Database, fn: Callable[..., Any], *a: Any, **kw: Any) -> Any:
            return fn(*a, **kw)

        Database.run = inline  # type: ignore[method-assign,assignment]
    with tempfile.TemporaryDirectory() as tmp, database(args.backend, Path(tmp)) as url:
        db = Database(url)
        seeded = seed_pairs(db.engine, args.pairs, NOW)
        with db.engine.begin() as c:
            c.execute(update(Person.__table__).where(Person.__table__.c.id == seeded.sponsors[0])  # type: ignore[attr-defined]
                      .values(is_granted_admin=True))
        fake = RecordingPlatform()
        m = Momentum(db, Settings(MOMENTUM_SECRET_KEY="bench"), FakeClock(NOW), {"test": fake})
        ext = {pid: f"U{n:07d}" for n, pid in enumerate(sorted(seeded.sponsors + seeded.sponsorees))}
        admin, junior = ext[seeded.sponsors[0]], ext[seeded.sponsorees[1]]
        for n in range(args.rounds * 2):
            fake.people[f"UNEW{n:04d}"] = Profile(external_id=f"UNEW{n:04d}", name=f"New {n}", tz="UTC")
        counter = iter(range(10**6))

        def cmd(user: str, text: str) -> Callable[[], Any]:
            async def go() -> None:
                await m.handle(Interaction("test", "T1", user, InteractionKind.COMMAND, text=text,
                                           profile=Profile(external_id=user)))
            return go

        def new_pair() -> Callable[[], Any]:
            n = next(counter)
            return cmd(admin, f"pair <@UNEW{2 * n:04d}> <@UNEW{2 * n + 1:04d}> Bench")

        kinds: dict[str, Callable[[], Callable[[], Any]]] = {
            "help": lambda: cmd(junior, "help"),
            "me": lambda: cmd(junior, "me"),
            "win": lambda: cmd(junior, "win shipped the thing"),
            "pair (2 look-ups)": new_pair,
            "report (admin)": lambda: cmd(admin, "report"),
        }
        print(f"{'kind':<20} {'lag p50 ms':>11} {'lag p99 ms':>11} {'lag max ms':>11} "
              f"{'latency p50 ms':>15} {'latency p99 ms':>15}")
        for name, make in kinds.items():
            all_lags: list[float] = []
            took: list[float] = []
            for _ in range(args.rounds):
                lags, elapsed = await sampled(make())
                all_lags += lags
                took.append(elapsed)
            print(f"{name:<20} {pct(all_lags, .5) * 1e3:>11.1f} {pct(all_lags, .99) * 1e3:>11.1f} "
                  f"{max(all_lags, default=0) * 1e3:>11.1f} {statistics.median(took) * 1e3:>15.1f} "
                  f"{pct(took, .99) * 1e3:>15.1f}")
        # The admin mix: reports run back to back while other people's `me` commands come in.
        stop = asyncio.Event()

        async def reports() -> None:
            while not stop.is_set():
                await cmd(admin, "report")()
                await asyncio.sleep(0)  # the next report arrives over the network: a turn for others

        busy = asyncio.create_task(reports())
        await asyncio.sleep(0.05)
        took = []
        t0 = time.perf_counter()
        for i in range(args.rounds * 5):  # one `me` due every 50 ms; latency counts from when it was due
            due = t0 + i * 0.05
            if due > time.perf_counter():
                await asyncio.sleep(due - time.perf_counter())
            await cmd(junior, "me")()
            took.append(time.perf_counter() - due)
        stop.set()
        await busy
        print(f"admin mix: `me` while reports run back to back: latency p50 {statistics.median(took) * 1e3:.1f} ms, "
              f"p99 {pct(took, .99) * 1e3:.1f} ms, max {max(took) * 1e3:.1f} ms ({len(took)} commands)")
        db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
