"""Everyone's commands: help, me, checkin, log, win, goal, meet, time, snooze, pause, resume, stop, my-data."""

from __future__ import annotations

from sqlmodel import col, select

from bot.chat.changes import (
    LOG_KINDS,
    RHYTHM_WORDS,
    change_person,
    opt_out,
    parse_duration,
    record_touch,
    resume,
    set_rhythm,
    snooze,
)
from bot.chat.registry import command, help_message
from bot.chat.turn import Turn, reply, say
from bot.chat.views import adhoc_checkin, me_message, sponsoree_pair, win_form
from bot.content.chat_words import t
from bot.content.timing import in_quiet_hours
from bot.domain import privacy
from bot.model.config import WEEKDAYS, parse_hhmm
from bot.model.errors import UserError
from bot.model.interactions import Response
from bot.model.messages import (
    Attachment,
)
from bot.model.names import addressed
from storage.models import (
    Goal,
    Win,
)


@command("help", "help", aliases=("hi", "hello", "?"))
def _help(turn: Turn, args: list[str], raw: str) -> Response:
    return Response(reply=help_message(turn.is_admin))


@command("me", "me", aliases=("status",))
def _me(turn: Turn, args: list[str], raw: str) -> Response:
    return Response(reply=me_message(turn))


@command("checkin", "checkin", aliases=("check-in",))
def _checkin(turn: Turn, args: list[str], raw: str) -> Response:
    pair = sponsoree_pair(turn)
    return Response(reply=adhoc_checkin(turn, pair))


@command("log", "log meeting|light|shared [note]")
def _log(turn: Turn, args: list[str], raw: str) -> Response:
    if not args or args[0].lower() not in LOG_KINDS:
        raise UserError(t("commands.log.usage"))
    kind = LOG_KINDS[args[0].lower()]
    note = raw.split(None, 1)[1].strip() if len(raw.split(None, 1)) > 1 else None
    pair = sponsoree_pair(turn)
    record_touch(turn, pair, kind, note)
    partner = turn.person(pair.sponsor_id if pair.sponsoree_id == turn.me.id else pair.sponsoree_id)
    what = t(f"commands.log.kind.{kind}")
    return reply(t("commands.log.done_with_note" if note else "commands.log.done", what=what, partner=partner.name))


@command("win", "win [--private] <text>")
def _win(turn: Turn, args: list[str], raw: str) -> Response:
    private = False
    text = raw
    if text.startswith("--private"):
        private, text = True, text[len("--private"):].strip()
    if not text:

        return Response(form=win_form(turn))
    if len(text) > 1000:
        raise UserError(t("commands.win.too_long"))
    pair = sponsoree_pair(turn)
    turn.session.add(Win(pair_id=pair.id, author_id=turn.me.id, text=text, shared=not private, created_at=turn.now))  # type: ignore[arg-type]
    partner = turn.person(pair.sponsor_id if pair.sponsoree_id == turn.me.id else pair.sponsoree_id)
    if private:
        return reply(t("commands.win.saved_private"))
    return reply(t("commands.win.saved_shared", partner=partner.name), t("commands.win.private_hint"))


@command("goal", "goal <text> | list | done <n>")
def _goal(turn: Turn, args: list[str], raw: str) -> Response:
    if not raw:
        raise UserError(t("commands.goal.usage"))
    pair = sponsoree_pair(turn)
    partner = turn.person(pair.sponsor_id if pair.sponsoree_id == turn.me.id else pair.sponsoree_id)
    open_goals = list(turn.session.exec(select(Goal).where(Goal.pair_id == pair.id, Goal.done == False)  # noqa: E712
                               .order_by(col(Goal.id))).all())
    if args[0].lower() == "list" and len(args) == 1:
        if not open_goals:
            return reply(t("commands.goal.none"))
        return reply(*(t("commands.goal.line", n=i, text=g.text) for i, g in enumerate(open_goals, 1)))
    if args[0].lower() == "done" and len(args) == 2:
        if not args[1].isdigit() or not 1 <= int(args[1]) <= len(open_goals):
            raise UserError(t("commands.goal.pick", count=len(open_goals)))
        g = open_goals[int(args[1]) - 1]
        g.done = True
        turn.session.add(g)
        return reply(t("commands.goal.done", text=g.text))
    turn.session.add(Goal(pair_id=pair.id, author_id=turn.me.id, text=raw[:500], created_at=turn.now))  # type: ignore[arg-type]
    return reply(t("commands.goal.saved", partner=addressed(partner.name, partner.given_name)))


