"""Real Slack payloads (``../shared/payloads/slack``, recorded or published by others), signed and sent to the
real endpoint with ids adapted as Slack would send them to us: DMs with files and thread broadcasts reach the
core, thread replies are answered in the thread, edits/deletions/bot posts are ignored, ``user_change`` finds the
person by the envelope's team (and on Enterprise Grid by the enterprise), org-wide installs are refused."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from adapters.slack.runtime import WORDS
from adapters.slack.web import SLACK_RUNTIME
from bot.app import Momentum
from bot.domain import people as directory
from bot.model.interactions import InteractionKind, Profile, Response
from bot.model.messages import Message
from tests.helpers import payloads
from tests.slack.conftest import ScriptedCore, Signer, SlackServer, slack_settings_for, start_server
from tests.slack.fake_slack import FakeSlack

SLACK_PAYLOADS = payloads.names("slack")
DM = "DSAM"


def dm_event(name: str, *, event_id: str, user: str = "USAM") -> dict[str, Any]:
    """A recorded message event, as Slack sends it to us for a DM from ``user`` in workspace T1."""
    body = payloads.load("slack", name)
    body.update(team_id="T1", event_id=event_id, api_app_id="A1")
    body["authorizations"] = [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}]
    event = body["event"]
    event.update(channel=DM, channel_type="im")
    if "user" in event and not event.get("bot_id"):
        event["user"] = user
    return body


async def send_event(server: SlackServer, body: dict[str, Any]) -> int:
    status, _ = await server.signed(json.dumps(body), "application/json")
    return status


def test_the_recorded_payloads_are_there() -> None:
    payloads.payload_dir()
    assert len(SLACK_PAYLOADS) >= 29 and {"message_file_share", "user_change"} <= set(SLACK_PAYLOADS)


@pytest.mark.parametrize("name", SLACK_PAYLOADS)
async def test_every_recorded_slack_payload_gets_an_answer_never_a_500(
    slack_server: SlackServer, scripted: ScriptedCore, name: str
) -> None:
    """Each recorded payload, re-signed with our secret as Slack signs: a 2xx (or a 4xx for what
    we do not serve), never a 5xx, and the server keeps working afterwards."""
    body = payloads.load("slack", name)
    if isinstance(body, str):  # a form-encoded slash command
        status, _ = await slack_server.signed(body, "application/x-www-form-urlencoded")
    elif body.get("type") in ("event_callback", "url_verification"):
        status, _ = await slack_server.signed(json.dumps(body), "application/json")
    elif body.get("type") in (None,) and "command" in body:
        status, _ = await slack_server.signed(urllib.parse.urlencode(body), "application/x-www-form-urlencoded")
    elif body.get("type") in ("block_actions", "view_submission", "view_closed"):
        status, _ = await slack_server.interactive(body)
    else:  # an inner event only (Slack's docs): wrapped in the envelope Slack sends
        envelope = payloads.load("slack", "message_im")
        envelope["event"] = body if "type" in body else {"type": name, **body}
        status, _ = await slack_server.signed(json.dumps(envelope), "application/json")
    await slack_server.settle()
    assert status < 500, (name, status)
    status, _ = await slack_server.command("help")
    assert status == 200


async def test_dm_with_a_file_reaches_the_core_and_the_file_is_acknowledged(
    slack_server: SlackServer, scripted: ScriptedCore
) -> None:
    scripted.answers.append(Response(reply=Message(text="Saved your win.")))
    body = dm_event("message_file_share", event_id="EvFile")
    body["event"]["text"] = "win Shipped the Q3 deck"
    assert body["event"]["subtype"] == "file_share" and body["event"]["files"]
    assert await send_event(slack_server, body) == 200
    await slack_server.settle()
    (seen,) = scripted.seen
    assert seen.kind == InteractionKind.MESSAGE and seen.text == "win Shipped the Q3 deck" and seen.user == "USAM"
    posts = slack_server.fake.of("chat.postMessage")
    assert [p["text"] for p in posts] == ["Saved your win.", WORDS["file_ack"]]
    assert all(p["channel"] == DM for p in posts)
    assert not [c for c in slack_server.fake.calls if c.method.startswith("files.")]  # never downloaded


async def test_a_file_without_words_is_only_acknowledged(slack_server: SlackServer, scripted: ScriptedCore) -> None:
    body = dm_event("message_file_share", event_id="EvFile2")
    body["event"]["text"] = ""
    assert await send_event(slack_server, body) == 200
    await slack_server.settle()
    assert scripted.seen == []
    assert [p["text"] for p in slack_server.fake.of("chat.postMessage")] == [WORDS["file_ack"]]


@pytest.mark.parametrize("name", ["message_thread_broadcast", "message_thread_reply"])
async def test_thread_messages_reach_the_core_and_are_answered_in_the_thread(
    slack_server: SlackServer, scripted: ScriptedCore, name: str
) -> None:
    scripted.answers.append(Response(reply=Message(text="Noted.")))
    body = dm_event(name, event_id=f"Ev-{name}")
    thread = body["event"]["thread_ts"]
    assert await send_event(slack_server, body) == 200
    await slack_server.settle()
    (seen,) = scripted.seen
    assert seen.text == body["event"]["text"] and seen.user == "USAM"
    (post,) = slack_server.fake.of("chat.postMessage")
    assert post["channel"] == DM and post["thread_ts"] == thread and post["text"] == "Noted."


async def test_a_plain_dm_is_answered_at_the_top_of_the_dm(slack_server: SlackServer, scripted: ScriptedCore) -> None:
    scripted.answers.append(Response(reply=Message(text="Hello.")))
    assert await send_event(slack_server, dm_event("message_im", event_id="EvIm")) == 200
    await slack_server.settle()
    (post,) = slack_server.fake.of("chat.postMessage")
    assert "thread_ts" not in post and post["channel"] == DM


@pytest.mark.parametrize(
    "name",
    [
        "message_changed",
        "message_changed_own_bot",
        "message_deleted",
        "bot_message_classic",
        "bot_message_modern",
        "message_own_bot_post",
    ],
)
async def test_edits_deletions_and_bot_posts_are_ignored(
    slack_server: SlackServer, scripted: ScriptedCore, name: str
) -> None:
    body = dm_event(name, event_id=f"Ev-{name}")
    assert await send_event(slack_server, body) == 200
    await slack_server.settle()
    assert scripted.seen == [] and slack_server.fake.of("chat.postMessage") == []


async def test_our_own_post_echoed_back_causes_no_loop(slack_server: SlackServer, scripted: ScriptedCore) -> None:
    scripted.answers.append(Response(reply=Message(text="Hello.")))
    await send_event(slack_server, dm_event("message_im", event_id="EvLoop1"))
    await slack_server.settle()
    (post,) = slack_server.fake.of("chat.postMessage")
    echo = dm_event("message_own_bot_post", event_id="EvLoop2")  # Slack echoes our post: bot_id, user UBOT
    echo["event"].update(text=post["text"], user="UBOT")
    await send_event(slack_server, echo)
    await slack_server.settle()
    assert len(scripted.seen) == 1 and len(slack_server.fake.of("chat.postMessage")) == 1


def _user_change(team: str, *, enterprise: str | None = None, deleted: bool = True) -> dict[str, Any]:
    """slack-go's recorded user_change (its user.team_id is T1234567) in the envelope of a recorded event."""
    envelope = payloads.load("slack", "message_im")
    event = payloads.load("slack", "user_change")
    event["user"]["deleted"] = deleted
    envelope.update(team_id=team, event_id=f"EvUC-{team}-{deleted}", event=event)
    envelope["authorizations"] = [{"team_id": team, "user_id": "UBOT", "is_bot": True}]
    if enterprise:
        envelope["enterprise_id"] = enterprise
        event["user"]["enterprise_user"] = {"enterprise_id": enterprise, "teams": [team]}
    return envelope


