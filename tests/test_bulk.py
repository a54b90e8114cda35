"""Bulk work in the core and storage: the background lane, long jobs, and the import's bulk write
on SQLite and PostgreSQL (people created once, units, existing pairs, all or nothing)."""

from __future__ import annotations

import asyncio
import threading

from sqlmodel import select

from bot.app import Momentum
from bot.chat import bulk
from bot.content.prompts import Actions
from bot.model.interactions import Interaction, InteractionKind, Profile
from storage.db import Database
from storage.models import AuditLog, Pair, Person
from tests.fakes import ADMIN, RecordingPlatform, command, person


async def test_the_background_lane_never_takes_the_interactive_slots(sqlite_db: Database) -> None:
    release = threading.Event()
    started: list[str] = []

    def long_job(name: str) -> str:
        started.append(name)
        release.wait(30)
        return threading.current_thread().name

    first = asyncio.ensure_future(sqlite_db.run_background(long_job, "first"))
    second = asyncio.ensure_future(sqlite_db.run_background(long_job, "second"))
    while not started:
        await asyncio.sleep(0.01)
    # Every interactive slot is free while a long job runs: as many quick units as slots at once.
    quick = await asyncio.gather(*(sqlite_db.run(threading.current_thread) for _ in range(sqlite_db.workers)))
    assert all(t.name.startswith("momentum-db_") or t.name.startswith("momentum-db-") for t in quick)
    assert not any(t.name.startswith("momentum-db-bg") for t in quick)
    assert started == ["first"]  # one long job at a time: the second waits its turn in its own lane
    release.set()
    names = await asyncio.gather(first, second)
    assert started == ["first", "second"] and all(n.startswith("momentum-db-bg") for n in names)
    sqlite_db.dispose()
    assert sqlite_db._background is None


def test_long_jobs_are_imports_and_exports() -> None:
    def ia(kind: InteractionKind, text: str = "", action_id: str = "") -> Interaction:
        return Interaction("test", "W1", "U1", kind, text=text, action_id=action_id)

    assert bulk.is_long_job(ia(InteractionKind.COMMAND, "import a,b\nc,d"))
    assert bulk.is_long_job(ia(InteractionKind.MESSAGE, "/momentum export"))
    assert bulk.is_long_job(ia(InteractionKind.SUBMIT, action_id=Actions.IMPORT_FORM))
    assert not bulk.is_long_job(ia(InteractionKind.COMMAND, "win I imported a thing"))
    assert not bulk.is_long_job(ia(InteractionKind.ACTION, "import", action_id="checkin.status"))
    assert not bulk.is_long_job(ia(InteractionKind.COMMAND, ""))


def _csv(lines: list[str]) -> str:
    return "import sponsor_email,sponsoree_email,program,unit,sponsor_unit\n" + "\n".join(lines)


async def test_an_import_creates_each_person_once_and_keeps_all_or_nothing(
        core: Momentum, fake: RecordingPlatform) -> None:
    people = [person(f"U{i}", f"Person {i}", email=f"p{i}@example.com") for i in range(30)]
    fake.people.update({p.external_id: p for p in people})
    await command(core, ADMIN, "program create Pilot")
    # Someone already known by id, not by email (they said hi before their email was visible).
    await command(core, Profile("U29", "Person 29", None, "Asia/Tokyo"), "help")
    lines = [f"p0@example.com,p{i}@example.com,Pilot," + ("Sales,Sales" if i == 1 else ",") for i in range(1, 30)]
    r = await command(core, ADMIN, _csv(lines))
    assert r.reply and "Imported 29 new pair(s)" in r.reply.text
    assert "same unit" in r.reply.as_plain_text() and "Line 2" in r.reply.as_plain_text()
    with core.db.session() as s:
        stored = s.exec(select(Person).where(Person.external_id != "UADMIN")).all()
        assert sorted(p.external_id for p in stored) == sorted(f"U{i}" for i in range(30))  # nobody twice
        by_ext = {p.external_id: p for p in stored}
        assert by_ext["U29"].email == "p29@example.com" and by_ext["U29"].tz == "Europe/London"  # refreshed
        assert by_ext["U0"].unit == "Sales" and by_ext["U5"].tz == "Europe/London"
        pairs = s.exec(select(Pair)).all()
        assert len(pairs) == 29 and {p.sponsor_id for p in pairs} == {by_ext["U0"].id}
        assert [p.same_unit for p in pairs].count(True) == 1 and all(p.status == "active" for p in pairs)
    # A line that conflicts with a stored pair: nothing changes at all, not even the unit on line 2.
    r = await command(core, ADMIN, _csv(["p0@example.com,p1@example.com,Pilot,Ops,Ops",
                                         "p2@example.com,p3@example.com,Pilot,,"]))
    assert r.reply and "Nothing was imported. Line 3: Person 3 is already paired with Person 0" in r.reply.text
    r = await command(core, ADMIN, _csv(lines))
    assert r.reply and "Imported 0 new pair(s); 29 already existed" in r.reply.text
    with core.db.session() as s:
        assert len(s.exec(select(Pair)).all()) == 29
        assert s.exec(select(Person).where(Person.external_id == "U0")).one().unit == "Sales"
        audits = s.exec(select(AuditLog).where(AuditLog.action == "pairs.import")).all()
        assert [a.ok for a in audits] == [True, True]  # the refused one imported nothing
