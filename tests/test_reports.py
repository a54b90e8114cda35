"""The admin report is a few SQL aggregates: same figures as a plain Python computation, no id lists."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlmodel import select

from bot.domain import csvio, reports
from bot.model.clock import FakeClock
from storage.db import Database
from storage.models import AuditLog, CheckIn, Pair, Person, Program, Prompt
from tests.helpers.seed import seed_history, seed_pairs

PAIRS, WEEKS = 60, 10


def _expected(db: Database, ws: int, now: datetime) -> dict[str, Any]:
    """The report's figures computed the obvious way, row by row in Python."""
    with db.session() as s:
        progs = {p.id for p in s.exec(select(Program).where(Program.workspace_id == ws)).all()}
        pairs = [p for p in s.exec(select(Pair)).all() if p.program_id in progs]
        active = [p for p in pairs if p.status == "active"]
        ids, active_ids = {p.id for p in pairs}, {p.id for p in active}
        prompts = [p for p in s.exec(select(Prompt)).all() if p.pair_id in ids]
        window = [p for p in prompts if p.kind == "checkin" and p.status == "sent" and p.sent_at
                  and p.sent_at >= now - reports.RESPONSE_WINDOW]
        scores = [c for c in s.exec(select(CheckIn)).all() if c.pair_id in active_ids and c.momentum is not None]

        def avg(lo: datetime, hi: datetime) -> float | None:
            xs = [c.momentum for c in scores if lo <= c.created_at < hi]
            return sum(xs) / len(xs) if xs else None  # type: ignore[arg-type]

        split = now - timedelta(weeks=4)
        quiet_since = now - timedelta(days=reports.STALLED_DAYS)
        stalled = [p for p in active if (p.last_touch_at or p.created_at) < quiet_since]  # bot.model.facts
        people = {p.sponsor_id for p in active} | {p.sponsoree_id for p in active}
        unreachable = Counter(x.unreachable_reason for x in s.exec(select(Person)).all()
                              if x.id in people and x.unreachable_reason)
        forward = {a.actor_id for a in s.exec(select(AuditLog).where(AuditLog.action == "pay_it_forward")).all()
                   if (a.detail or {}).get("pair_id") in ids}
        return {
            "active": len(active), "paused": sum(p.status == "paused" for p in pairs),
            "engaged": sum(1 for p in active if p.last_touch_at and p.last_touch_at >= now - timedelta(days=14)),
            "sent": len(window), "answered": sum(1 for p in window if p.answered_at),
            "recent": avg(split, now + timedelta(seconds=1)), "before": avg(now - timedelta(weeks=8), split),
            "stalled": len(stalled),
            "never": sum(1 for p in stalled if p.last_touch_at is None),
            "dead": dict(Counter(p.last_error or "unknown" for p in prompts if p.status == "dead")),
            "unreachable": dict(unreachable), "forward": len(forward),
        }


def test_report_matches_a_plain_computation_and_binds_few_parameters(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    seeded = seed_pairs(db.engine, PAIRS, now, weeks_in=WEEKS)
    seed_history(db.engine, seeded, now, weeks=WEEKS)
    want = _expected(db, seeded.workspace_id, now)
    assert want["stalled"] and want["dead"] and want["unreachable"] and want["forward"] and want["paused"]
    bound: list[int] = []

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        bound.append(len(parameters or ()))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.session() as s:
            rep = reports.build(s, seeded.workspace_id, now)
            lines = csvio.export(s, seeded.workspace_id).splitlines()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert bound and max(bound) < 50, f"a long IN list? parameters per statement: {bound}"
    assert len(bound) <= 12, f"{len(bound)} statements for the report and the export"
    got = {
        "active": rep.active_pairs, "paused": rep.paused_pairs, "engaged": rep.engaged_pairs,
        "sent": rep.checkins_sent, "answered": rep.checkins_answered,
        "recent": rep.momentum_recent, "before": rep.momentum_before, "stalled": rep.stalled_count,
        "never": sum(1 for x in rep.stalled if x.days is None),
        "dead": rep.dead, "unreachable": rep.unreachable, "forward": rep.pay_it_forward,
    }
    for k in ("recent", "before"):
        assert got[k] is not None and abs(got[k] - want[k]) < 1e-9, k
        got[k] = want[k]
    want["never"] = min(want["never"], reports.STALLED_LISTED)
    assert got == want
    assert len(rep.stalled) == min(want["stalled"], reports.STALLED_LISTED)
    assert len(lines) == PAIRS + 1 and lines[0].startswith("program,kind,sponsor_name")
    text = reports.render(rep).as_plain_text()
    assert f"Stalled pairs (no contact for 21+ days): {want['stalled']}" in text
    listed = text.count(" \u2194 ")  # each stalled pair named: "Sam \u2194 Aisha"
    assert listed == min(want["stalled"], reports.STALLED_LISTED)
    if want["stalled"] > reports.STALLED_LISTED:  # the count and the list add up, and say where the rest are
        assert f"({reports.STALLED_LISTED} shown; all in the console)" in text
    assert f"{want['forward']} participant(s) want to sponsor or mentor in a next cohort" in text


def test_report_for_one_program_counts_only_its_pairs(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    seeded = seed_pairs(db.engine, 5, now)
    with db.session() as s:
        assert reports.build(s, seeded.workspace_id, now, "bench").active_pairs == 5
        other = reports.build(s, seeded.workspace_id, now, "nope")
        assert other.active_pairs == 0 and other.program == "no programs"
