"""Benchmark: a weekly batch of proactive Teams prompts through the core delivery, against Teams' limit.

A fake Bot Framework connector on loopback enforces 30 requests/s per tenant (429 + Retry-After
beyond).  The core plans the week for N pairs (``momentum.plan``) and delivers everything due
(``momentum.deliver_due``) through the real ``TeamsPlatform``/``CloudAdapter``.  Printed: prompts,
time against the floor (prompts / 30 s), 429s met, duplicates and losses.

Run: ``.venv/bin/python benchmarks/teams_batch.py [--prompts 1000]``
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

from sqlmodel import col, select

from adapters.teams.platform import TeamsPlatform
from adapters.teams.settings import TeamsSettings
from adapters.teams.web import create_adapter
from benchmarks._seed import seed_platform_pairs, week_at_once
from bot.app import Momentum
from bot.model.clock import FakeClock
from bot.model.config import Settings
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Prompt
from tests.teams.fake_connector import FakeConnector

_LOGGER = logging.getLogger(__name__)

TENANT = "bench-tenant"
LIMIT = 30  # Teams: 30 requests per second per app per tenant
START = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)  # a Monday


def address(fake: FakeConnector, n: int) -> dict[str, object]:
    return {
        "serviceUrl": fake.url,
        "channelId": "msteams",
        "bot": {"id": "28:bench-bot", "name": "Momentum"},
        "user": {"id": f"29:u{n}", "aadObjectId": f"aad-{n}", "name": f"Person {n}"},
        "conversation": {"id": f"a:chat-{n}", "conversationType": "personal", "tenantId": TENANT},
    }


def seed(momentum: Momentum, fake: FakeConnector, pairs: int) -> None:
    seed_platform_pairs(momentum, "teams", TENANT, pairs, START, lambda n: f"aad-{n}",
                        address=lambda n: address(fake, n))


async def run(target: int) -> int:
    logging.basicConfig(level=logging.WARNING)
    fake = await FakeConnector(limit_per_second=LIMIT).start()
    tmp = Path(tempfile.mkdtemp())
    db = Database(f"sqlite:///{tmp / 'bench.db'}")
    upgrade(db.engine)
    clock = FakeClock(START)
    settings = Settings(MOMENTUM_SECRET_KEY="bench", MOMENTUM_WORKER_BATCH=500, MOMENTUM_WORKER_CONCURRENCY=32)
    momentum = Momentum(db, settings, clock)
    teams = TeamsSettings()
    platform = TeamsPlatform(create_adapter(teams), teams)
    momentum.register_platform(platform)

    # Size the pairs so the week holds at least ``target`` prompts (the journey decides the mix:
    # about four per pair and week), then keep exactly ``target`` of them.
    pairs = max(1, target // 3 + 1)
    seed(momentum, fake, pairs)
    momentum.plan(START)
    due_ids, end = week_at_once(db, START, target)
    planned = len(due_ids)
    clock.set(end)

    t0 = time.perf_counter()
    rounds = 0
    while True:
        rounds += 1
        stats = await momentum.deliver_due(end)
        with db.session() as s:
            left = s.exec(
                select(Prompt).where(
                    Prompt.id.in_(due_ids),  # type: ignore[union-attr]
                    col(Prompt.status).in_(("pending", "sending")),
                )
            ).all()
        if not left or rounds > 50:
            break
        # Anything the worker rescheduled (a 429 past our in-place retries) becomes due again.
        end = max(p.next_attempt_at for p in left).replace(tzinfo=UTC) + timedelta(seconds=1)
        clock.set(end)
        _LOGGER.debug("round %d: %s", rounds, stats)
    elapsed = time.perf_counter() - t0

    with db.session() as s:
        rows = s.exec(select(Prompt).where(Prompt.id.in_(due_ids))).all()  # type: ignore[union-attr]
    sent = [p for p in rows if p.status == "sent"]
    ok_posts = [c for c in fake.calls if c.status < 300 and c.method == "POST"]
    per_conv = Counter(c.conversation_id for c in ok_posts)
    group_sends = sum(1 for p in rows if p.status == "sent" and p.audience == "pair")
    expected_posts = len(sent) + group_sends  # a pair message is one post to each person on Teams
    duplicates = len(ok_posts) - expected_posts if len(ok_posts) > expected_posts else 0
    lost = planned - len(sent)
    floor = max(len(ok_posts), 1) / LIMIT
    print(f"prompts planned for the week : {planned}")
    print(
        f"prompts sent                 : {len(sent)}  (connector accepted {len(ok_posts)} posts,"
        f" {group_sends} pair messages sent to each person)"
    )
    print(f"429s from the fake connector : {fake.throttled}")
    print(f"adapter retries              : {platform.retries}")
    print(f"delivery rounds              : {rounds}")
    print(f"time to deliver all          : {elapsed:.2f} s")
    print(f"floor at {LIMIT} req/s          : {floor:.2f} s")
    print(f"ratio to floor               : {elapsed / floor:.3f}x (target <= 1.15x)")
    print(f"duplicates                   : {duplicates}  (max posts to one chat: {max(per_conv.values())})")
    print(f"lost                         : {lost}")
    await fake.stop()
    ok = duplicates == 0 and lost == 0 and elapsed / floor <= 1.15
    print("RESULT                       :", "PASS" if ok else "FAIL")
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=1000)
    args = parser.parse_args()
    raise SystemExit(asyncio.run(run(args.prompts)))


if __name__ == "__main__":
    main()
