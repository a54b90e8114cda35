"""The planner: materialises due prompts for active pairs into the outbox.

Idempotent (prompts are unique on pair, recipient, kind, period) and incremental:
each pair remembers how far ahead it is planned (``planned_until``), so a run
only touches pairs whose horizon is running out, never the prompt history.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.engine import Connection, Row

from bot.content.holidays import is_public_holiday
from bot.content.journey import builtin
from bot.content.kinds import PromptKind, checkin_strategy, stage_for, variant_for
from bot.content.timing import hhmm, local_due, next_allowed, next_allowed_for_all, week_index, week_monday, zone
from bot.model import facts
from bot.model.config import Settings
from bot.outbox.admin import plan_admin_digests
from storage.db import Database
from storage.models import Pair, Person, Program, Prompt, Workspace

_LOGGER = logging.getLogger(__name__)

HORIZON = timedelta(days=8)  # how far ahead prompts are materialised
REPLAN_BEFORE = timedelta(days=1)  # re-plan a pair when its horizon is this close
GRACE = timedelta(hours=12)  # a prompt whose time passed less than this ago is still sent
CHUNK = 5000  # pairs per transaction (and per INSERT on PostgreSQL)
PG_WRITERS = 2  # chunks written concurrently on PostgreSQL
GHOST_AFTER = facts.GHOST_AFTER  # unanswered check-ins in a row before the cadence slows down (one definition)
# next_allowed_for_all() lands at most a week and a day or two (non-working days, quiet hours,
# time zones) after its start: a pair created longer ago than this cannot have a kickoff to plan.
KICKOFF_REACH = timedelta(days=10)

# The outbox columns the planner writes, in the order of the tuples PairPlanner.rows() returns.
COLS = ("pair_id", "recipient_id", "workspace_id", "kind", "strategy", "phase", "period", "week", "variant",
        "audience", "due_at", "next_attempt_at", "status", "attempts", "payload", "created_at")
_DUE, _NEXT, _PAYLOAD, _CREATED = (COLS.index(c) for c in ("due_at", "next_attempt_at", "payload", "created_at"))
_WEEK_SPAN = timedelta(days=16)
_KICKOFF, _CHECKIN, _NUDGE, _PREP, _REVIEW, _WRAPUP, _LIGHT_TOUCH, _FOLLOWUP = (
    k.value for k in (PromptKind.KICKOFF, PromptKind.CHECKIN, PromptKind.NUDGE, PromptKind.PREP, PromptKind.REVIEW,
                      PromptKind.WRAPUP,
                      PromptKind.LIGHT_TOUCH, PromptKind.FOLLOWUP))


@dataclass
class PlanStats:
    pairs: int = 0
    prompts: int = 0
    resumed: int = 0
    alerts: int = 0
    admin_digests: int = 0


def alert_stalled(conn: Connection, settings: Settings, now: datetime) -> int:
    """Tell the program's admins (a DM each) about pairs whose silence grows: at each of
    ``facts.ALERT_AT_DAYS`` days without contact, once each (``stall_reported_at`` remembers the last
    alert; contact clears it). Each alert names how long, and what Momentum already tried."""
    pa, pe = _PA.c, Person.__table__.c  # type: ignore[attr-defined]
    since = facts.last_contact_sql()
    candidates = conn.execute(
        select(pa.id, _PR.c.workspace_id, pa.start_date, since.label("since"), pa.stall_reported_at,
               pa.unanswered_checkins, pa.ignored_digests)
        .join(_PR, _PR.c.id == pa.program_id)
        .where(pa.status == "active", _PR.c.status == "active",
               since < now - timedelta(days=facts.ALERT_AT_DAYS[0]))
    ).all()
    stalled = []
    for row in candidates:
        days = (now - row.since).days
        told = (facts.alert_level((row.stall_reported_at - row.since).days)
                if row.stall_reported_at is not None and row.stall_reported_at >= row.since else 0)
        if facts.alert_level(days) > told:
            stalled.append(row)
    if not stalled:
        return 0
    emails = sorted(settings.admin_emails)
    rows: list[tuple[Any, ...]] = []
    for r in stalled:
        admins = conn.execute(select(pe.id).where(
            pe.workspace_id == r.workspace_id, pe.forgotten.is_(False),
            or_(pe.is_granted_admin.is_(True), pe.is_platform_admin.is_(True), func.lower(pe.email).in_(emails)),
        )).scalars().all()
        days = (now - r.since).days
        tried: dict[str, int] = dict(conn.execute(  # what Momentum already tried since the last contact
            select(_P.c.kind, func.count()).where(_P.c.pair_id == r.id, _P.c.status == "sent", _P.c.sent_at > r.since,
                                                  _P.c.kind.in_(("checkin", "nudge"))).group_by(_P.c.kind)).all())
        answered = conn.execute(select(func.count()).select_from(_P).where(
            _P.c.pair_id == r.id, _P.c.kind == "checkin", _P.c.sent_at > r.since,
            _P.c.answered_at.is_not(None))).scalar_one()
        payload = {"days": days, "since": r.since.isoformat(), "level": facts.alert_level(days),
                   "checkins": int(tried.get("checkin", 0)), "digests": int(tried.get("nudge", 0)),
                   "answered": int(answered)}
        for admin in admins:
            week = max(0, week_index(r.start_date, now))
            rows.append((r.id, admin, r.workspace_id, PromptKind.STALL_ALERT.value, 0, "", f"stall-{now:%Y%m%d}",
                         week, 0, "one", now, now, "pending", 0, payload, now))
    _insert(conn, rows)
    conn.execute(update(_PA).where(_PA.c.id.in_([r.id for r in stalled])).values(stall_reported_at=now))
    return len(stalled)


@dataclass(frozen=True)
class Who:
    id: int
    tz: str | None
    weekday: int
    at: time
    blocked: bool
    snoozed_until: datetime | None
    country: str | None


KICKOFF_QUIET = (time(18, 0), time(9, 0))  # a kickoff goes between 09:00 and 18:00 for both, when days overlap
_PA = Pair.__table__  # type: ignore[attr-defined]
_P = Prompt.__table__  # type: ignore[attr-defined]
_PR = Program.__table__  # type: ignore[attr-defined]
_WS = Workspace.__table__  # type: ignore[attr-defined]
_SPONSOR = Person.__table__.alias("sponsor")  # type: ignore[attr-defined]
_SPONSOREE = Person.__table__.alias("sponsoree")  # type: ignore[attr-defined]


def _columns() -> list[Any]:
    pa, pr = _PA.c, _PR.c
    cols: list[Any] = [
        pa.id, pa.start_date, pa.created_at, pa.planned_until, pa.last_touch_at, pa.last_light_touch_at,
        pa.unanswered_checkins, pa.ignored_digests, pa.meet_every, pa.meet_weekday, pa.meet_time, pa.meet_tz,
        pa.digest_snoozed_until,
        pr.kind, pr.length_weeks, pr.sponsoree_weekday, pr.sponsoree_time, pr.sponsor_weekday, pr.sponsor_time,
        pr.meeting_weekday, pr.meeting_every_weeks, pr.stale_days, pr.default_tz, pr.workspace_id,
    ]
    for alias, prefix in ((_SPONSOR, "s_"), (_SPONSOREE, "e_")):
        c = alias.c
        cols += [
            c.id.label(prefix + "id"), c.tz.label(prefix + "tz"), c.prompt_weekday.label(prefix + "weekday"),
            c.prompt_time.label(prefix + "time"), c.opted_out.label(prefix + "opted_out"),
            c.paused.label(prefix + "paused"), c.snoozed_until.label(prefix + "snoozed"),
            c.unreachable_reason.label(prefix + "unreach"), c.forgotten.label(prefix + "forgotten"),
            c.country.label(prefix + "country"),
        ]
    return cols


def _who(r: Row[Any], prefix: str, weekday: int, at: str, default_tz: str) -> Who:
    g = r._mapping
    return Who(
        id=g[prefix + "id"],
        tz=g[prefix + "tz"] or default_tz,
        weekday=g[prefix + "weekday"] if g[prefix + "weekday"] is not None else weekday,
        at=hhmm(g[prefix + "time"] or at),
        blocked=bool(g[prefix + "opted_out"] or g[prefix + "paused"] or g[prefix + "unreach"]
                     or g[prefix + "forgotten"]),
        snoozed_until=g[prefix + "snoozed"],
        country=g[prefix + "country"],
    )


@lru_cache(maxsize=512)
def review_weeks(length: int, kind: str = "sponsorship") -> frozenset[int]:
    """The weeks with a review: the journey's mid-point(s) and the week before the wrap-up."""
    weeks = {round(length * share) for share in builtin(kind).reviews}
    weeks = {w for w in weeks if 1 <= w < length - 1}
    if length >= 4:
        weeks.add(length - 1)
    return frozenset(weeks)


