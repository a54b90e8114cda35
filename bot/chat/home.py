"""The personal home view: your pair, next prompt, recent check-ins, quick actions; health for admins."""

from __future__ import annotations

from sqlmodel import select

from bot.chat.commands import me_message
from bot.chat.turn import Turn
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
        Heading("Momentum is here"),
        para("Hi! I keep sponsor\u2013sponsoree pairs in touch between meetings: one short, private check-in a "
             "week in your 1:1 chat with me, and a weekly digest for sponsors."),
        para("Admins can now pair people from this team by email, e.g. `pair sam@example.com "
             "aisha@example.com Pilot`. Everyone: message me `help` in our 1:1 chat."),
    ).build(text="Momentum is here")


def app_home(deps: Deps, platform: str, workspace: str, user: str) -> Message:
    now = deps.now()
    with deps.db.session() as s:
        ws = directory.get_workspace(s, platform, workspace)
        me = directory.get_person(s, ws.id, user) if ws is not None and ws.id is not None else None
        if ws is None or me is None:
            return MessageBuilder(kind="home").add(
                Heading("Welcome to Momentum"),
                para("I help sponsors and sponsorees keep momentum between meetings: quick check-ins, "
                     "light-touch ideas and a weekly digest. Your program manager will pair you."),
                para("Type `help` to see what I can do."),
            ).build()
        turn = Turn(deps, s, Interaction(platform, workspace, user, InteractionKind.ACTION), ws, me, now)
        mine = me_message(turn)
        mb = MessageBuilder(kind="home", blocks=list(mine.blocks))
        recent = s.exec(select(CheckIn).where(CheckIn.author_id == me.id)
                        .order_by(CheckIn.id.desc()).limit(3)).all()  # type: ignore[union-attr]
        if recent:
            tz = me.tz or ws.default_tz
            mb.add(Heading("Your recent check-ins"), Fields(tuple(
                (f"{ci.created_at.astimezone(zone(tz)):%a %d %b}",
                 " \u00b7 ".join(x for x in (STATUS_LABELS.get(ci.status or "", ""),
                                             f"momentum {ci.momentum}/5" if ci.momentum else "",
                                             "note" if ci.note else "") if x) or "-")
                for ci in recent)))
        if turn.is_admin:
            rep = reports.build(s, ws.id, now)  # type: ignore[arg-type]
            mb.add(Heading("Program health (admin)"), Fields((
                ("Active pairs", str(rep.active_pairs)),
                ("Engagement", f"{rep.engagement:.0f}%"),
                ("Response rate", f"{rep.response_rate:.0f}%"),
                ("Stalled pairs", str(rep.stalled_count)),
            )), Buttons((Button(Actions.HOME_REPORT, "Full report", "report"),
                         Button(Actions.HOME_EXPORT, "Export CSV", "export"))))
        return mb.build(text="Your Momentum home")
