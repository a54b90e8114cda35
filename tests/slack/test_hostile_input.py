"""Signed Slack payloads that no Slack client sends, on SQLite and PostgreSQL, through the real server:
a NUL anywhere (text, action ids, form values, team_domain) and JSON nested 1,000 to 100,000 levels deep.

A NUL becomes U+FFFD before anything reads the body (``adapters/untrusted.py``), so a click whose action id
carries one is refused and audited like any unknown click, and everything else is answered as usual; PostgreSQL
refuses NUL in text, so before that the audit insert raised ``psycopg.DataError``. A body nested deeper than 64
levels gets 400 with one warning naming why, and nothing is stored. Never a 5xx, never a traceback.
"""

from __future__ import annotations

import json
import logging
import urllib.parse

import pytest
from sqlmodel import select

from adapters.slack.render import FORM_CALLBACK_ID
from bot.app import Momentum
from bot.model.clock import FakeClock
from bot.model.config import Settings
from storage.db import Database
from storage.models import AuditLog, InboxItem, Person, Win
from tests.slack.conftest import SlackServer

NUL = "\x00"
FFFD = "\ufffd"


@pytest.fixture
def momentum(db: Database, settings: Settings, clock: FakeClock) -> Momentum:
    """The core on SQLite and on PostgreSQL (the ``db`` fixture's two backends)."""
    return Momentum(db, settings, clock)


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info]


def command_form(text: str, *, team_domain: str = "acme", user: str = "UADMIN", response_url: str) -> str:
    return urllib.parse.urlencode({
        "token": "legacy", "team_id": "T1", "team_domain": team_domain, "channel_id": "C1", "user_id": user,
        "user_name": "ada", "command": "/momentum", "text": text, "api_app_id": "A1",
        "response_url": response_url, "trigger_id": "1337.42.abcd"})


async def test_a_nul_in_team_domain_and_in_the_text_is_answered(
    slack_server: SlackServer, momentum: Momentum, caplog: pytest.LogCaptureFixture
) -> None:
    fake = slack_server.fake
    status, _ = await slack_server.signed(
        command_form(f"program create Pi{NUL}lot", team_domain=f"ac{NUL}me", response_url=fake.response_url("c")),
        "application/x-www-form-urlencoded")
    await slack_server.settle()
    assert status == 200
    (answer,) = fake.responses  # answered, where before a NUL in team_domain got no answer at all
    assert f"Pi{FFFD}lot" in answer["text"] and NUL not in json.dumps(answer)
    assert not tracebacks(caplog)


async def test_a_nul_in_a_win_is_stored_as_the_replacement_character(
    slack_server: SlackServer, momentum: Momentum, caplog: pytest.LogCaptureFixture
) -> None:
    fake = slack_server.fake
    for text in ("program create Pilot", "pair <@UKIM|kim> <@USAM|sam> Pilot"):
        await slack_server.command(text)
        await slack_server.settle()
    status, _ = await slack_server.signed(
        command_form(f"win Shipped{NUL} the{NUL}demo", user="USAM", response_url=fake.response_url("w")),
        "application/x-www-form-urlencoded")
    await slack_server.settle()
    assert status == 200
    with momentum.db.session() as s:
        (win,) = s.exec(select(Win)).all()
    assert win.text == f"Shipped{FFFD} the{FFFD}demo"
    assert not tracebacks(caplog)


async def test_a_click_whose_action_id_carries_a_nul_is_refused_and_audited(
    slack_server: SlackServer, momentum: Momentum, caplog: pytest.LogCaptureFixture
) -> None:
    await slack_server.command("help", user="USAM")  # Sam is someone we know
    await slack_server.settle()
    status, _ = await slack_server.click({"ts": "1700000001.000100", "blocks": []},
                                         {"type": "button", "action_id": f"checkin.status{NUL}#1", "value": f"1{NUL}"},
                                         user="USAM", channel="DUSAM")
    await slack_server.settle()
    assert status == 200
    with momentum.db.session() as s:
        refusals = s.exec(select(AuditLog).where(AuditLog.action == "refused.action")).all()
    assert [a.target for a in refusals] == [f"checkin.status{FFFD}"] and not refusals[0].ok
    assert not tracebacks(caplog)


