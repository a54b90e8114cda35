"""Rosters: many people stored in one unit of work (a page of a team's members, a bulk import).

``store_people`` is a synchronous domain function on a session: one query finds who is already
known, one batch inserts the newcomers and one batch updates the rest. It follows
``directory.upsert_person`` field by field (an address that changes clears the unreachable reason; an
erased person who comes back starts fresh), except that a person who already has a 1:1
conversation keeps it when the roster only offers a way to open one (``keep_conversation``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from storage.models import Person

# Column limits (storage.models.Person): longer values are cut (names) or dropped (emails, ids).
NAME_MAX = 200
EMAIL_MAX = 320
EXTERNAL_ID_MAX = 128


@dataclass(frozen=True)
class RosterEntry:
    """One person as a roster tells us about them. ``None`` means "unknown, keep what we have"."""

    external_id: str
    name: str | None = None
    email: str | None = None
    address: Mapping[str, Any] | None = None
    keep_conversation: bool = True  # an address without a conversation never replaces one that has it


@dataclass
class RosterStats:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    person_ids: dict[str, int] = field(default_factory=dict)  # external id -> person id

    @property
    def stored(self) -> int:
        return self.inserted + self.updated + self.unchanged


def _clean(entry: RosterEntry) -> RosterEntry | None:
    ext = (entry.external_id or "").strip()
    if not ext or len(ext) > EXTERNAL_ID_MAX:
        return None
    email = (entry.email or "").strip().lower() or None
    if email is not None and len(email) > EMAIL_MAX:
        email = None
    name = (entry.name or "").strip()[:NAME_MAX] or None
    return RosterEntry(ext, name, email, entry.address, entry.keep_conversation)


def _has_conversation(address: Mapping[str, Any] | None) -> bool:
    conversation = (address or {}).get("conversation")
    return isinstance(conversation, Mapping) and bool(conversation.get("id"))


def store_people(s: Session, now: datetime, workspace_id: int, entries: Sequence[RosterEntry]) -> RosterStats:
    """Insert or refresh ``entries`` (deduplicated by external id, the last one wins) in ``workspace_id``."""
    stats = RosterStats()
    wanted: dict[str, RosterEntry] = {}
    for raw in entries:
        entry = _clean(raw)
        if entry is None:
            stats.skipped += 1
            continue
        wanted[entry.external_id] = entry
    if not wanted:
        return stats
    existing = {
        row.external_id: row
        for row in s.execute(
            select(Person.id, Person.external_id, Person.name, Person.email,  # type: ignore[call-overload]
                   Person.address, Person.unreachable_reason, Person.forgotten)
            .where(Person.workspace_id == workspace_id, col(Person.external_id).in_(list(wanted)))
        ).all()
    }
    new_rows: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for ext, entry in wanted.items():
        p = existing.get(ext)
        if p is None:
            new_rows.append({
                "workspace_id": workspace_id, "external_id": ext, "name": entry.name or ext, "email": entry.email,
                "address": dict(entry.address) if entry.address is not None else None,
                "created_at": now, "updated_at": now,
            })
            continue
        row = {"id": p.id, "name": p.name, "email": p.email, "address": p.address,
               "unreachable_reason": p.unreachable_reason, "forgotten": False, "updated_at": now}
        changed = p.forgotten  # as directory.upsert_person: an erased person who comes back starts fresh
        if entry.name and entry.name != p.name:
            row["name"], changed = entry.name, True
        if entry.email and entry.email != p.email:
            row["email"], changed = entry.email, True
        address = entry.address
        offers_less = entry.keep_conversation and _has_conversation(p.address) and not _has_conversation(address)
        if address is not None and not offers_less and dict(address) != (p.address or {}):
            # A new way to reach them: worth trying again.
            row["address"], row["unreachable_reason"], changed = dict(address), None, True
        if changed:
            changes.append(row)
        else:
            stats.unchanged += 1
    if new_rows:
        ids = s.execute(insert(Person).returning(col(Person.external_id), col(Person.id)), new_rows).all()
        stats.person_ids.update({ext: pid for ext, pid in ids})
        stats.inserted = len(new_rows)
    if changes:
        s.execute(update(Person), changes)  # one executemany (ORM bulk UPDATE by primary key)
        stats.updated = len(changes)
    stats.person_ids.update({ext: row.id for ext, row in existing.items()})
    s.flush()
    return stats
