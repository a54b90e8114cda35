"""Program analytics: the figures behind the web console (and, later, charts in chat and the admin digest).

Every function here is a synchronous unit of work ``fn(session, workspace_id, ..., now)`` built from a
handful of grouped SQL queries, whatever the number of pairs: programs and pairs are narrowed with
subqueries on the workspace, never with lists of ids, and nothing loops over rows in Python (only over
the few groups a query returns: weeks, programs, attribute values). Everything is scoped to one
workspace: a program id from another workspace finds nothing.

What lives here: activity signals and counts only. Private notes, check-in notes, wins, goals and
agendas are never read. Breakdowns by a person attribute are aggregates with a minimum group size and
complementary suppression (``suppress``), so a hidden group cannot be recovered by subtracting the
shown groups from the total.

The definitions are ``bot.model.facts``'s, as everywhere: a pair is *engaged* when its last contact is
within ``ENGAGED_DAYS``; *stalled* when active with no contact for ``STALLED_DAYS`` (since it was created,
when it never had any); the check-in response rate counts check-ins sent (status ``sent``) and answered;
momentum averages check-in scores. The weekly series adds the per-week view: a week's engagement is the
share of the week's active pairs that had contact (a meeting, a light touch or shared words,
``facts.CONTACT``) in that week.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, func, literal, literal_column, or_, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col, select

from bot.content.journey import builtin
from bot.content.kinds import TWO_WAY, PromptKind
from bot.domain.reports import ENGAGED_DAYS, RESPONSE_WINDOW, STALLED_DAYS, suggest
from bot.model import facts
from storage.models import (
    CheckIn,
    Outcome,
    Pair,
    Person,
    PersonAttribute,
    Program,
    ProgramWeek,
    Prompt,
    Touchpoint,
)

MIN_GROUP_DEFAULT = 5
MIN_GROUP_RANGE = (3, 10)
SERIES_WEEKS = 52
ANSWERS = ("met", "light", "not_yet")
BUILTIN_DIMENSIONS = ("unit", "location")
PROMPT_KINDS = tuple(k.value for k in PromptKind)  # columns of ``person``; anything else is an imported attribute


# --- week buckets, the same on SQLite and PostgreSQL ----------------------------------------------------


class week_index(FunctionElement[int]):
    """Whole weeks from ``origin`` to ``ts`` (both UTC timestamps; ``ts >= origin``)."""

    type = Integer()
    inherit_cache = True
    name = "week_index"


@compiles(week_index, "sqlite")
def _week_sqlite(el: week_index, compiler: Any, **kw: Any) -> str:
    ts, origin = (compiler.process(c, **kw) for c in el.clauses)
    return f"CAST((julianday({ts}) - julianday({origin})) / 7.0 AS INTEGER)"


@compiles(week_index, "postgresql")
def _week_pg(el: week_index, compiler: Any, **kw: Any) -> str:
    ts, origin = (compiler.process(c, **kw) for c in el.clauses)
    return f"CAST(floor(extract(epoch FROM ({ts} - {origin})) / 604800) AS INTEGER)"


def _at(value: datetime) -> ColumnElement[Any]:
    """A timestamp parameter typed like the tables' columns (aware UTC in, naive UTC stored)."""
    return literal(value, type_=Prompt.__table__.c.due_at.type)  # type: ignore[attr-defined]


