"""SlackPlatform against the fake Web API: DMs, group DMs, updates, profiles, errors, 429 and pacing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.slack.api import SlackApi
from adapters.slack.platform import SlackPlatform
from bot.model.messages import Button, Message, buttons, para
from bot.model.ports import FailureScope, PlatformError, Recipient, WorkspaceRef
from tests.slack.conftest import BOT_TOKEN, slack_settings_for
from tests.slack.fake_slack import FakeSlack

WS = WorkspaceRef(id=1, platform="slack", external_id="T1")
SAM = Recipient(person_id=7, external_id="USAM", name="Sam")
MSG = Message(text="Did you and Kim meet?", blocks=(para("Did you and Kim meet?"), buttons(Button("m", "We met"))))


class Harness:
    def __init__(self, fake: FakeSlack, **settings: object) -> None:
        self.sleeps: list[float] = []

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        async def token(_: str) -> str:
            return BOT_TOKEN

        self.api = SlackApi(slack_settings_for(fake, **settings), token, sleep=sleep)
        self.platform = SlackPlatform(self.api)


@pytest.fixture
async def h(fake_slack: FakeSlack) -> AsyncIterator[Harness]:
    harness = Harness(fake_slack)
    yield harness
    await harness.api.close()


async def test_send_opens_dm_once_and_posts_blocks_with_text(h: Harness, fake_slack: FakeSlack) -> None:
    d = await h.platform.send(WS, SAM, MSG)
    (opened,) = fake_slack.of("conversations.open")
    assert opened["users"] == "USAM"
    (post,) = fake_slack.of("chat.postMessage")
    assert post["channel"] == d.ref["channel"] and post["text"] == "Did you and Kim meet?"
    assert [b["type"] for b in post["blocks"]] == ["section", "actions"]
    assert d.addresses == {7: {"channel": d.ref["channel"]}} and d.ref["ts"]
    assert fake_slack.calls[0].token == BOT_TOKEN
    # The core passes the stored address back: no second conversations.open, no new address.
    again = await h.platform.send(WS, Recipient(7, "USAM", "Sam", address=d.addresses[7]), MSG)
    assert len(fake_slack.of("conversations.open")) == 1 and again.addresses == {}


async def test_stale_dm_channel_is_reopened(h: Harness, fake_slack: FakeSlack) -> None:
    fake_slack.fail("chat.postMessage", "channel_not_found")
    d = await h.platform.send(WS, Recipient(7, "USAM", "Sam", address={"channel": "DOLD"}), MSG)
    assert [b["channel"] for b in fake_slack.of("chat.postMessage")] == ["DOLD", d.ref["channel"]]
    assert d.addresses == {7: {"channel": d.ref["channel"]}}


async def test_group_dm_and_update(h: Harness, fake_slack: FakeSlack) -> None:
    kim = Recipient(8, "UKIM", "Kim")
    d = await h.platform.send_group(WS, [SAM, kim], Message(text="Meet Kim"))
    (opened,) = fake_slack.of("conversations.open")
    assert sorted(opened["users"].split(",")) == ["UKIM", "USAM"]
    assert len(fake_slack.of("chat.postMessage")) == 1
    await h.platform.update(WS, d.ref, Message(text="Updated"))
    (upd,) = fake_slack.of("chat.update")
    assert upd["channel"] == d.ref["channel"] and upd["ts"] == d.ref["ts"] and upd["text"] == "Updated"


@pytest.mark.parametrize(
    ("error", "scope"),
    [
        ("user_not_found", FailureScope.PERSON),
        ("cannot_dm_bot", FailureScope.PERSON),
        ("user_disabled", FailureScope.PERSON),
        ("is_archived", FailureScope.PERSON),
        ("not_in_channel", FailureScope.PERSON),
        ("invalid_auth", FailureScope.WORKSPACE),
        ("token_revoked", FailureScope.WORKSPACE),
        ("account_inactive", FailureScope.WORKSPACE),
        ("missing_scope", FailureScope.WORKSPACE),
        ("invalid_blocks", FailureScope.MESSAGE),
    ],
)
async def test_permanent_errors_have_a_scope(h: Harness, fake_slack: FakeSlack, error: str, scope: str) -> None:
    fake_slack.fail("conversations.open", error)
    with pytest.raises(PlatformError) as exc:
        await h.platform.send(WS, SAM, MSG)
    assert exc.value.reason == error and exc.value.scope == scope and not exc.value.retryable
    assert fake_slack.of("chat.postMessage") == []


async def test_transient_errors_are_retryable(h: Harness, fake_slack: FakeSlack) -> None:
    fake_slack.fail("chat.postMessage", "internal_error", status=500)
    with pytest.raises(PlatformError) as exc:
        await h.platform.send(WS, SAM, MSG)
    assert exc.value.retryable


async def test_429_honours_retry_after_then_succeeds(h: Harness, fake_slack: FakeSlack) -> None:
    fake_slack.ratelimit("chat.postMessage", retry_after=3, times=2)
    d = await h.platform.send(WS, SAM, MSG)
    assert d.ref["ts"]
    assert h.sleeps[:2] == [pytest.approx(3, abs=0.1)] * 2 or sum(h.sleeps) >= 5.9
    assert len(fake_slack.of("chat.postMessage")) == 3  # two 429s, then the post: exactly one message


async def test_long_retry_after_goes_back_to_the_core(h: Harness, fake_slack: FakeSlack) -> None:
    fake_slack.ratelimit("chat.postMessage", retry_after=120)
    with pytest.raises(PlatformError) as exc:
        await h.platform.send(WS, SAM, MSG)
    assert exc.value.retryable and exc.value.retry_after == 120 and exc.value.reason == "ratelimited"


async def test_profiles_are_read_and_cached(h: Harness, fake_slack: FakeSlack) -> None:
    fake_slack.users["USAM"]["is_owner"] = True
    p = await h.platform.profile(WS, "USAM")
    assert p is not None and p.name == "Sam" and p.email == "sam@example.com" and p.tz == "America/New_York"
    assert p.locale == "en-US" and p.is_admin is True
    await h.platform.profile(WS, "USAM")
    assert len(fake_slack.of("users.info")) == 1
    assert fake_slack.of("users.info")[0]["include_locale"] == "true"
    assert await h.platform.profile(WS, "UNOBODY") is None


async def test_lookup_by_email(h: Harness, fake_slack: FakeSlack) -> None:
    p = await h.platform.lookup_email(WS, "kim@example.com")
    assert p is not None and p.external_id == "UKIM" and p.tz == "Asia/Tokyo"
    assert await h.platform.lookup_email(WS, "nobody@example.com") is None


async def test_pacing_limits_calls_per_workspace(fake_slack: FakeSlack) -> None:
    """300/min -> a one-second bucket of 5: the 6th call in the same instant must wait."""
    harness = Harness(fake_slack, SLACK_RATE_POST_PER_MIN=300, SLACK_RATE_OPEN_PER_MIN=50)
    limiter = harness.api.limiter("T1", "post")
    assert limiter.max_rate == 5 and limiter.time_period == 1
    for _ in range(5):
        assert limiter.has_capacity()
        await limiter.acquire()
    assert not limiter.has_capacity()
    assert harness.api.limiter("T2", "post").has_capacity()  # another workspace has its own budget
    slow = harness.api.limiter("T1", "open")  # Tier 3, 50/min
    assert slow.time_period == pytest.approx(5, rel=0.01)
    await harness.api.close()
