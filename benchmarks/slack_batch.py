"""Benchmark: a weekly batch of 5,000 Slack DMs through the core delivery, against Slack-like limits.

A fake Slack Web API on loopback allows 100 requests/s per method (429 + Retry-After: 1
beyond).  The core plans the week for enough pairs (``momentum.plan``), the week's prompts are
all made due at once (the worst case), and ``momentum.deliver_due`` sends them through the
real ``SlackPlatform`` (conversations.open for first contact, chat.postMessage always), paced by
the adapter's per-workspace limiters.  Printed: time against the floor (the busiest method's
calls / 100 s), 429s met, duplicates and losses.

Run: ``.venv/bin/python benchmarks/slack_batch.py [--prompts 5000] [--rate 100]``
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import select

from adapters.slack.runtime import SlackRuntime
from adapters.slack.settings import SlackSettings
from benchmarks._seed import seed_platform_pairs, week_at_once
from bot.app import Momentum
from bot.model.clock import FakeClock
from bot.model.config import Settings
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Prompt
from tests.slack.fake_slack import FakeSlack

_LOGGER = logging.getLogger(__name__)

TEAM = "T1"
START = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)  # a Monday


def seed(momentum: Momentum, pairs: int) -> None:
    seed_platform_pairs(momentum, "slack", TEAM, pairs, START, lambda n: f"U{n:07d}")


async def run(target: int, rate: float, pace: float) -> int:
    logging.basicConfig(level=logging.WARNING)
    fake = await FakeSlack(team_id=TEAM, per_method_rate=rate).start()
    tmp = Path(tempfile.mkdtemp())
    db = Database(f"sqlite:///{tmp / 'bench.db'}")
    upgrade(db.engine)
    clock = FakeClock(START)
    settings = Settings(MOMENTUM_SECRET_KEY="bench", MOMENTUM_WORKER_BATCH=500, MOMENTUM_WORKER_CONCURRENCY=32)
    momentum = Momentum(db, settings, clock)
    per_min = pace * 60
    slack = SlackSettings(
        SLACK_SIGNING_SECRET="be" * 16,  # 32 hex digits, the shape Slack issues
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_API_URL=fake.api_url,
        SLACK_RATE_POST_PER_MIN=per_min,
        SLACK_RATE_OPEN_PER_MIN=per_min,
    )
    runtime = SlackRuntime(momentum, slack)
    momentum.register_platform(runtime.platform)

    pairs = -(-target // 3) + 1  # the journey holds about three prompts per pair and week
    seed(momentum, pairs)
    momentum.plan(START)
    due_ids, end = week_at_once(db, START, target)
    planned = len(due_ids)
    clock.set(end)

    t0 = time.perf_counter()
    rounds = 0
    while True:
        rounds += 1
        await momentum.deliver_due(end)
        with db.session() as s:
            left = s.exec(
                select(Prompt).where(
                    Prompt.id.in_(due_ids),  # type: ignore[union-attr]
                    Prompt.status.in_(("pending", "sending")),
                )
            ).all()
        if not left or rounds > 50:
            break
        end = max(p.next_attempt_at for p in left).replace(tzinfo=UTC) + timedelta(seconds=1)
        clock.set(end)
    elapsed = time.perf_counter() - t0

    with db.session() as s:
        rows = s.exec(select(Prompt).where(Prompt.id.in_(due_ids))).all()  # type: ignore[union-attr]
    sent = [p for p in rows if p.status == "sent"]
    ok_posts = [c for c in fake.calls if c.method == "chat.postMessage" and not c.rejected]
    opens = len(fake.of("conversations.open"))
    posts_by_key = Counter((c.body["channel"], c.body["text"], str(c.body["blocks"])) for c in ok_posts)
    refs = Counter((p.platform_ref or {}).get("ts") for p in sent)
    duplicates = sum(n - 1 for n in refs.values() if n > 1)
    accepted = len(ok_posts)
    duplicates += max(0, accepted - len(sent))
    lost = planned - len(sent)
    busiest = max(accepted, opens - _rejected(fake, "conversations.open"))
    floor = busiest / rate
    print(f"prompts planned for the week   : {planned}  ({pairs} pairs)")
    print(f"prompts sent                   : {len(sent)}")
    print(f"chat.postMessage accepted      : {accepted}")
    print(f"conversations.open accepted    : {opens - _rejected(fake, 'conversations.open')}")
    print(f"429s from the fake Slack       : {fake.rejected_429}")
    print(f"adapter pacing                 : {pace:g} calls/s per method (fake allows {rate:g})")
    print(f"delivery rounds                : {rounds}")
    print(f"time to deliver all            : {elapsed:.2f} s")
    print(f"floor at {rate:g} req/s per method : {floor:.2f} s")
    print(f"ratio to floor                 : {elapsed / floor:.3f}x (target <= 1.1x)")
    print(f"duplicates                     : {duplicates}  (max identical posts: {max(posts_by_key.values())})")
    print(f"lost                           : {lost}")
    await runtime.close()
    await fake.stop()
    ok = duplicates == 0 and lost == 0 and elapsed / floor <= 1.1
    print("RESULT                         :", "PASS" if ok else "FAIL")
    return 0 if ok else 1


def _rejected(fake: FakeSlack, method: str) -> int:
    return sum(1 for c in fake.calls if c.method == method and c.rejected)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=100.0, help="the fake's limit per method (req/s)")
    parser.add_argument("--pace", type=float, default=None, help="the adapter's pacing (req/s); default rate")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(run(args.prompts, args.rate, args.pace or args.rate)))


if __name__ == "__main__":
    main()
