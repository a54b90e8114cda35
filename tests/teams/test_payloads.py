"""Real Teams payloads (``../shared/payloads/teams``, recorded or published by others) through the real endpoint,
and the invokes: Action.Execute answered with the refreshed card, every other invoke a 200 (never a 501)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlmodel import select

from adapters.teams import render
from bot.model.clock import FakeClock
from storage.models import CheckIn, Prompt
from tests.helpers import payloads
from tests.teams import activities as acts
from tests.teams.conftest import TeamsServer
from tests.teams.test_e2e import _paired, deliver_until_buttons, submits

TEAMS_PAYLOADS = payloads.names("teams")


def adapted(server: TeamsServer, name: str) -> dict[str, Any]:
    """A recorded activity as Teams would send it to us: its serviceUrl is our fake connector."""
    activity = payloads.load("teams", name)
    activity["serviceUrl"] = server.fake.url
    return activity


async def post_json(server: TeamsServer, activity: dict[str, Any]) -> tuple[int, Any]:
    async with server.session.post(server.url, json=activity) as r:
        body = await r.json() if r.content_type == "application/json" else (await r.read()) or None
        return r.status, body


def test_the_recorded_payloads_are_there() -> None:
    payloads.payload_dir()
    assert len(TEAMS_PAYLOADS) >= 18 and "invoke_adaptive_card_action" in TEAMS_PAYLOADS


@pytest.mark.parametrize("name", TEAMS_PAYLOADS)
async def test_every_recorded_teams_payload_is_handled_without_error(
    teams_server: TeamsServer, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    activity = adapted(teams_server, name)
    with caplog.at_level(logging.WARNING):
        status, _ = await post_json(teams_server, activity)
    assert 200 <= status < 300, (name, status)
    if activity["type"] == "invoke":
        assert status == 200  # the invoke response, never the SDK's 501
    # Our own errors (a failed turn, a failed invoke); the SDK's connector logs, which adapters/logs.py
    # silences in production, report the fake's 404 for the recorded placeholder members.
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("adapters")]
    assert not failures, [r.getMessage() for r in failures]


async def test_action_execute_from_another_card_gets_a_200_invoke_response(teams_server: TeamsServer) -> None:
    status, body = await post_json(teams_server, adapted(teams_server, "invoke_adaptive_card_action"))
    assert status == 200
    assert body == {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": ""}
    assert teams_server.fake.calls == []  # nothing sent, nothing changed


@pytest.mark.parametrize("invoke_name", ["fileConsent/invoke", "config/fetch", None])
async def test_every_other_invoke_gets_200_with_an_empty_invoke_response(
    teams_server: TeamsServer, invoke_name: str | None
) -> None:
    activity = adapted(teams_server, "invoke_adaptive_card_action")
    if invoke_name is None:
        del activity["name"]  # an invoke without a name
    else:
        activity["name"] = invoke_name
    activity["value"] = {"commandId": "x"}
    status, body = await post_json(teams_server, activity)
    assert status == 200 and body is None
    assert teams_server.fake.calls == []


def _execute(server: TeamsServer, user: acts.User, data: dict[str, Any], reply_to: str) -> dict[str, Any]:
    """The recorded Action.Execute invoke, sent by ``user`` from their 1:1 chat for one of our cards."""
    activity = adapted(server, "invoke_adaptive_card_action")
    activity["from"] = user.account()
    activity["recipient"] = {"id": acts.BOT_ID, "name": acts.BOT_NAME}
    activity["conversation"] = {"id": user.chat, "conversationType": "personal", "tenantId": acts.TENANT}
    activity["channelData"]["tenant"] = {"id": acts.TENANT}
    activity["replyToId"] = reply_to
    activity["value"]["action"] = {"type": "Action.Execute", "verb": "momentum", "data": data}
    return activity


async def test_action_execute_on_our_prompt_answers_and_refreshes_the_card_in_place(
    teams_server: TeamsServer, momentum: Any, roster: list[acts.User], clock: FakeClock
) -> None:
    await _paired(teams_server)
    prompt = await deliver_until_buttons(teams_server, momentum, clock)
    user = next(u for u in roster if u.chat == prompt.conversation_id)
    first = next(a for a in submits(teams_server.fake.card(prompt))
                 if a["data"].get(render.ACTION_KEY) != "kickoff.agree")  # that one opens a form
    assert prompt.response_id
    status, body = await post_json(teams_server, _execute(teams_server, user, first["data"], prompt.response_id))
    assert status == 200 and body["statusCode"] == 200
    assert body["type"] == render.CARD_CONTENT_TYPE  # the answer card replaces the clicked card for the clicker
    card = body["value"]
    assert card["type"] == "AdaptiveCard"
    assert not any(a["data"] == first["data"] for a in submits(card))  # the answered buttons are gone
    with momentum.db.session() as s:
        answered = s.exec(select(Prompt).where(Prompt.answered_at.is_not(None))).all()  # type: ignore[union-attr]
        checkins = s.exec(select(CheckIn)).all()
    assert answered or checkins


async def test_submit_without_reply_to_id_still_updates_the_clicked_card(
    teams_server: TeamsServer, momentum: Any, roster: list[acts.User], clock: FakeClock
) -> None:
    """Teams sometimes sends the clicked card's id only in ``channelData.legacy.replyToId`` (as in the
    recorded ``submit_channel_no_replyto`` payload): the card must still be replaced, not answered twice."""
    recorded = payloads.load("teams", "submit_channel_no_replyto")
    assert "replyToId" not in recorded and recorded["channelData"]["legacy"]["replyToId"]
    await _paired(teams_server)
    prompt = await deliver_until_buttons(teams_server, momentum, clock)
    user = next(u for u in roster if u.chat == prompt.conversation_id)
    first = next(a for a in submits(teams_server.fake.card(prompt))
                 if a["data"].get(render.ACTION_KEY) != "kickoff.agree")  # that one opens a form
    click = acts.card_submit(teams_server.fake.url, user, first["data"], prompt.response_id or "")
    del click["replyToId"]
    assert click["channelData"]["legacy"]["replyToId"] == prompt.response_id
    before = len(teams_server.fake.updates())
    status, _ = await post_json(teams_server, click)
    assert status == 201
    updates = teams_server.fake.updates()[before:]
    assert [u.activity_id for u in updates] == [prompt.response_id]
    assert not any(a["data"] == first["data"] for a in submits(teams_server.fake.card(updates[0])))
