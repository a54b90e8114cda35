"""A program's weekly trend as charts: engagement, check-in response rate and average momentum.

The figures are the console's weekly series (``bot.domain.analytics.series``, grouped SQL); this
module only turns them into neutral ``Chart`` blocks and puts them in the text ``report``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.content._data import MONTHS
from bot.content.admin_words import admin_words
from bot.domain import analytics, reports
from bot.model.charts import chart
from bot.model.messages import Chart, Fields, Message, para
from storage.models import Program

TREND_WEEKS = 12


def week_label(w: analytics.Week) -> str:
    return f"{MONTHS[w.start.month - 1]} {w.start.day}"


def trend_charts(program: str, weeks: list[analytics.Week]) -> tuple[Chart, ...]:
    """Two charts (Slack shows at most two in a message): the rates as lines, momentum as bars."""
    if not weeks:
        return ()
    tw = admin_words().trend
    labels = [week_label(w) for w in weeks]
    rates = chart("line", tw.rates_title.format(program=program), (
        (tw.engagement, zip(labels, (w.engagement for w in weeks), strict=True)),
        (tw.response, zip(labels, (w.response_rate for w in weeks), strict=True)),
    ), unit="%")
    momentum = chart("bar", tw.momentum_title.format(program=program), (
        (tw.momentum, zip(labels, (w.momentum for w in weeks), strict=True)),
    ), unit="/5", decimals=1, show_change=False)  # the report states momentum's one trend (4 weeks vs 4)
    return rates, momentum


def programs_named(s: Session, workspace_id: int, name: str | None) -> list[Program]:
    q = select(Program).where(Program.workspace_id == workspace_id)
    if name:
        q = q.where(func.lower(Program.name) == name.lower())
    return list(s.exec(q.order_by(col(Program.id))).all())


def program_trend(s: Session, workspace_id: int, program: Program, now: datetime,
                  weeks: int = TREND_WEEKS) -> tuple[Chart, ...]:
    assert program.id is not None
    return trend_charts(program.name, analytics.series(s, workspace_id, program.id, now, weeks=weeks))


def with_charts(message: Message, charts: tuple[Chart, ...]) -> Message:
    """The charts go right after the report's key figures."""
    blocks = list(message.blocks)
    at = next((i + 1 for i, b in enumerate(blocks) if isinstance(b, Fields)), len(blocks))
    return replace(message, blocks=tuple(blocks[:at]) + charts + tuple(blocks[at:]))


def report(s: Session, workspace_id: int, now: datetime, program: str | None = None) -> Message:
    """The text ``report`` with the program's weekly trend; several programs: a hint to name one."""
    msg = reports.render(reports.build(s, workspace_id, now, program))
    progs = programs_named(s, workspace_id, program)
    if len(progs) == 1:
        return with_charts(msg, program_trend(s, workspace_id, progs[0], now))
    if len(progs) > 1:
        return replace(msg, blocks=(*msg.blocks, para(admin_words().trend.name_a_program)))
    return msg
