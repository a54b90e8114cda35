"""Teams activities that Teams never sends, on SQLite and PostgreSQL, through the real endpoint: a NUL
anywhere (text, names, card values) and JSON nested 1,000 to 100,000 levels deep.

A NUL becomes U+FFFD before anything reads the activity (``adapters/untrusted.py``): PostgreSQL refuses NUL
in text. A body nested deeper than 64 levels gets 400 with one warning naming why. Never a 5xx, never a
traceback."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from sqlmodel import select

from bot.app import Momentum
from bot.model.clock import FakeClock
from bot.model.config import Settings
from storage.db import Database
from storage.models import AuditLog, Person
from tests.teams import activities as acts
from tests.teams.conftest import TeamsServer

NUL = "\x00"
FFFD = "\ufffd"


@pytest.fixture
def momentum(db: Database, settings: Settings, clock: FakeClock) -> Momentum:
    """The core on SQLite and on PostgreSQL (the ``db`` fixture's two backends)."""
    return Momentum(db, settings, clock)


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info]


def nul_user() -> acts.User:
    return acts.User(acts.SAM.teams_id, acts.SAM.aad, f"Sam{NUL} Lee", acts.SAM.email)


async def test_a_nul_in_text_and_name_is_answered_and_stored_as_the_replacement_character(
    teams_server: TeamsServer, momentum: Momentum, roster: list[acts.User], caplog: pytest.LogCaptureFixture
) -> None:
    url = teams_server.fake.url
    assert (await teams_server.post(acts.personal_install(url, nul_user()))).status == 201
    r = await teams_server.post(acts.message(url, nul_user(), f"he{NUL}lp"))
    assert r.status in (200, 201) and len(teams_server.fake.sent()) >= 2  # the welcome, then the answer
    with momentum.db.session() as s:
        sam = s.exec(select(Person).where(Person.email == acts.SAM.email)).one()
    assert sam.name == f"Sam{FFFD} Lee"
    assert not tracebacks(caplog)


async def test_a_card_click_whose_action_carries_a_nul_is_refused_and_audited(
    teams_server: TeamsServer, momentum: Momentum, roster: list[acts.User], caplog: pytest.LogCaptureFixture
) -> None:
    url = teams_server.fake.url
    assert (await teams_server.post(acts.personal_install(url, acts.SAM))).status == 201
    click = acts.card_submit(url, acts.SAM, {"momentum_action": f"checkin.status{NUL}",
                                             "momentum_value": f"1{NUL}"}, "1700000000777")
    r = await teams_server.post(click)
    assert r.status < 500
    with momentum.db.session() as s:
        refusals = s.exec(select(AuditLog).where(AuditLog.action == "refused.action")).all()
    assert [a.target for a in refusals] == [f"checkin.status{FFFD}"]
    assert not tracebacks(caplog)


def deep(depth: int) -> Any:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [65, 1_000, 100_000])
async def test_a_deeply_nested_activity_gets_400(
    teams_server: TeamsServer, momentum: Momentum, caplog: pytest.LogCaptureFixture, depth: int
) -> None:
    activity = acts.message(teams_server.fake.url, acts.SAM, "help")
    activity["value"] = "__DEEP__"
    raw = json.dumps(activity).replace('"__DEEP__"', deep(depth)).encode()
    caplog.set_level(logging.WARNING)
    r = await teams_server.post(None, raw=raw)
    assert r.status == 400 and teams_server.fake.sent() == []
    assert [rec.getMessage() for rec in caplog.records if rec.levelno >= logging.WARNING] == \
        ["teams request refused: 400 the activity is nested deeper than 64 levels"]
    assert not tracebacks(caplog)
