"""Program health for admins: activity signals and aggregates only, never private words."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from bot.content.chat_words import t
from bot.model import facts
from bot.model.messages import Fields, Heading, Message, MessageBuilder, foot, para
from storage.models import AuditLog, CheckIn, Pair, Person, Program, Prompt, Touchpoint, Win

ENGAGED_DAYS = facts.ENGAGED_WITHIN.days  # bot.model.facts: one definition each
STALLED_DAYS = facts.STALLED_AFTER.days
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
    closed_on: date | None = None  # every program in the report has ended: a closing summary, not live figures
    closing: dict[str, int] = field(default_factory=dict)

    @property
    def engagement(self) -> float:
        return 100.0 * self.engaged_pairs / self.active_pairs if self.active_pairs else 0.0

    @property
    def response_rate(self) -> float:
        return 100.0 * self.checkins_answered / self.checkins_sent if self.checkins_sent else 0.0

    @property
    def trend(self) -> str:
        if self.momentum_recent is None:
            return t("reports.trend.none")
        if self.momentum_before is None:
            return t("reports.trend.one", now=self.momentum_recent)
        delta = self.momentum_recent - self.momentum_before
        arrow = "\u2197" if delta > 0.05 else ("\u2198" if delta < -0.05 else "\u2192")
        return t("reports.trend.moving", before=self.momentum_before, arrow=arrow, now=self.momentum_recent)


def suggest(days: int | None, unanswered: int) -> str:
    if days is None:
        return t("reports.suggest.no_contact")
    if unanswered >= 3:
        return t("reports.suggest.unanswered")
    return t("reports.suggest.quiet")


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
    rep = Report(program=t("reports.program_separator").join(names) or t("reports.no_programs"))
    if not names:
        return rep
    pair_ids = select(col(Pair.id)).where(col(Pair.program_id).in_(progs))
    ends = [p.start_date + timedelta(weeks=p.length_weeks) for p in s.exec(
        select(Program).where(col(Program.id).in_(progs))).all()]
    if ends and max(ends) <= now.date():
        return _closing(s, rep, progs, pair_ids, max(ends))
    active = and_(col(Pair.program_id).in_(progs), col(Pair.status) == "active")
    active_ids = select(col(Pair.id)).where(active)
    engaged_since = now - timedelta(days=ENGAGED_DAYS)
    stalled_since = now - timedelta(days=STALLED_DAYS)
    two_way = facts.last_contact_sql()
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
            select(col(Pair.id), col(sp.name), col(se.name), col(Pair.last_touch_at), col(Pair.unanswered_checkins))  # type: ignore[call-overload]
            .join(sp, col(sp.id) == col(Pair.sponsor_id)).join(se, col(se.id) == col(Pair.sponsoree_id))
            .where(active, two_way < stalled_since)
            # never in touch first, then the longest silence
            .order_by(case((col(Pair.last_touch_at).is_(None), 0), else_=1), two_way, col(Pair.id))
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
    # joined to the pair (not ``pair_id IN (...)``): SQLite then starts from the few dead prompts
    for reason, n in s.exec(
        select(Prompt.last_error, func.count()).join(Pair, col(Pair.id) == col(Prompt.pair_id))
        .where(Prompt.status == "dead", col(Pair.program_id).in_(progs))
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
    # from the few unreachable people to their pairs (not two lists of every active pair's people)
    in_active = exists().where(or_(col(Pair.sponsor_id) == col(Person.id), col(Pair.sponsoree_id) == col(Person.id)),
                               active)
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


def _closing(s: Session, rep: Report, progs: Any, pair_ids: Any, ended: date) -> Report:
    """After the program ends: what happened in it (pairs, who met, meetings, wins shared, the sponsors'
    actions, pairs that never met), instead of live figures that would read as a collapse."""
    pairs, met, meetings = s.exec(select(func.count(), _count(col(Pair.meetings) > 0),
                                         func.coalesce(func.sum(col(Pair.meetings)), 0))
                                  .where(col(Pair.program_id).in_(progs))).one()
    wins = s.exec(select(func.count()).select_from(Win).where(col(Win.pair_id).in_(pair_ids),
                                                               col(Win.shared).is_(True))).one()
    actions = s.exec(select(func.count()).select_from(Touchpoint).where(
        col(Touchpoint.pair_id).in_(pair_ids), Touchpoint.kind == "advocacy")).one()
    rep.closed_on = ended
    rep.closing = {"pairs": int(pairs), "met": int(met), "meetings": int(meetings), "wins": int(wins),
                   "actions": int(actions), "never": int(pairs) - int(met)}
    return rep


def render(rep: Report) -> Message:
    mb = MessageBuilder(kind="report")
    if rep.closed_on is not None:
        c = rep.closing
        when = f"{rep.closed_on:%a} {rep.closed_on.day} {rep.closed_on:%b %Y}"
        mb.add(Heading(t("reports.closed.heading", program=rep.program, date=when)), Fields((
            (t("reports.closed.pairs"), str(c["pairs"])),
            (t("reports.closed.met"), t("reports.closed.met_value", met=c["met"], pairs=c["pairs"])),
            (t("reports.closed.meetings"), str(c["meetings"])),
            (t("reports.closed.wins"), str(c["wins"])),
            (t("reports.closed.actions"), str(c["actions"])),
        )))
        if c["never"]:
            mb.add(para(t("reports.closed.never", count=c["never"])))
        mb.add(foot(t("reports.footnote")))
        return mb.build(text=t("reports.closed.summary", program=rep.program, met=c["met"], pairs=c["pairs"]))
    active = (t("reports.active_paused", active=rep.active_pairs, paused=rep.paused_pairs) if rep.paused_pairs
              else t("reports.active_value", active=rep.active_pairs))
    mb.add(
        Heading(t("reports.heading", program=rep.program)),
        Fields((
            (t("reports.active"), active),
            (t("reports.engagement", days=ENGAGED_DAYS), t("reports.engagement_value", percent=rep.engagement)),
            (t("reports.response"), t("reports.response_value", percent=rep.response_rate,
                                      answered=rep.checkins_answered, sent=rep.checkins_sent)),
            (t("reports.momentum"), rep.trend),
        )),
    )
    if rep.stalled_count:
        shown = min(len(rep.stalled), STALLED_LISTED)
        mb.add(para(t("reports.stalled", days=STALLED_DAYS, count=rep.stalled_count) if rep.stalled_count <= shown
                    else t("reports.stalled_more", days=STALLED_DAYS, count=rep.stalled_count, shown=shown)))
        mb.add(Fields(tuple(
            (t("reports.stalled_pair", sponsor=x.sponsor, sponsoree=x.sponsoree),
             t("reports.stalled_days", days=x.days, action=x.action) if x.days is not None
             else t("reports.stalled_never", action=x.action))
            for x in rep.stalled[:STALLED_LISTED]
        )))
    else:
        mb.add(para(t("reports.no_stalled")))
    if rep.dead or rep.unreachable:
        items = [(t("reports.undeliverable", reason=k), str(v)) for k, v in sorted(rep.dead.items())]
        items += [(t("reports.unreachable", reason=k), t("reports.unreachable_value", count=v))
                  for k, v in sorted(rep.unreachable.items())]
        mb.add(Fields(tuple(items[:10])))
    if rep.pay_it_forward:
        mb.add(para(t("reports.pay_it_forward", count=rep.pay_it_forward)))
    mb.add(foot(t("reports.footnote")))
    return mb.build(text=t("reports.summary", active=rep.active_pairs, percent=rep.engagement))
