"""Team installs: the turn is acknowledged at once; the roster is read afterwards with the paged members API
and stored a page per unit of work on the database executor (SQLite and PostgreSQL, no SQL on the loop)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlmodel import func, select

from adapters.teams.settings import TeamsSettings
from bot.app import Momentum
from bot.model.clock import FakeClock
from bot.model.config import Settings
from storage.db import Database
from storage.models import Person
from tests.teams import activities as acts
from tests.teams.conftest import TeamsServer, start_server
from tests.teams.fake_connector import FakeConnector

TEAM_SIZE = 2000
HANG_GUARD_S = 60  # only a guard against a turn that waits for the held pages (it would never return)


@pytest.fixture
async def server(db: Database, settings: Settings, clock: FakeClock,
                 teams_fake: FakeConnector) -> AsyncIterator[TeamsServer]:
    """The real endpoint on the core over SQLite and PostgreSQL."""
    srv, runner = await start_server(Momentum(db, settings, clock), TeamsSettings(), teams_fake)
    yield srv
    await srv.session.close()
    await runner.cleanup()


def people(server: TeamsServer) -> int:
    with server.bot.momentum.db.session() as s:
        return int(s.exec(select(func.count()).select_from(Person)).one())


@pytest.fixture
def person_sql(db: Database) -> Iterator[list[str]]:
    """The statements run against the person table (first words), in order."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        words = " ".join(statement.split()[:3]).upper()
        if words.startswith("INSERT INTO PERSON"):
            seen.append("INSERT INTO PERSON")
        elif words.startswith("UPDATE PERSON"):
            seen.append("UPDATE PERSON")
        elif words.startswith("SELECT") and "FROM person" in statement and "person.external_id IN" in statement:
            seen.append("SELECT existing")

    event.listen(db.engine, "before_cursor_execute", note)
    yield seen
    event.remove(db.engine, "before_cursor_execute", note)


async def test_a_2000_member_team_install_is_acknowledged_before_its_roster_is_read(
    server: TeamsServer, person_sql: list[str]
) -> None:
    fake = server.fake
    fake.add_team(TEAM_SIZE)
    fake.page_size = 500  # Teams' largest page
    release = fake.hold_pages()
    r = await asyncio.wait_for(server.post(acts.team_install(fake.url, acts.ADMIN), settle=False), HANG_GUARD_S)
    # The turn answered while no member page had been served: it did not wait for the roster.
    assert r.status == 201
    assert fake.pages_served == 0 and people(server) == 0
    assert len(fake.ok_sent()) == 1  # the team welcome went out within the turn
    assert server.bot.rosters.running == 1
    release.set()
    await server.settle()
    assert people(server) == TEAM_SIZE
    assert fake.pages_served == TEAM_SIZE // 500
    assert list(server.bot.rosters.completed) == [(acts.TENANT, acts.TEAM_ID, TEAM_SIZE)]
    # One unit of work per page: one query for who is known, one insert batch (everyone is new).
    assert person_sql == ["SELECT existing", "INSERT INTO PERSON"] * (TEAM_SIZE // 500)
    with server.bot.momentum.db.session() as s:
        sample = s.exec(select(Person).where(Person.external_id == "aad-m01234")).one()
    assert sample.email == "m01234@example.com" and sample.name == "Person M01234"
    assert sample.address and sample.address["user"]["id"] == "29:m01234" and not sample.address["conversation"]


async def test_a_reinstall_updates_in_one_batch_and_keeps_1to1_chats(
    server: TeamsServer, person_sql: list[str]
) -> None:
    fake = server.fake
    fake.page_size = 500
    for u in (acts.ADMIN, acts.SAM, acts.RIA):
        fake.add_member(u.teams_id, u.aad, u.name, u.email)
    assert (await server.post(acts.team_install(fake.url, acts.ADMIN))).status == 201
    assert (await server.post(acts.personal_install(fake.url, acts.SAM))).status == 201  # Sam has a 1:1 chat
    fake.add_member(acts.RIA.teams_id, acts.RIA.aad, "Ria Renamed", "ria.new@example.com")
    person_sql.clear()
    assert (await server.post(acts.team_install(fake.url, acts.ADMIN))).status == 201
    assert person_sql == ["SELECT existing", "UPDATE PERSON"]  # only Ria changed; nobody new
    with server.bot.momentum.db.session() as s:
        sam = s.exec(select(Person).where(Person.external_id == acts.SAM.aad)).one()
        ria = s.exec(select(Person).where(Person.external_id == acts.RIA.aad)).one()
    assert sam.address and sam.address["conversation"]["id"] == acts.SAM.chat  # kept, not the roster's
    assert ria.name == "Ria Renamed" and ria.email == "ria.new@example.com"


async def test_conversation_update_and_installation_update_read_the_roster_once(server: TeamsServer) -> None:
    """Teams sends both for one team install; the second finds the first reading."""
    fake = server.fake
    fake.add_team(30)
    fake.page_size = 10
    release = fake.hold_pages()
    install = acts.team_install(fake.url, acts.ADMIN)
    update = {**install, "type": "installationUpdate", "action": "add"}
    update.pop("membersAdded")
    for activity in (install, update):
        r = await asyncio.wait_for(server.post(activity, settle=False), HANG_GUARD_S)
        assert r.status == 201
    assert server.bot.rosters.running == 1
    release.set()
    await server.settle()
    assert fake.pages_served == 3 and people(server) == 30


async def test_a_page_that_fails_ends_the_reading_and_keeps_what_was_stored(
    server: TeamsServer, caplog: pytest.LogCaptureFixture
) -> None:
    fake = server.fake
    fake.add_team(30)
    fake.page_size = 10
    fake.fail_next(403, "BotNotInConversationRoster", match="pagedmembers", times=99, after=1)
    with caplog.at_level(logging.INFO):
        assert (await server.post(acts.team_install(fake.url, acts.ADMIN))).status == 201
    assert people(server) == 10  # the first page; the second was refused
    stopped = [r for r in caplog.records if "roster read stopped" in r.getMessage()]
    assert len(stopped) == 1 and stopped[0].levelno == logging.WARNING
    assert not [r for r in caplog.records if r.exc_info]


async def test_shutdown_cancels_a_reading_that_does_not_finish(
    server: TeamsServer, caplog: pytest.LogCaptureFixture
) -> None:
    fake = server.fake
    fake.add_team(5)
    fake.hold_pages()  # never released: Teams does not answer
    assert (await server.post(acts.team_install(fake.url, acts.ADMIN), settle=False)).status == 201
    assert server.bot.rosters.running == 1
    with caplog.at_level(logging.WARNING):
        await server.bot.rosters.close(grace_s=0.05)
    assert server.bot.rosters.running == 0 and people(server) == 0
    assert any("cancelled at shutdown" in r.getMessage() for r in caplog.records)


async def test_a_database_failure_ends_the_reading_with_one_warning(
    server: TeamsServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def database_away(*_: Any, **__: Any) -> Any:
        raise OperationalError("INSERT INTO person ...", {}, Exception("server closed the connection"))

    server.fake.add_team(5)
    monkeypatch.setattr(server.bot.momentum, "store_people", database_away)
    with caplog.at_level(logging.INFO):
        assert (await server.post(acts.team_install(server.fake.url, acts.ADMIN))).status == 201
    stopped = [r for r in caplog.records if "roster read stopped" in r.getMessage()]
    assert len(stopped) == 1 and "OperationalError" in stopped[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info]
