"""The personal home view: your pair, next prompt, recent check-ins, quick actions; health for admins."""

from __future__ import annotations

from sqlmodel import select

from bot.chat.commands import me_message
from bot.chat.turn import Turn
from bot.content.chat_words import t
from bot.content.prompts import STATUS_LABELS, Actions
from bot.content.timing import zone
from bot.domain import people as directory
from bot.domain import reports
from bot.model.deps import Deps
from bot.model.interactions import Interaction, InteractionKind
from bot.model.messages import Button, Buttons, Fields, Heading, Message, MessageBuilder, para
from storage.models import CheckIn


def team_welcome() -> Message:
    return MessageBuilder(kind="team_welcome").add(
        Heading(t("home.team_welcome.heading")),
        para(t("home.team_welcome.hello")),
        para(t("home.team_welcome.admins")),
    ).build(text=t("home.team_welcome.heading"))


def app_home(deps: Deps, platform: str, workspace: str, user: str) -> Message:
    now = deps.now()
    with deps.db.session() as s:
        ws = directory.get_workspace(s, platform, workspace)
        me = directory.get_person(s, ws.id, user) if ws is not None and ws.id is not None else None
        if ws is None or me is None:
            return MessageBuilder(kind="home").add(
                Heading(t("home.welcome.heading")),
                para(t("home.welcome.hello")),
                para(t("home.welcome.help")),
            ).build()
        turn = Turn(deps, s, Interaction(platform, workspace, user, InteractionKind.ACTION), ws, me, now)
        mine = me_message(turn)
        mb = MessageBuilder(kind="home", blocks=list(mine.blocks))
        recent = s.exec(select(CheckIn).where(CheckIn.author_id == me.id)
                        .order_by(CheckIn.id.desc()).limit(3)).all()  # type: ignore[union-attr]
        if recent:
            tz = me.tz or ws.default_tz
            mb.add(Heading(t("home.recent")), Fields(tuple(
                (f"{ci.created_at.astimezone(zone(tz)):%a %d %b}",
                 t("home.separator").join(x for x in (STATUS_LABELS.get(ci.status or "", ""),
                                                      t("home.momentum", n=ci.momentum) if ci.momentum else "",
                                                      t("home.note") if ci.note else "") if x) or "-")
                for ci in recent)))
        if turn.is_admin:
            rep = reports.build(s, ws.id, now)  # type: ignore[arg-type]
            c = rep.closing
            figures = ((  # every program has ended: what happened, not live figures
                (t("reports.closed.met"), t("reports.closed.met_value", met=c["met"], pairs=c["pairs"])),
                (t("reports.closed.meetings"), str(c["meetings"])),
                (t("reports.closed.wins"), str(c["wins"])),
            ) if rep.closed_on is not None else (
                (t("home.health.active"), str(rep.active_pairs)),
                (t("home.health.engagement"), t("home.health.percent", value=rep.engagement)),
                (t("home.health.response_rate"), t("home.health.percent", value=rep.response_rate)),
                (t("home.health.stalled"), str(rep.stalled_count)),
            ))
            mb.add(Heading(t("home.health.heading")), Fields(figures), Buttons((
                Button(Actions.HOME_REPORT, t("home.health.report"), "report"),
                Button(Actions.HOME_EXPORT, t("home.health.export"), "export"))))
        return mb.build(text=t("home.summary"))
