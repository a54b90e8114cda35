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

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from bot.content.kinds import stage_for
from bot.content.timing import monday_of
from storage.models import AuditLog, CheckIn, Pair, Person, Program, Prompt, Touchpoint, Workspace

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


C = CheckIn.__table__  # type: ignore[attr-defined]
T = Touchpoint.__table__  # type: ignore[attr-defined]
A = AuditLog.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class History:
    prompts: int
    checkins: int
    touchpoints: int


def seed_history(engine: Engine, seeded: Seeded, now: datetime, *, weeks: int = 52) -> History:
    """``weeks`` of weekly check-ins (sent to the sponsoree, about 60% answered with a momentum score),
    meetings and light touches, some dead deliveries and unreachable people, a few pay-it-forward
    volunteers; each pair's counters and last contact dates follow its history. Deterministic: pair
    ``k``'s rhythm depends on ``k`` only (every 9th pair goes quiet, every 13th never answers)."""
    n_prompts = n_checkins = n_touch = 0
    pair_rows: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for lo in range(0, len(seeded.pair_ids), 2000):
            prompts: list[dict[str, Any]] = []
            checkins: list[dict[str, Any]] = []
            touches: list[dict[str, Any]] = []
            part = range(lo, min(lo + 2000, len(seeded.pair_ids)))
            for k in part:
                pid, spo, see = seeded.pair_ids[k], seeded.sponsors[k], seeded.sponsorees[k]
                quiet_from = weeks - (3 + k % 6) if k % 9 == 0 else weeks  # goes quiet 3-8 weeks ago
                ghost = k % 13 == 0
                sent = answered = unanswered = meetings = 0
                last_touch: datetime | None = None
                last_two_way: datetime | None = None
                for w in range(weeks):
                    at = now - timedelta(weeks=weeks - w, hours=k % 24)
                    dead = (k + w) % 97 == 0
                    answer = not dead and not ghost and w < quiet_from and (k + w) % 5 < 3
                    prompts.append({
                        "pair_id": pid, "recipient_id": see, "workspace_id": seeded.workspace_id, "kind": "checkin",
                        "strategy": 1, "phase": "", "period": f"w{w}", "week": w, "variant": 0, "audience": "one",
                        "due_at": at, "status": "dead" if dead else "sent", "attempts": 1, "next_attempt_at": at,
                        "lease_owner": None, "lease_until": None, "platform_ref": None,
                        "last_error": ("account_inactive" if k % 2 else "channel_not_found") if dead else None,
                        "payload": None, "sent_at": None if dead else at,
                        "answered_at": at + timedelta(hours=3) if answer else None,
                        "answer": "met" if answer else None, "created_at": at,
                    })
                    if dead:
                        continue
                    sent += 1
                    if not answer:
                        unanswered += 1
                        continue
                    answered, unanswered = answered + 1, 0
                    met = (k + w) % 2 == 0
                    checkins.append({
                        "prompt_id": None, "pair_id": pid, "author_id": see, "status": "met" if met else "light",
                        "momentum": 1 + (k + 3 * w) % 5, "note": None, "shared": False,
                        "created_at": at + timedelta(hours=3), "updated_at": at + timedelta(hours=3),
                    })
                    touches.append({
                        "pair_id": pid, "author_id": see if met else spo, "kind": "meeting" if met else "light",
                        "source": "checkin", "source_key": None, "note": None, "shared": False,
                        "occurred_at": at + timedelta(hours=3),
                    })
                    last_touch = at + timedelta(hours=3)
                    if met:
                        last_two_way, meetings = last_touch, meetings + 1
                pair_rows.append({
                    "b_id": pid, "b_sent": sent, "b_answered": answered, "b_unanswered": unanswered,
                    "b_touch": last_touch, "b_two_way": last_two_way,
                    "b_meetings": meetings,
                    "b_status": "paused" if k % 50 == 7 else "active",
                })
            _insert(conn, P, prompts)
            _insert(conn, C, checkins)
            _insert(conn, T, touches)
            n_prompts += len(prompts)
            n_checkins += len(checkins)
            n_touch += len(touches)
        conn.execute(
            update(Pa).where(Pa.c.id == bindparam("b_id")).values(
                checkins_sent=bindparam("b_sent"), checkins_answered=bindparam("b_answered"),
                unanswered_checkins=bindparam("b_unanswered"), last_touch_at=bindparam("b_touch"),
                last_two_way_at=bindparam("b_two_way"), meetings=bindparam("b_meetings"),
                status=bindparam("b_status"),
            ),
            pair_rows,
        )
        gone = seeded.sponsorees[::211]
        conn.execute(update(Pe).where(Pe.c.id.in_(gone)).values(unreachable_reason="account_inactive"))
        _insert(conn, A, [
            {"workspace_id": seeded.workspace_id, "actor_id": seeded.sponsorees[k], "action": "pay_it_forward",
             "target": f"U{2 * k + 1:07d}", "ok": True, "detail": {"pair_id": seeded.pair_ids[k]},
             "at": now - timedelta(days=k % 30)}
            for k in range(0, len(seeded.pair_ids), 97)
        ])
    return History(n_prompts, n_checkins, n_touch)
