"""Many people at once on Slack: users.list pages kept for a while, stragglers by email, the
fake's tiers (users.list Tier 2, users.lookupByEmail Tier 3), and Teams' stored roster."""

from __future__ import annotations

import base64
import math
from collections.abc import AsyncIterator

import aiohttp
import pytest

from adapters.slack.platform import HANDFUL, LIST_PAGE
from adapters.teams.platform import TeamsPlatform
from bot.chat import bulk
from bot.model.ports import PlatformError, WorkspaceRef
from tests.slack.fake_slack import FakeSlack
from tests.slack.test_platform import Harness

WS = WorkspaceRef(id=1, platform="slack", external_id="T1")


@pytest.fixture
async def h(fake_slack: FakeSlack) -> AsyncIterator[Harness]:
    harness = Harness(fake_slack)
    yield harness
    await harness.api.close()


async def test_a_member_list_answers_many_emails_and_is_kept_for_a_while(h: Harness, fake_slack: FakeSlack) -> None:
    emails = fake_slack.add_members(900)
    wanted = emails[:300]
    found = await bulk.look_up_emails(h.platform, WS, wanted)
    pages = fake_slack.of("users.list")
    assert len(pages) == math.ceil(len(fake_slack.users) / LIST_PAGE) and {p["limit"] for p in pages} == {"200"}
    assert [p.get("cursor") is None for p in pages] == [True] + [False] * (len(pages) - 1)
    assert all(found[e] is not None and found[e].email == e for e in wanted)  # type: ignore[union-attr]
    assert not fake_slack.of("users.lookupByEmail")
    # Deactivated accounts yield to the active one with the same address; bots are never people.
    reused = "person39@example.com"
    assert found.get(reused) is None or not found[reused].deleted  # type: ignore[union-attr]
    again = await h.platform.lookup_emails(WS, [reused, *emails[300:320]])
    assert again[reused] is not None and again[reused].external_id == "U00000027"  # type: ignore[union-attr]
    assert len(fake_slack.of("users.list")) == len(pages)  # kept: not read again
    # The profiles read are remembered: a click from one of them needs no users.info.
    assert h.platform.cached_profile("T1", "U00000001") is not None
    # After the TTL, the next bulk look-up reads the list again.
    h.platform.directory_ttl_s = 0
    await h.platform.lookup_emails(WS, emails[:20])
    assert len(fake_slack.of("users.list")) == 2 * len(pages)


async def test_stragglers_and_a_stale_list(h: Harness, fake_slack: FakeSlack) -> None:
    emails = fake_slack.add_members(300)
    await h.platform.lookup_emails(WS, emails[:50])
    read = len(fake_slack.of("users.list"))
    # A handful joined since the list was read: asked one by one.
    fresh = [fake_slack.add_user(f"UNEW{i}", f"New {i}", f"new{i}@example.com")["profile"]["email"] for i in range(3)]
    got = await h.platform.lookup_emails(WS, [*emails[:20], *fresh])
    assert all(got[e] is not None for e in fresh)
    assert sorted(c["email"] for c in fake_slack.of("users.lookupByEmail")) == sorted(fresh)
    assert len(fake_slack.of("users.list")) == read
    # Many missing from a kept list: the list is read again rather than asking each.
    more = [fake_slack.add_user(f"UMORE{i}", f"More {i}", f"more{i}@example.com")["profile"]["email"]
            for i in range(HANDFUL + 5)]
    got = await h.platform.lookup_emails(WS, more)
    assert all(got[e] is not None for e in more)
    assert len(fake_slack.of("users.list")) > read and len(fake_slack.of("users.lookupByEmail")) == len(fresh)


async def test_the_fake_enforces_slacks_people_tiers(fake_slack: FakeSlack) -> None:
    fake_slack.add_members(50)
    async with aiohttp.ClientSession() as session:
        async def call(method: str, **params: str) -> tuple[int, dict[str, object], str | None]:
            async with session.get(fake_slack.api_url + method, params=params,
                                   headers={"Authorization": "Bearer xoxb-tier"}) as r:
                return r.status, await r.json(), r.headers.get("Retry-After")

        statuses = [(await call("users.list", limit="10"))[0] for _ in range(21)]
        assert statuses == [200] * 20 + [429]  # Tier 2: a minute's 20 calls, then 429
        status, body, retry_after = await call("users.list", limit="10")
        assert status == 429 and body["error"] == "ratelimited" and retry_after is not None and int(retry_after) >= 1
        lookups = [(await call("users.lookupByEmail", email="person1@example.com"))[0] for _ in range(51)]
        assert lookups == [200] * 50 + [429]  # Tier 3: 50 a minute
        assert fake_slack.tier_rejected == {"users.list": 2, "users.lookupByEmail": 1}
        bad = base64.b64encode(b"users:999999").decode()
        fake_slack.people_tiers = {}
        status, body, _ = await call("users.list", cursor=bad)
        assert body == {"ok": False, "error": "invalid_cursor"}


async def test_a_429_on_a_page_is_waited_out_and_the_list_completes(h: Harness, fake_slack: FakeSlack) -> None:
    fake_slack.add_members(700)
    fake_slack.ratelimit("users.list", retry_after=3, times=1)
    got = await h.platform.lookup_emails(WS, [f"person{i}@example.com" for i in range(20)])
    assert all(got[f"person{i}@example.com"] is not None for i in range(20))
    assert h.sleeps and all(2.5 < s <= 3.0 for s in h.sleeps) and h.api.ratelimited == 1  # Retry-After honoured


async def test_a_failed_bulk_look_up_counts_as_nobody_found(h: Harness, fake_slack: FakeSlack) -> None:
    fake_slack.add_members(30)
    fake_slack.fail("users.list", "internal_error", status=500, times=5)
    got = await bulk.look_up_emails(h.platform, WS, [f"person{i}@example.com" for i in range(20)])
    assert set(got.values()) == {None}
    with pytest.raises(PlatformError):
        await h.platform.email_directory("T1", refresh=True)


async def test_teams_answers_from_the_stored_roster_without_asking() -> None:
    plat = TeamsPlatform.__new__(TeamsPlatform)  # no connector needed: nothing is asked
    got = await bulk.look_up_emails(plat, WorkspaceRef(1, "teams", "tenant"), ["a@example.com", "b@example.com"])
    assert got == {"a@example.com": None, "b@example.com": None}
