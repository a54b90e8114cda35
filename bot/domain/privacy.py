"""Privacy tools: a person's own data (``my-data``) and erasure (``forget``)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from bot.content.chat_words import t
from bot.content.journey import builtin
from bot.outbox.planner import replan_person
from storage.models import (
    Agenda,
    CheckIn,
    ConsoleLink,
    ConsoleSession,
    Goal,
    Outcome,
    Pair,
    Person,
    PersonAttribute,
    Prompt,
    Touchpoint,
    Win,
)


def _iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime) else v


def _row(obj: Any, *fields: str) -> dict[str, Any]:
    return {f: _iso(getattr(obj, f)) for f in fields}


def my_data(s: Session, person: Person) -> str:
    """Everything we store about ``person``, including their own private notes (for them only)."""
    mine = or_(col(Pair.sponsor_id) == person.id, col(Pair.sponsoree_id) == person.id)
    pairs = s.exec(select(Pair).where(mine)).all()
    pair_ids = [p.id for p in pairs]
    out: dict[str, Any] = {
        "person": _row(person, "name", "email", "tz", "locale", "country", "unit", "opted_out", "paused",
                       "snoozed_until", "prompt_weekday", "prompt_time", "created_at"),
        "pairs": [_row(p, "id", "program_id", "status", "start_date", "created_at", "ended_at")
                  | {"role": "sponsor" if p.sponsor_id == person.id else "sponsoree"} for p in pairs],
        "check_ins": [_row(c, "pair_id", "status", "momentum", "note", "shared", "created_at")
                      for c in s.exec(select(CheckIn).where(CheckIn.author_id == person.id)).all()],
        "touchpoints": [_row(t, "pair_id", "kind", "note", "shared", "occurred_at")
                        for t in s.exec(select(Touchpoint).where(Touchpoint.author_id == person.id)).all()],
        "wins": [_row(w, "pair_id", "text", "shared", "created_at")
                 for w in s.exec(select(Win).where(Win.author_id == person.id)).all()],
        "goals": [_row(g, "pair_id", "text", "done", "created_at")
                  for g in s.exec(select(Goal).where(Goal.author_id == person.id)).all()],
        "agendas": [_row(a, "pair_id", "update_text", "question", "ask", "shared", "created_at")
                    for a in s.exec(select(Agenda).where(Agenda.author_id == person.id)).all()],
        "prompts_received": len(s.exec(select(Prompt.id).where(Prompt.recipient_id == person.id)).all()),
        "pair_ids": pair_ids,
        # The same words as the check-in footer and the digest: what the partner sees of you.
        "what_your_partner_sees": builtin("sponsorship").text("privacy.checkin").replace("{partner}",
                                                                                         t("privacy.partner")),
    }
    return json.dumps(out, indent=2, sort_keys=True, default=str)


def forget(s: Session, person: Person, now: datetime) -> dict[str, int]:
    """Erase a person's personal data and words. Counts (anonymised) stay for aggregates."""
    pid = person.id
    counts: dict[str, int] = {}
    conn = s.connection()
    res = conn.execute(update(CheckIn.__table__).where(CheckIn.__table__.c.author_id == pid)  # type: ignore[attr-defined]
                       .values(note=None, shared=False))
    counts["check_ins_scrubbed"] = res.rowcount
    res = conn.execute(update(Touchpoint.__table__).where(Touchpoint.__table__.c.author_id == pid)  # type: ignore[attr-defined]
                       .values(note=None, shared=False))
    counts["touchpoints_scrubbed"] = res.rowcount
    for table, name in ((Win.__table__, "wins"), (Goal.__table__, "goals"), (Agenda.__table__, "agendas")):  # type: ignore[attr-defined]
        res = conn.execute(delete(table).where(table.c.author_id == pid))
        counts[f"{name}_deleted"] = res.rowcount
    # Outbox rows carry words too: what they received, and what they shared with their partners
    # (in a pair, shared notes and agendas to the other person are always theirs).
    P = Prompt.__table__  # type: ignore[attr-defined]
    conn.execute(update(P).where(P.c.recipient_id == pid).values(payload=None, platform_ref=None))
    their_pairs = select(Pair.id).where(or_(col(Pair.sponsor_id) == pid, col(Pair.sponsoree_id) == pid))
    conn.execute(update(P).where(P.c.pair_id.in_(their_pairs.scalar_subquery()), P.c.recipient_id != pid,
                                 P.c.kind.in_(("shared_note", "agenda"))).values(payload=None))
    replan_person(conn, pid, now)  # type: ignore[arg-type]
    # the web console's rows about them: imported attributes, sign-in links and sessions, HR outcomes
    for table in (PersonAttribute.__table__, ConsoleLink.__table__, ConsoleSession.__table__):  # type: ignore[attr-defined]
        conn.execute(delete(table).where(table.c.person_id == pid))
    if person.email:
        oc = Outcome.__table__  # type: ignore[attr-defined]
        res = conn.execute(delete(oc).where(oc.c.workspace_id == person.workspace_id, oc.c.email == person.email))
        counts["outcomes_deleted"] = res.rowcount
    for pair in s.exec(select(Pair).where(or_(col(Pair.sponsor_id) == pid, col(Pair.sponsoree_id) == pid),
                                          col(Pair.status) != "ended")).all():
        pair.status, pair.ended_at = "ended", now
        counts["pairs_ended"] = counts.get("pairs_ended", 0) + 1
    person.name = t("privacy.erased_name", id=pid)
    person.email = None
    person.tz = person.locale = person.country = person.unit = None
    person.address = None
    person.prompt_time = None
    person.prompt_weekday = None
    person.snoozed_until = None
    person.is_granted_admin = False
    person.opted_out = True
    person.forgotten = True
    person.updated_at = now
    s.add(person)
    return counts
