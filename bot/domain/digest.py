"""The weekly admin digest: one message with each program's health (the trend chart and the key
figures), what changed since last week, stalled pairs that need a human and pay-it-forward volunteers.

Opt-in per admin (``digest on|off``); planned and delivered through the outbox (``bot.outbox.admin``),
composed here when it is sent (``compose``, registered in ``Deps.composers`` by the facade).
Activity signals and names only: never check-in notes, wins, goals or agendas.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.content.admin_words import admin_words
from bot.domain import analytics, people, reports, trends
from bot.model.config import Settings
from bot.model.messages import Block, Fields, Heading, Message, MessageBuilder, foot, para
from storage.models import AuditLog, Pair, Person, Program

STALLED_LISTED = 5
WEEKS = trends.TREND_WEEKS


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.0f}%"


def _score(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}/5"


def changes(weeks: list[analytics.Week]) -> list[tuple[str, str, str]]:
    """(figure, last week's value, this week's) for the figures that moved between the last two
    complete weeks."""
    if len(weeks) < 2:
        return []
    fw = admin_words().digest.figures
    before, after = weeks[-2], weeks[-1]
    out = []
    for name, b, a, show in (
        (fw.active, before.active_pairs, after.active_pairs, str),
        (fw.engagement, before.engagement, after.engagement, _pct),
        (fw.response, before.response_rate, after.response_rate, _pct),
        (fw.momentum, before.momentum, after.momentum, _score),
    ):
        if show(b) != show(a):  # type: ignore[operator]
            out.append((name, show(b), show(a)))  # type: ignore[operator]
    return out


def volunteers(s: Session, workspace_id: int, program_ids: list[int], since: datetime) -> list[str]:
    """People who said they want to pay it forward since ``since`` (the audit log's record of it)."""
    audit_pair = AuditLog.__table__.c.detail["pair_id"].as_integer()  # type: ignore[attr-defined]
    from_programs = audit_pair.in_(select(col(Pair.id)).where(col(Pair.program_id).in_(program_ids)))
    rows = s.exec(
        select(Person.name).join(AuditLog, col(AuditLog.actor_id) == col(Person.id))
        .where(AuditLog.workspace_id == workspace_id, AuditLog.action == "pay_it_forward", AuditLog.at >= since,
               from_programs, col(Person.forgotten).is_(False))
        .group_by(col(Person.name)).order_by(func.min(AuditLog.at))
    ).all()
    return [n or "?" for n in rows]


def program_section(s: Session, workspace_id: int, prog: Program, now: datetime) -> tuple[list[Block], reports.Report]:
    """The program's blocks, and its report's figures (the digest's one-line text quotes the first program's)."""
    assert prog.id is not None
    dw = admin_words().digest
    fw = dw.figures
    series = analytics.series(s, workspace_id, prog.id, now, weeks=WEEKS + 1)
    if series and series[-1].start == analytics.monday(now.date()):
        series = series[:-1]  # the week that just started: nothing to say about it yet
    rep = reports.build(s, workspace_id, now, prog.name, stalled_limit=0)
    if rep.closed_on is not None:  # ended: what happened, not live figures that read as a collapse
        c, d = rep.closing, rep.closed_on
        return [Heading(dw.heading.format(program=prog.name)), para(dw.closed.format(
            program=prog.name, date=f"{d:%a} {d.day} {d:%b}", met=c["met"], pairs=c["pairs"],
            meetings=c["meetings"], wins=c["wins"]))], rep
    blocks: list[Block] = [
        Heading(dw.heading.format(program=prog.name)),
        Fields((
            (fw.active, str(rep.active_pairs)),
            (fw.engagement, f"{rep.engagement:.0f}%"),
            (fw.response, f"{rep.response_rate:.0f}%"),
            (fw.momentum, rep.trend),
        )),
        *trends.trend_charts(prog.name, series[-WEEKS:])[:1],
        para(dw.changed_title),
    ]
    moved = changes(series)
    blocks.append(Fields(tuple((name, dw.changed_line.format(before=b, after=a)) for name, b, a in moved))
                  if moved else para(dw.nothing_changed))
    total, stalled = analytics.stalled(s, workspace_id, now, prog.id, limit=STALLED_LISTED)
    blocks.append(para(dw.stalled_title.format(count=total)))
    if stalled:
        blocks.append(Fields(tuple(
            (dw.stalled_line.format(sponsor=p.sponsor, sponsoree=p.sponsoree),
             (dw.stalled_days.format(days=p.days_quiet, action=p.action) if p.days_quiet is not None
              else dw.stalled_never.format(action=p.action)))
            for p in stalled)))
    else:
        blocks.append(para(dw.stalled_none))
    names = volunteers(s, workspace_id, [prog.id], now - timedelta(weeks=1))
    blocks.append(para(dw.forward_line.format(names=dw.names_joiner.join(names) if names else dw.forward_none)))
    return blocks, rep


def build(s: Session, workspace_id: int, now: datetime) -> Message | None:
    """The digest for one workspace's active programs; ``None`` when there is none."""
    progs = list(s.exec(select(Program).where(Program.workspace_id == workspace_id, Program.status == "active")
                        .order_by(col(Program.id))).all())
    if not progs:
        return None
    dw = admin_words().digest
    mb = MessageBuilder(kind="admin_digest")
    sections = [program_section(s, workspace_id, prog, now) for prog in progs]
    for blocks, _ in sections:
        mb.add(*blocks)
    mb.add(foot(dw.footnote))
    first = sections[0][1]  # the first program's figures, already built for its section
    names = dw.names_joiner.join(p.name for p in progs)
    return mb.build(text=dw.text.format(program=names, engaged=f"{first.engagement:.0f}%"))


def compose(settings: Settings) -> Any:
    """The composer for ``Deps.composers``: the digest while the recipient is still an admin who wants it."""

    def fn(s: Session, row: Any, now: datetime) -> Message | None:
        person = s.get(Person, row.recipient_id)
        if person is None or person.admin_digest_since is None or not people.is_admin(person, settings.admin_emails):
            return None
        return build(s, row.ws_id, now)

    return fn