def _person(momentum: Momentum, team: str, user: str) -> Any:
    with momentum.db.session() as s:
        ws = directory.get_workspace(s, "slack", team)
        assert ws is not None and ws.id is not None
        return directory.get_person(s, ws.id, user)


async def test_user_change_finds_the_person_by_the_envelopes_team(
    slack_server: SlackServer, momentum: Momentum
) -> None:
    body = _user_change("T1")
    uid, their_team = body["event"]["user"]["id"], body["event"]["user"]["team_id"]
    assert their_team != "T1"  # as in Slack's own example: the user's team is not the envelope's
    momentum.units.upsert_person("slack", "T1", Profile(uid, name="Some User"))
    assert await send_event(slack_server, body) == 200
    await slack_server.settle()
    person = _person(momentum, "T1", uid)
    assert person.unreachable_reason == "user_deactivated" and person.tz == "America/Los_Angeles"
    # Reactivated: reachable again.
    assert await send_event(slack_server, _user_change("T1", deleted=False)) == 200
    await slack_server.settle()
    assert _person(momentum, "T1", uid).unreachable_reason is None


async def test_user_change_on_enterprise_grid_finds_the_person_by_the_enterprise(
    slack_server: SlackServer, momentum: Momentum
) -> None:
    body = _user_change("T9", enterprise="E1")  # arrives for another workspace of the same org
    uid = body["event"]["user"]["id"]
    momentum.units.upsert_person("slack", "T1", Profile(uid, name="Some User"))
    momentum.units.upsert_workspace("slack", "T9", name="Nine")
    assert await send_event(slack_server, body) == 200
    await slack_server.settle()
    assert _person(momentum, "T1", uid).unreachable_reason == "user_deactivated"
    assert _person(momentum, "T9", uid) is None  # we still do not collect the directory


