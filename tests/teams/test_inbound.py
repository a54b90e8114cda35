"""Inbound activities checked before the turn (``adapters.teams.inbound``): the invokes that used to get 501,
malformed invoke values (400 with the body Teams expects), malformed activities (the old DeserializationError
case): 4xx, one warning without the body, no traceback, nothing changed."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlmodel import select

from adapters.teams.inbound import INVOKE_ERROR
from adapters.teams.words import t
from storage.models import AuditLog, CheckIn, Person
from tests.teams import activities as acts
from tests.teams.conftest import TeamsServer
from tests.teams.invokes import (
    FORMERLY_501,
    INVOKE_VALUES,
    card_execute,
    deserialization_cases,
    expected_body,
    invoke,
)

CANARY = "private-words-7f3a"  # put in bodies; must never reach a log line


async def post_json(server: TeamsServer, activity: Any) -> tuple[int, Any]:
    async with server.session.post(server.url, json=activity) as r:
        body = await r.json() if r.content_type == "application/json" else (await r.read()) or None
        await server.settle()
        return r.status, body


def _rows(momentum: Any) -> tuple[int, int, int]:
    with momentum.db.session() as s:
        return (len(s.exec(select(Person)).all()), len(s.exec(select(CheckIn)).all()),
                len(s.exec(select(AuditLog)).all()))


def _problems(caplog: pytest.LogCaptureFixture) -> tuple[list[str], list[str], list[str]]:
    """(tracebacks, warnings from our Teams edge, lines that carry the canary)."""
    tracebacks = [r.getMessage() for r in caplog.records if r.exc_info]
    warnings = [r.getMessage() for r in caplog.records
                if r.levelno == logging.WARNING and r.name.startswith("adapters.teams")]
    leaks = [r.getMessage() for r in caplog.records if CANARY in r.getMessage() or CANARY in (r.exc_text or "")]
    return tracebacks, warnings, leaks


def test_the_twelve_formerly_501_invokes_are_covered() -> None:
    assert len(FORMERLY_501) == 12 and set(FORMERLY_501) <= set(INVOKE_VALUES)


@pytest.mark.parametrize("name", sorted(INVOKE_VALUES))
async def test_invokes_we_do_not_act_on_get_200_and_what_teams_shows(
    teams_server: TeamsServer, momentum: Any, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        status, body = await post_json(teams_server, invoke(teams_server.fake.url, acts.SAM, name, INVOKE_VALUES[name]))
    assert status == 200, (name, status)  # never the SDK's 501
    assert body == expected_body(name)
    assert teams_server.fake.calls == [] and _rows(momentum) == (0, 0, 0)
    tracebacks, warnings, _ = _problems(caplog)
    assert tracebacks == [] and warnings == []


def _bad_card_actions(url: str) -> dict[str, tuple[dict[str, Any], str, str]]:
    """why -> (activity, expected error code, expected words key)."""
    good = card_execute(url, acts.SAM, {"momentum_action": "checkin.status", "momentum_value": CANARY})
    no_value = {**good}
    del no_value["value"]
    return {
        "no value": (no_value, "BadRequest", "bad_card_action"),
        "value is a string": ({**good, "value": CANARY}, "BadRequest", "bad_card_action"),
        "no action": ({**good, "value": {"trigger": "manual", "note": CANARY}}, "BadRequest", "bad_card_action"),
        "action is a list": ({**good, "value": {"action": [CANARY]}}, "BadRequest", "bad_card_action"),
        "action without type": ({**good, "value": {"action": {"data": {"x": CANARY}}}}, "BadRequest",
                                "bad_card_action"),
        "Action.Submit through invoke": (card_execute(url, acts.SAM, {"momentum_action": "x"}, kind="Action.Submit"),
                                         "NotSupported", "not_supported"),
        "our action id not a string": (card_execute(url, acts.SAM, {"momentum_action": ["checkin.status", CANARY]}),
                                       "BadRequest", "bad_card_action"),
        "form input is an object": (card_execute(url, acts.SAM, {"momentum_form": "win", "note": {"x": CANARY}}),
                                    "BadRequest", "bad_card_action"),
    }


@pytest.mark.parametrize("why", list(_bad_card_actions("http://x/")))
async def test_malformed_card_actions_get_a_400_invoke_response_with_a_kind_message(
    teams_server: TeamsServer, momentum: Any, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    activity, code, words = _bad_card_actions(teams_server.fake.url)[why]
    with caplog.at_level(logging.INFO):
        status, body = await post_json(teams_server, activity)
    assert status == 400, why
    assert body == {"statusCode": 400, "type": INVOKE_ERROR,
                    "value": {"code": code, "message": t(f"invoke.{words}")}}
    assert teams_server.fake.calls == [] and _rows(momentum) == (0, 0, 0)
    tracebacks, warnings, leaks = _problems(caplog)
    assert tracebacks == [] and len(warnings) == 1 and leaks == []


@pytest.mark.parametrize("value", [None, CANARY, {"data": {"x": CANARY}}, [CANARY]])
async def test_malformed_dialog_invokes_get_400_with_a_dialog_message(
    teams_server: TeamsServer, value: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        status, body = await post_json(teams_server, invoke(teams_server.fake.url, acts.SAM, "task/fetch", value))
    assert status == 400
    assert body == {"task": {"type": "message", "value": t("invoke.no_dialogs")}}
    tracebacks, warnings, leaks = _problems(caplog)
    assert tracebacks == [] and len(warnings) == 1 and leaks == []


@pytest.mark.parametrize("why", list(deserialization_cases("http://x/", CANARY)))
async def test_malformed_activities_get_400_logged_once_without_the_body(
    teams_server: TeamsServer, momentum: Any, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        status, body = await post_json(teams_server, deserialization_cases(teams_server.fake.url, CANARY)[why])
    assert status == 400, (why, status)
    assert isinstance(body, dict) and CANARY not in str(body)
    assert teams_server.fake.calls == [] and _rows(momentum) == (0, 0, 0)
    tracebacks, warnings, leaks = _problems(caplog)
    assert tracebacks == [] and len(warnings) == 1 and leaks == [], (tracebacks, warnings, leaks)
    # The SDK's own model logs these at ERROR with a traceback and the input: dropped at our edge.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
