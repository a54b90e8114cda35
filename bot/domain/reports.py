"""Program health for admins: activity signals and aggregates only, never private words."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from bot.model.messages import Fields, Heading, Message, MessageBuilder, foot, para
from storage.models import AuditLog, CheckIn, Pair, Person, Program, Prompt

ENGAGED_DAYS = 14
STALLED_DAYS = 21
RESPONSE_WINDOW = timedelta(weeks=8)
STALLED_LISTED = 8  # stalled pairs named in the report (all are counted)


@dataclass
class StalledPair:
    pair_id: int
    sponsor: str
    sponsoree: str
    days: int | None
    action: str


@dataclass
class Report:
    program: str
    active_pairs: int = 0
    paused_pairs: int = 0
    engaged_pairs: int = 0
    checkins_sent: int = 0
    checkins_answered: int = 0
    momentum_recent: float | None = None
    momentum_before: float | None = None
    stalled: list[StalledPair] = field(default_factory=list)  # the longest-stalled first, at most a few
    stalled_count: int = 0
    dead: dict[str, int] = field(default_factory=dict)
    unreachable: dict[str, int] = field(default_factory=dict)
    pay_it_forward: int = 0

    @property
    def engagement(self) -> float:
        return 100.0 * self.engaged_pairs / self.active_pairs if self.active_pairs else 0.0

    @property
    def response_rate(self) -> float:
        return 100.0 * self.checkins_answered / self.checkins_sent if self.checkins_sent else 0.0

    @property
    def trend(self) -> str:
        if self.momentum_recent is None:
            return "no answers yet"
        if self.momentum_before is None:
            return f"{self.momentum_recent:.1f}/5"
        delta = self.momentum_recent - self.momentum_before
        arrow = "\u2197" if delta > 0.05 else ("\u2198" if delta < -0.05 else "\u2192")
        return f"{self.momentum_before:.1f} {arrow} {self.momentum_recent:.1f}/5 (last 4 weeks vs the 4 before)"


def suggest(days: int | None, unanswered: int) -> str:
    if days is None:
        return "No contact yet: check the kickoff landed and offer to help book a first chat."
    if unanswered >= 3:
        return "Prompts go unanswered: ask the sponsoree, kindly, whether to pause or re-match."
    return "Quiet for a while: a short note to the sponsor offering a shared-experience idea often restarts it."


def _programs(workspace_id: int, program: str | None) -> SelectOfScalar[int | None]:
    q = select(col(Program.id)).where(Program.workspace_id == workspace_id)
    return q.where(func.lower(Program.name) == program.lower()) if program else q


def _count(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def build(s: Session, workspace_id: int, now: datetime, program: str | None = None,
          stalled_limit: int = STALLED_LISTED) -> Report:
    """A handful of grouped queries per call, whatever the number of pairs: programs and pairs
    are narrowed with subqueries on the workspace/program, never with lists of ids."""
    progs = _programs(workspace_id, program)
    names = s.exec(select(Program.name).where(col(Program.id).in_(progs)).order_by(col(Program.id))).all()
    rep = Report(program=", ".join(names) or "no programs")
    if not names:
        return rep
    pair_ids = select(col(Pair.id)).where(col(Pair.program_id).in_(progs))
    active = and_(col(Pair.program_id).in_(progs), col(Pair.status) == "active")
    active_ids = select(col(Pair.id)).where(active)
    engaged_since = now - timedelta(days=ENGAGED_DAYS)
    stalled_since = now - timedelta(days=STALLED_DAYS)
    two_way = func.coalesce(col(Pair.last_two_way_at), col(Pair.created_at))
    is_active = col(Pair.status) == "active"
    row = s.exec(select(
        _count(is_active), _count(col(Pair.status) == "paused"),
        _count(and_(is_active, col(Pair.last_touch_at) >= engaged_since)),
        _count(and_(is_active, two_way < stalled_since)),
    ).where(col(Pair.program_id).in_(progs))).one()
    rep.active_pairs, rep.paused_pairs, rep.engaged_pairs, rep.stalled_count = (int(x) for x in row)
    if rep.stalled_count and stalled_limit > 0:
        sp, se = aliased(Person), aliased(Person)
        for pid, sponsor, sponsoree, last, unanswered in s.exec(
            select(col(Pair.id), col(sp.name), col(se.name), col(Pair.last_two_way_at), col(Pair.unanswered_checkins))  # type: ignore[call-overload]
            .join(sp, col(sp.id) == col(Pair.sponsor_id)).join(se, col(se.id) == col(Pair.sponsoree_id))
            .where(active, two_way < stalled_since)
            # never in touch first, then the longest silence
            .order_by(case((col(Pair.last_two_way_at).is_(None), 0), else_=1), two_way, col(Pair.id))
            .limit(stalled_limit)
        ).all():
            days = (now - last).days if last is not None else None
            rep.stalled.append(StalledPair(pid or 0, sponsor or "?", sponsoree or "?", days,
                                           suggest(days, unanswered)))
    sent, answered = s.exec(
        select(func.count(), func.count(col(Prompt.answered_at))).where(
            col(Prompt.pair_id).in_(pair_ids), Prompt.kind == "checkin", Prompt.status == "sent",
            col(Prompt.sent_at) >= now - RESPONSE_WINDOW,
        )
    ).one()
    rep.checkins_sent, rep.checkins_answered = int(sent), int(answered)
    for reason, n in s.exec(
        select(Prompt.last_error, func.count())
        .where(Prompt.status == "dead", col(Prompt.pair_id).in_(pair_ids))
        .group_by(col(Prompt.last_error))
    ).all():
        key = reason or "unknown"
        rep.dead[key] = rep.dead.get(key, 0) + int(n)
    split = now - timedelta(weeks=4)
    momentum, at = col(CheckIn.momentum), col(CheckIn.created_at)
    recent, before = s.exec(
        select(func.avg(case((at >= split, momentum))), func.avg(case((at < split, momentum))))
        .where(col(CheckIn.pair_id).in_(active_ids), momentum.is_not(None),
               at >= now - timedelta(weeks=8), at < now + timedelta(seconds=1))
    ).one()
    rep.momentum_recent = float(recent) if recent is not None else None
    rep.momentum_before = float(before) if before is not None else None
    in_active = or_(col(Person.id).in_(select(col(Pair.sponsor_id)).where(active)),
                    col(Person.id).in_(select(col(Pair.sponsoree_id)).where(active)))
    for reason, n in s.exec(
        select(Person.unreachable_reason, func.count())
        .where(Person.workspace_id == workspace_id, col(Person.unreachable_reason).is_not(None), in_active)
        .group_by(col(Person.unreachable_reason))
    ).all():
        rep.unreachable[reason or "unknown"] = int(n)
    audit_pair = AuditLog.__table__.c.detail["pair_id"].as_integer()  # type: ignore[attr-defined]
    rep.pay_it_forward = int(s.exec(
        select(func.count(func.distinct(col(AuditLog.actor_id)))).where(
            AuditLog.workspace_id == workspace_id, AuditLog.action == "pay_it_forward", audit_pair.in_(pair_ids))
    ).one())
    return rep


def render(rep: Report) -> Message:
    mb = MessageBuilder(kind="report")
    mb.add(
        Heading(f"Program health: {rep.program}"),
        Fields((
            ("Active pairs", f"{rep.active_pairs}" + (f" (+{rep.paused_pairs} paused)" if rep.paused_pairs else "")),
            ("Engagement", f"{rep.engagement:.0f}% of pairs in touch in the last {ENGAGED_DAYS} days"),
            ("Check-in response rate",
             f"{rep.response_rate:.0f}% ({rep.checkins_answered}/{rep.checkins_sent}, 8 weeks)"),
            ("Momentum", rep.trend),
        )),
    )
    if rep.stalled_count:
        mb.add(para(f"Stalled pairs (no two-way contact for {STALLED_DAYS}+ days): {rep.stalled_count}"))
        mb.add(Fields(tuple(
            (f"{x.sponsor} \u2194 {x.sponsoree}",
             (f"{x.days} days since the last two-way contact. " if x.days is not None
              else "no two-way contact yet. ") + x.action)
            for x in rep.stalled[:STALLED_LISTED]
        )))
    else:
        mb.add(para("No stalled pairs. \u2728"))
    if rep.dead or rep.unreachable:
        items = [(f"Undeliverable: {k}", str(v)) for k, v in sorted(rep.dead.items())]
        items += [(f"Can't reach: {k}", f"{v} people") for k, v in sorted(rep.unreachable.items())]
        mb.add(Fields(tuple(items[:10])))
    if rep.pay_it_forward:
        mb.add(para(f"{rep.pay_it_forward} participant(s) want to pay it forward in a next cohort."))
    mb.add(foot("Aggregates and activity signals only: private notes never appear here."))
    return mb.build(text=f"Program health: {rep.active_pairs} active pairs, {rep.engagement:.0f}% engaged")
