"""bot.domain.analytics: the console's figures match a plain row-by-row computation, on SQLite and PostgreSQL;
breakdowns hide small groups so that none can be recovered by subtraction."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event, update
from sqlmodel import select

from bot.domain import analytics, reports
from bot.model import facts
from bot.model.clock import FakeClock
from storage.db import Database
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
    Workspace,
)
from tests.helpers.seed import seed_history, seed_pairs

PAIRS, WEEKS = 40, 10


def _seed(db: Database, now: datetime) -> Any:
    seeded = seed_pairs(db.engine, PAIRS, now, weeks_in=WEEKS)
    seed_history(db.engine, seeded, now, weeks=WEEKS)
    with db.engine.begin() as conn:  # a few ended pairs: they leave the active count the week they end
        for k in (3, 4, 5):
            conn.execute(update(Pair).where(Pair.id == seeded.pair_ids[k])  # type: ignore[arg-type]
                         .values(status="ended", ended_at=now - timedelta(weeks=k)))
    return seeded


def _week(origin: datetime, ts: datetime) -> int:
    return (ts - origin).days // 7


def test_series_matches_a_plain_computation(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    seeded = _seed(db, now)
    bound: list[int] = []

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            bound.append(len(parameters or ()))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.session() as s:
            weeks = analytics.series(s, seeded.workspace_id, seeded.program_id, now)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    # the program, its kept weeks, then six grouped queries for the settled weeks and six for the live ones
    assert len(bound) <= 14 and max(bound) < 40, bound  # grouped queries, no id lists
    with db.session() as s:
        prog = s.get(Program, seeded.program_id)
        assert prog is not None
        pairs = s.exec(select(Pair)).all()
        prompts = s.exec(select(Prompt)).all()
        checkins = s.exec(select(CheckIn)).all()
        touches = s.exec(select(Touchpoint)).all()
    first = analytics.monday(prog.start_date)
    assert weeks[0].start == first and weeks[-1].start == analytics.monday(now.date())
    origin = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
    n = len(weeks)
    for i, w in enumerate(weeks):
        lo, hi = origin + timedelta(weeks=i), origin + timedelta(weeks=i + 1)
        active = [p for p in pairs if p.created_at < hi and (p.ended_at is None or p.ended_at >= lo)]
        two_way = {t.pair_id for t in touches if t.kind in facts.CONTACT and lo <= t.occurred_at < hi}
        sent = [p for p in prompts if p.kind == "checkin" and p.status == "sent" and p.sent_at and lo <= p.sent_at < hi]
        cs = [c for c in checkins if lo <= c.created_at < hi]
        scores = [c.momentum for c in cs if c.momentum is not None]
        dead = [p for p in prompts if p.status == "dead" and lo <= p.due_at < hi]
        assert w.active_pairs == len(active), i
        assert w.two_way_pairs == len(two_way), i
        assert (w.checkins_sent, w.checkins_answered) == (len(sent), sum(1 for p in sent if p.answered_at)), i
        assert w.momentum == (sum(scores) / len(scores) if scores else None) or abs(
            (w.momentum or 0) - sum(scores) / len(scores)) < 1e-9, i
        mix = Counter(c.status for c in cs)
        assert w.answers == {"met": mix["met"], "light": mix["light"], "not_yet": mix["not_yet"]}, i
        assert (w.sent, w.dead) == (len(sent), len(dead)), i  # only check-ins were sent in this history
    assert n == WEEKS + 1
    assert sum(w.dead for w in weeks) > 0 and sum(w.two_way_pairs for w in weeks) > 0
    assert weeks[-2].active_pairs < PAIRS  # the ended pairs left


def test_series_counts_dead_and_failing_prompts_by_the_week_they_were_due(db: Database, clock: FakeClock) -> None:
    """Failing: pending or sending with an error (still retried); dead: given up. Neither a pending prompt without
    an error nor one sent after an earlier error is in trouble. Settled and live weeks alike."""
    now = clock.now()
    seeded = _seed(db, now)
    cases = [  # (weeks before now, status, error)
        (0, "pending", "ratelimited"), (0, "pending", None), (1, "sending", "timeout"), (1, "sent", "timeout"),
        (1, "dead", None), (4, "pending", "timeout"), (4, "dead", "channel_not_found"), (4, "cancelled", "x"),
    ]
    with db.session() as s:
        for i, (back, status, error) in enumerate(cases):
            due = now - timedelta(weeks=back, hours=1)
            s.add(Prompt(pair_id=seeded.pair_ids[i], recipient_id=seeded.sponsors[i], workspace_id=seeded.workspace_id,
                         kind="nudge", period=f"trouble-{i}", due_at=due, next_attempt_at=due, status=status,
                         last_error=error, sent_at=due if status == "sent" else None, created_at=due))
    with db.session() as s:
        weeks = analytics.series(s, seeded.workspace_id, seeded.program_id, now)
        prompts = s.exec(select(Prompt)).all()
    origin = datetime.combine(weeks[0].start, datetime.min.time(), tzinfo=now.tzinfo)
    failed: Counter[int] = Counter()
    dead: Counter[int] = Counter()
    for p in prompts:
        if p.status in ("pending", "sending") and p.last_error is not None:
            failed[_week(origin, p.due_at)] += 1
        elif p.status == "dead":
            dead[_week(origin, p.due_at)] += 1
    assert [(w.failed, w.dead) for w in weeks] == [(failed[i], dead[i]) for i in range(len(weeks))]
    assert sum(w.failed for w in weeks) == 3 and weeks[-1].failed == 1  # this week's retried one, not the other
    assert any(w.dead for w in weeks[-3:-1]) and any(w.failed for w in weeks[:-2])  # live and settled weeks


def test_overview_agrees_with_the_report(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    seeded = _seed(db, now)
    with db.session() as s:
        (h,) = analytics.overview(s, seeded.workspace_id, now)
        rep = reports.build(s, seeded.workspace_id, now)
    assert (h.active, h.paused, h.engaged, h.stalled) == (
        rep.active_pairs, rep.paused_pairs, rep.engaged_pairs, rep.stalled_count)
    assert h.ended == 3 and h.pairs == PAIRS
    assert (h.checkins_sent, h.checkins_answered) == (rep.checkins_sent, rep.checkins_answered)
    assert h.momentum is not None and rep.momentum_recent is not None
    assert abs(h.momentum - rep.momentum_recent) < 1e-9
    assert h.health in {"ok", "watch", "at risk"}


def test_everything_is_scoped_to_the_workspace(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    mine = _seed(db, now)
    other = seed_pairs(db.engine, 7, now, workspace="T2")
    with db.session() as s:
        assert [h.id for h in analytics.overview(s, mine.workspace_id, now)] == [mine.program_id]
        assert analytics.series(s, mine.workspace_id, other.program_id, now) == []
        assert analytics.program(s, mine.workspace_id, other.program_id) is None
        total, rows = analytics.pairs(s, mine.workspace_id, now, limit=1000)
        assert total == PAIRS and {r.program_id for r in rows} == {mine.program_id}
        total, _ = analytics.pairs(s, mine.workspace_id, now, program_id=other.program_id)
        assert total == 0
        assert analytics.stalled_pair(s, mine.workspace_id, other.pair_ids[0], now) is None
        assert {c.program_id for c in analytics.cohorts(s, mine.workspace_id, now)} == {mine.program_id}


def test_stalled_and_pairs_tables(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    seeded = _seed(db, now)
    with db.session() as s:
        rep = reports.build(s, seeded.workspace_id, now, stalled_limit=100)
        total, rows = analytics.stalled(s, seeded.workspace_id, now, limit=100)
        assert total == rep.stalled_count and [r.id for r in rows] == [x.pair_id for x in rep.stalled]
        assert [r.action for r in rows] == [x.action for x in rep.stalled]
        assert all(r.status == "active" and r.phase for r in rows)
        n_paused, paused = analytics.pairs(s, seeded.workspace_id, now, status="paused")
        assert n_paused == rep.paused_pairs and all(r.status == "paused" for r in paused)
        total, page = analytics.pairs(s, seeded.workspace_id, now, limit=10, offset=10)
        assert total == PAIRS and len(page) == 10
        assert analytics.stalled_pair(s, seeded.workspace_id, rows[0].id, now) is not None


def test_cohorts_by_program_and_year(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    seeded = _seed(db, now)
    with db.engine.begin() as conn:  # a third of the pairs started the year before
        conn.execute(update(Pair).where(Pair.id.in_(seeded.pair_ids[::3]))  # type: ignore[attr-defined]
                     .values(start_date=date(now.year - 1, 6, 1)))
    with db.session() as s:
        got = {(c.program_id, c.year): c for c in analytics.cohorts(s, seeded.workspace_id, now)}
        pairs = s.exec(select(Pair)).all()
    by_year: dict[int, list[Pair]] = defaultdict(list)
    for p in pairs:
        by_year[p.start_date.year].append(p)
    assert set(got) == {(seeded.program_id, y) for y in by_year}
    for y, ps in by_year.items():
        c = got[(seeded.program_id, y)]
        assert c.pairs == len(ps) and c.meetings == sum(p.meetings for p in ps)
        assert c.checkins_sent == sum(p.checkins_sent for p in ps)
        assert c.active == sum(p.status == "active" for p in ps)


def _attributes(db: Database, seeded: Any, values: list[str]) -> None:
    with db.session() as s:
        for person, v in zip(seeded.sponsorees, values, strict=False):
            s.add(PersonAttribute(workspace_id=seeded.workspace_id, person_id=person, name="level", value=v))
            s.exec(update(Person).where(Person.id == person).values(unit=v.upper()))  # type: ignore[call-overload, arg-type]


def _recover(b: analytics.Breakdown, true_sizes: dict[str, int]) -> dict[str, int]:
    """What an attacker gets by subtracting the shown groups from the total: the hidden groups each
    have at least one person; a hidden group is recovered when exactly one size fits."""
    assert b.total is not None
    rest = b.total.pairs - sum(g.pairs for g in b.groups)
    hidden = [v for v in true_sizes if v not in {g.value for g in b.groups}]
    found = {}
    for v in hidden:
        others = len(hidden) - 1
        lo, hi = (rest, rest) if others == 0 else (1, rest - others)
        if lo == hi:
            found[v] = lo
    return found


def test_breakdown_hides_small_groups_and_they_cannot_be_recovered(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    seeded = _seed(db, now)
    # level: 12 senior, 9 mid, 6 junior, 2 intern (too small), 11 (not set)
    values = ["senior"] * 12 + ["mid"] * 9 + ["junior"] * 6 + ["intern"] * 2
    _attributes(db, seeded, values)
    with db.session() as s:
        assert "level" in analytics.dimensions(s, seeded.workspace_id)
        b = analytics.breakdown(s, seeded.workspace_id, "level", now, min_group=5)
        u = analytics.breakdown(s, seeded.workspace_id, "unit", now, min_group=5)
    active_sizes = Counter(values + ["(not set)"] * (PAIRS - len(values)))
    for k in (3, 4, 5):  # the three ended pairs are not counted
        active_sizes[values[k]] -= 1
    shown = {g.value: g.pairs for g in b.groups}
    assert "intern" not in shown and all(n >= 5 for n in shown.values())
    assert b.hidden_groups >= 2, "a single hidden group is its total minus the rest"
    assert not _recover(b, dict(active_sizes)), "a hidden group was recovered by subtraction"
    assert b.total is not None and b.total.pairs == sum(active_sizes.values())
    for g in b.groups:
        assert g.pairs == active_sizes[g.value]
    assert {g.value for g in u.groups} == {v.upper() for v in shown if v != "(not set)"} | (
        {"(not set)"} if "(not set)" in shown else set())


@settings(max_examples=500, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=8), st.integers(3, 10))
def test_suppression_never_leaves_a_group_recoverable(sizes: list[int], k: int) -> None:
    groups = {f"g{i}": n for i, n in enumerate(sizes)}
    hidden = analytics.suppress(groups, k)
    assert all(n >= k for v, n in groups.items() if v not in hidden)
    if not analytics.total_shown(groups, hidden, k):
        return  # nothing is shown at all
    if hidden:
        # the attacker's view: the total, the shown groups, how many are hidden; every group has >= 1
        rest = sum(groups.values()) - sum(n for v, n in groups.items() if v not in hidden)
        m = len(hidden)
        for v in hidden:
            possible = range(1, rest - (m - 1) + 1)  # the others take at least one each
            assert len(possible) > 1, f"{v} recoverable: {groups}, k={k}, hidden={hidden}"
            assert rest >= k


def test_breakdown_of_a_small_population_shows_nothing(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    seeded = seed_pairs(db.engine, 4, now)
    with db.session() as s:
        b = analytics.breakdown(s, seeded.workspace_id, "unit", now, min_group=5)
    assert b.total is None and b.groups == []


def test_outcomes_compare_participants_with_the_baseline(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    seeded = seed_pairs(db.engine, 10, now, weeks_in=2)
    with db.session() as s:
        prog = s.get(Program, seeded.program_id)
        assert prog is not None
        inside = prog.start_date + timedelta(days=30)
        people = s.exec(select(Person).where(Person.workspace_id == seeded.workspace_id)).all()
        for i, p in enumerate(people):  # 20 participants: 5 promoted, 2 left
            s.add(Outcome(workspace_id=seeded.workspace_id, email=p.email or "", uploaded_at=now,
                          promoted_on=inside if i < 5 else None, left_on=inside if 5 <= i < 7 else None))
        for i in range(30):  # baseline: 3 promoted, 6 left, 1 promoted before the program
            s.add(Outcome(workspace_id=seeded.workspace_id, email=f"b{i}@example.com", uploaded_at=now,
                          promoted_on=inside if i < 3 else (prog.start_date - timedelta(days=9) if i == 3 else None),
                          left_on=inside if 10 <= i < 16 else None))
    with db.session() as s:
        part, base = analytics.outcomes(s, seeded.workspace_id, seeded.program_id)
        small = analytics.outcomes(s, seeded.workspace_id, seeded.program_id, min_group=10)
    assert (part.people, part.promoted, part.left) == (20, 5, 2)
    assert (base.people, base.promoted, base.left) == (30, 3, 6)
    assert part.promotion_rate == 25.0 and base.retention_rate == 80.0
    assert all(r.promoted is not None for r in small)
    with db.session() as s:  # another workspace sees nothing of it
        ws2 = Workspace(platform="test", external_id="T9", created_at=now)
        s.add(ws2)
        s.flush()
        assert ws2.id is not None
        assert analytics.outcomes(s, ws2.id, seeded.program_id) == []


def test_outcomes_hide_a_group_under_the_minimum(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    seeded = seed_pairs(db.engine, 2, now, weeks_in=2)
    with db.session() as s:
        for p in s.exec(select(Person).where(Person.workspace_id == seeded.workspace_id)).all():
            s.add(Outcome(workspace_id=seeded.workspace_id, email=p.email or "", uploaded_at=now))
        for i in range(20):
            s.add(Outcome(workspace_id=seeded.workspace_id, email=f"b{i}@example.com", uploaded_at=now))
    with db.session() as s:
        rows = analytics.outcomes(s, seeded.workspace_id, seeded.program_id)
    assert [r.people for r in rows] == [4, 20]
    assert all(r.promoted is None and r.left is None and r.promotion_rate is None for r in rows)



def test_settled_weeks_are_kept_and_read_back_the_same(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    seeded = _seed(db, now)
    with db.session() as s:
        fresh = analytics.series(s, seeded.workspace_id, seeded.program_id, now)
    with db.session() as s:
        kept = s.exec(select(ProgramWeek).where(ProgramWeek.program_id == seeded.program_id)).all()
    settled = [w for w in fresh if w.start + timedelta(weeks=1) + analytics.SETTLE <= now.date()]
    assert settled and len(kept) == len(settled) < len(fresh)
    statements: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        with db.session() as s:
            again = analytics.series(s, seeded.workspace_id, seeded.program_id, now)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert not any("INSERT INTO programweek" in x for x in statements)
    for a, b in zip(fresh, again, strict=True):
        assert (a.start, a.active_pairs, a.two_way_pairs, a.checkins_sent, a.checkins_answered, a.answers, a.sent,
                a.dead) == (b.start, b.active_pairs, b.two_way_pairs, b.checkins_sent, b.checkins_answered,
                            b.answers, b.sent, b.dead)
        assert (a.momentum is None) == (b.momentum is None)
        assert a.momentum is None or abs(a.momentum - (b.momentum or 0)) < 1e-9
    # the live weeks are narrowed to their time range: every statement on the big tables names its range
    big = [x for x in statements if "FROM touchpoint" in x or "FROM checkin" in x or "FROM prompt" in x]
    assert big and all(">=" in x for x in big)


def test_two_admins_filling_the_same_weeks_at_once_both_get_their_series(
        db: Database, clock: FakeClock, monkeypatch: Any) -> None:
    """Two `report`s at the same moment both find the settled weeks missing; the second to store them
    meets the first one's rows (a unique key). It keeps its own figures and its session stays usable."""
    now = clock.now()
    seeded = _seed(db, now)
    real = analytics._compute
    raced = []

    def compute_while_another_stores(s: Any, program_id: int, first: date, n: int, when: datetime) -> Any:
        weeks = real(s, program_id, first, n, when)
        if not raced:  # another request stores the same settled weeks a moment before this one does
            raced.append(True)
            with db.session() as other:
                other.add_all([analytics._to_row(program_id, w, when) for w in weeks
                               if w.start + timedelta(weeks=1) + analytics.SETTLE <= when.date()])
        return weeks

    monkeypatch.setattr(analytics, "_compute", compute_while_another_stores)
    with db.session() as s:
        weeks = analytics.series(s, seeded.workspace_id, seeded.program_id, now)
        assert raced and weeks and any(w.checkins_sent for w in weeks)
        s.exec(select(ProgramWeek)).all()  # the session goes on working (nothing left pending to flush)
    with db.session() as s:
        kept = s.exec(select(ProgramWeek).where(ProgramWeek.program_id == seeded.program_id)).all()
    assert len({k.week_start for k in kept}) == len(kept)
