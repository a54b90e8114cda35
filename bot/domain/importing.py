"""The write of a CSV import, made for thousands of rows: every check and every row to insert is
prepared first (reads only, no transaction open on SQLite), then the new people and the new pairs
go in as two multi-row INSERTs, so the write lock (SQLite has one writer) is held for moments,
not for the whole import, and other people's answers never wait behind it.

The rules are ``commands.create_pair``'s and ``directory.upsert_person``'s, applied in bulk; all
rows are imported, or none (a ``UserError`` naming the line).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import insert
from sqlmodel import Session, col, select

from bot.content.chat_words import t
from bot.content.timing import monday_of, zone
from bot.domain import people as directory
from bot.domain.csvio import Row
from bot.model.errors import UserError
from bot.model.interactions import Profile
from storage.models import Pair, Person, Program

CHUNK = 500  # values per IN (...) query

T = TypeVar("T")


@dataclass
class New:
    """One person of the CSV: stored already (``person``) or a row to insert (``values``)."""

    name: str
    person: Person | None = None
    values: dict[str, Any] | None = None
    new_id: int | None = None  # once inserted

    @property
    def id(self) -> int | None:
        return self.person.id if self.person is not None else self.new_id

    @property
    def unit(self) -> str | None:
        return self.person.unit if self.person is not None else (self.values or {}).get("unit")

    @unit.setter
    def unit(self, value: str) -> None:
        if self.person is not None:
            self.person.unit = value
        elif self.values is not None:
            self.values["unit"] = value


@dataclass
class Imported:
    created: list[int] = field(default_factory=list)  # the new pairs' ids
    existing: int = 0
    warnings: list[str] = field(default_factory=list)
    swapped: list[str] = field(default_factory=list)  # rows pairing two people already paired the other way
    units: list[tuple[str, str | None, str]] = field(default_factory=list)  # (person, old unit, new unit)
    kept: list[tuple[Row, New, New, Pair]] = field(default_factory=list)  # rows whose pair exists already


def _chunks(values: Sequence[T]) -> list[Sequence[T]]:
    return [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]


def import_pairs(s: Session, now: datetime, workspace_id: int, rows: Sequence[Row], progs: Mapping[str, Program],
                 found: Mapping[str, Person], fetched: Mapping[str, Profile]) -> Imported:
    """Pair every row's people, creating the people the platform told us about (``fetched``, by
    email) next to those already stored (``found``). Raises ``UserError`` naming the first line
    that cannot be imported, before anything is written."""
    people = _people(s, now, workspace_id, found, fetched)
    out = Imported()
    todo = _checked(s, rows, progs, people, out)
    same_unit: list[bool] = []
    for row, sponsor, sponsoree, _prog in todo:  # units from the CSV (in memory until the inserts)
        if row.sponsor_unit:
            sponsor.unit = row.sponsor_unit
        if row.unit:
            sponsoree.unit = row.unit
        same_unit.append(bool(sponsor.unit and sponsoree.unit and sponsor.unit.lower() == sponsoree.unit.lower()))
    _update_units(out)
    # Everything is prepared: from here on, writes only.
    new = list({p.values["external_id"]: p for p in people.values() if p.values is not None}.values())
    persons = Person.__table__  # type: ignore[attr-defined]
    for batch in _chunks(new):
        stmt = insert(persons).returning(persons.c.id, sort_by_parameter_order=True)
        values: list[dict[str, Any]] = [p.values for p in batch if p.values is not None]
        for p, (pid,) in zip(batch, s.execute(stmt, values), strict=True):
            p.new_id = pid
    template = Pair(program_id=0, sponsor_id=0, sponsoree_id=0, start_date=date.min, created_at=now).model_dump()
    template.pop("id", None)
    pair_rows: list[dict[str, Any]] = []
    for (row, sponsor, sponsoree, prog), same in zip(todo, same_unit, strict=True):
        pair_rows.append({**template, "program_id": prog.id, "sponsor_id": sponsor.id, "sponsoree_id": sponsoree.id,
                          "start_date": monday_of(now.astimezone(zone(prog.default_tz)).date()),
                          "same_unit": same})
        if same:
            out.warnings.append(t("admin.import.same_unit", line=row.line, sponsor=sponsor.name,
                                  sponsoree=sponsoree.name, unit=sponsor.unit))
    pairs = Pair.__table__  # type: ignore[attr-defined]
    for rows_chunk in _chunks(pair_rows):
        stmt = insert(pairs).returning(pairs.c.id, sort_by_parameter_order=True)
        out.created.extend(pid for (pid,) in s.execute(stmt, list(rows_chunk)))
    return out


def _update_units(out: Imported) -> None:
    """Rows whose pair exists already still bring their units: a changed unit is taken (and the pair's
    same-unit flag follows), and listed for the admin, so a re-import never keeps old values silently."""
    for row, sponsor, sponsoree, pair in out.kept:
        for who, unit in ((sponsor, row.sponsor_unit), (sponsoree, row.unit)):
            if unit and unit != who.unit:
                out.units.append((who.name, who.unit, unit))
                who.unit = unit
        same = bool(sponsor.unit and sponsoree.unit and sponsor.unit.lower() == sponsoree.unit.lower())
        pair.same_unit = same  # a stored pair: written with the import's unit of work


def _people(s: Session, now: datetime, workspace_id: int, found: Mapping[str, Person],
            fetched: Mapping[str, Profile]) -> dict[str, New]:
    """Everyone in the CSV by email: stored people as they are; new ones as rows to insert. A
    person stored under the same external id (known without this email) is refreshed instead."""
    people: dict[str, New] = {email: New(p.name, person=p) for email, p in found.items()}
    ext_ids = sorted({p.external_id for p in fetched.values()})
    stored: dict[str, Person] = {}
    with s.no_autoflush:
        for chunk in _chunks(ext_ids):
            for p in s.exec(select(Person).where(Person.workspace_id == workspace_id,
                                                 col(Person.external_id).in_(chunk))).all():
                stored[p.external_id] = p
    template = Person(workspace_id=workspace_id, external_id="", created_at=now, updated_at=now).model_dump()
    template.pop("id", None)
    made: dict[str, New] = {}
    for email, prof in fetched.items():
        known = stored.get(prof.external_id)
        if known is not None:  # rare: refresh the stored person the directory's way
            people[email] = New(known.name, person=directory.upsert_person(
                s, now, workspace_id, Profile(**{**prof.__dict__, "email": prof.email or email})))
            continue
        if prof.external_id in made:
            people[email] = made[prof.external_id]
            continue
        country = prof.country or directory.country_from_locale(prof.locale)
        values = {**template, "external_id": prof.external_id, "name": prof.name or prof.external_id,
                  "email": (prof.email or email).strip().lower(), "tz": directory.valid_tz(prof.tz),
                  "locale": prof.locale, "country": country.upper() if country else None,
                  "is_platform_admin": bool(prof.is_admin)}
        made[prof.external_id] = people[email] = New(values["name"], values=values)
    return people


def _checked(s: Session, rows: Sequence[Row], progs: Mapping[str, Program], people: Mapping[str, New],
             out: Imported) -> list[tuple[Row, New, New, Program]]:
    """The rows to pair (rows already paired the same way are counted in ``out.existing``).
    Only people already stored can be in a pair already."""
    known_ids = sorted({p.id for p in people.values() if p.id is not None})
    prog_ids = sorted({p.id for p in progs.values() if p.id is not None})
    current: dict[tuple[int, int], Pair] = {}
    with s.no_autoflush:
        for chunk in _chunks(known_ids):
            for pair in s.exec(select(Pair).where(col(Pair.program_id).in_(prog_ids),
                                                  col(Pair.sponsoree_id).in_(chunk),
                                                  col(Pair.status).in_(("active", "paused")))).all():
                current[(pair.program_id, pair.sponsoree_id)] = pair
        todo: list[tuple[Row, New, New, Program]] = []
        for row in rows:
            sponsor, sponsoree, prog = people[row.sponsor], people[row.sponsoree], progs[row.program.lower()]
            if sponsor is sponsoree or (sponsor.id is not None and sponsor.id == sponsoree.id):
                raise UserError(t("admin.import.line_error", line=row.line, error=t("changes.self_pair")))
            existing = current.get((prog.id, sponsoree.id)) if sponsoree.id is not None else None  # type: ignore[arg-type]
            if existing is not None:
                if existing.sponsor_id == sponsor.id:
                    out.existing += 1
                    out.kept.append((row, sponsor, sponsoree, existing))
                    continue
                other = s.get(Person, existing.sponsor_id)
                raise UserError(t("admin.import.line_error", line=row.line, error=t(
                    "changes.already_paired", sponsoree=sponsoree.name,
                    other=other.name if other else t("admin.import.someone"), program=prog.name)))
            reverse = current.get((prog.id, sponsor.id)) if sponsor.id is not None else None  # type: ignore[arg-type]
            if reverse is not None and reverse.sponsor_id == sponsoree.id:
                out.swapped.append(t("admin.import.swapped", line=row.line, sponsor=sponsor.name,
                                     sponsoree=sponsoree.name, program=prog.name))
            todo.append((row, sponsor, sponsoree, prog))
    return todo
