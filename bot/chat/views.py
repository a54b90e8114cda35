"""Messages the chat side shows outside prompts: help, `me`, the ad-hoc check-in, the win and import forms."""

from __future__ import annotations

from sqlmodel import select

from bot.chat.turn import Turn
from bot.content import prompts
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
        mb.add(para("You're not paired in any program yet. Your program manager will pair you."))
    for pair in pairs:
        prog = turn.session.get(Program, pair.program_id)
        assert prog is not None
        senior = pair.sponsor_id == me.id
        partner = turn.person(pair.sponsoree_id if senior else pair.sponsor_id)
        j = journey_for(prog.kind, prog.journey_yaml)
        week = max(0, week_index(pair.start_date, turn.now))
        phase = j.phase(phase_for(j, week, prog.length_weeks, Evidence(
            meetings=pair.meetings, agreed=pair.agreed_at is not None, checkins=pair.checkins_answered)))
        rhythm = {1: "every week", 2: "every 2 weeks", 4: "monthly"}.get(
            pair.meet_every, "not set yet: meet thu 15:00 2w")
        first = partner.name.split()[0] if partner.name else "your partner"
        mb.add(Heading(f"{prog.name}: you and {partner.name}"))
        mb.add(Fields((
            ("Your role", j.role("senior" if senior else "junior")),
            ("Week", f"{week} \u00b7 {phase.name}"),
            ("Meeting rhythm", rhythm),
            ("Last contact", pair.last_touch_at.astimezone(zone(tz)).strftime("%a %d %b") if pair.last_touch_at
             else "not recorded yet"),
            ("Pair status", pair.status),
        )))
        mb.add(foot(privacy_line(j, "senior" if senior else "junior", first)))
    nxt = next_prompt(turn, me)
    state = "opted out" if me.opted_out else "paused" if me.paused else (
        f"snoozed until {me.snoozed_until.astimezone(zone(tz)):%a %d %b}" if me.snoozed_until and
        me.snoozed_until > turn.now else "active")
    items = [("Prompts", state), ("Your time zone", tz)]
    if nxt is not None:
        when = nxt.due_at.astimezone(zone(tz))
        items.insert(0, ("Next prompt", f"{when:%a %d %b %H:%M} ({nxt.kind.replace('_', ' ')})"))
    if me.prompt_time:
        items.append(("Your prompt time", f"{WEEKDAYS[me.prompt_weekday or 0].title()} {me.prompt_time}"))
    mb.add(Fields(tuple(items)))
    buttons = [Button(Actions.HOME_CHECKIN, "Check in now", "checkin", "primary"),
               Button(Actions.HOME_LIGHT, "Log a light touch", "light"),
               Button(Actions.WIN_OPEN, "Share a win", "win")]
    if state == "active":
        buttons.append(Button(Actions.HOME_SNOOZE, "Snooze a week", "1w"))
    else:
        buttons.append(Button(Actions.HOME_RESUME, "Resume prompts", "resume"))
    if pairs:
        mb.add(Buttons(tuple(buttons)))
    return mb.build(text=f"Your Momentum: {len(pairs)} pair(s), prompts {state}")


def sponsoree_pair(turn: Turn) -> Pair:
    """The actor's pair for things a sponsoree does (win, goal, check-in); sponsors' first pair."""
    pairs = turn.pairs_of(turn.me, ("active",))
    if not pairs:
        raise UserError("You're not in an active pair right now, so there's nothing to record yet.")
    own = [p for p in pairs if p.sponsoree_id == turn.me.id]
    return (own or pairs)[0]


def import_form() -> Form:
    return Form(
        form_id=Actions.IMPORT_FORM, title="Import pairs", submit_label="Import",
        blocks=(
            para("One line per pair. Columns: sponsor_email, sponsoree_email, program, optional unit "
                 "and sponsor_unit. I check every line first and import all or nothing."),
            TextInput("csv", "CSV", placeholder="sponsor_email,sponsoree_email,program,unit", multiline=True,
                      optional=False, max_length=3000),
        ),
    )


def win_form(turn: Turn) -> Form:
    return Form(form_id=Actions.WIN_FORM, title="Share a win", submit_label="Save win", blocks=(
        TextInput("win", "Your win", placeholder="What went well? One or two lines.", multiline=True,
                  optional=False, max_length=1000),
        prompts.Checkbox("share", "Share with my sponsor (they can mention it in the right rooms)", initial=True),
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
