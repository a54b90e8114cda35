"""A morning's burst of check-in clicks from one Slack workspace against a real ``momentum serve``.

N sponsorees (default 5,000) click "We met" on their check-in, spread evenly over ``--spread`` seconds
(default 300: Slack's "within 5 minutes"), against a fake Slack on loopback that enforces chat.update's
Tier 3 (~50 per minute per workspace, 429 + Retry-After). Every answer must arrive - the message
replaced (through the click's response_url, or chat.update as the fallback) AND the check-in stored -
within 60 s of the last click. Prints the time to drain after the last click, ack latency, how the
messages were replaced, and the server's RSS before and after (the backlog lives in the inbox table,
not in memory).

``--spread`` smaller than 300 compresses time: the same clicks arrive faster, so the backlog at the last
click is larger and the drain harder; nothing here is paced by the clock except chat.update's tier,
which the fast path does not use (a run that needed chat.update would show it in the figures).

    .venv/bin/python benchmarks/click_burst.py [--n 5000] [--spread 300] [--db sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.model.signing import Signer, derive_key
from storage.db import Database
from storage.migrate import upgrade
from tests.helpers.click_burst import body_of, checkins_stored, seed_checkins
from tests.helpers.pg import migrated_schema
from tests.helpers.serve_proc import Serve, post_signed
from tests.slack.fake_slack import FakeSlack

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DRAIN_LIMIT_S = 60.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def run(url: str, workdir: Path, n: int, spread: float) -> None:
    db = Database(url)
    clicks = seed_checkins(db.engine, n, datetime.now(UTC), Signer(derive_key("serve-test-secret")))
    fake = await FakeSlack().start()
    fake.enforce_update_tier(50)
    serve = Serve(url, fake, workdir, extra_env={"MOMENTUM_INBOX_LEASE_S": "60"})  # the default lease
    await serve.start()
    assert serve.proc is not None
    try:
        await asyncio.sleep(2)  # the scheduler's first planning pass at start-up
        rss_before = rss_mb(serve.proc.pid)
        acks: list[float] = []
        statuses: list[int] = []
        gate = asyncio.Semaphore(200)
        t0 = time.monotonic()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as s:

            async def click(i: int) -> None:
                await asyncio.sleep(max(0.0, t0 + i * spread / n - time.monotonic()))
                async with gate:
                    start = time.monotonic()
                    statuses.append(await post_signed(s, serve.url, body_of(fake, clicks[i])))
                    acks.append(time.monotonic() - start)

            await asyncio.gather(*(click(i) for i in range(n)))
        last_click = time.monotonic()
        rss_peak = rss_mb(serve.proc.pid)
        while time.monotonic() - last_click < DRAIN_LIMIT_S * 3:
            replaced = len(set(fake.response_keys)) + len(fake.of("chat.update")) - fake.update_429
            if replaced >= n and checkins_stored(db.engine) >= n:
                break
            rss_peak = max(rss_peak, rss_mb(serve.proc.pid))
            await asyncio.sleep(0.2)
        drain = time.monotonic() - last_click
        rss_after = rss_mb(serve.proc.pid)
        stored = checkins_stored(db.engine)
    finally:
        serve.stop_quietly()
        if serve.log is not None and serve.log.exists():
            Path("/tmp/click_burst_serve.log").write_bytes(serve.log.read_bytes())
        fake.release_holds()
        await fake.stop()
        db.dispose()
    acks.sort()
    ok = sum(1 for st in statuses if st == 200)
    print(f"click_burst n={n} spread={spread:g}s: acked {ok}/{n} (ack p50 {statistics.median(acks) * 1000:.0f} ms, "
          f"p99 {acks[int(len(acks) * 0.99) - 1] * 1000:.0f} ms); clicks took {last_click - t0:.1f} s")
    print(f"  drained {drain:.1f} s after the last click (limit {DRAIN_LIMIT_S:g} s): "
          f"replaced via response_url {len(set(fake.response_keys))} (posted twice: "
          f"{len(fake.response_keys) - len(set(fake.response_keys))}), via chat.update {len(fake.of('chat.update'))} "
          f"(429s {fake.update_429}), check-ins stored {stored}")
    print(f"  server RSS before {rss_before:.0f} MB, peak {rss_peak:.0f} MB, after {rss_after:.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--spread", type=float, default=300.0)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.db == "sqlite":
            url = f"sqlite:///{workdir / 'bench.db'}"
            db = Database(url)
            upgrade(db.engine)
            db.dispose()
            asyncio.run(run(url, workdir, args.n, args.spread))
        else:
            with migrated_schema(PG_URL, "burst") as url:
                asyncio.run(run(url, workdir, args.n, args.spread))


if __name__ == "__main__":
    main()
