"""Bulk seeding with SQLAlchemy Core: a workspace, people, one program, active pairs, due prompts.

Fast enough for 100,000 pairs (no ORM, no commands), and realistic enough for the planner:
people spread over time zones and countries (holidays), some with their own weekday or time.
Ids are assigned by the database, so PostgreSQL sequences stay right.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection, Engine

from bot.journey import stage_for
from bot.timing import monday_of
from storage.models import Pair, Person, Program, Prompt, Workspace

TZS = (
    "Europe/London",
    "America/New_York",
    "Asia/Singapore",
    "Europe/Berlin",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Australia/Sydney",
    "UTC",
    "America/Sao_Paulo",
    "Africa/Lagos",
)
COUNTRIES = (None, "US", "GB", "DE", "IN", None, "FR")
CHUNK = 10_000

W = Workspace.__table__  # type: ignore[attr-defined]
Pe = Person.__table__  # type: ignore[attr-defined]
Pr = Program.__table__  # type: ignore[attr-defined]
Pa = Pair.__table__  # type: ignore[attr-defined]
P = Prompt.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Seeded:
    workspace_id: int
    program_id: int
    pair_ids: list[int]
    sponsors: list[int]
    sponsorees: list[int]


def _chunks(rows: Sequence[dict[str, Any]], size: int = CHUNK) -> Iterator[Sequence[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _insert(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    for part in _chunks(rows):
        conn.execute(insert(table), list(part))


def _ids(conn: Connection, query: Any) -> list[int]:
    return [int(x) for x in conn.execute(query).scalars()]


def _person(n: int, ws: int, at: datetime) -> dict[str, Any]:
    return {
        "workspace_id": ws,
        "external_id": f"U{n:07d}",
        "name": f"Person {n}",
        "email": f"p{n}@example.com",
        "tz": TZS[n % len(TZS)],
        "locale": "en-GB",
        "country": COUNTRIES[n % len(COUNTRIES)],
        "unit": None,
        "is_platform_admin": False,
        "is_granted_admin": False,
        "opted_out": False,
        "paused": False,
        "snoozed_until": None,
        "prompt_weekday": 2 if n % 7 == 3 else None,
        "prompt_time": "08:30" if n % 5 == 1 else None,
        "address": None,
        "unreachable_reason": None,
        "forgotten": False,
        "created_at": at,
        "updated_at": at,
    }


def seed_pairs(
    engine: Engine, pairs: int, now: datetime, *, platform: str = "test", workspace: str = "T1", weeks_in: int = 4
) -> Seeded:
    """``pairs`` active pairs in one program, ``weeks_in`` weeks into a 52-week journey, never planned."""
    start = monday_of(now.date()) - timedelta(weeks=weeks_in)
    created = datetime.combine(start, time(9, 0), tzinfo=now.tzinfo)
    with engine.begin() as conn:
        ws = int(
            conn.execute(
                insert(W)
                .values(
                    platform=platform,
                    external_id=workspace,
                    name="Bench",
                    status="active",
                    default_tz="UTC",
                    created_at=created,
                )
                .returning(W.c.id)
            ).scalar_one()
        )
        prog = int(
            conn.execute(
                insert(Pr)
                .values(
                    workspace_id=ws,
                    name="Bench",
                    kind="sponsorship",
                    start_date=start,
                    length_weeks=52,
                    sponsoree_weekday=1,
                    sponsoree_time="10:00",
                    sponsor_weekday=0,
                    sponsor_time="09:00",
                    meeting_weekday=3,
                    meeting_every_weeks=2,
                    stale_days=14,
                    default_tz="UTC",
                    status="active",
                    created_at=created,
                )
                .returning(Pr.c.id)
            ).scalar_one()
        )
        _insert(conn, Pe, [_person(n, ws, created) for n in range(2 * pairs)])
        people = _ids(conn, select(Pe.c.id).where(Pe.c.workspace_id == ws).order_by(Pe.c.id))
        sponsors, sponsorees = people[0::2], people[1::2]
        _insert(
            conn,
            Pa,
            [
                {
                    "program_id": prog,
                    "sponsor_id": s,
                    "sponsoree_id": e,
                    "status": "active",
                    "paused_until": None,
                    "start_date": start,
                    "created_at": created,
                    "ended_at": None,
                    "same_unit": False,
                    "planned_until": None,
                    "last_touch_at": None,
                    "last_light_touch_at": None,
                    "unanswered_checkins": 0,
                    "checkins_sent": 0,
                    "checkins_answered": 0,
                }
                for s, e in zip(sponsors, sponsorees, strict=True)
            ],
        )
        pair_ids = _ids(conn, select(Pa.c.id).where(Pa.c.program_id == prog).order_by(Pa.c.id))
    return Seeded(ws, prog, pair_ids, sponsors, sponsorees)


def seed_due_prompts(
    engine: Engine, seeded: Seeded, due_at: datetime, *, kinds: Iterable[str] = ("checkin", "nudge"), week: int = 4
) -> list[int]:
    """One pending prompt of each kind per pair, due at ``due_at`` (check-ins to the sponsoree,
    everything else to the sponsor); returns the prompt ids. Check-ins and nudges carry buttons
    whose values start with the prompt id."""
    rows = [
        {
            "pair_id": pid,
            "recipient_id": e if kind == "checkin" else s,
            "workspace_id": seeded.workspace_id,
            "kind": kind,
            "strategy": 1,
            "phase": stage_for("sponsorship", week),
            "period": f"w{week}",
            "week": week,
            "variant": (pid + n) % 3,
            "audience": "one",
            "due_at": due_at,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": due_at,
            "lease_owner": None,
            "lease_until": None,
            "platform_ref": None,
            "last_error": None,
            "payload": None,
            "sent_at": None,
            "answered_at": None,
            "answer": None,
            "created_at": due_at,
        }
        for pid, s, e in zip(seeded.pair_ids, seeded.sponsors, seeded.sponsorees, strict=True)
        for n, kind in enumerate(kinds)
    ]
    with engine.begin() as conn:
        _insert(conn, P, rows)
        return _ids(conn, select(P.c.id).where(P.c.workspace_id == seeded.workspace_id).order_by(P.c.id))


def count_by_status(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {str(s): int(n) for s, n in conn.execute(select(P.c.status, func.count()).group_by(P.c.status))}
