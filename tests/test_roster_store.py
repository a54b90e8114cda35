"""``bot.domain.roster.store_people``: a page of people in one unit of work, field by field as ``upsert_person``."""

from __future__ import annotations

from sqlmodel import select

from bot.app import Momentum
from bot.domain.roster import NAME_MAX, RosterEntry
from bot.model.interactions import Profile
from storage.models import Person


def _address(user_id: str, conversation: str | None = None) -> dict[str, object]:
    return {"serviceUrl": "https://smba.example/", "user": {"id": user_id},
            "conversation": {"id": conversation} if conversation else None}


def _person(core: Momentum, ext: str) -> Person:
    with core.db.session() as s:
        return s.exec(select(Person).where(Person.external_id == ext)).one()


def test_store_people_inserts_updates_and_keeps_what_it_should(core: Momentum) -> None:
    # Known before: one with a 1:1 chat and an unreachable reason, one erased, one unchanged.
    core.units.upsert_person("teams", "t1", Profile("chat", name="Chat Person"), address=_address("29:c", "a:1"))
    core.units.mark_unreachable("teams", "t1", "chat", "ConversationBlockedByUser")
    core.units.upsert_person("teams", "t1", Profile("gone", name="Gone"), address=_address("29:g"))
    with core.db.session() as s:
        gone = s.exec(select(Person).where(Person.external_id == "gone")).one()
        gone.forgotten = True
    core.units.upsert_person("teams", "t1", Profile("same", name="Same", email="same@example.com"),
                       address=_address("29:s"))
    stats = core.units.store_people("teams", "t1", [
        RosterEntry("new", name="New Person", email="New@Example.com", address=_address("29:n")),
        RosterEntry("chat", name="Chat Renamed", address=_address("29:c")),  # offers no chat: keep the chat
        RosterEntry("gone", name="Back Again", address=_address("29:g")),
        RosterEntry("same", name="Same", email="same@example.com", address=_address("29:s")),
        RosterEntry("long", name="x" * 500, email="y" * 400 + "@example.com"),
        RosterEntry("", name="no id"),
        RosterEntry("z" * 200, name="id too long"),
        RosterEntry("new", name="New Person", email="new@example.com", address=_address("29:n")),  # twice
    ])
    assert (stats.inserted, stats.updated, stats.unchanged, stats.skipped) == (2, 2, 1, 2)
    assert set(stats.person_ids) == {"new", "chat", "gone", "same", "long"}
    new = _person(core, "new")
    assert new.email == "new@example.com" and new.name == "New Person" and new.address == _address("29:n")
    chat = _person(core, "chat")
    assert chat.name == "Chat Renamed" and chat.address == _address("29:c", "a:1")
    assert chat.unreachable_reason == "ConversationBlockedByUser"  # same way to reach them: reason kept
    back = _person(core, "gone")
    assert not back.forgotten and back.name == "Back Again"
    long = _person(core, "long")
    assert len(long.name) == NAME_MAX and long.email is None


def test_a_new_way_to_reach_someone_clears_the_unreachable_reason(core: Momentum) -> None:
    core.units.upsert_person("teams", "t1", Profile("p", name="P"), address=_address("29:old"))
    core.units.mark_unreachable("teams", "t1", "p", "UserNotFound")
    stats = core.units.store_people("teams", "t1", [RosterEntry("p", address=_address("29:new"))])
    assert stats.updated == 1
    p = _person(core, "p")
    assert p.address == _address("29:new") and p.unreachable_reason is None and p.name == "P"


def test_store_people_creates_the_workspace_when_needed(core: Momentum) -> None:
    stats = core.units.store_people("teams", "fresh-tenant", [RosterEntry("a", name="A")])
    assert stats.inserted == 1
    assert core.units.workspace_ref("teams", "fresh-tenant") is not None
