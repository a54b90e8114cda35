"""Benchmark: a Teams team install into a 2,000-member team, on SQLite and PostgreSQL.

The real endpoint (``POST /api/messages``, the Agents SDK's ``CloudAdapter``) on loopback, the core on a
fresh database, a fake Bot Framework connector on loopback serving the roster in pages of 500
(``getPagedMembers`` with a continuation token), each page after ``--page-latency-ms``. Measured from
the moment the install activity is posted: the ack (the HTTP answer Teams waits for, at most 15 s) and
the time until every member is stored (the roster is read after the ack, one unit of work per page).
Targets (issue "Core v2"): ack < 1 s, stored < 10 s on PostgreSQL.

Run: ``.venv/bin/python benchmarks/teams_roster.py [--members 2000] [--runs 3] [--page-latency-ms 0]``
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiohttp import web
from sqlmodel import func, select

from adapters.teams.settings import TeamsSettings
from adapters.teams.web import TEAMS_BOT_KEY, mount
from benchmarks._seed import database, machine
from bot.app import Momentum
from bot.model.config import Settings
from storage.db import Database
from storage.models import Person
from tests.teams import activities as acts
from tests.teams.fake_connector import FakeConnector

ACK_TARGET_S = 1.0
STORED_TARGET_S = 10.0


def people(db: Database) -> int:
    with db.session() as s:
        return int(s.exec(select(func.count()).select_from(Person)).one())


async def one_install(url: str, members: int, page_latency_s: float) -> tuple[float, float]:
    """(ack seconds, stored seconds) for one install into a fresh team on the database at ``url``."""
    db = Database(url)
    momentum = Momentum(db, Settings(MOMENTUM_SECRET_KEY="bench"))
    fake = await FakeConnector(page_size=500, page_delay_s=page_latency_s).start()
    fake.add_team(members)
    app = web.Application()
    mount(app, momentum, TeamsSettings())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    bot = app[TEAMS_BOT_KEY]
    try:
        async with aiohttp.ClientSession() as session:
            t0 = time.perf_counter()
            async with session.post(f"http://127.0.0.1:{port}/api/messages",
                                    json=acts.team_install(fake.url, acts.ADMIN)) as r:
                await r.read()
                assert r.status == 201, r.status
            ack = time.perf_counter() - t0
            await bot.rosters.drain()
            stored = time.perf_counter() - t0
        count = await db.run(people, db)
        if count != members:
            raise SystemExit(f"stored {count} of {members} people")
        return ack, stored
    finally:
        await runner.cleanup()
        await fake.stop()
        db.dispose()


async def run(members: int, runs: int, page_latency_s: float) -> int:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("adapters.teams.web").setLevel(logging.ERROR)  # the local development mode notice
    print(machine())
    print(f"team install: {members} members, pages of 500, page latency {page_latency_s * 1000:.0f} ms, "
          f"{runs} runs per database")
    failed = 0
    workdir = Path(tempfile.mkdtemp())
    for backend in ("sqlite", "postgres"):
        acks: list[float] = []
        stores: list[float] = []
        for _ in range(runs):
            with database(backend, workdir) as url:
                ack, stored = await one_install(url, members, page_latency_s)
            acks.append(ack)
            stores.append(stored)
        ok = max(acks) < ACK_TARGET_S and (backend != "postgres" or max(stores) < STORED_TARGET_S)
        failed += not ok
        print(f"{backend:9s} ack median {statistics.median(acks) * 1000:7.0f} ms, max {max(acks) * 1000:7.0f} ms | "
              f"all {members} stored median {statistics.median(stores):6.2f} s, max {max(stores):6.2f} s | "
              f"{'OK' if ok else 'MISSED'} (targets: ack < {ACK_TARGET_S:.0f} s"
              f"{f', stored < {STORED_TARGET_S:.0f} s' if backend == 'postgres' else ''})")
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--page-latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    raise SystemExit(asyncio.run(run(args.members, args.runs, args.page_latency_ms / 1000)))


if __name__ == "__main__":
    main()
