"""Benchmark: how fast Momentum's Slack endpoint acknowledges signed slash commands and button clicks.

Side by side in one run, on loopback: Momentum's ``/slack/events`` (``mount()``: Bolt with the
real core behind it, the core's work done after the ack) and a bare async Bolt app on aiohttp
whose listeners only ``ack()`` (Bolt's defaults; and, for reference, with
``process_before_response=True`` as Momentum uses).  For 10 and 50 concurrent clients each
configuration gets a bounded number of signed requests; printed: p50/p99 latency and requests/s.
Outbound Web API calls and response_url posts go to a fake Slack on loopback.

Run: ``.venv/bin/python benchmarks/slack_ack.py [--requests 2000]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import statistics
import sys
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.settings import SlackSettings
from adapters.slack.web import SLACK_RUNTIME, mount
from bot.app import Momentum
from bot.model.clock import FakeClock
from bot.model.config import Settings
from storage.db import Database
from storage.migrate import upgrade
from tests.slack.conftest import BOT_TOKEN, SIGNING_SECRET, Signer
from tests.slack.fake_slack import FakeSlack

_LOGGER = logging.getLogger(__name__)
FORM = "application/x-www-form-urlencoded"


def bare_app(fake: FakeSlack, *, process_before_response: bool) -> web.Application:
    bolt = AsyncApp(
        signing_secret=SIGNING_SECRET,
        client=AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url),
        process_before_response=process_before_response,
    )

    async def only_ack(ack: Any) -> None:
        await ack()

    bolt.command("/momentum")(only_ack)
    bolt.action(re.compile(".*"))(only_ack)

    async def handler(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", handler)
    return app


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/slack/events"


def bodies(fake: FakeSlack) -> dict[str, str]:
    command = urllib.parse.urlencode(
        {
            "team_id": "T1",
            "team_domain": "acme",
            "channel_id": "D1",
            "user_id": "USAM",
            "user_name": "sam",
            "command": "/momentum",
            "text": "help",
            "api_app_id": "A1",
            "response_url": fake.response_url("bench"),
            "trigger_id": "1.2.3",
        }
    )
    click = urllib.parse.urlencode(
        {
            "payload": json.dumps(
                {
                    "type": "block_actions",
                    "team": {"id": "T1"},
                    "user": {"id": "USAM", "team_id": "T1"},
                    "api_app_id": "A1",
                    "trigger_id": "1.2.4",
                    "response_url": fake.response_url("bench"),
                    "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "D1"},
                    "channel": {"id": "D1"},
                    "message": {"ts": "1700000000.000100", "blocks": []},
                    "actions": [{"action_id": "bench.unknown#1", "value": "x", "type": "button", "block_id": "b"}],
                }
            )
        }
    )
    return {"command": command, "click": click}


async def load(url: str, body: str, concurrency: int, total: int) -> tuple[list[float], float]:
    signer = Signer()
    headers = signer.headers(body, content_type=FORM)  # fresh for 5 minutes: sign once
    latencies: list[float] = []
    counter = iter(range(total))
    errors = 0

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        for _ in counter:
            t = time.perf_counter()
            async with session.post(url, data=body.encode(), headers=headers) as r:
                await r.read()
                if r.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - t)

    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"{errors} requests failed")
    return latencies, total / elapsed


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


async def run(total: int) -> int:
    logging.basicConfig(level=logging.ERROR)
    fake = await FakeSlack().start()
    fake.add_user("USAM", "Sam", "sam@example.com")
    tmp = Path(tempfile.mkdtemp())
    db = Database(f"sqlite:///{tmp / 'bench.db'}")
    upgrade(db.engine)
    momentum = Momentum(db, Settings(MOMENTUM_SECRET_KEY="bench"), FakeClock(datetime(2026, 1, 5, 9, tzinfo=UTC)))
    ours = web.Application()
    mount(
        ours,
        momentum,
        SlackSettings(SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=fake.api_url),
    )
    runtime = ours[SLACK_RUNTIME]
    apps = {
        "momentum": ours,
        "bare bolt (defaults)": bare_app(fake, process_before_response=False),
        "bare bolt (pbr=True)": bare_app(fake, process_before_response=True),
    }
    urls: dict[str, str] = {}
    runners = []
    for name, app in apps.items():
        runner, urls[name] = await serve(app)
        runners.append(runner)
    reqs = bodies(fake)
    # Warm up: auth.test, profile cache, the core's first queries.
    for name in apps:
        for body in reqs.values():
            await load(urls[name], body, 2, 20)
    await runtime.drain()

    results: dict[tuple[str, str, int], tuple[float, float, float]] = {}
    print(f"{'app':22} {'request':8} {'conc':>4} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}")
    for concurrency in (10, 50):
        for kind, body in reqs.items():
            for name in apps:
                lat, rps = await load(urls[name], body, concurrency, total)
                results[(name, kind, concurrency)] = (pct(lat, 50), pct(lat, 99), rps)
                print(f"{name:22} {kind:8} {concurrency:>4} {pct(lat, 50):8.2f} {pct(lat, 99):8.2f} {rps:8.0f}")
                drain_t = time.perf_counter()
                await runtime.drain()  # the core's work after the acks (not timed as ack latency)
                if name == "momentum":
                    print(
                        f"{'':22} {'':8} {'':>4} core work after the acks drained in "
                        f"{time.perf_counter() - drain_t:.2f} s"
                    )

    ok = True
    print()
    for kind in reqs:
        m10, b10 = results[("momentum", kind, 10)], results[("bare bolt (defaults)", kind, 10)]
        m50, b50 = results[("momentum", kind, 50)], results[("bare bolt (defaults)", kind, 50)]
        c1 = m10[1] <= 50
        c2 = m10[1] <= 1.5 * b10[1]
        c3 = m50[2] >= 0.7 * b50[2]
        ok = ok and c1 and c2 and c3
        print(
            f"{kind}: p99@10 {m10[1]:.2f} ms (<= 50: {'ok' if c1 else 'MISS'}); "
            f"vs bare p99 {b10[1]:.2f} ms = {m10[1] / b10[1]:.2f}x (<= 1.5x: {'ok' if c2 else 'MISS'}); "
            f"req/s@50 {m50[2]:.0f} vs bare {b50[2]:.0f} = {m50[2] / b50[2]:.2f}x "
            f"(>= 0.7x: {'ok' if c3 else 'MISS'})"
        )
    print("RESULT:", "PASS" if ok else "FAIL")
    for runner in runners:
        await runner.cleanup()
    await fake.stop()
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per configuration")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(run(args.requests)))


if __name__ == "__main__":
    main()
