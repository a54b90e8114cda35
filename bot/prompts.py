"""Composes each prompt kind (and its answered form) as a neutral ``Message``.

Pure functions of a ``PromptContext``: no database, no clock, no platform.
Button values carry ``"<prompt id>:<answer>"``; the action ids are listed in
``Actions`` and handled in ``bot.conversation``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot import catalogue as cat
from bot.journey import Kind, journey, pick, stage_name
from bot.messages import (
    Button,
    Buttons,
    Checkbox,
    Fields,
    Form,
    Heading,
    Message,
    MessageBuilder,
    Paragraph,
    Text,
    TextInput,
    foot,
    para,
)


class Actions:
    CHECKIN_STATUS = "checkin.status"
    CHECKIN_MOMENTUM = "checkin.momentum"
    CHECKIN_NOTE = "checkin.note"  # opens the note form; the form id is the same
    CHECKIN_CHANGE = "checkin.change"
    REFRAME_SLOT = "reframe.slot"
    GHOST_PAUSE = "ghost.pause"
    GHOST_STOP = "ghost.stop"
    PREP_OPEN = "prep.open"
    PREP_FORM = "prep.agenda"
    PREP_SKIP = "prep.skip"
    TOUCH_DONE = "touch.done"
    TOUCH_ANOTHER = "touch.another"
    TOUCH_SKIP = "touch.skip"
    SHARED_PLAN = "shared.plan"
    SHARED_DONE = "shared.done"
    SHARED_ANOTHER = "shared.another"
    NUDGE_DONE = "nudge.done"
    NUDGE_SNOOZE = "nudge.snooze"
    NUDGE_SKIP = "nudge.skip"
    REVIEW_OPEN = "review.open"
    REVIEW_FORM = "review.form"
    REVIEW_LATER = "review.later"
    WRAPUP_REFLECT = "wrapup.reflect"
    WRAPUP_FORM = "wrapup.form"
    WRAPUP_FORWARD = "wrapup.forward"
    KICKOFF_BOOKED = "kickoff.booked"
    WIN_OPEN = "win.open"
    WIN_FORM = "win.form"
    HOME_CHECKIN = "home.checkin"
    HOME_LIGHT = "home.light"
    HOME_SNOOZE = "home.snooze"
    HOME_RESUME = "home.resume"
    HOME_REPORT = "home.report"
    HOME_EXPORT = "home.export"
    IMPORT_FORM = "admin.import"


STATUS_LABELS = {"met": "We met", "light": "Light touch", "not_yet": "Not yet"}


@dataclass(frozen=True)
class PersonView:
    name: str
    external_id: str
    tz: str = "UTC"


@dataclass(frozen=True)
class Digest:
    """What a sponsor needs to advocate: goals, shared wins, last contact, momentum trend."""

    goals: tuple[str, ...] = ()
    wins: tuple[str, ...] = ()
    last_contact: datetime | None = None
    trend: tuple[int, ...] = ()  # recent momentum answers, oldest first


@dataclass(frozen=True)
class PromptContext:
    prompt_id: int
    kind: str
    program_name: str
    program_kind: str
    week: int
    stage: str
    strategy: int
    variant: int
    role: str  # "junior" (sponsoree) | "senior" (sponsor)
    me: PersonView
    partner: PersonView
    sponsor: PersonView
    sponsoree: PersonView
    now: datetime
    slowed: bool = False
    digest: Digest | None = None
    payload: dict[str, Any] = field(default_factory=dict)


def first_name(name: str) -> str:
    return name.split()[0] if name.strip() else name


def _names(ctx: PromptContext) -> dict[str, str]:
    return {
        "me": first_name(ctx.me.name),
        "partner": first_name(ctx.partner.name),
        "sponsor": ctx.sponsor.name,
        "sponsoree": ctx.sponsoree.name,
        "program": ctx.program_name,
    }


def _v(ctx: PromptContext, pid_answer: str) -> str:
    return f"{ctx.prompt_id}:{pid_answer}"


def status_buttons(ctx: PromptContext) -> Buttons:
    return Buttons((
        Button(Actions.CHECKIN_STATUS, "We met", _v(ctx, "met"), "primary"),
        Button(Actions.CHECKIN_STATUS, "Light touch", _v(ctx, "light")),
        Button(Actions.CHECKIN_STATUS, "Not yet", _v(ctx, "not_yet")),
    ))


def momentum_buttons(prompt_id: int) -> Buttons:
    labels = {1: "1 Stalled", 2: "2", 3: "3", 4: "4", 5: "5 Flying"}
    return Buttons(tuple(Button(Actions.CHECKIN_MOMENTUM, labels[n], f"{prompt_id}:{n}") for n in range(1, 6)))


def _stage_line(ctx: PromptContext) -> str:
    return f"Week {ctx.week} \u00b7 {stage_name(ctx.program_kind, ctx.stage)} \u00b7 {ctx.program_name}"


def local_time(when: datetime, tz: str) -> str:
    return when.astimezone(ZoneInfo(tz)).strftime("%a %H:%M")


def checkin(ctx: PromptContext) -> Message:
    n = _names(ctx)
    mb = MessageBuilder(kind=Kind.CHECKIN)
    mb.add(Paragraph(cat.fill(pick(cat.CHECKIN_OPENERS, ctx.variant), **n)), status_buttons(ctx))
    tip = cat.TIPS[(ctx.strategy, ctx.stage)]
    mb.add(Paragraph((Text(f"{cat.STRATEGY_NAMES[ctx.strategy]}: ", bold=True),
                      *cat.fill(pick(tip, ctx.variant // 7), **n))))
    if ctx.slowed:
        mb.add(para(cat.CHECKIN_SLOWED), Buttons((
            Button(Actions.GHOST_PAUSE, "Pause 4 weeks", _v(ctx, "pause")),
            Button(Actions.GHOST_STOP, "Stop prompts", _v(ctx, "stop"), "danger"),
        )))
    mb.add(foot(_stage_line(ctx), " \u00b7 your answers are private unless you share them"))
    return mb.build()


def checkin_answered(ctx: PromptContext, status: str | None, momentum: int | None, note: bool,
                     shared: bool) -> Message:
    """The check-in after an answer: buttons gone, the answer shown, the next small step offered."""
    n = _names(ctx)
    mb = MessageBuilder(kind="checkin.answered")
    parts = [STATUS_LABELS.get(status or "", "No answer yet")]
    if momentum:
        parts.append(f"momentum {momentum}/5")
    if note:
        parts.append("note shared with " + first_name(ctx.partner.name) if shared else "private note saved")
    mb.add(Paragraph((Text("Recorded: ", bold=True), Text(" \u00b7 ".join(parts)))))
    if status == "not_yet":
        mb.add(Paragraph(cat.fill(pick(cat.REFRAMES, ctx.variant), **n)))
        slots = next_week_slots(ctx.now.astimezone(ZoneInfo(ctx.partner.tz)))
        mb.add(Paragraph(cat.fill(cat.REFRAME_NEXT, slots=slots, **n)))
    if momentum is None:
        mb.add(para("How's the momentum? 1 = stalled, 5 = flying."), momentum_buttons(ctx.prompt_id))
    extra = [Button(Actions.CHECKIN_NOTE, "Add a note" if not note else "Edit note", _v(ctx, "note"))]
    if status == "not_yet":
        extra.insert(0, Button(Actions.REFRAME_SLOT, "I proposed a new slot", _v(ctx, "slot"), "primary"))
    extra.append(Button(Actions.CHECKIN_CHANGE, "Change answer", _v(ctx, "change")))
    mb.add(Buttons(tuple(extra)))
    if momentum is not None and status != "not_yet":
        mb.add(foot("Thanks! Your answers stay private unless you choose to share them."))
    return mb.build(text="Check-in recorded: " + " \u00b7 ".join(parts))


def note_form(prompt_id: int, partner: str, initial: str = "", shared: bool = False) -> Form:
    return Form(
        form_id=Actions.CHECKIN_NOTE,
        title="Add a note",
        submit_label="Save note",
        state=str(prompt_id),
        blocks=(
            TextInput("note", "Your note", placeholder="What happened, what's next?", multiline=True,
                      optional=False, max_length=1500, initial=initial),
            Checkbox("share", f"Share this note with {partner}", initial=shared),
            foot("Notes are private to you unless you tick the box. Admins never see them."),
        ),
    )


def prep(ctx: PromptContext) -> Message:
    n = _names(ctx)
    return MessageBuilder(kind=Kind.PREP).add(
        Paragraph(cat.fill(pick(cat.PREP_OPENERS, ctx.variant), **n)),
        Buttons((
            Button(Actions.PREP_OPEN, "Write my agenda", _v(ctx, "open"), "primary"),
            Button(Actions.PREP_SKIP, "Skip this time", _v(ctx, "skip")),
        )),
        foot("Don't assume the worst: preparing shows you value ", first_name(ctx.partner.name), "'s time."),
    ).build()


def prep_form(prompt_id: int, partner: str) -> Form:
    return Form(
        form_id=Actions.PREP_FORM,
        title="Meeting prep",
        submit_label="Save agenda",
        state=str(prompt_id),
        blocks=(
            TextInput("update", "An update", placeholder="What moved since you last spoke?", optional=False,
                      max_length=500),
            TextInput("question", "A question", placeholder="Something you'd value their view on", max_length=500),
            TextInput("ask", "An ask", placeholder="One concrete thing they could do", max_length=500),
            Checkbox("share", f"Send this agenda to {partner} before we meet", initial=True),
        ),
    )


def light_touch(ctx: PromptContext, offset: int = 0) -> Message:
    n = _names(ctx)
    days = str(ctx.payload.get("days", 14))
    return MessageBuilder(kind=Kind.LIGHT_TOUCH).add(
        Paragraph(cat.fill(cat.LIGHT_TOUCH_OPENER, days=days, **n)),
        Paragraph((Text("\u2192 "), *cat.fill(pick(cat.LIGHT_TOUCHES, ctx.variant + offset), **n))),
        Buttons((
            Button(Actions.TOUCH_DONE, "Done, I sent it", _v(ctx, "done"), "primary"),
            Button(Actions.TOUCH_ANOTHER, "Another idea", _v(ctx, str(offset + 1))),
            Button(Actions.TOUCH_SKIP, "Not now", _v(ctx, "skip")),
        )),
        foot("Light touches complement real conversations; they never replace them."),
    ).build()


def holiday(ctx: PromptContext) -> Message:
    n = _names(ctx)
    return MessageBuilder(kind=Kind.HOLIDAY).add(
        Paragraph(cat.fill(pick(cat.HOLIDAY_TOUCH, ctx.variant), holiday=str(ctx.payload.get("holiday", "")),
                           date=str(ctx.payload.get("date_label", "")), **n)),
        Buttons((
            Button(Actions.TOUCH_DONE, "Sent a greeting", _v(ctx, "done"), "primary"),
            Button(Actions.TOUCH_SKIP, "Not this time", _v(ctx, "skip")),
        )),
    ).build()


def shared(ctx: PromptContext, offset: int = 0) -> Message:
    n = _names(ctx)
    idea = cat.fill(pick(cat.SHARED_IDEAS[ctx.stage], ctx.variant + offset), **n)
    return MessageBuilder(kind=Kind.SHARED).add(
        Paragraph(cat.fill(pick(cat.SHARED_OPENERS[ctx.role], ctx.variant), **n)),
        Paragraph((Text("\u2192 "), *idea)),
        Buttons((
            Button(Actions.SHARED_PLAN, "We'll do it", _v(ctx, "plan"), "primary"),
            Button(Actions.SHARED_DONE, "Already did it", _v(ctx, "done")),
            Button(Actions.SHARED_ANOTHER, "Another idea", _v(ctx, str(offset + 1))),
        )),
        foot("Find shared experiences: doing things together builds trust and gives first-hand evidence."),
    ).build()


def _trend(values: tuple[int, ...]) -> str:
    if not values:
        return "no check-ins yet"
    arrow = ""
    if len(values) >= 2:
        arrow = " \u2197" if values[-1] > values[0] else (" \u2198" if values[-1] < values[0] else " \u2192")
    return " ".join(str(v) for v in values[-4:]) + arrow


def _ago(now: datetime, when: datetime | None) -> str:
    if when is None:
        return "not yet"
    days = (now - when).days
    return "today" if days <= 0 else ("yesterday" if days == 1 else f"{days} days ago")


def nudge(ctx: PromptContext) -> Message:
    n = _names(ctx)
    d = ctx.digest or Digest()
    action = cat.fill(pick(cat.SPONSOR_ACTIONS[ctx.stage], ctx.variant), **n)
    return MessageBuilder(kind=Kind.NUDGE).add(
        Heading(pick(cat.NUDGE_OPENERS, ctx.variant).replace("{partner}", first_name(ctx.partner.name))),
        Fields((
            ("Goals", "; ".join(d.goals[:3]) or "none shared yet"),
            ("Wins shared with you", "; ".join(d.wins[:3]) or "none yet"),
            ("Last contact", _ago(ctx.now, d.last_contact)),
            ("Momentum", _trend(d.trend)),
        )),
        Paragraph((Text("This week: ", bold=True), *action)),
        Buttons((
            Button(Actions.NUDGE_DONE, "Done", _v(ctx, "done"), "primary"),
            Button(Actions.NUDGE_SNOOZE, "Snooze a week", _v(ctx, "snooze")),
            Button(Actions.NUDGE_SKIP, "Not this week", _v(ctx, "skip")),
        )),
        foot(_stage_line(ctx)),
    ).build(text=f"Your weekly look at {ctx.partner.name}: one small action inside")


def kickoff(ctx: PromptContext) -> Message:
    n = _names(ctx)
    j = journey(ctx.program_kind)
    points = tuple((label, "".join(s.text for s in cat.fill(desc, **n) if isinstance(s, Text)))
                   for label, desc in cat.KICKOFF_POINTS)
    return MessageBuilder(kind=Kind.KICKOFF).add(
        Paragraph(cat.fill(pick(cat.KICKOFF_OPENERS, ctx.variant), **n)),
        para(cat.KICKOFF_AGENDA),
        Fields(points),
        Buttons((Button(Actions.KICKOFF_BOOKED, "We've booked a first chat", _v(ctx, "booked"), "primary"),)),
        foot(f"{ctx.sponsor.name} is the {j.senior}, {ctx.sponsoree.name} the {j.junior}. "
             "Check-ins are private to each of you unless you choose to share."),
    ).build()


def review(ctx: PromptContext) -> Message:
    n = _names(ctx)
    quarter = str(ctx.payload.get("quarter", max(1, ctx.week // 13)))
    return MessageBuilder(kind=Kind.REVIEW).add(
        Paragraph(cat.fill(pick(cat.REVIEW_OPENERS, ctx.variant), quarter=quarter, **n)),
        Buttons((
            Button(Actions.REVIEW_OPEN, "Write my review", _v(ctx, "open"), "primary"),
            Button(Actions.REVIEW_LATER, "Later", _v(ctx, "later")),
        )),
    ).build()


def review_form(prompt_id: int, partner: str) -> Form:
    return Form(
        form_id=Actions.REVIEW_FORM, title="Quarterly review", submit_label="Save review", state=str(prompt_id),
        blocks=(
            TextInput("working", "What's working", multiline=True, optional=False, max_length=800),
            TextInput("change", "What to change", multiline=True, max_length=800),
            TextInput("next", "Next waypoint", max_length=300),
            Checkbox("share", f"Share my review with {partner}"),
        ),
    )


def wrapup(ctx: PromptContext) -> Message:
    n = _names(ctx)
    buttons = [Button(Actions.WRAPUP_REFLECT, "Reflect", _v(ctx, "reflect"), "primary")]
    if ctx.role == "junior":
        buttons.append(Button(Actions.WRAPUP_FORWARD, "I'd like to pay it forward", _v(ctx, "forward")))
    return MessageBuilder(kind=Kind.WRAPUP).add(
        Paragraph(cat.fill(cat.WRAPUP[ctx.role], **n)), Buttons(tuple(buttons)),
    ).build()


def wrapup_form(prompt_id: int, partner: str) -> Form:
    return Form(
        form_id=Actions.WRAPUP_FORM, title="Reflection", submit_label="Save", state=str(prompt_id),
        blocks=(
            TextInput("reflection", "What changed for you?", multiline=True, optional=False, max_length=1500),
            Checkbox("share", f"Share my reflection with {partner}"),
        ),
    )


def agenda_share(ctx: PromptContext) -> Message:
    p = ctx.payload
    items = [("Update", str(p.get("update") or "-"))]
    if p.get("question"):
        items.append(("Question", str(p["question"])))
    if p.get("ask"):
        items.append(("Ask", str(p["ask"])))
    return MessageBuilder(kind=Kind.AGENDA).add(
        Paragraph((Text(ctx.partner.name, bold=True), Text(" shared an agenda for your next chat:"))),
        Fields(tuple(items)),
        foot("Prepared meetings are easy to say yes to. No reply needed."),
    ).build(text=f"{ctx.partner.name} shared an agenda for your next chat")


def shared_note(ctx: PromptContext) -> Message:
    what = str(ctx.payload.get("what", "a note"))
    return MessageBuilder(kind=Kind.SHARED_NOTE).add(
        Paragraph((Text(ctx.partner.name, bold=True), Text(f" shared {what} with you:"))),
        Paragraph((Text(str(ctx.payload.get("text", ""))),)),
    ).build(text=f"{ctx.partner.name} shared {what} with you")


COMPOSERS = {
    Kind.CHECKIN: checkin,
    Kind.PREP: prep,
    Kind.LIGHT_TOUCH: light_touch,
    Kind.HOLIDAY: holiday,
    Kind.SHARED: shared,
    Kind.NUDGE: nudge,
    Kind.KICKOFF: kickoff,
    Kind.REVIEW: review,
    Kind.WRAPUP: wrapup,
    Kind.AGENDA: agenda_share,
    Kind.SHARED_NOTE: shared_note,
}


def compose(ctx: PromptContext) -> Message:
    return COMPOSERS[Kind(ctx.kind)](ctx)


def answered(ctx: PromptContext, label: str) -> Message:
    """A non-check-in prompt after its answer: the question's gist and what was recorded."""
    original = compose(ctx)
    kept = tuple(b for b in original.blocks if not isinstance(b, Buttons))[:2]
    return Message(text=label, blocks=(*kept, Paragraph((Text("\u2713 ", bold=True), Text(label)))),
                   kind=f"{ctx.kind}.answered")


def next_week_slots(partner_now: datetime) -> str:
    """Two concrete slots next week, Tuesday 10:00 and Thursday 15:00 in the partner's own zone."""
    monday = (partner_now + timedelta(days=7 - partner_now.weekday())).date()
    tue, thu = monday + timedelta(days=1), monday + timedelta(days=3)
    return f"{tue:%a %d %b} 10:00 or {thu:%a %d %b} 15:00"
