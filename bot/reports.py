"""Program health for admins: activity signals and aggregates only, never private words."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func
from sqlmodel import Session, col, select

from bot.messages import Fields, Heading, Message, MessageBuilder, foot, para
from storage.models import CheckIn, Pair, Person, Program, Prompt

ENGAGED_DAYS = 14
STALLED_DAYS = 21
RESPONSE_WINDOW = timedelta(weeks=8)


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
    stalled: list[StalledPair] = field(default_factory=list)
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


def _avg(s: Session, pair_ids: list[int], start: datetime, end: datetime) -> float | None:
    if not pair_ids:
        return None
    v = s.exec(
        select(func.avg(CheckIn.momentum)).where(
            CheckIn.pair_id.in_(pair_ids), CheckIn.momentum.is_not(None),  # type: ignore[attr-defined,union-attr]
            CheckIn.created_at >= start, CheckIn.created_at < end,
        )
    ).one()
    return float(v) if v is not None else None


def suggest(days: int | None, unanswered: int) -> str:
    if days is None:
        return "No contact yet: check the kickoff landed and offer to help book a first chat."
    if unanswered >= 3:
        return "Prompts go unanswered: ask the sponsoree, kindly, whether to pause or re-match."
    return "Quiet for a while: a short note to the sponsor offering a shared-experience idea often restarts it."


def build(s: Session, workspace_id: int, now: datetime, program: str | None = None) -> Report:
    progs = list(s.exec(select(Program).where(Program.workspace_id == workspace_id)).all())
    if program:
        progs = [p for p in progs if p.name.lower() == program.lower()]
    rep = Report(program=", ".join(p.name for p in progs) or "no programs")
    prog_ids = [p.id for p in progs]
    if not prog_ids:
        return rep
    pairs = list(s.exec(select(Pair).where(Pair.program_id.in_(prog_ids))).all())  # type: ignore[attr-defined]
    active = [p for p in pairs if p.status == "active"]
    rep.active_pairs, rep.paused_pairs = len(active), sum(1 for p in pairs if p.status == "paused")
    engaged_since = now - timedelta(days=ENGAGED_DAYS)
    stalled_since = now - timedelta(days=STALLED_DAYS)
    names = {p.id: p.name for p in s.exec(select(Person).where(col(Person.id).in_(
        {x.sponsor_id for x in pairs} | {x.sponsoree_id for x in pairs}))).all()}
    for p in active:
        last = p.last_touch_at
        if last is not None and last >= engaged_since:
            rep.engaged_pairs += 1
        reference = last or p.created_at
        if reference < stalled_since:
            days = (now - last).days if last else None
            rep.stalled.append(StalledPair(p.id or 0, names.get(p.sponsor_id, "?"), names.get(p.sponsoree_id, "?"),
                                           days, suggest(days, p.unanswered_checkins)))
    ids = [p.id for p in pairs]
    since = now - RESPONSE_WINDOW
    if ids:
        row = s.exec(
            select(func.count(), func.count(col(Prompt.answered_at))).where(
                Prompt.pair_id.in_(ids), Prompt.kind == "checkin", Prompt.status == "sent",  # type: ignore[attr-defined]
                Prompt.sent_at >= since,  # type: ignore[operator]
            )
        ).one()
        rep.checkins_sent, rep.checkins_answered = int(row[0]), int(row[1])
        for reason, n in s.exec(
            select(Prompt.last_error, func.count()).where(Prompt.pair_id.in_(ids), Prompt.status == "dead")  # type: ignore[attr-defined]
            .group_by(Prompt.last_error)
        ).all():
            rep.dead[reason or "unknown"] = int(n)
        rep.pay_it_forward = int(s.exec(
            select(func.count()).where(Prompt.pair_id.in_(ids), Prompt.answer == "forward")  # type: ignore[attr-defined]
        ).one())
    active_ids = [p.id for p in active if p.id is not None]
    rep.momentum_recent = _avg(s, active_ids, now - timedelta(weeks=4), now + timedelta(seconds=1))
    rep.momentum_before = _avg(s, active_ids, now - timedelta(weeks=8), now - timedelta(weeks=4))
    people = {x.sponsor_id for x in active} | {x.sponsoree_id for x in active}
    if people:
        for reason, n in s.exec(
            select(Person.unreachable_reason, func.count()).where(
                and_(Person.id.in_(people), Person.unreachable_reason.is_not(None)))  # type: ignore[attr-defined,union-attr]
            .group_by(Person.unreachable_reason)
        ).all():
            rep.unreachable[reason or "unknown"] = int(n)
    rep.stalled.sort(key=lambda x: -(x.days or 10_000))
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
    if rep.stalled:
        mb.add(para(f"Stalled pairs (no touch for {STALLED_DAYS}+ days): {len(rep.stalled)}"))
        mb.add(Fields(tuple(
            (f"{x.sponsor} \u2194 {x.sponsoree}",
             (f"{x.days} days since the last touch. " if x.days is not None else "never in touch. ") + x.action)
            for x in rep.stalled[:8]
        )))
    else:
        mb.add(para("No stalled pairs. \u2728"))
    if rep.dead or rep.unreachable:
        items = [(f"Undeliverable: {k}", str(v)) for k, v in sorted(rep.dead.items())]
        items += [(f"Can't reach: {k}", f"{v} people") for k, v in sorted(rep.unreachable.items())]
        mb.add(Fields(tuple(items[:10])))
    if rep.pay_it_forward:
        mb.add(para(f"{rep.pay_it_forward} sponsoree(s) want to pay it forward."))
    mb.add(foot("Aggregates and activity signals only: private notes never appear here."))
    return mb.build(text=f"Program health: {rep.active_pairs} active pairs, {rep.engagement:.0f}% engaged")
