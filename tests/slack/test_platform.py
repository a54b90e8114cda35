"""SlackPlatform against the fake Web API: DMs, group DMs, updates, profiles, errors, 429 and pacing."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from adapters.slack.api import SlackApi
from adapters.slack.platform import SlackPlatform
from bot.app import Momentum
from bot.model.clock import FakeClock
from bot.model.messages import Button, Message, buttons, para
from bot.model.ports import FailureScope, PlatformError, Recipient, WorkspaceRef
from storage.models import Prompt
from tests.slack.conftest import BOT_TOKEN, SlackServer, slack_settings_for
from tests.slack.fake_slack import FakeSlack, Rule
from tests.slack.test_e2e_core import _pilot_pair

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


# What an edge or proxy in front of Slack answers in an outage: not Slack's JSON.
EDGE_BODIES = [
    pytest.param("503 upstream unavailable", "text/plain", id="text"),
    pytest.param("<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html", id="html"),
    pytest.param("upstream connect error", "application/json", id="json-that-is-not"),
    pytest.param("[1, 2]", "application/json", id="json-not-an-object"),
    pytest.param("", "text/plain", id="empty"),
]


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info]


@pytest.mark.parametrize(("body", "content_type"), EDGE_BODIES)
@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_5xx_whatever_its_body_is_retryable_and_its_retry_after_is_waited(
    h: Harness, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture, status: int, body: str, content_type: str
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_slack.fail_raw("chat.postMessage", status, body, content_type=content_type, retry_after=9)
    with pytest.raises(PlatformError) as exc:
        await h.platform.send(WS, SAM, MSG)
    assert exc.value.retryable and exc.value.reason == f"http_{status}" and exc.value.retry_after == 9
    assert h.sleeps == []
    d = await h.platform.send(WS, SAM, MSG)  # the next post of this workspace waits out the Retry-After first
    assert d.ref["ts"] and h.sleeps == [pytest.approx(9, abs=0.5)]
    assert not tracebacks(caplog)


@pytest.mark.parametrize(("body", "content_type"), EDGE_BODIES)
async def test_a_429_whatever_its_body_waits_its_retry_after_then_succeeds(
    h: Harness, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture, body: str, content_type: str
) -> None:
    fake_slack.fail_raw("chat.postMessage", 429, body, content_type=content_type, retry_after=4)
    d = await h.platform.send(WS, SAM, MSG)
    assert d.ref["ts"] and h.sleeps == [pytest.approx(4, abs=0.1)] and h.api.ratelimited == 1
    assert len(fake_slack.of("chat.postMessage")) == 2  # the 429, then the one post
    assert not tracebacks(caplog)


async def test_a_429_with_a_long_retry_after_in_an_html_page_goes_back_to_the_core(
    h: Harness, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_raw("chat.postMessage", 429, "<html>Too Many Requests</html>", content_type="text/html",
                        retry_after=120)
    with pytest.raises(PlatformError) as exc:
        await h.platform.send(WS, SAM, MSG)
    assert exc.value.retryable and exc.value.reason == "ratelimited" and exc.value.retry_after == 120


async def test_a_4xx_page_is_a_permanent_failure_of_that_message(h: Harness, fake_slack: FakeSlack) -> None:
    fake_slack.fail_raw("chat.postMessage", 403, "<html>Forbidden</html>", content_type="text/html")
    with pytest.raises(PlatformError) as exc:
        await h.platform.send(WS, SAM, MSG)
    assert not exc.value.retryable and exc.value.reason == "http_403" and exc.value.scope == FailureScope.MESSAGE


@pytest.mark.parametrize(("body", "content_type"), [("OK", "text/plain"), ("<html>hi</html>", "text/html"),
                                                    ("null", "application/json")])
async def test_a_200_that_is_not_slacks_json_is_retryable(
    h: Harness, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture, body: str, content_type: str
) -> None:
    fake_slack.fail_raw("chat.postMessage", 200, body, content_type=content_type)
    with pytest.raises(PlatformError) as exc:
        await h.platform.send(WS, SAM, MSG)
    assert exc.value.retryable and exc.value.reason == "unreadable_response"
    assert not tracebacks(caplog)


async def test_retry_after_as_an_http_date_is_honoured(h: Harness, fake_slack: FakeSlack) -> None:
    from email.utils import format_datetime

    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    fake_slack.rules.setdefault("chat.postMessage", []).append(Rule(status=503, body="down", retry_after=None))
    fake_slack.rules["chat.postMessage"][-1].headers = {"Retry-After": when}
    with pytest.raises(PlatformError) as exc:
        await h.platform.send(WS, SAM, MSG)
    assert exc.value.retry_after is not None and 25 <= exc.value.retry_after <= 30


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


async def test_the_worker_takes_an_edge_503_page_as_a_retry_at_its_retry_after_without_a_traceback(
    slack_server: SlackServer, momentum: Momentum, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The outage of the issue: every post answered by an edge's text/plain 503 with Retry-After. The worker
    records a retry no sooner than Retry-After (not an ``AttributeError`` with a traceback), then sends."""
    await _pilot_pair(slack_server)
    fake = slack_server.fake
    fake.fail_raw("chat.postMessage", 503, "503 upstream unavailable", retry_after=7200, times=1)
    caplog.clear()
    for _ in range(24 * 14):
        clock.advance(timedelta(hours=1))
        momentum.plan(clock.now())
        await momentum.deliver_due(clock.now())
        if fake.of("chat.postMessage"):
            break
    failed_at = clock.now()
    assert len(fake.of("chat.postMessage")) == 1
    with momentum.db.session() as s:
        (retry,) = s.exec(select(Prompt).where(Prompt.last_error == "http_503")).all()
    assert retry.status == "pending" and retry.attempts == 1
    assert retry.next_attempt_at.replace(tzinfo=UTC) >= failed_at + timedelta(seconds=7200)
    clock.advance(timedelta(hours=1))  # before Retry-After: nothing is sent
    await momentum.deliver_due(clock.now())
    assert len(fake.of("chat.postMessage")) == 1
    clock.advance(timedelta(hours=1, minutes=1))
    await momentum.deliver_due(clock.now())
    assert len(fake.of("chat.postMessage")) >= 2 and fake.of("chat.postMessage")[1]["channel"]
    assert not tracebacks(caplog)
