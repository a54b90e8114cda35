"""``TeamsPlatform`` against the fake connector: proactive sends, updates, retries, blocked people, pacing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.teams.platform import Pacer, TeamsPlatform
from adapters.teams.settings import TeamsSettings
from adapters.teams.web import create_adapter
from bot.model.messages import Message, para
from bot.model.ports import FailureScope, Platform, PlatformError, Recipient, WorkspaceRef
from tests.teams import activities as acts
from tests.teams.conftest import FakeSleep
from tests.teams.fake_connector import FakeConnector

WS = WorkspaceRef(id=1, platform="teams", external_id=acts.TENANT)
PROMPT = Message(
    text="How did this week go with Sam?", blocks=(para("How did this week go with Sam?"),), kind="checkin"
)


@pytest.fixture
async def platform(teams_fake: FakeConnector) -> AsyncIterator[TeamsPlatform]:
    p = TeamsPlatform(create_adapter(TeamsSettings()), TeamsSettings(), sleep=FakeSleep())
    yield p


def chat_address(fake: FakeConnector, user: acts.User) -> dict[str, Any]:
    return {
        "serviceUrl": fake.url,
        "channelId": "msteams",
        "bot": {"id": acts.BOT_ID, "name": acts.BOT_NAME},
        "user": user.account(),
        "conversation": {"id": user.chat, "conversationType": "personal", "tenantId": acts.TENANT},
    }


def roster_address(fake: FakeConnector, user: acts.User) -> dict[str, Any]:
    return {
        "serviceUrl": fake.url,
        "channelId": "msteams",
        "bot": {"id": acts.BOT_ID, "name": acts.BOT_NAME},
        "user": user.account(),
        "conversation": None,
        "tenantId": acts.TENANT,
    }


def test_it_is_a_platform_without_group_chats(platform: TeamsPlatform) -> None:
    assert isinstance(platform, Platform)
    assert platform.name == "teams"


async def test_send_uses_the_stored_conversation_reference(platform: TeamsPlatform, teams_fake: FakeConnector) -> None:
    d = await platform.send(WS, Recipient(1, acts.SAM.aad, "Sam", chat_address(teams_fake, acts.SAM)), PROMPT)
    (call,) = teams_fake.sent()
    assert call.conversation_id == acts.SAM.chat and call.activity_id is None  # a new message, not a reply
    assert call.body["summary"] == PROMPT.text
    assert teams_fake.card(call)["type"] == "AdaptiveCard"
    assert d.ref["activity_id"] and d.addresses == {}


async def test_send_without_a_chat_creates_the_1to1_conversation_with_the_tenant(
    platform: TeamsPlatform, teams_fake: FakeConnector
) -> None:
    d = await platform.send(WS, Recipient(7, acts.RIA.aad, "Ria", roster_address(teams_fake, acts.RIA)), PROMPT)
    (created,) = teams_fake.created()
    assert created.body["members"] == [{"id": acts.RIA.teams_id}]
    assert created.body["channelData"]["tenant"]["id"] == acts.TENANT and created.body["isGroup"] is False
    (call,) = teams_fake.sent()
    assert call.conversation_id.startswith("a:created-")
    new_address = d.addresses[7]
    assert new_address["conversation"]["id"] == call.conversation_id
    assert new_address["user"]["aadObjectId"] == acts.RIA.aad and "activityId" not in new_address
    # The next send reuses the new chat.
    await platform.send(WS, Recipient(7, acts.RIA.aad, "Ria", new_address), PROMPT)
    assert len(teams_fake.created()) == 1 and len(teams_fake.sent()) == 2


async def test_no_address_means_the_person_cannot_be_reached(platform: TeamsPlatform) -> None:
    with pytest.raises(PlatformError) as err:
        await platform.send(WS, Recipient(1, "aad-x", "X", None), PROMPT)
    assert err.value.scope is FailureScope.PERSON and not err.value.retryable


async def test_update_replaces_the_sent_card(platform: TeamsPlatform, teams_fake: FakeConnector) -> None:
    d = await platform.send(WS, Recipient(1, acts.SAM.aad, "Sam", chat_address(teams_fake, acts.SAM)), PROMPT)
    await platform.update(WS, d.ref, Message(text="Recorded: we met", blocks=(para("Recorded: we met"),)))
    (put,) = teams_fake.updates()
    assert put.activity_id == d.ref["activity_id"] and put.conversation_id == acts.SAM.chat
    assert put.body["attachments"][0]["content"]["body"][0]["text"] == "Recorded: we met"


async def test_throttling_and_transient_failures_are_retried_honouring_retry_after(
    platform: TeamsPlatform, teams_fake: FakeConnector
) -> None:
    teams_fake.fail_next(429, "Throttled", retry_after=3)
    teams_fake.fail_next(412, "PreconditionFailed")
    teams_fake.fail_next(502)
    teams_fake.fail_next(504)
    d = await platform.send(WS, Recipient(1, acts.SAM.aad, "Sam", chat_address(teams_fake, acts.SAM)), PROMPT)
    assert d.ref["activity_id"]
    statuses = [c.status for c in teams_fake.sent()]
    assert statuses == [429, 412, 502, 504, 201]
    sleep: FakeSleep = platform.sleep  # type: ignore[assignment]
    assert any(w >= 2.9 for w in sleep.waits)  # the pacer held the tenant for Retry-After
    assert platform.retries == 4
    assert [w for w in sleep.waits if w in (1.0, 2.0, 4.0)] == [1.0, 2.0, 4.0]  # doubling backoff


async def test_persistent_5xx_gives_up_as_retryable(platform: TeamsPlatform, teams_fake: FakeConnector) -> None:
    teams_fake.fail_next(503, times=50)
    with pytest.raises(PlatformError) as err:
        await platform.send(WS, Recipient(1, acts.SAM.aad, "Sam", chat_address(teams_fake, acts.SAM)), PROMPT)
    assert err.value.retryable and len(teams_fake.sent()) == platform.settings.max_retries + 1


async def test_long_retry_after_is_handed_back_to_the_core(platform: TeamsPlatform, teams_fake: FakeConnector) -> None:
    teams_fake.fail_next(429, "Throttled", retry_after=120)
    with pytest.raises(PlatformError) as err:
        await platform.send(WS, Recipient(1, acts.SAM.aad, "Sam", chat_address(teams_fake, acts.SAM)), PROMPT)
    assert err.value.retryable and err.value.retry_after == 120


@pytest.mark.parametrize("code", ["ConversationBlockedByUser", "MessageWritesBlocked"])
async def test_blocked_bot_is_a_person_failure(platform: TeamsPlatform, teams_fake: FakeConnector, code: str) -> None:
    teams_fake.fail_next(403, code)
    with pytest.raises(PlatformError) as err:
        await platform.send(WS, Recipient(1, acts.SAM.aad, "Sam", chat_address(teams_fake, acts.SAM)), PROMPT)
    assert err.value.reason == code and err.value.scope is FailureScope.PERSON and not err.value.retryable
    assert len(teams_fake.sent()) == 1  # not retried


async def test_group_message_goes_to_each_person_and_says_so(
    platform: TeamsPlatform, teams_fake: FakeConnector
) -> None:
    to = [
        Recipient(1, acts.SAM.aad, "Sam", chat_address(teams_fake, acts.SAM)),
        Recipient(2, acts.RIA.aad, "Ria", roster_address(teams_fake, acts.RIA)),
    ]
    d = await platform.send_group(WS, to, PROMPT)
    sent = teams_fake.sent()
    assert len(sent) == 2 and {c.conversation_id for c in sent} >= {acts.SAM.chat}
    for call in sent:
        texts = " ".join(b.get("text", "") for b in teams_fake.card(call)["body"])
        assert "separately" in texts and "Sam" in texts and "Ria" in texts
    assert len(d.ref["group"]) == 2 and 2 in d.addresses
    await platform.update(WS, d.ref, Message(text="done"))
    assert len(teams_fake.updates()) == 2


async def test_group_message_survives_one_blocked_person(platform: TeamsPlatform, teams_fake: FakeConnector) -> None:
    teams_fake.fail_next(403, "ConversationBlockedByUser", match=acts.SAM.chat)
    to = [
        Recipient(1, acts.SAM.aad, "Sam", chat_address(teams_fake, acts.SAM)),
        Recipient(2, acts.RIA.aad, "Ria", chat_address(teams_fake, acts.RIA)),
    ]
    d = await platform.send_group(WS, to, PROMPT)
    assert len(d.ref["group"]) == 1



async def test_pacer_spaces_calls_per_key_and_pauses_after_429() -> None:
    now = [100.0]
    dispatched: list[float] = []

    async def sleep(s: float) -> None:  # a fake clock: sleeping moves it forward, nothing waits
        now[0] += s

    pacer = Pacer(30.0, sleep=sleep, monotonic=lambda: now[0])
    for _ in range(90):
        await pacer.wait("tenant-a")
        dispatched.append(now[0])
    # Never more than 29 calls (one of headroom under Teams' 30/s) in any sliding second...
    assert max(sum(1 for t in dispatched if d <= t < d + 1.0) for d in dispatched) <= 29
    # ...and close to the limit: 90 calls take about three seconds, not more.
    assert dispatched[-1] - dispatched[0] < 3.4
    before = now[0]
    await pacer.wait("tenant-b")  # other tenants are not held up
    assert now[0] == before
    pacer.pause("tenant-b", 5.0)
    await pacer.wait("tenant-b")
    assert now[0] == pytest.approx(before + 5.0)


# What an edge or proxy in front of the connector answers in an outage: not the connector's JSON.
EDGE_PAGES = [
    pytest.param(503, "503 upstream unavailable", "text/plain", id="503-text"),
    pytest.param(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html", id="502-html"),
    pytest.param(504, "", "text/plain", id="504-empty"),
    pytest.param(429, "slow down", "text/plain", id="429-text"),
    pytest.param(429, "<html>Too Many Requests</html>", "text/html", id="429-html"),
    pytest.param(500, "upstream connect error", "application/json", id="500-json-that-is-not"),
]


@pytest.mark.parametrize(("status", "body", "content_type"), EDGE_PAGES)
async def test_an_error_page_whatever_its_body_is_retried_after_its_retry_after(
    platform: TeamsPlatform, teams_fake: FakeConnector, caplog: pytest.LogCaptureFixture,
    status: int, body: str, content_type: str,
) -> None:
    teams_fake.fail_next(status, body=body, content_type=content_type, retry_after=6)
    d = await platform.send(WS, Recipient(1, acts.SAM.aad, "Sam", chat_address(teams_fake, acts.SAM)), PROMPT)
    assert d.ref["activity_id"] and [c.status for c in teams_fake.sent()] == [status, 201]
    sleep: FakeSleep = platform.sleep  # type: ignore[assignment]
    assert any(5.9 <= w <= 6.0 for w in sleep.waits), sleep.waits  # Retry-After, not the 0.5 s backoff
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize(("status", "body", "content_type"), EDGE_PAGES)
async def test_an_error_page_that_persists_is_a_retryable_platform_error_with_its_retry_after(
    platform: TeamsPlatform, teams_fake: FakeConnector, caplog: pytest.LogCaptureFixture,
    status: int, body: str, content_type: str,
) -> None:
    teams_fake.fail_next(status, body=body, content_type=content_type, retry_after=120)
    with pytest.raises(PlatformError) as err:
        await platform.send(WS, Recipient(1, acts.SAM.aad, "Sam", chat_address(teams_fake, acts.SAM)), PROMPT)
    assert err.value.retryable and err.value.retry_after == 120 and err.value.reason == f"http_{status}"
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize(("body", "content_type"), [("<html>ok</html>", "text/html"), ("not json", "application/json"),
                                                    ("[1]", "application/json")])
async def test_a_2xx_that_is_not_the_connectors_json_is_retryable_without_a_traceback(
    platform: TeamsPlatform, teams_fake: FakeConnector, caplog: pytest.LogCaptureFixture, body: str, content_type: str
) -> None:
    teams_fake.fail_next(201, body=body, content_type=content_type, times=50)
    with pytest.raises(PlatformError) as err:
        await platform.send(WS, Recipient(1, acts.SAM.aad, "Sam", chat_address(teams_fake, acts.SAM)), PROMPT)
    assert err.value.retryable and err.value.reason == "unreadable_response"
    assert not [r for r in caplog.records if r.exc_info]
