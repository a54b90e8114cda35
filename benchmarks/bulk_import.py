"""Benchmark: a 5,000-row CSV import of people all new to Momentum, through the real Slack server,
against a fake Slack that enforces Slack's documented tiers (users.list Tier 2: 20/min,
users.lookupByEmail Tier 3: 50/min; 429 + Retry-After beyond), with the production pacing and
real sleeps; meanwhile another person answers a check-in (a write) every ``--click-every`` seconds.

The workspace holds ``--members`` people (plus deactivated accounts, people without an email,
bots and Slackbot, as real member lists do). The CSV pairs ``--rows`` sponsorees with
``--sponsors`` sponsors, every one of them unknown to Momentum. Printed: the import's total time
(slash command sent -> the answer posted to its response_url), the Web API calls it made and the
429s met, and each click's ack latency (HTTP answer) and answer latency (until its message was
replaced with chat.update), before and during the import.

Run: ``.venv/bin/python benchmarks/bulk_import.py [--rows 5000] [--members 6100] [--sponsors 900]
[--backend sqlite|postgres]``
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiohttp import web
from sqlmodel import func, select

from adapters.slack.settings import SlackSettings
from adapters.slack.web import SLACK_RUNTIME, mount
from benchmarks._seed import database, machine
from bot.app import Momentum
from bot.model.clock import FakeClock
from bot.model.config import Settings
from storage.db import Database
from storage.models import CheckIn, Pair, Person
from tests.slack.conftest import BOT_TOKEN, SIGNING_SECRET, Signer, SlackServer
from tests.slack.fake_slack import FakeSlack
from tests.slack.test_privacy import _button

START = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)  # a Monday


async def serve(momentum: Momentum, fake: FakeSlack) -> tuple[web.AppRunner, SlackServer]:
    settings = SlackSettings(SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_BOT_TOKEN=BOT_TOKEN,
                             SLACK_API_URL=fake.api_url,  # production pacing: the defaults
                             SLACK_RESPONSE_URL_BASE=fake.response_url_base)
    app = web.Application()
    mount(app, momentum, settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    session = aiohttp.ClientSession()
    return runner, SlackServer(f"http://127.0.0.1:{port}", runner.app[SLACK_RUNTIME], fake, Signer(), session, [])


async def checkin_dm(server: SlackServer, momentum: Momentum, clock: FakeClock, user: str) -> dict[str, Any]:
    channel = server.fake.dm_channel(user)
    for _ in range(24 * 14):
        clock.advance(timedelta(hours=1))
        await momentum.db.run(momentum.plan, clock.now())
        await momentum.deliver_due(clock.now())
        for p in server.fake.of("chat.postMessage"):
            if p["channel"] == channel and any(
                    e.get("action_id", "").startswith("checkin.") for b in p.get("blocks", [])
                    if b["type"] == "actions" for e in b["elements"]):
                return p
    raise SystemExit(f"no check-in reached {user}")


def click_payload(server: SlackServer, message: dict[str, Any], button: dict[str, Any],
                  channel: str) -> dict[str, Any]:
    """A block_actions payload as Slack builds it; every click is a new one (its own action_ts and
    trigger_id), so none is taken for a replay of another."""
    CLICKS[0] += 1
    n = CLICKS[0]
    return {
        "type": "block_actions",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": "USAM", "team_id": "T1"},
        "api_app_id": "A1",
        "trigger_id": f"1337.{n}.efgh",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel},
        "message": {"ts": message["ts"], "blocks": message["blocks"]},
        "response_url": server.fake.response_url("act"),
        "actions": [{**button, "block_id": "b1", "action_ts": f"{time.time():.6f}"}],
    }


CLICKS = [0]


async def click(server: SlackServer, message: dict[str, Any], button: dict[str, Any],
                channel: str) -> tuple[float, float]:
    """One click; (ack seconds, answer seconds: until Slack shows the answer: the message replaced
    with chat.update, or a reply posted to the click's response_url)."""
    def shown() -> int:
        return sum(1 for u in server.fake.of("chat.update") if u["ts"] == message["ts"]) + len(server.fake.responses)

    before = shown()
    started = time.monotonic()
    status, _ = await server.interactive(click_payload(server, message, button, channel))
    ack = time.monotonic() - started
    if status != 200:
        raise SystemExit(f"click answered HTTP {status}")
    while shown() <= before:
        if time.monotonic() - started > 120:
            raise SystemExit("a click was not answered within 120 s")
        await asyncio.sleep(0.01)
    return ack, time.monotonic() - started


def summary(values: list[float]) -> str:
    if not values:
        return "n/a"
    ms = sorted(v * 1000 for v in values)
    return f"p50 {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms (n={len(ms)})"


async def run(rows: int, members: int, sponsors: int, click_every: float, backend: str) -> int:
    logging.basicConfig(level=logging.WARNING)
    fake = await FakeSlack().start()
    fake.add_user("UADMIN", "Ada", "admin@example.com")
    fake.add_user("USAM", "Sam", "sam@example.com", tz="America/New_York")
    fake.add_user("UKIM", "Kim", "kim@example.com", tz="Asia/Tokyo")
    emails = fake.add_members(members)
    if len(emails) < rows + sponsors:
        raise SystemExit(f"{members} members give {len(emails)} people with an email; need {rows + sponsors}")
    with database(backend, Path(tempfile.mkdtemp())) as url:
        print(machine())
        print(f"database: {backend}")
        return await measure(fake, emails, Database(url), rows, sponsors, members, click_every)


async def measure(fake: FakeSlack, emails: list[str], db: Database, rows: int, sponsors: int, members: int,
                  click_every: float) -> int:
    clock = FakeClock(START)
    momentum = Momentum(db, Settings(MOMENTUM_SECRET_KEY="bench", MOMENTUM_ADMINS="admin@example.com"), clock)
    runner, server = await serve(momentum, fake)
    try:
        await server.command("program create Pilot")
        await server.command("pair <@UKIM|kim> <@USAM|sam> Pilot")
        await server.settle()
        post = await checkin_dm(server, momentum, clock, "USAM")
        # Each click changes the stored answer (met / light touch in turn), so each one writes.
        buttons = [_button(post, "checkin.status", "met"), _button(post, "checkin.status", "light")]
        message = {"ts": fake.ts_of(post), "blocks": post["blocks"]}
        idle = [await click(server, message, buttons[i % 2], post["channel"]) for i in range(6)]

        spons, rees = emails[:sponsors], emails[sponsors:sponsors + rows]
        csv = "import sponsor_email,sponsoree_email,program\n" + "\n".join(
            f"{spons[i % sponsors]},{e},Pilot" for i, e in enumerate(rees))
        calls_before = len(fake.calls)
        replies_before = len(fake.responses)
        started = time.monotonic()
        status, _ = await server.command(csv)
        if status != 200:
            raise SystemExit(f"import answered HTTP {status}")

        def done() -> bool:
            return any("mport" in str(r.get("text", "")) for r in fake.responses[replies_before:])

        during: list[tuple[float, float]] = []
        clicked_at: list[float] = []
        while not done():
            clicked_at.append(time.monotonic() - started)
            during.append(await click(server, message, buttons[len(during) % 2], post["channel"]))
            end = time.monotonic() + click_every
            while not done() and time.monotonic() < end:
                await asyncio.sleep(0.02)
        total = time.monotonic() - started
        await server.settle()
        reply = next(str(r.get("text", "")) for r in fake.responses[replies_before:] if "mport" in str(r.get("text")))
        calls = fake.calls[calls_before:]
        with db.session() as s:
            pairs = s.exec(select(func.count()).select_from(Pair)).one()
            people = s.exec(select(func.count()).select_from(Person)).one()
            answer = s.exec(select(CheckIn.status)).one()
        if answer != ("met" if len(during) % 2 else "light"):
            raise SystemExit(f"the last click's answer was not stored: {answer}")
        print(f"workspace: {len(fake.users)} member records ({members} people generated); "
              f"CSV: {rows} rows, {rows + sponsors} people new to Momentum")
        print(f"import: {total:.1f} s total (target < 120 s) -> {reply[:90]!r}")
        for method in ("users.list", "users.lookupByEmail", "users.info"):
            n = [c for c in calls if c.method == method]
            print(f"  {method}: {len(n)} calls, {sum(1 for c in n if c.rejected)} answered 429")
        print(f"  stored: {pairs} pairs, {people} people")
        print(f"clicks while idle:          ack {summary([a for a, _ in idle])}; "
              f"answer {summary([b for _, b in idle])}")
        print(f"clicks during the import:   ack {summary([a for a, _ in during])}; "
              f"answer {summary([b for _, b in during])}")
        if during:
            worst = max(range(len(during)), key=lambda i: during[i][1])
            print(f"  slowest answer: {during[worst][1] * 1000:.0f} ms, clicked {clicked_at[worst]:.1f} s into the "
                  f"import; clicks came every {total / len(during):.1f} s (chat.update is paced at 50/min)")
        return 0 if total < 120 and pairs >= rows else 1
    finally:
        await server.runtime.drain()
        await server.session.close()
        await runner.cleanup()
        await fake.stop()
        db.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--members", type=int, default=6100, help="people in the Slack workspace")
    ap.add_argument("--sponsors", type=int, default=900, help="distinct sponsors among the rows")
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--click-every", type=float, default=1.0, help="seconds between clicks during the import")
    args = ap.parse_args()
    sys.exit(asyncio.run(run(args.rows, args.members, args.sponsors, args.click_every, args.backend)))


if __name__ == "__main__":
    main()
