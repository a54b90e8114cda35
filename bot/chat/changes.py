"""What people's commands and buttons change on pairs and people (touches, rhythm, snoozes, pairing)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlmodel import col, or_, select

from bot.chat.turn import Turn
from bot.content.chat_words import t
from bot.content.kinds import TWO_WAY
from bot.content.timing import monday_of, zone
from bot.domain import people as directory
from bot.model.errors import UserError
from bot.outbox.planner import replan_person
from storage.models import (
    Pair,
    Person,
    Program,
    Prompt,
    Touchpoint,
)

LOG_KINDS = {"meeting": "meeting", "met": "meeting", "light": "light", "touch": "light", "shared": "shared"}


def record_touch(turn: Turn, pair: Pair, kind: str, note: str | None, source: str = "log",
                 key: str | None = None) -> Touchpoint:
    tp = Touchpoint(pair_id=pair.id, author_id=turn.me.id, kind=kind, source=source, source_key=key,  # type: ignore[arg-type]
                    note=note or None, shared=False, occurred_at=turn.now)
    turn.session.add(tp)
    if kind in ("meeting", "light", "shared") and (pair.last_touch_at is None or pair.last_touch_at < turn.now):
        pair.last_touch_at = turn.now
    if kind in TWO_WAY:
        mark_two_way(pair, turn.now)
    if kind == "meeting":
        pair.meetings += 1
    turn.session.add(pair)
    return tp




def mark_two_way(pair: Pair, now: datetime) -> None:
    if pair.last_two_way_at is None or pair.last_two_way_at < now:
        pair.last_two_way_at = now
    pair.stall_reported_at = None


RHYTHM_WORDS = {"weekly": 1, "1w": 1, "2w": 2, "biweekly": 2, "fortnightly": 2, "monthly": 4, "4w": 4}


def set_rhythm(turn: Turn, pair: Pair, every: int, weekday: int | None, at: str | None) -> None:
    """The pair's meeting rhythm (in the setter's time zone): prep nudges come before each meeting."""
    pair.meet_every = every
    if weekday is not None:
        pair.meet_weekday = weekday
    if at is not None:
        pair.meet_time = at
    pair.meet_tz = turn.me.tz or turn.workspace.default_tz
    pair.planned_until = None  # plan again: preps instead of some check-ins from now on
    turn.session.add(pair)
    drop_pending(turn, pair, keep_kinds=("kickoff", "agenda", "shared_note", "ask_goal", "followup"))


def change_person(turn: Turn, person: Person, **fields: object) -> None:
    """Change when/whether someone is prompted, then re-plan their unsent prompts."""
    for name, value in fields.items():
        setattr(person, name, value)
    turn.session.add(person)
    turn.session.flush()
    replan_person(turn.session.connection(), person.id, turn.now)  # type: ignore[arg-type]


DURATION = re.compile(r"^(\d{1,2})\s*([dw])$")


def parse_duration(text: str) -> timedelta:
    m = DURATION.match(text.strip().lower())
    if not m:
        raise UserError(t("changes.duration_usage"))
    n, unit = int(m.group(1)), m.group(2)
    delta = timedelta(days=n) if unit == "d" else timedelta(weeks=n)
    if not timedelta(days=1) <= delta <= timedelta(weeks=8):
        raise UserError(t("changes.duration_range"))
    return delta


def snooze(turn: Turn, person: Person, delta: timedelta) -> str:
    until = turn.now + delta
    change_person(turn, person, snoozed_until=until)
    tz = person.tz or turn.workspace.default_tz
    return t("changes.snoozed", until=f"{until.astimezone(zone(tz)):%a %d %b}")


def resume(turn: Turn, person: Person) -> str:
    change_person(turn, person, paused=False, snoozed_until=None, opted_out=False)
    return t("changes.resumed")


def opt_out(turn: Turn) -> None:
    change_person(turn, turn.me, opted_out=True)
    turn.audit("person.opt_out", turn.me.external_id)


def create_pair(turn: Turn, sponsor: Person, sponsoree: Person, prog: Program,
                      sponsor_unit: str | None = None, sponsoree_unit: str | None = None) -> tuple[Pair | None, str]:
    """Pair two people; returns (pair or None if it already existed, warnings or '')."""
    if sponsor.id == sponsoree.id:
        raise UserError(t("changes.self_pair"))
    existing = turn.session.exec(select(Pair).where(Pair.program_id == prog.id, Pair.sponsoree_id == sponsoree.id,
                                           Pair.status.in_(("active", "paused")))).first()  # type: ignore[attr-defined]
    if existing is not None:
        if existing.sponsor_id == sponsor.id:
            return None, ""
        other = turn.person(existing.sponsor_id)
        raise UserError(t("changes.already_paired", sponsoree=sponsoree.name, other=other.name, program=prog.name))
    if sponsor_unit:
        sponsor.unit = sponsor_unit
    if sponsoree_unit:
        sponsoree.unit = sponsoree_unit
    same = bool(sponsor.unit and sponsoree.unit and sponsor.unit.lower() == sponsoree.unit.lower())
    warnings = _role_warnings(turn, sponsor, sponsoree, prog)  # read before the new pair is added
    pair = Pair(program_id=prog.id, sponsor_id=sponsor.id, sponsoree_id=sponsoree.id,  # type: ignore[arg-type]
                start_date=monday_of(turn.now.astimezone(zone(prog.default_tz)).date()), created_at=turn.now,
                same_unit=same, last_touch_at=None)
    turn.session.add(pair)
    turn.session.flush()
    turn.touched_pairs.append(pair.id)  # type: ignore[arg-type]
    if same:
        warnings.insert(0, t("changes.same_unit", sponsor=sponsor.name, sponsoree=sponsoree.name, unit=sponsor.unit))
    return pair, " ".join(warnings)


def _role_warnings(turn: Turn, sponsor: Person, sponsoree: Person, prog: Program) -> list[str]:
    """What is probably a slip: the two already in the program the other way round, a sponsor paired
    as a sponsoree (two sponsors), an admin (who sees the program's reports) in a pair."""
    live = turn.session.exec(select(Pair).where(
        Pair.program_id == prog.id, col(Pair.status).in_(("active", "paused")),
        or_(col(Pair.sponsor_id).in_([sponsor.id, sponsoree.id]),
            col(Pair.sponsoree_id).in_([sponsor.id, sponsoree.id])))).all()
    sponsor_is_sponsoree = any(p.sponsoree_id == sponsor.id for p in live)
    sponsoree_is_sponsor = any(p.sponsor_id == sponsoree.id for p in live)
    out: list[str] = []
    if sponsor_is_sponsoree and sponsoree_is_sponsor:
        out.append(t("changes.swapped", sponsor=sponsor.name, sponsoree=sponsoree.name, program=prog.name))
    elif sponsoree_is_sponsor:
        out.append(t("changes.two_sponsors", sponsor=sponsor.name, sponsoree=sponsoree.name, program=prog.name))
    for who in (sponsor, sponsoree):
        if directory.is_admin(who, turn.deps.settings.admin_emails):
            out.append(t("changes.admin", person=who.name, program=prog.name))
    return out


def drop_pending(turn: Turn, pair: Pair, keep_kinds: tuple[str, ...] = ()) -> None:
    P = Prompt.__table__  # type: ignore[attr-defined]
    stmt = P.delete().where(P.c.pair_id == pair.id, P.c.status == "pending", P.c.attempts == 0,
                            P.c.lease_owner.is_(None))
    if keep_kinds:
        stmt = stmt.where(P.c.kind.not_in(keep_kinds))
    turn.session.connection().execute(stmt)


def end_pair(turn: Turn, pair: Pair, action: str) -> tuple[Person, Person]:
    """End a pair: no more prompts (unsent ones are dropped), audited. Returns (sponsor, sponsoree)."""
    pair.status, pair.ended_at = "ended", turn.now
    turn.session.add(pair)
    drop_pending(turn, pair)
    sp, se = turn.person(pair.sponsor_id), turn.person(pair.sponsoree_id)
    turn.audit(action, f"{sp.external_id}->{se.external_id}", detail={"pair_id": pair.id})
    return sp, se