def quiet_season(d: date) -> bool:
    """The week between Christmas and New Year (24 Dec - 1 Jan): nobody is prompted."""
    return (d.month == 12 and d.day >= 24) or (d.month == 1 and d.day == 1)


def meeting_week(k: int, every: int) -> bool:
    return every > 0 and k % every == 0


def digest_week(k: int, slowed: bool) -> bool:
    """The sponsor's digest: weekly for the first three weeks, then every other week (the sponsor's
    load stays under one message a week with agendas and reviews); every fourth week when slowed."""
    if slowed:
        return k % 4 == 0
    return k <= 3 or k % 2 == 0


class PairPlanner:
    """Computes the prompts one pair needs in a window. Pure: no I/O.

    One instance plans a whole run, so it memoises what many pairs share: local due times
    (same week, weekday, time and zone), public holidays by country and week, kickoffs.
    """

    def __init__(self, settings: Settings, now: datetime) -> None:
        self.working = settings.working_weekdays
        self.quiet = settings.quiet
        self.now = now
        self._due: dict[tuple[date, int, time, str | None], datetime] = {}
        self._kick: dict[tuple[datetime, str | None, str | None], datetime] = {}

    def local_due(self, monday: date, weekday: int, at: time, tz: str | None) -> datetime:
        key = (monday, weekday, at, tz)
        hit = self._due.get(key)
        if hit is None:
            hit = self._due[key] = local_due(monday, weekday, at, tz, self.working, self.quiet)
        return hit

    def day_off(self, who: Who, due: datetime) -> datetime | None:
        """``due`` moved past the person's own public holidays (a day off, like a weekend), or ``None``
        in the quiet season between Christmas and New Year."""
        for _ in range(7):
            local = due.astimezone(zone(who.tz)).date()
            if quiet_season(local):
                return None
            if not (who.country and is_public_holiday(who.country, local)):
                return due
            nxt = local + timedelta(days=1)
            while nxt.weekday() not in self.working:
                nxt += timedelta(days=1)
            due = due + timedelta(days=(nxt - local).days)
        return due

    def kickoff(self, created: datetime, tz1: str | None, tz2: str | None) -> datetime:
        key = (created, tz1, tz2)
        hit = self._kick.get(key)
        if hit is None:
            # "a kickoff at a good local time": inside both people's working day (09:00-18:00), not merely
            # outside quiet hours (19:00 is not quiet, but it is not a time to start a partnership)
            hit = self._kick[key] = next_allowed_for_all(created, [tz1, tz2], self.working, KICKOFF_QUIET)
        return hit

    def rows(self, r: Row[Any], start: datetime, end: datetime) -> tuple[list[tuple[Any, ...]], datetime | None]:
        """The prompts ``r``'s pair needs with ``start <= due < end``, as tuples in ``COLS`` order,
        and the pair's new ``last_light_touch_at``."""
        g = r._mapping
        default_tz = g["default_tz"]
        sponsor = _who(r, "s_", g["sponsor_weekday"], g["sponsor_time"], default_tz)
        sponsoree = _who(r, "e_", g["sponsoree_weekday"], g["sponsoree_time"], default_tz)
        pair_id, kind, length, ws_id = g["id"], g["kind"], g["length_weeks"], g["workspace_id"]
        pstart: date = g["start_date"]
        out: list[tuple[Any, ...]] = []
        last_light: datetime | None = g["last_light_touch_at"]
        created_at = self.now
        local = self.local_due

        def add(kind_: str, who: Who, period: str, due: datetime, week: int, strategy: int = 0,
                audience: str = "one", payload: dict[str, Any] | None = None) -> None:
            if not (start <= due < end) or who.blocked:
                return
            if who.snoozed_until is not None and due < who.snoozed_until:
                return
            out.append((pair_id, who.id, ws_id, kind_, strategy, stage_for(kind, week), period, week,
                        variant_for(pair_id, kind_, period), audience, due, due, "pending", 0, payload,
                        created_at))

        def to_both(kind_: str, period: str, after: datetime, week: int, strategy: int) -> None:
            """A message for both: together, at the first time inside both people's working day; when their
            days never overlap, one to each, inside each reader's own day (never 23:00 for one of them)."""
            together = self.kickoff(after, sponsoree.tz, sponsor.tz)
            if all(next_allowed(together, tz, self.working, KICKOFF_QUIET) == together
                   for tz in (sponsoree.tz, sponsor.tz)):
                add(kind_, sponsoree, period, together, week, strategy, "pair")
                return
            for who in (sponsoree, sponsor):
                add(kind_, who, period, next_allowed(after, who.tz, self.working, KICKOFF_QUIET), week, strategy)

        # Week 0: the kickoff, to both together, as soon as the sponsoree's day allows.
        created: datetime = g["created_at"]
        if not sponsor.blocked and created + KICKOFF_REACH >= start:
            to_both(_KICKOFF, "kickoff", created, 0, 1)

        first = max(0, week_index(pstart, start) - 1)
        last = min(length, week_index(pstart, end) + 1)
        # Every prompt of week k falls within [its Monday - 1 day, its Monday + 16 days] (weekday,
        # working-day and quiet-hour shifts, time zones): weeks wholly outside the window are skipped.
        too_early, too_late = start.date() - _WEEK_SPAN, end.date() + timedelta(days=1)
        every = int(g["meet_every"] or 0)
        meet_wd = g["meet_weekday"] if g["meet_weekday"] is not None else g["meeting_weekday"]
        slowed = (g["unanswered_checkins"] or 0) >= GHOST_AFTER
        sponsor_slowed = facts.sponsor_slowed(int(g["ignored_digests"] or 0), g["last_touch_at"], g["created_at"],
                                              start)
        digest_snoozed: datetime | None = g["digest_snoozed_until"]
        reviews = review_weeks(length, kind)
        e_wd, e_at, e_tz = sponsoree.weekday, sponsoree.at, sponsoree.tz
        s_wd, s_at, s_tz = sponsor.weekday, sponsor.at, sponsor.tz

        def at_day_off(kind_: str, who: Who, period: str, due: datetime, week: int, strategy: int = 0,
                       payload: dict[str, Any] | None = None) -> None:
            moved = self.day_off(who, due)
            if moved is not None:
                add(kind_, who, period, moved, week, strategy, payload=payload)

        # A week after the kickoff, if no first chat is booked yet: one follow-up to both (delivery
        # drops it when they booked, agreed or met in the meantime).
        if not sponsor.blocked and created + KICKOFF_REACH + timedelta(days=7) >= start:
            kick = self.kickoff(created, sponsoree.tz, sponsor.tz)
            to_both(_FOLLOWUP, "followup", kick + timedelta(days=7), 1, 2)
        for k in range(max(1, first), last + 1):
            monday = week_monday(pstart, k)
            if monday > too_late:
                break
            if monday < too_early:
                continue
            period = f"w{k}"
            if k == length:
                at_day_off(_WRAPUP, sponsoree, "end", local(monday, e_wd, e_at, e_tz), k)
                at_day_off(_WRAPUP, sponsor, "end", local(monday, s_wd, s_at, s_tz), k)
                continue
            if k in reviews:
                payload = {"review": "final" if k == length - 1 else "mid"}
                at_day_off(_REVIEW, sponsoree, f"r{k}", local(monday, e_wd, e_at, e_tz), k, 1, payload)
                at_day_off(_REVIEW, sponsor, f"r{k}", local(monday, s_wd, s_at, s_tz), k, 1, payload)
                continue
            # The sponsoree's one message of the week: the prep before a meeting (at most every other
            # week), else the check-in (every other week once three went unanswered).
            if meeting_week(k, every) and (every > 1 or k % 2 == 0):
                meet = local(monday, meet_wd, e_at, e_tz)
                prep_day = meet - timedelta(days=1)
                while prep_day.astimezone(zone(e_tz)).weekday() not in self.working:
                    prep_day -= timedelta(days=1)
                at_day_off(_PREP, sponsoree, period, prep_day, k, 2,
                           {"meeting": meet.astimezone(UTC).isoformat()})
            elif not slowed or k % 2 == 0:
                at_day_off(_CHECKIN, sponsoree, period, local(monday, e_wd, e_at, e_tz), k, checkin_strategy(k))
            if digest_week(k, sponsor_slowed):
                due = local(monday, s_wd, s_at, s_tz)
                if digest_snoozed is None or due >= digest_snoozed:
                    at_day_off(_NUDGE, sponsor, period, due, k, 1)
        return out, last_light


