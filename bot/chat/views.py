"""Messages the chat side shows outside prompts: help, `me`, the ad-hoc check-in, the win and import forms."""

from __future__ import annotations

from sqlmodel import select

from bot.chat.turn import Turn
from bot.content import prompts
from bot.content.chat_words import t
from bot.content.journey import Evidence, Journey, journey_for, phase_for
from bot.content.kinds import PromptKind, checkin_strategy, stage_for, variant_for
from bot.content.prompts import Actions
from bot.content.timing import week_index, zone
from bot.model.config import WEEKDAYS
from bot.model.errors import UserError
from bot.model.messages import (
    Button,
    Buttons,
    Fields,
    Form,
    Heading,
    Message,
    MessageBuilder,
    TextInput,
    foot,
    para,
)
from bot.model.names import addressed
from bot.outbox.loader import load_context
from storage.models import (
    Pair,
    Person,
    Program,
    Prompt,
)


def next_prompt(turn: Turn, person: Person) -> Prompt | None:
    return turn.session.exec(
        select(Prompt).where(Prompt.recipient_id == person.id, Prompt.status == "pending")
        .order_by(Prompt.due_at).limit(1)  # type: ignore[arg-type]
    ).first()


def privacy_line(j: Journey, seat: str, partner_first: str) -> str:
    """What the partner sees, in the same words as the check-in footer and the digest."""
    slot = "privacy.checkin" if seat == "junior" else "privacy.digest"
    return j.text(slot).replace("{partner}", partner_first)


def me_message(turn: Turn) -> Message:
    me = turn.me
    tz = me.tz or turn.workspace.default_tz
    mb = MessageBuilder(kind="me")
    pairs = turn.pairs_of(me)
    if not pairs:
        mb.add(para(t("views.me.not_paired")))
    for pair in pairs:
        prog = turn.session.get(Program, pair.program_id)
        assert prog is not None
        senior = pair.sponsor_id == me.id
        partner = turn.person(pair.sponsoree_id if senior else pair.sponsor_id)
        j = journey_for(prog.kind, prog.journey_yaml)
        week = max(0, week_index(pair.start_date, turn.now))
        phase = j.phase(phase_for(j, week, prog.length_weeks, Evidence(
            meetings=pair.meetings, agreed=pair.agreed_at is not None, checkins=pair.checkins_answered)))
        rhythm = t(f"rhythm.{pair.meet_every}") if pair.meet_every in (1, 2, 4) else t("rhythm.unset")
        first = addressed(partner.name, partner.given_name) or t("views.me.your_partner")
        mb.add(Heading(t("views.me.heading", program=prog.name, partner=partner.name)))
        mb.add(Fields((
            (t("views.me.role"), j.role("senior" if senior else "junior")),
            (t("views.me.week"), t("views.me.week_value", week=week, phase=phase.name)),
            (t("views.me.rhythm"), rhythm),
            (t("views.me.last_contact"), pair.last_touch_at.astimezone(zone(tz)).strftime("%a %d %b")
             if pair.last_touch_at else t("views.me.not_recorded")),
            (t("views.me.pair_status"), pair.status),
        )))
        mb.add(foot(privacy_line(j, "senior" if senior else "junior", first)))
    nxt = next_prompt(turn, me)
    active = not me.opted_out and not me.paused and not (me.snoozed_until and me.snoozed_until > turn.now)
    state = t("views.me.state.opted_out") if me.opted_out else t("views.me.state.paused") if me.paused else (
        t("views.me.state.snoozed", until=f"{me.snoozed_until.astimezone(zone(tz)):%a %d %b}")
        if me.snoozed_until and me.snoozed_until > turn.now else t("views.me.state.active"))
    items = [(t("views.me.prompts"), state), (t("views.me.time_zone"), tz)]
    if nxt is not None:
        when = nxt.due_at.astimezone(zone(tz))
        items.insert(0, (t("views.me.next_prompt"), t("views.me.next_prompt_value", when=f"{when:%a %d %b %H:%M}",
                                                         kind=nxt.kind.replace("_", " "))))
    if me.prompt_time:
        items.append((t("views.me.prompt_time"), f"{WEEKDAYS[me.prompt_weekday or 0].title()} {me.prompt_time}"))
    mb.add(Fields(tuple(items)))
    buttons = [Button(Actions.HOME_CHECKIN, t("views.me.checkin_now"), "checkin", "primary"),
               Button(Actions.HOME_LIGHT, t("views.me.log_light"), "light"),
               Button(Actions.WIN_OPEN, t("views.me.share_win"), "win")]
    if active:
        buttons.append(Button(Actions.HOME_SNOOZE, t("views.me.snooze_week"), "1w"))
    else:
        buttons.append(Button(Actions.HOME_RESUME, t("views.me.resume"), "resume"))
    if pairs:
        mb.add(Buttons(tuple(buttons)))
    return mb.build(text=t("views.me.summary", pairs=len(pairs), state=state))


def sponsoree_pair(turn: Turn) -> Pair:
    """The actor's pair for things a sponsoree does (win, goal, check-in); sponsors' first pair."""
    pairs = turn.pairs_of(turn.me, ("active",))
    if not pairs:
        raise UserError(t("views.not_in_pair"))
    own = [p for p in pairs if p.sponsoree_id == turn.me.id]
    return (own or pairs)[0]


def import_form() -> Form:
    return Form(
        form_id=Actions.IMPORT_FORM, title=t("views.import_form.title"), submit_label=t("views.import_form.submit"),
        blocks=(
            para(t("views.import_form.intro")),
            TextInput("csv", t("views.import_form.label"), placeholder=t("views.import_form.placeholder"),
                      multiline=True, optional=False, max_length=3000),
        ),
    )


def win_form(turn: Turn) -> Form:
    return Form(form_id=Actions.WIN_FORM, title=t("views.win_form.title"), submit_label=t("views.win_form.submit"),
                blocks=(
                    TextInput("win", t("views.win_form.label"), placeholder=t("views.win_form.placeholder"),
                              multiline=True, optional=False, max_length=1000),
                    prompts.Checkbox("share", t("views.win_form.share"), initial=True),
                ))


def adhoc_checkin(turn: Turn, pair: Pair) -> Message:
    """A check-in on demand: a prompt row (so answers attach to it) that is never delivered."""
    prog = turn.session.get(Program, pair.program_id)
    assert prog is not None
    week = max(0, week_index(pair.start_date, turn.now))
    period = f"adhoc-{turn.now:%Y%m%d}"
    p = turn.session.exec(select(Prompt).where(Prompt.pair_id == pair.id, Prompt.recipient_id == turn.me.id,
                                      Prompt.kind == PromptKind.CHECKIN, Prompt.period == period)).first()
    if p is None:
        p = Prompt(pair_id=pair.id, recipient_id=turn.me.id, workspace_id=turn.workspace.id, kind=PromptKind.CHECKIN,  # type: ignore[arg-type]
                   strategy=checkin_strategy(week), phase=stage_for(prog.kind, week), period=period, week=week,
                   variant=variant_for(pair.id or 0, PromptKind.CHECKIN,
                                       period), due_at=turn.now, next_attempt_at=turn.now,
                   status="sent", sent_at=turn.now, created_at=turn.now)  # type: ignore[arg-type]
        turn.session.add(p)
        turn.session.flush()
    loaded = load_context(turn.session.connection(), p.id, turn.now)  # type: ignore[arg-type]
    assert loaded is not None
    return prompts.checkin(loaded[0])