async def test_a_nul_in_form_values_and_metadata_is_answered_without_a_5xx(
    slack_server: SlackServer, momentum: Momentum, caplog: pytest.LogCaptureFixture
) -> None:
    await slack_server.command("help", user="USAM")
    await slack_server.settle()
    view = {"id": "V1", "type": "modal", "callback_id": FORM_CALLBACK_ID,
            "private_metadata": json.dumps({"form_id": f"win{NUL}", "state": NUL}),
            "state": {"values": {f"b{NUL}": {f"text{NUL}#1": {"type": "plain_text_input", "value": f"a{NUL}b"}}}}}
    payload = {"type": "view_submission", "team": {"id": "T1", "domain": f"ac{NUL}me"},
               "user": {"id": "USAM", "team_id": "T1", "name": f"s{NUL}"}, "api_app_id": "A1", "view": view}
    status, _ = await slack_server.interactive(payload)
    await slack_server.settle()
    assert status < 500
    assert not tracebacks(caplog)
    with momentum.db.session() as s:
        names = [p.name for p in s.exec(select(Person)).all()]
    assert all(NUL not in (n or "") for n in names)


async def test_a_nul_in_a_direct_message_is_answered(
    slack_server: SlackServer, momentum: Momentum, caplog: pytest.LogCaptureFixture
) -> None:
    status, _ = await slack_server.event({"type": "message", "channel_type": "im", "user": "USAM", "channel": "DUSAM",
                                          "text": f"he{NUL}lp", "ts": "1700000002.000100"}, event_id=f"Ev{NUL}1")
    await slack_server.settle()
    assert status == 200
    assert [p for p in slack_server.fake.of("chat.postMessage") if p["channel"] == "DUSAM"]  # an answer came
    assert not tracebacks(caplog)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [65, 1_000, 100_000])
async def test_deeply_nested_interactivity_gets_400(
    slack_server: SlackServer, momentum: Momentum, caplog: pytest.LogCaptureFixture, depth: int
) -> None:
    inner = json.dumps({"type": "block_actions", "user": {"id": "USAM"}, "team": {"id": "T1"},
                        "response_url": slack_server.fake.response_url("d"), "container": {"type": "message"},
                        "actions": [{"action_id": "x", "value": "__DEEP__"}]})
    payload = inner.replace('"__DEEP__"', nested(depth))
    caplog.set_level(logging.WARNING)
    status, text = await slack_server.signed(urllib.parse.urlencode({"payload": payload}),
                                             "application/x-www-form-urlencoded")
    assert (status, text) == (400, "bad request")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == \
        ["slack request rejected: nested deeper than 64 levels"]
    assert not tracebacks(caplog)
    with momentum.db.session() as s:
        assert s.exec(select(InboxItem)).all() == []


@pytest.mark.parametrize("depth", [1_000, 100_000])
async def test_a_deeply_nested_event_gets_400(
    slack_server: SlackServer, momentum: Momentum, caplog: pytest.LogCaptureFixture, depth: int
) -> None:
    status, _ = await slack_server.event({"type": "message", "channel_type": "im", "user": "USAM",
                                          "channel": "DUSAM", "text": "hi", "x": json.loads(nested(500))})
    body = json.dumps({"type": "event_callback", "team_id": "T1", "event_id": "EvDeep",
                       "event": {"type": "message", "text": "__DEEP__"}}).replace('"__DEEP__"', nested(depth))
    status2, _ = await slack_server.signed(body, "application/json")
    assert (status, status2) == (400, 400)
    assert not tracebacks(caplog)


def test_nesting_as_deep_as_real_payloads_is_accepted() -> None:
    from adapters import untrusted

    value = json.loads(nested(untrusted.MAX_DEPTH))
    assert untrusted.clean(value) is value
    with pytest.raises(untrusted.TooDeep):
        untrusted.clean(json.loads(nested(untrusted.MAX_DEPTH + 1)))
