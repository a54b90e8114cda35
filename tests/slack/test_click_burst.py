"""A burst of check-in clicks through the real server: every message replaced through its response_url
(none waits behind chat.update's Tier 3 pacing, which the fake Slack enforces), every check-in stored once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

from bot.app import Momentum
from storage import inbox
from tests.helpers.click_burst import body_of, checkins_stored, seed_checkins
from tests.helpers.serve_proc import post_signed
from tests.slack.conftest import SlackServer

N = 200


async def test_a_burst_of_checkin_clicks_is_answered_through_response_url_and_stored_once(
        slack_server: SlackServer, momentum: Momentum) -> None:
    fake = slack_server.fake
    fake.enforce_update_tier(50)
    clicks = seed_checkins(momentum.db.engine, N, datetime.now(UTC), momentum.signer)
    gate = asyncio.Semaphore(50)

    async def click(body: str) -> int:
        async with gate:
            return await post_signed(slack_server.session, slack_server.url, body)

    statuses = await asyncio.gather(*(click(body_of(fake, c)) for c in clicks))
    assert statuses == [200] * N
    await slack_server.settle()
    assert Counter(fake.response_keys) == {f"click{c.prompt_id}": 1 for c in clicks}  # each replaced once
    assert len(fake.replaced()) == N and all("We met" in r["text"] for r in fake.replaced())
    assert fake.of("chat.update") == [] and fake.update_429 == 0
    assert checkins_stored(momentum.db.engine) == N
    assert await momentum.db.run(inbox.counts, momentum.db) == {"done": N}