def _count(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _programs(workspace_id: int, program_id: int | None = None) -> Any:
    q = select(col(Program.id)).where(Program.workspace_id == workspace_id)
    return q.where(Program.id == program_id) if program_id is not None else q


def _in_trouble() -> ColumnElement[bool]:
    """Dead, or still being retried after an error: the rows of the partial index ``ix_prompt_trouble``.
    Spelled with the literal its condition has (never a bound parameter), so that SQLite and PostgreSQL
    both see the query implies it and may read that small index."""
    return or_(col(Prompt.status) == literal_column("'dead'"), col(Prompt.last_error).is_not(None))


def _pct(n: float, d: float) -> float | None:
    return 100.0 * n / d if d else None


def monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


# --- programs overview --------------------------------------------------------------------------------


class _Rates:
    """Engagement and check-in response rate, the same way for every figure that has them."""

    engaged: int
    active: int
    checkins_sent: int
    checkins_answered: int

    @property
    def engagement(self) -> float | None:
        return _pct(self.engaged, self.active)

    @property
    def response_rate(self) -> float | None:
        return _pct(self.checkins_answered, self.checkins_sent)


@dataclass
class ProgramHealth(_Rates):
    id: int
    name: str
    kind: str
    status: str
    start_date: date
    length_weeks: int
    active: int = 0
    paused: int = 0
    ended: int = 0
    engaged: int = 0
    stalled: int = 0
    checkins_sent: int = 0
    checkins_answered: int = 0
    momentum: float | None = None
    ended_on: date | None = None  # the program's span is over: no live health (report gives its closing summary)

    @property
    def pairs(self) -> int:
        return self.active + self.paused + self.ended

    @property
    def health(self) -> str:
        """ok | watch | at risk: engagement and response both at least 60% / either under 30%; ended after
        the program's span (its live figures would read as a collapse)."""
        if self.ended_on is not None:
            return "ended"
        if not self.active:
            return "no active pairs"
        e, r = self.engagement or 0.0, self.response_rate or 0.0
        if e >= 60 and r >= 60:
            return "ok"
        if e < 30 or r < 30:
            return "at risk"
        return "watch"


def overview(s: Session, workspace_id: int, now: datetime, program_id: int | None = None) -> list[ProgramHealth]:
    """Health per program of the workspace (or of one program): three grouped queries."""
    progs = _programs(workspace_id, program_id)
    out: dict[int, ProgramHealth] = {}
    for p in s.exec(select(Program).where(col(Program.id).in_(progs)).order_by(col(Program.id))).all():
        assert p.id is not None
        out[p.id] = ProgramHealth(p.id, p.name, p.kind, p.status, p.start_date, p.length_weeks)
        end = p.start_date + timedelta(weeks=p.length_weeks)
        if end <= now.date():
            out[p.id].ended_on = end
    if not out:
        return []
    is_active = col(Pair.status) == "active"
    two_way = facts.last_contact_sql()
    for pid, active, paused, ended, engaged, stalled in s.exec(
        select(  # type: ignore[call-overload]
            col(Pair.program_id), _count(is_active), _count(col(Pair.status) == "paused"),
            _count(col(Pair.status) == "ended"),
            _count(and_(is_active, col(Pair.last_touch_at) >= now - timedelta(days=ENGAGED_DAYS))),
            _count(and_(is_active, two_way < now - timedelta(days=STALLED_DAYS))),
        ).where(col(Pair.program_id).in_(progs)).group_by(col(Pair.program_id))
    ).all():
        h = out[int(pid)]
        h.active, h.paused, h.ended, h.engaged, h.stalled = (int(x) for x in (active, paused, ended, engaged, stalled))
    for pid, sent, answered in s.exec(
        select(col(Pair.program_id), func.count(), func.count(col(Prompt.answered_at)))  # type: ignore[call-overload]
        .join(Pair, col(Pair.id) == col(Prompt.pair_id))
        .where(col(Pair.program_id).in_(progs), Prompt.kind == "checkin", Prompt.status == "sent",
               col(Prompt.sent_at) >= now - RESPONSE_WINDOW)
        .group_by(col(Pair.program_id))
    ).all():
        out[int(pid)].checkins_sent, out[int(pid)].checkins_answered = int(sent), int(answered)
    for pid, avg in s.exec(
        select(col(Pair.program_id), func.avg(col(CheckIn.momentum)))  # type: ignore[call-overload]
        .join(Pair, col(Pair.id) == col(CheckIn.pair_id))
        .where(col(Pair.program_id).in_(progs), is_active, col(CheckIn.momentum).is_not(None),
               col(CheckIn.created_at) >= now - timedelta(weeks=4),
               col(CheckIn.created_at) < now + timedelta(seconds=1))
        .group_by(col(Pair.program_id))
    ).all():
        out[int(pid)].momentum = float(avg) if avg is not None else None
    return list(out.values())


def programs(s: Session, workspace_id: int) -> list[Program]:
    """The workspace's programs, oldest first (no figures: for lists and pickers)."""
    return list(s.exec(select(Program).where(Program.workspace_id == workspace_id).order_by(col(Program.id))).all())


def program(s: Session, workspace_id: int, program_id: int) -> Program | None:
    """The program, only when it belongs to the workspace."""
    return s.exec(select(Program).where(Program.id == program_id, Program.workspace_id == workspace_id)).first()


# --- weekly series ------------------------------------------------------------------------------------


@dataclass
class Week:
    start: date
    active_pairs: int = 0
    two_way_pairs: int = 0
    checkins_sent: int = 0
    checkins_answered: int = 0
    momentum: float | None = None
    answers: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ANSWERS, 0))
    sent: int = 0
    failed: int = 0  # still being retried after an error
    dead: int = 0
    momentum_sum: int = field(default=0, repr=False)  # to add weeks up exactly
    momentum_n: int = field(default=0, repr=False)

    @property
    def engagement(self) -> float | None:
        return _pct(self.two_way_pairs, self.active_pairs)

    @property
    def response_rate(self) -> float | None:
        return _pct(self.checkins_answered, self.checkins_sent)