@command("meet", "meet <weekday> <HH:MM> [weekly|2w|monthly]")
def _meet(turn: Turn, args: list[str], raw: str) -> Response:
    usage = t("commands.meet.usage")
    if len(args) not in (2, 3) or args[0][:3].lower() not in WEEKDAYS:
        raise UserError(usage)
    try:
        at = parse_hhmm(args[1])
    except ValueError:
        raise UserError(usage) from None
    every = RHYTHM_WORDS.get(args[2].lower()) if len(args) == 3 else 2
    if every is None:
        raise UserError(usage)
    pair = next(iter(turn.pairs_of(turn.me, ("active",))), None)
    if pair is None:
        raise UserError(t("commands.meet.not_paired"))
    day = WEEKDAYS.index(args[0][:3].lower())
    set_rhythm(turn, pair, every, day, f"{at:%H:%M}")
    turn.touched_pairs.append(pair.id)  # type: ignore[arg-type]
    tz = turn.me.tz or turn.workspace.default_tz
    return reply(t("commands.meet.done", rhythm=t(f"rhythm.{every}"), day=WEEKDAYS[day].title(), at=f"{at:%H:%M}",
                   tz=tz))


@command("time", "time <weekday> <HH:MM>")
def _time(turn: Turn, args: list[str], raw: str) -> Response:
    if len(args) != 2 or args[0][:3].lower() not in WEEKDAYS:
        raise UserError(t("commands.time.usage"))
    try:
        at = parse_hhmm(args[1])
    except ValueError:
        raise UserError(t("commands.time.not_a_time", value=repr(args[1]))) from None
    day = WEEKDAYS.index(args[0][:3].lower())
    if day not in turn.deps.settings.working_weekdays:
        raise UserError(t("commands.time.not_a_working_day", day=args[0].title()))
    if in_quiet_hours(at, turn.deps.settings.quiet):
        q = turn.deps.settings.quiet_hours
        raise UserError(t("commands.time.quiet", at=args[1], quiet=q))
    change_person(turn, turn.me, prompt_weekday=day, prompt_time=f"{at:%H:%M}")
    tz = turn.me.tz or turn.workspace.default_tz
    return reply(t("commands.time.done", day=WEEKDAYS[day].title(), at=f"{at:%H:%M}", tz=tz))


@command("snooze", "snooze 1w")
def _snooze(turn: Turn, args: list[str], raw: str) -> Response:
    return reply(snooze(turn, turn.me, parse_duration(args[0] if args else "1w")))


@command("pause", "pause")
def _pause(turn: Turn, args: list[str], raw: str) -> Response:
    change_person(turn, turn.me, paused=True)
    turn.audit("person.pause", turn.me.external_id)
    return reply(t("commands.pause.done"))


@command("resume", "resume", aliases=("unsnooze",))
def _resume(turn: Turn, args: list[str], raw: str) -> Response:
    turn.audit("person.resume", turn.me.external_id)
    return reply(resume(turn, turn.me))


@command("stop", "stop")
def _stop(turn: Turn, args: list[str], raw: str) -> Response:
    opt_out(turn)
    return reply(t("commands.stop.done"), t("commands.stop.data"))


@command("my-data", "my-data", aliases=("mydata",))
def _my_data(turn: Turn, args: list[str], raw: str) -> Response:
    data = privacy.my_data(turn.session, turn.me)
    turn.audit("person.my_data", turn.me.external_id)
    return Response(reply=say(t("commands.my_data.intro")),
                    attachment=Attachment("momentum-my-data.json", data, "application/json",
                                          t("commands.my_data.title")))