def _insert(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    """Insert outbox rows (tuples in ``COLS`` order), skipping those already planned; returns
    how many were new.

    This is the planner's hot path (hundreds of thousands of rows for a large tenant), so it
    skips SQLAlchemy's per-row parameter processing: one ``INSERT ... SELECT FROM unnest(...)``
    per chunk on PostgreSQL, one driver-level ``executemany`` on SQLite.
    """
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        return _insert_unnest(conn, rows)
    return _insert_executemany(conn, rows)


def _table_sql(conn: Connection) -> tuple[Any, str]:
    table = Prompt.__table__  # type: ignore[attr-defined]
    return table, conn.dialect.identifier_preparer.format_table(table)


def _insert_unnest(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    table, name = _table_sql(conn)
    arrays = [f"%b::{table.c[c].type.compile(dialect=conn.dialect)}[]" for c in COLS]
    sql = (f"INSERT INTO {name} ({', '.join(COLS)}) SELECT * FROM unnest({', '.join(arrays)}) "
           "ON CONFLICT ON CONSTRAINT uq_prompt_key DO NOTHING")
    columns: list[list[Any]] = [list(col) for col in zip(*rows, strict=True)]
    columns[_PAYLOAD] = [None if p is None else json.dumps(p) for p in columns[_PAYLOAD]]
    # Binary parameters (%b): in text format psycopg quotes every array element with a regex.
    with conn.connection.dbapi_connection.cursor(binary=True) as cur:  # type: ignore[union-attr]
        cur.execute(sql, tuple(columns))
        return max(cur.rowcount, 0)


def _processor(conn: Connection, column: str) -> Callable[[Any], Any]:
    table = Prompt.__table__  # type: ignore[attr-defined]
    col_type = table.c[column].type.dialect_impl(conn.dialect)
    return col_type.bind_processor(conn.dialect) or (lambda v: v)  # type: ignore[no-any-return]


def _insert_executemany(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    _table, name = _table_sql(conn)
    sql = f"INSERT INTO {name} ({', '.join(COLS)}) VALUES ({', '.join('?' * len(COLS))}) ON CONFLICT DO NOTHING"
    to_dt, to_json = _processor(conn, "due_at"), _processor(conn, "payload")
    seen: dict[datetime, Any] = {}

    def dt(v: datetime) -> Any:
        out = seen.get(v)
        if out is None:
            out = seen[v] = to_dt(v)
        return out

    params = []
    for row in rows:
        row_ = list(row)
        row_[_DUE] = row_[_NEXT] = dt(row[_DUE])
        row_[_CREATED] = dt(row[_CREATED])
        if row[_PAYLOAD] is not None:
            row_[_PAYLOAD] = to_json(row[_PAYLOAD])
        params.append(tuple(row_))
    res = conn.exec_driver_sql(sql, params)
    return max(res.rowcount, 0)


def _pending_pairs(conn: Connection, now: datetime, after: int, limit: int,
                   only: Sequence[int] | None = None) -> list[Row[Any]]:
    """The next ``limit`` pairs (by id, after ``after``) whose horizon runs out.

    PostgreSQL: the pairs are locked (``FOR NO KEY UPDATE SKIP LOCKED``) until the chunk's
    transaction commits, so planners on several replicas split the pairs between them, and a
    concurrent ``replan_person`` waits for the chunk instead of being overwritten by it.
    """
    q = (
        select(*_columns())
        .select_from(_PA)
        .join(_PR, _PR.c.id == _PA.c.program_id)
        .join(_WS, _WS.c.id == _PR.c.workspace_id)
        .join(_SPONSOR, _SPONSOR.c.id == _PA.c.sponsor_id)
        .join(_SPONSOREE, _SPONSOREE.c.id == _PA.c.sponsoree_id)
        .where(
            _PA.c.status == "active",
            _PR.c.status == "active",
            _WS.c.status == "active",
            _PA.c.id > after,
            _PA.c.planned_until.is_(None) | (_PA.c.planned_until < now + REPLAN_BEFORE),
        )
        .order_by(_PA.c.id)
        .limit(limit)
        .with_for_update(of=_PA, skip_locked=True, key_share=True)
    )
    if only is not None:
        q = q.where(_PA.c.id.in_(list(only)))
    return list(conn.execute(q).all())


@dataclass
class _Chunk:
    """One chunk's writes, done on the connection (and in the transaction) that read its pairs."""

    conn: Connection
    trans: Any
    prompts: list[tuple[Any, ...]]
    pair_ids: list[int]
    lights: dict[datetime | None, list[int]]  # new last light touch -> pairs (few distinct times)


def _write(chunk: _Chunk, horizon: datetime) -> int:
    pairs = Pair.__table__  # type: ignore[attr-defined]
    by_id = pairs.c.id.in_(bindparam("ids", expanding=True))
    try:
        created = _insert(chunk.conn, chunk.prompts)
        changed = {pid for ids in chunk.lights.values() for pid in ids}
        same = [pid for pid in chunk.pair_ids if pid not in changed]
        if same:
            chunk.conn.execute(update(pairs).where(by_id).values(planned_until=horizon), {"ids": same})
        for llt, ids in chunk.lights.items():
            chunk.conn.execute(update(pairs).where(by_id).values(planned_until=horizon, last_light_touch_at=llt),
                               {"ids": ids})
        chunk.trans.commit()
        return created
    finally:
        chunk.conn.close()  # rolls back unless committed


def plan(db: Database, settings: Settings, now: datetime, *, chunk: int = CHUNK,
         pair_ids: Sequence[int] | None = None) -> PlanStats:
    """Materialise every prompt due before ``now + HORIZON`` for pairs that need it
    (only those in ``pair_ids`` when given: a command plans just the pairs it touched).

    Chunks are pipelined: while writer threads insert earlier chunks (the database does the work
    and the GIL is free), this thread reads and computes the next one.  Each chunk is still one
    transaction (its prompts and its pairs' ``planned_until`` commit together), and at most
    ``PG_WRITERS + 1`` chunks are in memory.
    """
    now = now.astimezone(UTC)
    stats = PlanStats()
    pairs = Pair.__table__  # type: ignore[attr-defined]
    with db.engine.begin() as conn:
        res = conn.execute(
            update(pairs)
            .where(pairs.c.status == "paused", pairs.c.paused_until.is_not(None), pairs.c.paused_until <= now)
            .values(status="active", paused_until=None, planned_until=None)
        )
        stats.resumed = max(res.rowcount, 0)
        if pair_ids is None:
            stats.alerts = alert_stalled(conn, settings, now)
            stats.admin_digests = plan_admin_digests(conn, settings, now)
    horizon = now + HORIZON
    pp = PairPlanner(settings, now)
    after = 0
    # PostgreSQL works each chunk's inserts (index and foreign-key checks) in its own backend, so
    # two writers keep both cores busy; SQLite has a single writer anyway.
    writers = PG_WRITERS if db.engine.dialect.name == "postgresql" else 1
    pending: deque[Future[int]] = deque()
    with ThreadPoolExecutor(max_workers=writers, thread_name_prefix="planner-writer") as pool:
        try:
            while True:
                conn = db.engine.connect()
                try:
                    trans = conn.begin()
                    rows = _pending_pairs(conn, now, after, chunk, pair_ids)
                    work = _Chunk(conn, trans, [], [r.id for r in rows], {})
                    for r in rows:
                        start = max(r.planned_until or (now - GRACE), now - GRACE)
                        prompts, last_light = pp.rows(r, start, horizon)
                        work.prompts.extend(prompts)
                        if last_light != r.last_light_touch_at:
                            work.lights.setdefault(last_light, []).append(r.id)
                except BaseException:
                    conn.close()
                    raise
                if not rows:
                    conn.close()
                    break
                while len(pending) >= writers:  # bounds memory: at most writers + 1 chunks
                    stats.prompts += pending.popleft().result()
                pending.append(pool.submit(_write, work, horizon))
                stats.pairs += len(rows)
                after = rows[-1].id
            while pending:
                stats.prompts += pending.popleft().result()
        except BaseException:
            wait(pending)  # chunks in flight commit or roll back on their own connections
            raise
    if stats.pairs:
        _LOGGER.info("planned", extra={"pairs": stats.pairs, "prompts": stats.prompts})
    return stats


def replan_person(conn: Connection, person_id: int, now: datetime) -> None:
    """After a change to someone's time, zone, snooze or pause: drop their unsent future
    prompts and make their pairs plan again. Claimed or sent prompts are never touched.

    The pair rows are updated first: on PostgreSQL that waits for a planner chunk holding them,
    so the delete below also sees (and removes) what that chunk planned with the old settings.
    """
    prompts = Prompt.__table__  # type: ignore[attr-defined]
    pairs = Pair.__table__  # type: ignore[attr-defined]
    mine = (pairs.c.sponsor_id == person_id) | (pairs.c.sponsoree_id == person_id)
    conn.execute(update(pairs).where(mine).values(planned_until=None))
    dropped = conn.execute(
        prompts.delete()
        .where(
            prompts.c.recipient_id == person_id,
            prompts.c.status == "pending",
            prompts.c.attempts == 0,
            prompts.c.lease_owner.is_(None),
            prompts.c.due_at > now,
        )
        .returning(prompts.c.pair_id, prompts.c.kind)
    ).all()
    light = sorted({pid for pid, kind in dropped if kind == _LIGHT_TOUCH})
    if light:  # the planner moved the marker to the dropped prompt's time: let it plan one again
        conn.execute(update(pairs).where(pairs.c.id.in_(light)).values(last_light_touch_at=None))