SETTLE = timedelta(days=7)  # a week's figures stop changing this long after it ends (late answers, retries)


def series(s: Session, workspace_id: int, program_id: int, now: datetime, weeks: int = SERIES_WEEKS) -> list[Week]:
    """One row per calendar week (Monday 00:00 UTC) from the program's start (at most ``weeks`` back)
    up to the current week.

    Weeks that ended more than ``SETTLE`` ago no longer change: they are computed once and kept in the
    ``programweek`` rollup, so a year of history costs one indexed read. The weeks since are computed live
    with the same grouped queries, narrowed to their time range (the queries use the timestamp indexes)."""
    prog = program(s, workspace_id, program_id)
    if prog is None or prog.id is None:
        return []
    first = max(monday(prog.start_date), monday(now.date()) - timedelta(weeks=weeks - 1))
    last = monday(now.date())
    if first > last:
        return []
    n = (last - first).days // 7 + 1
    starts = [first + timedelta(weeks=i) for i in range(n)]
    settled = [d for d in starts
               if datetime.combine(d + timedelta(weeks=1), time(0), tzinfo=now.tzinfo) + SETTLE <= now]
    kept = {r.week_start: r for r in s.exec(select(ProgramWeek).where(
        ProgramWeek.program_id == prog.id, col(ProgramWeek.week_start) >= first,
        col(ProgramWeek.week_start) <= last)).all()}
    missing = [d for d in settled if d not in kept]
    out: dict[date, Week] = {d: _from_row(r) for d, r in kept.items()}
    if missing:
        lo = min(missing)
        fresh = _compute(s, prog.id, lo, (max(missing) - lo).days // 7 + 1, now)
        rows = []
        for w in fresh:
            if w.start in kept or w.start not in set(missing):
                continue
            out[w.start] = w
            rows.append(_to_row(prog.id, w, now))
        try:
            # Another request may have stored the same weeks a moment ago: the rows are added inside the
            # savepoint, so its rollback takes them out of the session too (nothing left to flush again).
            with s.begin_nested():
                s.add_all(rows)
                s.flush()
        except IntegrityError:
            pass
    live = [d for d in starts if d not in settled]
    if live:
        lo = live[0]
        for w in _compute(s, prog.id, lo, (live[-1] - lo).days // 7 + 1, now):
            out[w.start] = w
    return [out.get(d) or Week(d) for d in starts]


def _from_row(r: ProgramWeek) -> Week:
    w = Week(r.week_start, r.active_pairs, r.two_way_pairs, r.checkins_sent, r.checkins_answered,
             r.momentum_sum / r.momentum_n if r.momentum_n else None,
             {"met": r.met, "light": r.light, "not_yet": r.not_yet}, r.sent, r.failed, r.dead)
    w.momentum_sum, w.momentum_n = r.momentum_sum, r.momentum_n
    return w


def _to_row(program_id: int, w: Week, now: datetime) -> ProgramWeek:
    return ProgramWeek(program_id=program_id, week_start=w.start, active_pairs=w.active_pairs,
                       two_way_pairs=w.two_way_pairs, checkins_sent=w.checkins_sent,
                       checkins_answered=w.checkins_answered, momentum_sum=w.momentum_sum, momentum_n=w.momentum_n,
                       met=w.answers["met"], light=w.answers["light"], not_yet=w.answers["not_yet"], sent=w.sent,
                       failed=w.failed, dead=w.dead, computed_at=now)


def _compute(s: Session, program_id: int, first: date, n: int, now: datetime) -> list[Week]:
    """The figures of ``n`` weeks from Monday ``first``, straight from the tables: five grouped queries,
    each grouped by a week index computed in SQL and narrowed to the weeks' time range.

    The big tables are joined to ``pair`` on the program (never ``pair_id IN (subquery)``): SQLite cannot
    tell how many ids such a subquery holds and walks every pair's rows by ``pair_id``; joined, it reads
    the weeks' range from the time index (covering on SQLite since migration 0009) and looks each row's
    pair up by its key."""
    origin = datetime.combine(first, time(0), tzinfo=now.tzinfo)
    end = origin + timedelta(weeks=n)
    o, e = _at(origin), _at(end)
    rows = [Week(first + timedelta(weeks=i)) for i in range(n)]
    in_program = Pair.program_id == program_id

    def wk(ts: Any) -> Any:
        return week_index(ts, o)

    # active pairs per week: created before the week ends and not ended before it starts
    created = col(Pair.created_at)
    started_w = case((created < o, 0), else_=wk(created))
    ended = col(Pair.ended_at)
    ended_w = case((ended.is_(None), n), (ended < o, -1), else_=wk(ended))
    delta = [0] * (n + 1)
    for sw, ew, k in s.exec(
        select(started_w, ended_w, func.count())  # type: ignore[call-overload]
        .where(Pair.program_id == program_id, created < e).group_by(started_w, ended_w)
    ).all():
        lo, hi = int(sw), min(int(ew), n - 1)  # active in weeks lo..hi (the week it ended counts)
        if hi >= lo:
            delta[lo] += int(k)
            delta[hi + 1] -= int(k)
    running = 0
    for i in range(n):
        running += delta[i]
        rows[i].active_pairs = running

    occurred = col(Touchpoint.occurred_at)
    for w, k in s.exec(
        select(wk(occurred), func.count(func.distinct(col(Touchpoint.pair_id))))  # type: ignore[call-overload]
        .join(Pair, col(Pair.id) == col(Touchpoint.pair_id))
        .where(in_program, col(Touchpoint.kind).in_(sorted(TWO_WAY)),
               occurred >= o, occurred < e)
        .group_by(wk(occurred))
    ).all():
        rows[int(w)].two_way_pairs = int(k)

    at = col(CheckIn.created_at)
    st = col(CheckIn.status)
    score = col(CheckIn.momentum)
    for w, total, scored, met, light, not_yet in s.exec(
        select(wk(at), func.coalesce(func.sum(score), 0), func.count(score), _count(st == "met"),  # type: ignore[call-overload]
               _count(st == "light"), _count(st == "not_yet"))
        .join(Pair, col(Pair.id) == col(CheckIn.pair_id))
        .where(in_program, at >= o, at < e)
        .group_by(wk(at))
    ).all():
        r = rows[int(w)]
        r.momentum_sum, r.momentum_n = int(total), int(scored)
        r.momentum = r.momentum_sum / r.momentum_n if r.momentum_n else None
        r.answers = {"met": int(met), "light": int(light), "not_yet": int(not_yet)}

    # the outbox: sent by when it went (check-ins sent and answered among them; every kind is named so
    # PostgreSQL's (kind, sent_at) index serves the range; SQLite's partial one of sent prompts starts with
    # sent_at), dead and failing by when they were due (the partial index ``ix_prompt_trouble`` holds them)
    sent_at, status, kind = col(Prompt.sent_at), col(Prompt.status), col(Prompt.kind)
    is_checkin = kind == "checkin"
    for w, sent, ci_sent, ci_answered in s.exec(
        select(wk(sent_at), func.count(), _count(is_checkin),  # type: ignore[call-overload]
               _count(and_(is_checkin, col(Prompt.answered_at).is_not(None))))
        .join(Pair, col(Pair.id) == col(Prompt.pair_id))
        .where(in_program, kind.in_(PROMPT_KINDS), status == literal_column("'sent'"),  # SQLite: the index's
               sent_at >= o, sent_at < e)  # condition, spelled the same
        .group_by(wk(sent_at))
    ).all():
        r = rows[int(w)]
        r.sent, r.checkins_sent, r.checkins_answered = int(sent), int(ci_sent), int(ci_answered)
    due = col(Prompt.due_at)
    failing = and_(status.in_(("pending", "sending")), col(Prompt.last_error).is_not(None))
    for w, failed, dead in s.exec(
        select(wk(due), _count(failing), _count(status == "dead"))  # type: ignore[call-overload]
        .join(Pair, col(Pair.id) == col(Prompt.pair_id))
        .where(in_program, status.in_(("dead", "pending", "sending")), _in_trouble(), due >= o, due < e)
        .group_by(wk(due))
    ).all():
        rows[int(w)].failed, rows[int(w)].dead = int(failed), int(dead)
    return rows


# --- cohorts -------------------------------------------------------------------------------------------


@dataclass
class Cohort(_Rates):
    program_id: int
    program: str
    kind: str
    year: int
    pairs: int = 0
    active: int = 0
    engaged: int = 0
    stalled: int = 0
    meetings: int = 0
    checkins_sent: int = 0
    checkins_answered: int = 0

    @property
    def meetings_per_pair(self) -> float | None:
        return self.meetings / self.pairs if self.pairs else None


def cohorts(s: Session, workspace_id: int, now: datetime) -> list[Cohort]:
    """Programs and years side by side: one cohort per program and year the pairs started, from the pairs'
    own counters (one grouped query over pairs): response rate and meetings over each pair's whole life."""
    year = func.extract("year", col(Pair.start_date))
    is_active = col(Pair.status) == "active"
    two_way = facts.last_contact_sql()
    q = (
        select(  # type: ignore[call-overload]
            col(Program.id), col(Program.name), col(Program.kind), year, func.count(), _count(is_active),
            _count(and_(is_active, col(Pair.last_touch_at) >= now - timedelta(days=ENGAGED_DAYS))),
            _count(and_(is_active, two_way < now - timedelta(days=STALLED_DAYS))),
            func.coalesce(func.sum(col(Pair.meetings)), 0), func.coalesce(func.sum(col(Pair.checkins_sent)), 0),
            func.coalesce(func.sum(col(Pair.checkins_answered)), 0),
        )
        .join(Program, col(Program.id) == col(Pair.program_id))
        .where(Program.workspace_id == workspace_id)
        .group_by(col(Program.id), col(Program.name), col(Program.kind), year)
        .order_by(year, col(Program.id))
    )
    return [Cohort(int(r[0]), r[1], r[2], int(r[3]), *(int(x) for x in r[4:])) for r in s.exec(q)]


# --- pairs: stalled and the table -----------------------------------------------------------------------


@dataclass
class PairRow:
    id: int
    program_id: int
    program: str
    sponsor: str
    sponsoree: str
    status: str
    phase: str
    last_contact: datetime | None
    days_quiet: int | None  # days since the last contact (None: never)
    unanswered: int
    action: str = ""


def _phase_name(kind: str, index: int) -> str:
    try:
        phases = builtin(kind).phases
    except Exception:  # an unknown kind: show the index
        return f"phase {index + 1}"
    return phases[min(max(index, 0), len(phases) - 1)].key.replace("_", " ")


def _pair_rows(s: Session, q: Any, now: datetime) -> list[PairRow]:
    out = []
    for pid, prog_id, prog, kind, sponsor, sponsoree, status, phase, last, unanswered in s.exec(q).all():
        days = (now - last).days if last is not None else None
        out.append(PairRow(int(pid), int(prog_id), prog, sponsor or "?", sponsoree or "?", status,
                           _phase_name(kind, int(phase or 0)), last, days, int(unanswered or 0)))
    return out


def _pairs_select() -> tuple[Any, Any]:
    sp, se = aliased(Person), aliased(Person)
    q = (
        select(  # type: ignore[call-overload]
            col(Pair.id), col(Pair.program_id), col(Program.name), col(Program.kind), col(sp.name), col(se.name),
            col(Pair.status), col(Pair.phase_index), col(Pair.last_touch_at), col(Pair.unanswered_checkins),
        )
        .join(Program, col(Program.id) == col(Pair.program_id))
        .join(sp, col(sp.id) == col(Pair.sponsor_id))
        .join(se, col(se.id) == col(Pair.sponsoree_id))
    )
    return q, facts.last_contact_sql()


def stalled(s: Session, workspace_id: int, now: datetime, program_id: int | None = None,
            limit: int = 50, offset: int = 0) -> tuple[int, list[PairRow]]:
    """Active pairs with no contact for ``STALLED_DAYS`` (the report's rule), never in touch
    first, then the longest silence; with the suggested action. Returns (how many in all, this page)."""
    q, two_way = _pairs_select()
    cond = and_(col(Pair.program_id).in_(_programs(workspace_id, program_id)), col(Pair.status) == "active",
                two_way < now - timedelta(days=STALLED_DAYS))
    total = int(s.exec(select(func.count()).select_from(Pair).where(cond)).one())
    order = (case((col(Pair.last_touch_at).is_(None), 0), else_=1), two_way, col(Pair.id))
    rows = _pair_rows(s, q.where(cond).order_by(*order).limit(limit).offset(offset), now)
    for r in rows:
        r.action = suggest(r.days_quiet, r.unanswered)
    return total, rows


PAIR_STATUSES = ("active", "paused", "ended")


def pairs(s: Session, workspace_id: int, now: datetime, program_id: int | None = None, status: str | None = None,
          limit: int = 50, offset: int = 0) -> tuple[int, list[PairRow]]:
    """The pairs table (status, phase, last contact; never words), newest pairs first."""
    q, _ = _pairs_select()
    cond: ColumnElement[bool] = col(Pair.program_id).in_(_programs(workspace_id, program_id))
    if status in PAIR_STATUSES:
        cond = and_(cond, col(Pair.status) == status)
    total = int(s.exec(select(func.count()).select_from(Pair).where(cond)).one())
    return total, _pair_rows(s, q.where(cond).order_by(col(Pair.id).desc()).limit(limit).offset(offset), now)


def stalled_pair(s: Session, workspace_id: int, pair_id: int, now: datetime) -> Pair | None:
    """The pair, when it is in the workspace, active and stalled (what a console nudge may target)."""
    two_way = facts.last_contact_sql()
    return s.exec(select(Pair).where(
        Pair.id == pair_id, col(Pair.program_id).in_(_programs(workspace_id)), col(Pair.status) == "active",
        two_way < now - timedelta(days=STALLED_DAYS))).first()


# --- breakdowns with a minimum group size ---------------------------------------------------------------


@dataclass
class Group:
    value: str
    pairs: int
    engaged: int = 0
    stalled: int = 0
    checkins_sent: int = 0
    checkins_answered: int = 0
    hidden: bool = False

    @property
    def engagement(self) -> float | None:
        return _pct(self.engaged, self.pairs)

    @property
    def response_rate(self) -> float | None:
        return _pct(self.checkins_answered, self.checkins_sent)


@dataclass
class Breakdown:
    dimension: str
    min_group: int
    total: Group | None  # None when the whole population is below the minimum
    groups: list[Group]  # shown groups only; hidden ones are counted in ``hidden_groups``
    hidden_groups: int = 0


def suppress(sizes: dict[str, int], k: int) -> set[str]:
    """Which groups to hide so that none smaller than ``k`` shows, and none hidden can be recovered
    by subtracting the shown groups from the total: hide every group under ``k``; then, while only
    one group is hidden, or the hidden ones add up to fewer than ``k`` people, or to exactly one
    person each, hide the next smallest. Two or more hidden groups that together hold ``k`` or more
    people, and more people than groups, leave each of them undetermined (every group has at least
    one person, so each could be anything from 1 up). When even hiding everything cannot achieve
    that, ``total_shown`` says the total must go too."""
    hidden = {v for v, n in sizes.items() if n < k}
    if not hidden:
        return hidden
    shown = sorted((n, v) for v, n in sizes.items() if v not in hidden)
    while shown and not _safe(sizes, hidden, k):
        hidden.add(shown.pop(0)[1])
    return hidden


def _safe(sizes: dict[str, int], hidden: set[str], k: int) -> bool:
    rest = sum(sizes[v] for v in hidden)
    return not hidden or (len(hidden) >= 2 and rest >= k and rest > len(hidden))


def total_shown(sizes: dict[str, int], hidden: set[str], k: int) -> bool:
    """Whether the total may show beside the shown groups."""
    return sum(sizes.values()) >= k and _safe(sizes, hidden, k)


def dimensions(s: Session, workspace_id: int) -> list[str]:
    """What a breakdown can group by: unit, location and every imported attribute name."""
    names = s.exec(select(PersonAttribute.name).where(PersonAttribute.workspace_id == workspace_id)
                   .group_by(col(PersonAttribute.name)).order_by(col(PersonAttribute.name))).all()
    return [*BUILTIN_DIMENSIONS, *(n for n in names if n not in BUILTIN_DIMENSIONS)]


def breakdown(s: Session, workspace_id: int, dimension: str, now: datetime, *, program_id: int | None = None,
              min_group: int = MIN_GROUP_DEFAULT) -> Breakdown:
    """Pairs grouped by the sponsoree's ``dimension`` (``unit``, ``location`` = country, or an imported
    attribute): one grouped query; people with no value form the group "(not set)"."""
    se = aliased(Person)
    if dimension in BUILTIN_DIMENSIONS:
        value: Any = func.coalesce(col(se.unit) if dimension == "unit" else col(se.country), "")
        joined: Any = (se, col(se.id) == col(Pair.sponsoree_id))
    else:
        attr = aliased(PersonAttribute)
        value = func.coalesce(col(attr.value), "")
        joined = (attr, and_(col(attr.person_id) == col(Pair.sponsoree_id), col(attr.name) == dimension))
    is_active = col(Pair.status) == "active"
    two_way = facts.last_contact_sql()
    q = select(  # type: ignore[call-overload]
        value, func.count(), _count(col(Pair.last_touch_at) >= now - timedelta(days=ENGAGED_DAYS)),
        _count(and_(is_active, two_way < now - timedelta(days=STALLED_DAYS))),
        func.coalesce(func.sum(col(Pair.checkins_sent)), 0), func.coalesce(func.sum(col(Pair.checkins_answered)), 0),
    ).select_from(Pair).outerjoin(*joined).where(
        col(Pair.program_id).in_(_programs(workspace_id, program_id)), col(Pair.status) != "ended").group_by(value)
    groups = [Group(str(v) or "(not set)", int(n), int(e), int(st), int(cs), int(ca))
              for v, n, e, st, cs, ca in s.exec(q).all()]
    k = min(max(min_group, MIN_GROUP_RANGE[0]), MIN_GROUP_RANGE[1])
    total = Group("All", sum(g.pairs for g in groups), sum(g.engaged for g in groups), sum(g.stalled for g in groups),
                  sum(g.checkins_sent for g in groups), sum(g.checkins_answered for g in groups))
    sizes = {g.value: g.pairs for g in groups}
    hidden = suppress(sizes, k)
    if not total_shown(sizes, hidden, k):
        return Breakdown(dimension, k, None, [], len(groups))
    shown = sorted((g for g in groups if g.value not in hidden), key=lambda g: (-g.pairs, g.value))
    return Breakdown(dimension, k, total, shown, len(hidden))


# --- outcomes -----------------------------------------------------------------------------------------


@dataclass
class OutcomeRates:
    group: str  # participants | baseline
    people: int
    promoted: int | None = None  # None: hidden (fewer than the minimum group size)
    changed_role: int | None = None
    left: int | None = None

    @property
    def promotion_rate(self) -> float | None:
        return _pct(self.promoted, self.people) if self.promoted is not None else None

    @property
    def retention_rate(self) -> float | None:
        return 100.0 - _pct(self.left, self.people) if self.left is not None and self.people else None  # type: ignore[operator]


def outcomes(s: Session, workspace_id: int, program_id: int, *,
             min_group: int = MIN_GROUP_DEFAULT) -> list[OutcomeRates]:
    """Participants of the program (either seat) against the rest of the uploaded outcomes CSV (the
    baseline), over the program's span: promoted, changed role, left. A group smaller than the
    minimum shows no figures at all (and then neither does the other: the CSV's total would give it
    away)."""
    prog = program(s, workspace_id, program_id)
    if prog is None:
        return []
    lo, hi = prog.start_date, prog.start_date + timedelta(weeks=prog.length_weeks)
    # the participants' emails (stored lower-case, like the outcomes'), either seat, as one derived table
    seat: list[Any] = [
        select(col(Person.email).label("email")).join(Pair, seat_id == col(Person.id))
        .where(Pair.program_id == prog.id, col(Person.email).is_not(None))
        for seat_id in (col(Pair.sponsor_id), col(Pair.sponsoree_id))
    ]
    members = union(*seat).subquery()
    group = case((members.c.email.is_not(None), "participants"), else_="baseline")

    def within(c: Any) -> ColumnElement[bool]:
        return and_(c.is_not(None), c >= lo, c < hi)

    k = min(max(min_group, MIN_GROUP_RANGE[0]), MIN_GROUP_RANGE[1])
    got = {g: OutcomeRates(g, int(n), int(p), int(c), int(left)) for g, n, p, c, left in s.exec(
        select(group, func.count(), _count(within(col(Outcome.promoted_on))),  # type: ignore[call-overload]
               _count(within(col(Outcome.changed_role_on))), _count(within(col(Outcome.left_on))))
        .select_from(Outcome).outerjoin(members, members.c.email == col(Outcome.email))
        .where(Outcome.workspace_id == workspace_id).group_by(group)
    ).all()}
    rows = [got.get(g, OutcomeRates(g, 0, 0, 0, 0)) for g in ("participants", "baseline")]
    if any(r.people < k for r in rows):
        for r in rows:
            r.promoted = r.changed_role = r.left = None
    return rows
