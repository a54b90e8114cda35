"""Benchmark: how fast Momentum's Slack endpoint acknowledges and answers, through the real Bolt server.

Three parts (``--part``), each on loopback against the real aiohttp server with ``mount()`` (Bolt with
the real core behind it, the core's work done after the ack):

- ``mix``: the admin mix at ``--pairs`` (20,000) seeded pairs with 8 weeks of history, on SQLite and
  PostgreSQL (``--backend``): rounds of 10 `report` (10 different admins) + 90 `me` (90 different
  people), shuffled, 50 concurrent clients. Printed: ack p50/p95/p99 and answer-delivered p50/p99 (the
  reply's arrival at its ``response_url``). Targets: ack p99 <= 100 ms on SQLite, <= 250 ms on PostgreSQL.
- ``help``: 50 concurrent clients sending `help` (50 different people) to Momentum (same database) and
  to a bare async Bolt app on aiohttp with one trivial command handler (Bolt's defaults), alternating,
  in the same run. Printed: requests/s (acks) of both and the ratio; target >= 0.9x the bare app's.
  Momentum's answers/s (every reply delivered) is printed beside it.
- ``basic``: the older side-by-side of command and click acks at 10 and 50 concurrent on an empty database.

Slack is played by another process (benchmarks/_slackload.py): it signs and sends the requests, serves
the fake Web API and the ``response_url``s, and measures, so neither the load nor the fake Slack takes
time on the event loop being measured.

Run: ``.venv/bin/python benchmarks/slack_ack.py [--part mix,help] [--backend sqlite,postgres] [--pairs 20000]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
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

from adapters.server import settle_heap
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


def bare_app(api_url: str, *, process_before_response: bool) -> web.Application:
    """A bare async Bolt app on aiohttp with one trivial command handler (and one for clicks)."""
    bolt = AsyncApp(
        signing_secret=SIGNING_SECRET,
        client=AsyncWebClient(token=BOT_TOKEN, base_url=api_url),
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
        SlackSettings(SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=fake.api_url,
                      SLACK_RESPONSE_URL_BASE=fake.response_url_base),
    )
    runtime = ours[SLACK_RUNTIME]
    apps = {
        "momentum": ours,
        "bare bolt (defaults)": bare_app(fake.api_url, process_before_response=False),
        "bare bolt (pbr=True)": bare_app(fake.api_url, process_before_response=True),
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


# --- Core v2: the admin mix at 20,000 pairs and `help` throughput against bare Bolt ----------------

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MIX_TARGET_MS = {"sqlite": 100.0, "postgres": 250.0}
HELP_TARGET = 0.9
REPORTS, MES = 10, 90


def q(values: list[float], p: float) -> float:
    """The p-th quantile (0..1) in ms, nearest rank."""
    xs = sorted(values)
    return xs[min(len(xs) - 1, max(0, round(p * (len(xs) - 1))))] * 1000 if xs else float("nan")


def ext(n: int) -> str:
    return f"U{n:07d}"  # tests/helpers/seed.py names person n like this


async def start_ours(url: str, api_url: str) -> tuple[web.AppRunner, str, Any, Database]:
    db = Database(url)
    momentum = Momentum(db, Settings(MOMENTUM_SECRET_KEY="bench"), FakeClock(NOW))
    app = web.Application()
    mount(app, momentum, slack_settings_for_url(api_url))
    runner, events_url = await serve(app)
    await app[SLACK_RUNTIME].register_single_workspace()
    settle_heap()  # as `momentum serve` does once started
    return runner, events_url, app[SLACK_RUNTIME], db


def slack_settings_for_url(api_url: str) -> SlackSettings:
    values: dict[str, Any] = {"SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_BOT_TOKEN": BOT_TOKEN,
                              "SLACK_API_URL": api_url,
                              # the stand-in takes response_url posts beside its Web API
                              "SLACK_RESPONSE_URL_BASE": api_url.removesuffix("api/") + "response/"}
    for family in ("POST", "OPEN", "UPDATE", "USERS", "VIEWS", "FILES"):  # pacing is not what is measured
        values[f"SLACK_RATE_{family}_PER_MIN"] = 60_000
    return SlackSettings(**values)


async def part_mix_and_help(backends: list[str], pairs: int, rounds: int, parts: set[str], help_n: int) -> bool:
    from sqlalchemy import text, update

    from benchmarks._seed import database, machine, seed_pairs
    from benchmarks._slackload import Job, SlackLoad
    from storage.models import Person
    from tests.helpers.seed import seed_history

    print(machine())
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    # the people the load speaks for: admins (sponsors 0..9), `me` senders (sponsorees), `help` senders
    admins = [2 * k for k in range(REPORTS)]
    mes = [2 * k + 1 for k in range(200)]
    users = [(ext(n), f"Person {n}", f"p{n}@example.com") for n in sorted(set(admins + mes))]
    load = SlackLoad(users).start()
    ok = True
    try:
        for backend in backends:
            with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as url:
                seed_db = Database(url)
                t = time.perf_counter()
                seeded = seed_pairs(seed_db.engine, pairs, NOW, platform="slack", workspace="T1", weeks_in=8)
                seed_history(seed_db.engine, seeded, NOW, weeks=8)
                with seed_db.engine.begin() as c:
                    c.execute(update(Person.__table__).where(  # type: ignore[attr-defined]
                        Person.__table__.c.id.in_([seeded.sponsors[k] for k in range(REPORTS)]))  # type: ignore[attr-defined]
                        .values(is_granted_admin=True))
                if backend == "postgres":  # what autovacuum would have done on a live database
                    with seed_db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                        c.execute(text("VACUUM ANALYZE"))
                else:
                    with seed_db.engine.begin() as c:
                        c.execute(text("ANALYZE"))
                seed_db.dispose()
                print(f"\n{backend}: {pairs:,} pairs with 8 weeks of history seeded in {time.perf_counter() - t:.1f} s")
                runner, events_url, runtime, db = await start_ours(url, load.api_url)
                try:
                    if "mix" in parts:
                        ok = await admin_mix(load, Job, events_url, runtime, backend, admins, mes, rounds) and ok
                    if "help" in parts:
                        ok = await help_vs_bare(load, Job, events_url, runtime, mes, help_n) and ok
                finally:
                    await runtime.drain()
                    await runner.cleanup()
                    db.dispose()
    finally:
        load.stop()
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return ok


async def admin_mix(load: Any, job: Any, url: str, runtime: Any, backend: str, admins: list[int],
                    mes: list[int], rounds: int) -> bool:
    rng = random.Random(7)
    # warm-up: every person once (profile cache, DM channels, first queries), not timed
    warm = [{"type": "command", "user": ext(n), "text": "me"} for n in mes[:MES]]
    warm += [{"type": "command", "user": ext(n), "text": "report"} for n in admins[:2]]
    await load.run(job(url, warm, 50))
    await runtime.drain()
    acks: dict[str, list[float]] = {"report": [], "me": []}
    answers: dict[str, list[float]] = {"report": [], "me": []}
    worst_round = 0.0
    for r in range(rounds):
        items = [{"type": "command", "user": ext(n), "text": "report", "key": f"r{r}-report-{n}"} for n in admins]
        items += [{"type": "command", "user": ext(n), "text": "me", "key": f"r{r}-me-{n}"} for n in mes[:MES]]
        rng.shuffle(items)
        res = await load.run(job(url, items, 50, wait_answers=True))
        if set(res.statuses) != {200}:
            raise RuntimeError(f"statuses {res.statuses}")
        for item, ack in zip(items, res.ack_s, strict=True):
            acks[item["text"]].append(ack)
            if item["key"] in res.answer_s:
                answers[item["text"]].append(res.answer_s[item["key"]])
        missing = len(items) - len(res.answer_s)
        if missing:
            raise RuntimeError(f"{missing} answers never arrived")
        worst_round = max(worst_round, res.answered_s)
        await runtime.drain()
    every = acks["report"] + acks["me"]
    every_answer = answers["report"] + answers["me"]
    target = MIX_TARGET_MS[backend]
    met = q(every, .99) <= target
    print(f"  admin mix: {rounds} rounds of {REPORTS} report + {MES} me, 50 concurrent ({len(every)} requests)")
    print(f"  {'':10} {'ack p50':>9} {'ack p95':>9} {'ack p99':>9} {'answer p50':>11} {'answer p99':>11}")
    for name, a in (("report", acks["report"]), ("me", acks["me"]), ("all", every)):
        b = answers[name] if name != "all" else every_answer
        print(f"  {name:10} {q(a, .5):9.1f} {q(a, .95):9.1f} {q(a, .99):9.1f} {q(b, .5):11.1f} {q(b, .99):11.1f}")
    print(f"  ack p99 {q(every, .99):.1f} ms (target <= {target:.0f} ms: {'meets' if met else 'MISSES'}); "
          f"answer-delivered p99 {q(every_answer, .99):.0f} ms; slowest round answered in {worst_round:.2f} s")
    return met


async def help_vs_bare(load: Any, job: Any, url: str, runtime: Any, mes: list[int], total: int,
                       runs: int = 5) -> bool:
    bare_runner, bare_url = await serve(bare_app(load.api_url, process_before_response=False))
    try:
        people = [ext(n) for n in mes[:50]]

        def items(tag: str) -> list[dict[str, Any]]:
            return [{"type": "command", "user": people[i % 50], "text": "help", "key": f"{tag}-{i}"}
                    for i in range(total)]

        await load.run(job(url, items("warm")[:200], 50, wait_answers=True))
        await load.run(job(bare_url, items("bwarm")[:200], 50))
        await runtime.drain()
        ours_rps: list[float] = []
        answered_rps: list[float] = []
        bare_rps: list[float] = []
        ours_cpu: list[float] = []
        bare_cpu: list[float] = []
        for r in range(runs):  # alternate, so both see the same machine; the ratio is taken per pair of runs
            c0 = time.process_time()
            res = await load.run(job(url, items(f"h{r}"), 50, wait_answers=True))
            await runtime.drain()
            ours_cpu.append((time.process_time() - c0) / total * 1000)
            if set(res.statuses) != {200} or len(res.answer_s) != total:
                raise RuntimeError(f"statuses {res.statuses}, {len(res.answer_s)} answers")
            ours_rps.append(total / res.elapsed_s)
            answered_rps.append(total / res.answered_s)
            c0 = time.process_time()
            bres = await load.run(job(bare_url, items(f"b{r}"), 50))
            bare_cpu.append((time.process_time() - c0) / total * 1000)
            if set(bres.statuses) != {200}:
                raise RuntimeError(f"bare statuses {bres.statuses}")
            bare_rps.append(total / bres.elapsed_s)
        ratio = statistics.median(o / b for o, b in zip(ours_rps, bare_rps, strict=True))
        met = ratio >= HELP_TARGET
        print(f"  help, 50 concurrent, {total} requests x {runs} alternating runs: momentum acks "
              f"{' / '.join(f'{x:.0f}' for x in ours_rps)} req/s (every answer delivered: "
              f"{' / '.join(f'{x:.0f}' for x in answered_rps)} answers/s); bare Bolt "
              f"{' / '.join(f'{x:.0f}' for x in bare_rps)} req/s")
        print(f"  server CPU per request (all threads): momentum {statistics.median(ours_cpu):.2f} ms to ack and "
              f"answer; bare Bolt {statistics.median(bare_cpu):.2f} ms to ack")
        print(f"  help req/s: momentum / bare per pair of runs, median {ratio:.2f}x "
              f"(target >= {HELP_TARGET}x: {'meets' if met else 'MISSES'})")
        return met
    finally:
        await bare_runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="mix,help", help="mix, help and/or basic")
    parser.add_argument("--backend", default="sqlite,postgres")
    parser.add_argument("--pairs", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5, help="admin-mix rounds of 100 requests")
    parser.add_argument("--help-requests", type=int, default=2000, help="help requests per run")
    parser.add_argument("--requests", type=int, default=2000, help="basic: requests per configuration")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    parts = {p.strip() for p in args.part.split(",")}
    ok = True
    if parts & {"mix", "help"}:
        backends = [b.strip() for b in args.backend.split(",")]
        ok = asyncio.run(part_mix_and_help(backends, args.pairs, args.rounds, parts, args.help_requests))
        print("RESULT:", "PASS" if ok else "FAIL")
    if "basic" in parts:
        ok = asyncio.run(run(args.requests)) == 0 and ok
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