async def test_user_change_for_a_stranger_stores_nothing(slack_server: SlackServer, momentum: Momentum) -> None:
    momentum.units.upsert_workspace("slack", "T1", name="Acme")
    assert await send_event(slack_server, _user_change("T1")) == 200
    await slack_server.settle()
    uid = payloads.load("slack", "user_change")["user"]["id"]
    assert _person(momentum, "T1", uid) is None


@pytest.fixture
async def oauth_server(momentum: Momentum, fake_slack: FakeSlack, signer: Signer) -> AsyncIterator[SlackServer]:
    settings = slack_settings_for(fake_slack, SLACK_CLIENT_ID="111.222", SLACK_CLIENT_SECRET="client-secret")
    runner, url = await start_server(momentum, settings)
    runtime = runner.app[SLACK_RUNTIME]
    async with aiohttp.ClientSession() as session:
        yield SlackServer(url, runtime, fake_slack, signer, session, [])
        await runtime.drain()
    await runner.cleanup()


@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
async def test_grid_org_wide_install_is_refused_with_a_clear_page(
    oauth_server: SlackServer, momentum: Momentum
) -> None:
    oauth_server.fake.org_install = True
    async with oauth_server.session.get(oauth_server.url + "/slack/install") as r:
        page = await r.text()
        cookie = r.headers["Set-Cookie"].split(";")[0]
    state = urllib.parse.unquote(re.search(r"state=([^&\"']+)", page).group(1))  # type: ignore[union-attr]
    q = urllib.parse.urlencode({"code": "temp-code", "state": state})
    redirect = oauth_server.url + "/slack/oauth_redirect?" + q
    async with oauth_server.session.get(redirect, headers={"Cookie": cookie}) as r:
        assert r.status == 400
        text = await r.text()
    assert WORDS["org_install_refused"]["title"] in text and "each workspace" in text
    assert await oauth_server.runtime.token_for("E1") is None
    with momentum.db.session() as s:
        assert directory.get_workspace(s, "slack", "E1") is None
