"""Composes each prompt kind (and its answered form) as a neutral ``Message`` from the journey's words.

Pure functions of a ``PromptContext``: no database, no clock, no platform. Every word comes from
the program's journey file (``bot.content.journeys``); texts are picked by a rotation per person.
Button values carry ``"<prompt id>:<answer>"`` (signed before they leave the core); the action ids
are listed in ``Actions`` and handled in ``bot.chat.entry``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.content import chat_words
from bot.content._data import words
from bot.content.calendar import calendar_links
from bot.content.holidays import Holiday, country_name, greetable, when_label
from bot.content.journey import Journey, Line, builtin, rotate
from bot.content.kinds import PromptKind
from bot.content.slots import Availability, Slot, both_zones_label, propose_slots
from bot.model import facts
from bot.model.messages import (
    Block,
    Button,
    Buttons,
    Checkbox,
    Choice,
    Fields,
    Footnote,
    Form,
    Heading,
    Inline,
    Link,
    Message,
    MessageBuilder,
    Option,
    Paragraph,
    Span,
    Text,
    TextInput,
    foot,
    para,
    plain,
)
from bot.model.names import addressed


class Actions:
    CHECKIN_STATUS = "checkin.status"
    CHECKIN_MOMENTUM = "checkin.momentum"
    CHECKIN_NOTE = "checkin.note"  # opens the note form; the form id is the same
    CHECKIN_CHANGE = "checkin.change"
    REFRAME_SLOT = "reframe.slot"
    GHOST_PAUSE = "ghost.pause"
    GHOST_STOP = "ghost.stop"
    RESTART_PAUSE = "restart.pause"
    RESTART_REMATCH = "restart.rematch"
    RESTART_KEEP = "restart.keep"
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
    NUDGE_ASK_GOAL = "nudge.ask_goal"
    GOAL_OPEN = "goal.open"
    GOAL_FORM = "goal.form"
    REVIEW_OPEN = "review.open"
    REVIEW_FORM = "review.form"
    REVIEW_LATER = "review.later"
    WRAPUP_REFLECT = "wrapup.reflect"
    WRAPUP_FORM = "wrapup.form"
    WRAPUP_FORWARD = "wrapup.forward"
    KICKOFF_BOOKED = "kickoff.booked"
    KICKOFF_AGREE = "kickoff.agree"
    AGREEMENT_FORM = "kickoff.agreement"
    WIN_OPEN = "win.open"
    WIN_FORM = "win.form"
    HOME_CHECKIN = "home.checkin"
    HOME_LIGHT = "home.light"
    HOME_SNOOZE = "home.snooze"
    HOME_RESUME = "home.resume"
    HOME_REPORT = "home.report"
    HOME_EXPORT = "home.export"
    IMPORT_FORM = "admin.import"


STATUS_LABELS = {k: chat_words.t(f"prompts.status.{k}") for k in ("met", "light", "not_yet")}
MAX_QUOTE_WORDS = 12  # goals, wins and asks are cut to this many words (with an ellipsis) in a digest


@dataclass(frozen=True)
class PersonView:
    name: str
    external_id: str
    tz: str = "UTC"
    country: str | None = None
    email: str | None = None
    given: str | None = None

    @property
    def short(self) -> str:
        """How this person is addressed (bot.model.names): the name they go by, or the full name."""
        return addressed(self.name, self.given)


@dataclass(frozen=True)
class Digest:
    """What a sponsor needs to advocate: what is new since the last digest, and what stands."""

    goals: tuple[str, ...] = ()  # open goals, newest first
    wins: tuple[str, ...] = ()  # shared wins of the last 8 weeks, newest first
    new_goals: tuple[str, ...] = ()
    new_wins: tuple[str, ...] = ()
    ask: str | None = None  # the latest shared agenda's ask, when new
    meetings_since: int = 0
    last_contact: datetime | None = None
    since: datetime | None = None
    trend: tuple[int, ...] = ()  # recent momentum answers, oldest first
    ask_unanswered: bool = False  # the sponsor asked for the current goal since the last digest: no answer

    @property
    def anything_new(self) -> bool:
        return bool(self.new_goals or self.new_wins or self.ask or self.meetings_since or self.ask_unanswered)


@dataclass(frozen=True)
class PairState:
    """The pair's evidence and state, as the journey needs it."""

    meetings: int = 0
    agreed: bool = False
    agreement: str | None = None
    booked: bool = False
    rhythm: int = 0  # weeks between meetings, 0 = none set
    stalled_days: int = 0  # > 0: no two-way contact for this many days (21+)
    quiet_days: int = 0  # days since any contact
    length: int = 52
    junior_slowed: bool = False
    senior_slowed: bool = False
    junior_offers: int = 0
    senior_offers: int = 0
    checkins_sent: int = 0  # check-ins the sponsoree had before this one


@dataclass(frozen=True)
class History:
    """What the record says the pair did, for reviews and the wrap-up."""

    meetings: int = 0
    wins: int = 0  # wins the sponsoree shared
    actions: tuple[str, ...] = ()  # what the sponsor did ("I made the intro"), oldest first
    done: tuple[str, ...] = ()  # the digest action behind each of ``actions`` ("win-forward"; "" unknown)


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
    journey: Journey | None = None
    pair: PairState = PairState()
    history: History | None = None
    period: str = ""
    shown: Message | None = None  # what this prompt said when it was sent (None: not sent yet)
    reader_tz: str = ""  # the recipient's time zone (an admin's alert goes to neither of the pair)
    last_contact: datetime | None = None  # the pair's last contact (bot.model.facts), or its start

    @property
    def j(self) -> Journey:
        return self.journey or builtin(self.program_kind)


# --- words -------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def cut(text: str, words: int = MAX_QUOTE_WORDS) -> str:
    """A person's words, shortened for a digest line: at most ``words`` words, with an ellipsis."""
    parts = text.split()
    return text.strip() if len(parts) <= words else " ".join(parts[:words]) + "\u2026"


def _names(ctx: PromptContext) -> dict[str, str]:
    return {
        "me": ctx.me.short,
        "partner": ctx.partner.short,
        "sponsor": ctx.sponsor.short,
        "sponsoree": ctx.sponsoree.short,
        "program": ctx.program_name,
        "weeks": str(ctx.pair.length),
        # holidays are named as the partner's country's public holidays, never as their faith
        "partner_country": country_name(ctx.partner.country) or (ctx.partner.country or ""),
    }


def fill(template: str, **values: str | Span) -> Inline:
    """``"Hi {me}"`` + ``me="Sam"`` -> spans; values are people's words, kept apart from the bot's
    text so a renderer escapes them; unknown placeholders are left visible."""
    out: list[Span] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(template):
        if m.start() > pos:
            out.append(Text(template[pos:m.start()]))
        v = values.get(m.group(1))
        if v is None:
            out.append(Text(m.group(0)))
        elif isinstance(v, str):
            out.append(Text(v))
        else:
            out.append(v)
        pos = m.end()
    if pos < len(template):
        out.append(Text(template[pos:]))
    return tuple(out)


def plain_fill(template: str, **values: str) -> str:
    return "".join(s.text if isinstance(s, Text) else "" for s in fill(template, **values))


def w(ctx: PromptContext, slot: str, **extra: str) -> Inline:
    """The slot's (first) text, filled with names and ``extra``."""
    return fill(ctx.j.text(slot), **{**_names(ctx), **extra})


def ws(ctx: PromptContext, slot: str, **extra: str) -> str:
    return plain_fill(ctx.j.text(slot), **{**_names(ctx), **extra})


def label(ctx: PromptContext, name: str) -> str:
    return ws(ctx, f"label.{name}")


def pick(ctx: PromptContext, slot: str, ordinal: int | None = None) -> Line:
    """This person's next text of ``slot`` (a rotation per person; see ``journey.rotate``)."""
    return rotate(ctx.j.lines(slot), ctx.me.external_id, slot, ctx.week if ordinal is None else ordinal)


def _v(ctx: PromptContext, answer: str) -> str:
    return f"{ctx.prompt_id}:{answer}"


def _stage_line(ctx: PromptContext) -> str:
    return chat_words.t("prompts.stage_line", week=ctx.week, phase=ctx.j.phase(ctx.stage).name)


def momentum_word(ctx: PromptContext, values: tuple[int, ...]) -> str:
    """Momentum as the partner sees it: one word from the recent trend, never the numbers."""
    if not values:
        return ws(ctx, "momentum.word.none")
    recent = values[-1]
    earlier = sum(values[:-1]) / (len(values) - 1) if len(values) > 1 else recent
    if recent - earlier >= 0.75:
        return ws(ctx, "momentum.word.rising")
    if earlier - recent >= 0.75:
        return ws(ctx, "momentum.word.dipping")
    return ws(ctx, "momentum.word.steady")


def availability(p: PersonView) -> Availability:
    return Availability(tz=p.tz, country=p.country)


def slot_lines(ctx: PromptContext, subject: str, count: int = 2) -> tuple[list[Paragraph], list[str]]:
    """Two meeting times inside both people's working hours, in both zones, each with one-tap
    calendar links (Teams, Outlook, Google) prefilled with both emails and the subject."""
    me, partner = availability(ctx.me), availability(ctx.partner)
    slots: list[Slot] = propose_slots(ctx.now, me, partner, count=count)
    emails = [e for e in (ctx.me.email, ctx.partner.email) if e]
    out: list[Paragraph] = []
    for s in slots:
        links = calendar_links(s, subject, emails)
        out.append(Paragraph((
            Text("\u2192 " + both_zones_label(s, me, partner, ctx.partner.short) + "  "),
            Link(links["teams"], chat_words.t("prompts.calendar.teams")), Text(" \u00b7 "),
            Link(links["outlook"], chat_words.t("prompts.calendar.outlook")), Text(" \u00b7 "),
            Link(links["google"], chat_words.t("prompts.calendar.google")),
        )))
    return out, [s.start.isoformat() for s in slots]


def _upcoming_holiday(ctx: PromptContext) -> Holiday | None:
    """The partner's next celebratory day within a week (at most four a year, never a solemn one)."""
    if not ctx.partner.country:
        return None
    today = ctx.now.astimezone(ZoneInfo(ctx.me.tz)).date()
    for year in {today.year, (today + timedelta(days=7)).year}:
        for h in greetable(ctx.partner.country, year):
            if today <= h.day <= today + timedelta(days=6):
                return h
    return None


# --- the sponsoree's week: check-in ------------------------------------------------------------

def status_buttons(ctx: PromptContext) -> Buttons:
    return Buttons((
        Button(Actions.CHECKIN_STATUS, label(ctx, "met"), _v(ctx, "met"), "primary"),
        Button(Actions.CHECKIN_STATUS, label(ctx, "light"), _v(ctx, "light")),
        Button(Actions.CHECKIN_STATUS, label(ctx, "not_yet"), _v(ctx, "not_yet")),
    ))


def momentum_buttons(prompt_id: int) -> Buttons:
    labels = {1: chat_words.t("prompts.momentum_low"), 2: "2", 3: "3", 4: "4", 5: chat_words.t("prompts.momentum_high")}
    return Buttons(tuple(Button(Actions.CHECKIN_MOMENTUM, labels[n], f"{prompt_id}:{n}") for n in range(1, 6)))


BOOK_WEEKS = frozenset({2, 6, 10})  # no meeting rhythm yet: "book your next chat" (three times at most)
ASK_GOAL_EVERY = 8  # with nothing to go on, the digest asks for the sponsoree's goal every eighth digest
RESTART_DAYS = (21, 35)  # stalled this long: one small restart step each week (about two tries)
OFFER_DAYS = (35, 49)  # then the kind offer: keep going, pause, or a new match


def restarting(ctx: PromptContext) -> bool:
    return RESTART_DAYS[0] <= ctx.pair.stalled_days < RESTART_DAYS[1]


def offering(ctx: PromptContext) -> bool:
    return OFFER_DAYS[0] <= ctx.pair.stalled_days < OFFER_DAYS[1]


def _tip(ctx: PromptContext) -> tuple[str, Line, dict[str, Any], list[Paragraph]]:
    """The check-in's one suggestion: restart small when stalled, a greeting before the partner's
    holiday, a light touch after quiet weeks, booking a slot when the pair has no rhythm, else the
    phase's tip. Returns (label, line, meta, extra paragraphs)."""
    if restarting(ctx):
        return ws(ctx, "strategy.restart"), pick(ctx, "checkin.restart"), {"restart": True}, []
    hol = _upcoming_holiday(ctx)
    if hol is not None:
        today = ctx.now.astimezone(ZoneInfo(ctx.me.tz)).date()
        line = pick(ctx, "checkin.holiday")
        text = plain_fill(line.text, holiday=hol.name, when=when_label(hol.day, today), **_names(ctx))
        return ws(ctx, "strategy.holiday"), line.model_copy(update={"text": text}), {"holiday": True}, []
    if not ctx.pair.rhythm and ctx.week in BOOK_WEEKS:
        lines, starts = slot_lines(ctx, f"{ctx.sponsor.short} / {ctx.sponsoree.short}")
        return ws(ctx, "strategy.book"), pick(ctx, "checkin.book", ctx.week // 4), {"slots": starts}, lines
    # Rotations walk by the check-ins this person has had (one step each), so a switch between weekly
    # and alternate-week tips never lands on a line used a few weeks before.
    n = ctx.pair.checkins_sent
    long_quiet = ctx.pair.quiet_days >= 49  # past the restart window: light touches and tips take turns
    if 14 <= ctx.pair.quiet_days < 21 or (long_quiet and n % 2 == 0):
        line = pick(ctx, "checkin.light", n)
        return ws(ctx, "strategy.quiet", days=str(ctx.pair.quiet_days)), line, {}, []
    line = pick(ctx, f"checkin.tip.{ctx.stage}", n)
    return ws(ctx, f"strategy.{line.strategy or 1}"), line, {}, []


def checkin(ctx: PromptContext) -> Message:
    n = _names(ctx)
    mb = MessageBuilder(kind=PromptKind.CHECKIN)
    opener = pick(ctx, "checkin.opener")
    mb.add(Paragraph(fill(opener.text, **n)), status_buttons(ctx))
    tip_label, tip, meta, extra = _tip(ctx)
    meta = dict(meta)
    mb.add(Paragraph((Text(tip_label + ":", bold=True), Text(" "), *fill(tip.text, **n))), *extra)
    if offering(ctx):
        meta["offer_restart"] = True
        mb.add(Buttons((
            Button(Actions.RESTART_KEEP, label(ctx, "keep_going"), _v(ctx, "keep"), "primary"),
            Button(Actions.RESTART_PAUSE, label(ctx, "restart_pause"), _v(ctx, "pause")),
            Button(Actions.RESTART_REMATCH, label(ctx, "restart_rematch"), _v(ctx, "rematch")),
        )))
    elif ctx.slowed and ctx.pair.junior_offers < 2:
        meta["offer"] = True
        mb.add(para(ws(ctx, "checkin.slowed")), Buttons((
            Button(Actions.GHOST_PAUSE, label(ctx, "pause"), _v(ctx, "pause")),
            Button(Actions.GHOST_STOP, label(ctx, "stop"), _v(ctx, "stop"), "danger"),
        )))
    # the privacy sentence is said once, in the kickoff (and in help, me and my-data), not every week
    return mb.build(meta={"action": tip.key, "phase": ctx.stage, "facts": [plain_fill(opener.text, **n)], **meta})


def checkin_answered(ctx: PromptContext, status: str | None, momentum: int | None, note: bool,
                     shared: bool) -> Message:
    """The check-in after an answer: what it asked, as sent, then the answer recorded and the next small
    step offered (its buttons are gone)."""
    n = _names(ctx)
    mb = MessageBuilder(kind="checkin.answered")
    asked = [b for b in kept_facts(as_sent(ctx)) if not isinstance(b, Footnote)]
    # the question as sent, and its tip, unless the answer brings its own next step (new times to meet)
    mb.add(*(asked[:1] if status == "not_yet" else asked))
    parts = [label(ctx, status) if status in STATUS_LABELS else chat_words.t("prompts.answered.none")]
    if momentum:
        parts.append(chat_words.t("prompts.answered.momentum", n=momentum))
    if note:
        parts.append(chat_words.t("prompts.answered.note_shared", partner=n["partner"]) if shared
                     else chat_words.t("prompts.answered.note_private"))
    mb.add(Paragraph((Text(ws(ctx, "checkin.answered.recorded"), bold=True), Text(" " + " \u00b7 ".join(parts)))))
    meta: dict[str, Any] = {"phase": ctx.stage}
    if status == "not_yet":
        mb.add(Paragraph(fill(pick(ctx, "checkin.reframe").text, **n)))
        lines, starts = slot_lines(ctx, f"{n['sponsor']} / {n['sponsoree']}")
        mb.add(*lines)
        meta["slots"] = starts
    if momentum is None:
        mb.add(para(chat_words.t("prompts.answered.ask_momentum")), momentum_buttons(ctx.prompt_id))
    extra = [Button(Actions.CHECKIN_NOTE, label(ctx, "edit_note" if note else "note"), _v(ctx, "note"))]
    if status == "not_yet":
        extra.insert(0, Button(Actions.REFRAME_SLOT, label(ctx, "slot"), _v(ctx, "slot"), "primary"))
    if momentum is not None and momentum >= 4 and status == "met":
        mb.add(para(ws(ctx, "checkin.win_offer")))
        extra.insert(0, Button(Actions.WIN_OPEN, label(ctx, "share_win"), "win", "primary"))
    extra.append(Button(Actions.CHECKIN_CHANGE, label(ctx, "change"), _v(ctx, "change")))
    mb.add(Buttons(tuple(extra)))
    if momentum is not None and status != "not_yet":
        mb.add(foot(ws(ctx, "checkin.answered.thanks")))
    return mb.build(text=chat_words.t("prompts.answered.summary", parts=" \u00b7 ".join(parts)), meta=meta)


def note_form(prompt_id: int, partner: str, initial: str = "", shared: bool = False) -> Form:
    return Form(
        form_id=Actions.CHECKIN_NOTE,
        title=chat_words.t("prompts.note_form.title"),
        submit_label=chat_words.t("prompts.note_form.submit"),
        state=str(prompt_id),
        blocks=(
            TextInput("note", chat_words.t("prompts.note_form.label"),
                      placeholder=chat_words.t("prompts.note_form.placeholder"), multiline=True,
                      optional=False, max_length=1500, initial=initial),
            Checkbox("share", chat_words.t("prompts.note_form.share", partner=partner), initial=shared),
            foot(chat_words.t("prompts.note_form.footer", partner=partner)),
        ),
    )


# --- prep before a meeting ---------------------------------------------------------------------

def _meeting_when(ctx: PromptContext) -> str:
    iso = ctx.payload.get("meeting")
    if not iso:
        return chat_words.t("prompts.meeting_soon")
    meet = datetime.fromisoformat(str(iso)).astimezone(ZoneInfo(ctx.me.tz))
    return when_label(meet.date(), ctx.now.astimezone(ZoneInfo(ctx.me.tz)).date())


def prep(ctx: PromptContext) -> Message:
    """Before each meeting of the rhythm the pair chose: a reminder to write an agenda. It repeats with the
    rhythm by design, so it names no rotated suggestion ("action"); its opener still varies."""
    line = pick(ctx, "prep.opener", ctx.week // max(1, ctx.pair.rhythm))
    return MessageBuilder(kind=PromptKind.PREP).add(
        Paragraph(fill(line.text, when=_meeting_when(ctx), **_names(ctx))),
        Buttons((
            Button(Actions.PREP_OPEN, label(ctx, "agenda"), _v(ctx, "open"), "primary"),
            Button(Actions.PREP_SKIP, label(ctx, "skip"), _v(ctx, "skip")),
        )),
        foot(chat_words.t("prompts.prep_footer", partner=ctx.partner.short)),
    ).build(meta={"reminder": line.key, "phase": ctx.stage})


def prep_form(prompt_id: int, partner: str) -> Form:
    return Form(
        form_id=Actions.PREP_FORM,
        title=chat_words.t("prompts.prep_form.title"),
        submit_label=chat_words.t("prompts.prep_form.submit"),
        state=str(prompt_id),
        blocks=(
            TextInput("update", chat_words.t("prompts.prep_form.update"),
                      placeholder=chat_words.t("prompts.prep_form.update_placeholder"), optional=False,
                      max_length=500),
            TextInput("question", chat_words.t("prompts.prep_form.question"),
                      placeholder=chat_words.t("prompts.prep_form.question_placeholder"), max_length=500),
            TextInput("ask", chat_words.t("prompts.prep_form.ask"),
                      placeholder=chat_words.t("prompts.prep_form.ask_placeholder"), max_length=500),
            Checkbox("share", chat_words.t("prompts.prep_form.share", partner=partner), initial=True),
        ),
    )


# --- the sponsor's digest ----------------------------------------------------------------------

def _digest_ordinal(week: int) -> int:
    """Digests come weekly for three weeks, then every other week: count them, so the rotation walks
    its list without gaps."""
    return week if week <= 3 else 3 + (week - 2) // 2


def _digest_action(ctx: PromptContext, d: Digest) -> tuple[Line, dict[str, str], bool]:
    """The ONE action: grounded in what is new (the ask, a win, a goal), restart when stalled,
    asking for a goal when there is nothing to go on, else the phase's rotation. A journey with
    ``digest_goals: false`` (reverse-mentoring) never builds the action on the junior's goals: the
    leader's action comes from what the expert suggested or shared, or from the phase (what to try)."""
    if d.ask:
        return pick(ctx, "digest.action.ask", _digest_ordinal(ctx.week)), {"ask": cut(d.ask)}, True
    if d.new_wins:
        return pick(ctx, "digest.action.win", _digest_ordinal(ctx.week)), {"win": cut(d.new_wins[0])}, True
    if d.new_goals and ctx.j.digest_goals:
        return pick(ctx, "digest.action.goal", _digest_ordinal(ctx.week)), {"goal": cut(d.new_goals[0])}, True
    if restarting(ctx):  # news from a quiet pair is the best restart of all; without news, a small step
        return pick(ctx, "digest.action.restart"), {}, False
    if not d.goals and _digest_ordinal(ctx.week) % ASK_GOAL_EVERY == 1:
        return pick(ctx, "digest.action.nothing_new", _digest_ordinal(ctx.week) // ASK_GOAL_EVERY), {}, False
    return pick(ctx, f"digest.action.{ctx.stage}", _digest_ordinal(ctx.week)), {}, False


def _date(d: datetime | None, tz: str) -> str:
    if d is None:
        return chat_words.t("prompts.the_start")
    local = d.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b}"


def silent(ctx: PromptContext) -> bool:
    """About six weeks without contact (``facts.SILENT_DAYS``): the digest's honest path."""
    return ctx.pair.quiet_days >= facts.SILENT_DAYS


def _silent_digest(ctx: PromptContext, n: dict[str, str]) -> Message:
    """Six quiet weeks: one line saying so and that the program team knows, then the choices (keep
    going, pause, ask the program team), each a button. No getting-to-know action, no momentum word."""
    since = _date(ctx.last_contact, ctx.me.tz)
    line = ws(ctx, "digest.new.silent", since=since, days=str(ctx.pair.quiet_days))
    choice = ws(ctx, "digest.silent.choice")
    return MessageBuilder(kind=PromptKind.NUDGE).add(
        Heading(plain_fill(pick(ctx, "digest.heading", _digest_ordinal(ctx.week)).text, **n)),
        para(line), para(choice),
        Buttons((Button(Actions.RESTART_KEEP, label(ctx, "keep_going"), _v(ctx, "keep"), "primary"),
                 Button(Actions.RESTART_PAUSE, label(ctx, "restart_pause"), _v(ctx, "pause")),
                 Button(Actions.RESTART_REMATCH, label(ctx, "ask_team"), _v(ctx, "rematch")))),
    ).build(text=line, meta={"phase": ctx.stage, "silent": True, "quiet_since": since, "facts": [line],
                             "quiet_since_at": ctx.last_contact.isoformat() if ctx.last_contact else None})


def nudge(ctx: PromptContext) -> Message:
    n = _names(ctx)
    d = ctx.digest or Digest()
    if silent(ctx) and not d.anything_new:  # news from a quiet partner gets the usual digest
        return _silent_digest(ctx, n)
    line, quoted, grounded = _digest_action(ctx, d)
    # What is new, leading; the item the action quotes is not repeated; at most two lines.
    news: list[Paragraph] = []
    for goal in d.new_goals[:1]:  # first: "it will be in their next summary" is a promise
        if "goal" not in quoted:
            news.append(Paragraph(w(ctx, "digest.new.goal", goal=cut(goal))))
    if d.ask and "ask" not in quoted:
        news.append(Paragraph(w(ctx, "digest.new.ask", ask=cut(d.ask))))
    for win in d.new_wins[:1]:
        if "win" not in quoted:
            news.append(Paragraph(w(ctx, "digest.new.win", win=cut(win))))
    if d.meetings_since:
        news.append(para(ws(ctx, "digest.new.meetings", n=str(d.meetings_since))))
    news = news[:1 if ctx.slowed else 2]
    meta: dict[str, Any] = {"phase": ctx.stage}
    if d.ask_unanswered and not d.new_goals:  # the sponsor asked; the promise was "or say so"
        news.append(para(ws(ctx, "digest.new.ask_unanswered")))
        meta["ask_unanswered"] = True
    if ctx.pair.stalled_days:  # named for what it is: quiet since a date (the phase stays where it was)
        since = _date(ctx.last_contact, ctx.me.tz)
        news.append(para(ws(ctx, "digest.new.quiet", days=str(ctx.pair.stalled_days), since=since)))
        meta["quiet_since"] = since
        meta["quiet_since_at"] = ctx.last_contact.isoformat() if ctx.last_contact else None
    elif not d.anything_new:  # "nothing new" only when there is nothing new (quoted by the action or not)
        news.append(para(ws(ctx, "digest.new.nothing", since=_date(d.since, ctx.me.tz))))
        meta["nothing_new"] = True
    hol = _upcoming_holiday(ctx)
    if hol is not None:
        today = ctx.now.astimezone(ZoneInfo(ctx.me.tz)).date()
        news.append(para(ws(ctx, "digest.new.holiday", holiday=hol.name, when=when_label(hol.day, today))))
        meta["holiday"] = True
    if not ctx.pair.stalled_days:  # a quiet pair's old answers say nothing of now
        news.append(para(ws(ctx, "digest.momentum", word=momentum_word(ctx, d.trend))))
    action = fill(line.text, **n, **quoted)
    action_text = plain_fill(line.text, **n, **quoted)
    if line.key.startswith("ask_goal"):
        primary = Button(Actions.NUDGE_ASK_GOAL, plain_fill(line.done, **n), _v(ctx, "ask_goal"), "primary")
    else:
        primary = Button(Actions.NUDGE_DONE, plain_fill(line.done, **n), _v(ctx, "done"), "primary")
    extra: list[Any] = []
    if ctx.slowed and ctx.pair.senior_offers < 2 and not d.meetings_since:
        meta["offer"] = True
        extra = [para(ws(ctx, "digest.slowed")), Buttons((
            Button(Actions.GHOST_PAUSE, label(ctx, "pause"), _v(ctx, "pause")),
            Button(Actions.GHOST_STOP, label(ctx, "stop"), _v(ctx, "stop"), "danger"),
        ))]
    groundable = bool(d.ask or d.new_wins or (d.new_goals and ctx.j.digest_goals))  # what the action may quote
    meta.update(action=line.key, grounded=grounded, groundable=groundable,
                meetings_since=d.meetings_since, facts=[plain(p.spans) for p in news])
    return MessageBuilder(kind=PromptKind.NUDGE).add(
        Heading(plain_fill(pick(ctx, "digest.heading", _digest_ordinal(ctx.week)).text, **n)),
        *news,
        Paragraph((Text(chat_words.t("prompts.this_week"), bold=True), Text(" "), *action)),
        Buttons((primary,
                 Button(Actions.NUDGE_SKIP, label(ctx, "not_this_week"), _v(ctx, "skip")),
                 Button(Actions.NUDGE_SNOOZE, label(ctx, "snooze_digest"), _v(ctx, "snooze")))),
        *(extra or [foot(_stage_line(ctx))]),
    ).build(text=chat_words.t("prompts.digest_summary", partner=n["partner"], action=action_text), meta=meta)


def ask_goal(ctx: PromptContext) -> Message:
    return MessageBuilder(kind=PromptKind.ASK_GOAL).add(
        Paragraph(fill(pick(ctx, "ask_goal.text", ctx.week // ASK_GOAL_EVERY).text, **_names(ctx))),
        Buttons((Button(Actions.GOAL_OPEN, label(ctx, "set_goal"), _v(ctx, "open"), "primary"),)),
    ).build(meta={"phase": ctx.stage})


def goal_form(ctx: PromptContext) -> Form:
    return Form(form_id=Actions.GOAL_FORM, title=ws(ctx, "form.goal.title"),
                submit_label=chat_words.t("prompts.goal_form_submit"),
                state=str(ctx.prompt_id), blocks=(
                    TextInput("goal", ws(ctx, "form.goal.goal"), optional=False, max_length=300),
                    foot(ws(ctx, "form.goal.footer")),
                ))


# --- kickoff, follow-up, reviews, wrap-up ------------------------------------------------------

def kickoff(ctx: PromptContext) -> Message:
    return MessageBuilder(kind=PromptKind.KICKOFF).add(
        Paragraph(w(ctx, "kickoff.welcome")),
        Paragraph(w(ctx, "kickoff.why")),
        Paragraph(w(ctx, "kickoff.agenda")),
        Buttons((Button(Actions.KICKOFF_AGREE, label(ctx, "agreement"), _v(ctx, "agree"), "primary"),
                 Button(Actions.KICKOFF_BOOKED, label(ctx, "booked"), _v(ctx, "booked")))),
        foot(ws(ctx, "privacy.kickoff")),  # said once, here (and in help, me and my-data)
    ).build(meta={"phase": ctx.stage})


RHYTHMS = {"1": "weekly", "2": "2w", "4": "monthly"}


def agreement_form(ctx: PromptContext) -> Form:
    return Form(form_id=Actions.AGREEMENT_FORM, title=ws(ctx, "form.agreement.title"),
                submit_label=ws(ctx, "form.agreement.submit"), state=str(ctx.prompt_id), blocks=(
                    TextInput("want", ws(ctx, "form.agreement.want"), optional=False, max_length=300),
                    TextInput("lead", ws(ctx, "form.agreement.lead"), optional=False, max_length=300),
                    Choice("rhythm", ws(ctx, "form.agreement.rhythm"), tuple(
                        Option(ws(ctx, f"rhythm.{v}"), k) for k, v in RHYTHMS.items()), initial="2"),
                    TextInput("when", ws(ctx, "form.agreement.when"), max_length=60,
                              placeholder=chat_words.t("prompts.when_placeholder")),
                    foot(ws(ctx, "form.agreement.footer")),
                ))


def followup(ctx: PromptContext) -> Message:
    n = _names(ctx)
    lines, starts = slot_lines(ctx, f"{n['sponsor']} / {n['sponsoree']}")
    return MessageBuilder(kind=PromptKind.FOLLOWUP).add(
        Paragraph(w(ctx, "kickoff.followup")), para(ws(ctx, "followup.label") + ":"), *lines,
        Buttons((Button(Actions.KICKOFF_BOOKED, label(ctx, "booked"), _v(ctx, "booked"), "primary"),)),
    ).build(meta={"slots": starts, "phase": ctx.stage})


def review(ctx: PromptContext) -> Message:
    which = "final" if ctx.payload.get("review") == "final" else "mid"
    mb = MessageBuilder(kind=PromptKind.REVIEW)
    if ctx.period.endswith("-later"):  # the reminder "Remind me in 3 days" asked for
        mb.add(para(ws(ctx, "review.reminder")))
    mb.add(Paragraph(w(ctx, f"review.{which}")))
    if ctx.pair.agreement:
        mb.add(Paragraph(w(ctx, "review.agreement", agreement=cut(ctx.pair.agreement, 20))))
    h = ctx.history
    if h is not None:  # what happened so far, in whole sentences, to this reader
        mb.add(para(" ".join(x for x in (so_far(ctx, h), what_was_done(ctx, h, most=1, rest=False)) if x)))
    later = () if ctx.period.endswith("-later") else (  # the reminder promises no second reminder
        Button(Actions.REVIEW_LATER, label(ctx, "later"), _v(ctx, "later")),)
    mb.add(Buttons((Button(Actions.REVIEW_OPEN, label(ctx, "review"), _v(ctx, "open"), "primary"), *later)),
           foot(chat_words.t("prompts.review_footer")))
    return mb.build(meta={"phase": ctx.stage})


def review_form(prompt_id: int, partner: str) -> Form:
    return Form(
        form_id=Actions.REVIEW_FORM, title=chat_words.t("prompts.review_form.title"),
        submit_label=chat_words.t("prompts.review_form.submit"), state=str(prompt_id),
        blocks=(
            TextInput("working", chat_words.t("prompts.review_form.working"), multiline=True, optional=False,
                      max_length=800),
            TextInput("change", chat_words.t("prompts.review_form.change"), multiline=True, max_length=800),
            TextInput("next", chat_words.t("prompts.review_form.next"), max_length=300),
            Checkbox("share", chat_words.t("prompts.review_form.share", partner=partner)),
        ),
    )


def _count(ctx: PromptContext, slot: str, n: int) -> str:
    """A count in words: the slot's texts are for 0, 1 and more ("no wins", "one win", "{n} wins")."""
    lines = ctx.j.lines(slot)
    return plain_fill(lines[min(n, len(lines) - 1)].text, n=str(n))


def _reader_words(ctx: PromptContext) -> dict[str, str]:
    """How the sponsoree is named to this reader: "Aisha's" / "Aisha" to the sponsor, "your" / "you" to her."""
    seat = "senior" if ctx.role == "senior" else "junior"
    return {"their": ws(ctx, f"story.their.{seat}"), "them": ws(ctx, f"story.them.{seat}")}


def _did_slot(ctx: PromptContext, key: str) -> str:
    """The words for a logged action: its own (``story.did.win-forward``), its family's (``story.did.win``),
    else the plain count (``story.did.other``)."""
    for slot in (f"story.did.{key}", f"story.did.{key.split('-')[0]}"):
        if key and ctx.j.has(slot):
            return slot
    return "story.did.other"


MAX_DONE_PHRASES = 2  # a recap names at most this many kinds of action, then counts the rest (60 words)


def what_was_done(ctx: PromptContext, h: History, most: int = MAX_DONE_PHRASES, rest: bool = True) -> str:
    """The sponsor's logged actions as one sentence to this reader, from the record: "You passed on
    Aisha's wins 3 times and gave Aisha one chance to present to leaders." to the sponsor, "Sam passed on
    your wins 3 times ..." to the sponsoree. Names the ``most`` kinds done most often, and counts the rest
    (``rest``; a review names the main one only). Empty when nothing was logged."""
    if not h.actions:
        return ""
    keys = h.done if len(h.done) == len(h.actions) else ("",) * len(h.actions)
    counts: dict[tuple[str, ...], int] = {}
    for key in keys:  # actions worded alike are counted together, in the order first done
        texts = tuple(ln.text for ln in ctx.j.lines(_did_slot(ctx, key)))
        counts[texts] = counts.get(texts, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    values = {**_names(ctx), **_reader_words(ctx)}
    items = [plain_fill(texts[0] if n == 1 else texts[-1], n=str(n), **values)
             for texts, n in ranked[:most]]
    others = sum(n for _, n in ranked[most:])
    if others and rest:
        items.append(_count(ctx, "story.more", others))
    listed = items[0] if len(items) == 1 else ", ".join(items[:-1]) + words().and_ + items[-1]
    return ws(ctx, f"story.actions.{'senior' if ctx.role == 'senior' else 'junior'}", list=listed)


def so_far(ctx: PromptContext, h: History) -> str:
    """A review's first fact: how often the pair met so far (or that they have not met yet)."""
    if not h.meetings:
        return ws(ctx, "review.none")
    return ws(ctx, "review.so_far", met=_count(ctx, "count.times", h.meetings))


def wrapup(ctx: PromptContext) -> Message:
    """The end: what happened, in whole sentences to this reader, then thanks that match the record. A pair
    that never met is told so, kindly, with one next step, and is not thanked for work it did not do."""
    n = _names(ctx)
    mb = MessageBuilder(kind=PromptKind.WRAPUP)
    h = ctx.history or History()
    seat = "senior" if ctx.role == "senior" else "junior"
    met = h.meetings > 0
    if met:
        recap = ws(ctx, f"wrapup.recap.{seat}", met=_count(ctx, "count.times", h.meetings),
                   wins=_count(ctx, "count.wins", h.wins))
    else:
        recap = ws(ctx, f"wrapup.none.{seat}")
    mb.add(para(" ".join(x for x in (recap, what_was_done(ctx, h)) if x)))
    mb.add(Paragraph(fill(ctx.j.text(f"wrapup.{ctx.role}" if met else f"wrapup.none.step.{seat}"), **n)))
    buttons = [Button(Actions.WRAPUP_REFLECT, label(ctx, "reflect"), _v(ctx, "reflect"), "primary")]
    if ctx.role == "junior" and met:
        buttons.append(Button(Actions.WRAPUP_FORWARD, label(ctx, "forward"), _v(ctx, "forward")))
    return mb.add(Buttons(tuple(buttons))).build(meta={"phase": ctx.stage, "met": h.meetings})


def wrapup_form(prompt_id: int, partner: str) -> Form:
    return Form(
        form_id=Actions.WRAPUP_FORM, title=chat_words.t("prompts.wrapup_form.title"),
        submit_label=chat_words.t("prompts.wrapup_form.submit"), state=str(prompt_id),
        blocks=(
            TextInput("reflection", chat_words.t("prompts.wrapup_form.reflection"), multiline=True, optional=False,
                      max_length=1500),
            Checkbox("share", chat_words.t("prompts.wrapup_form.share", partner=partner)),
        ),
    )


# --- what one person sends the other ------------------------------------------------------------

def agenda_share(ctx: PromptContext) -> Message:
    p = ctx.payload
    items = [(chat_words.t("prompts.agenda.update"), str(p.get("update") or "-"))]
    if p.get("question"):
        items.append((chat_words.t("prompts.agenda.question"), str(p["question"])))
    if p.get("ask"):
        items.append((chat_words.t("prompts.agenda.ask"), str(p["ask"])))
    return MessageBuilder(kind=PromptKind.AGENDA).add(
        Paragraph((Text(ctx.partner.name, bold=True), Text(chat_words.t("prompts.agenda.shared")))),
        Fields(tuple(items)),
        foot(chat_words.t("prompts.agenda.footer")),
    ).build(text=chat_words.t("prompts.agenda.summary", partner=ctx.partner.name), meta={"contact": True})


def shared_note(ctx: PromptContext) -> Message:
    what = str(ctx.payload.get("what", chat_words.t("prompts.shared_note.default_what")))
    return MessageBuilder(kind=PromptKind.SHARED_NOTE).add(
        Paragraph((Text(ctx.partner.name, bold=True), Text(chat_words.t("prompts.shared_note.shared", what=what)))),
        Paragraph((Text(str(ctx.payload.get("text", ""))),)),
    ).build(text=chat_words.t("prompts.shared_note.summary", partner=ctx.partner.name, what=what),
            meta={"contact": facts.words_are_contact(ctx.period)})


def admin_alert(ctx: PromptContext) -> Message:
    """An alert to the program team: a pair's silence (at 35, 60 and 90 days, with full names, how long
    and what Momentum already tried), a request for help or a new match, or a wish to pay it forward."""
    full = {"sponsor_full": ctx.sponsor.name, "sponsoree_full": ctx.sponsoree.name}
    since = ctx.payload.get("since")
    when = _date(datetime.fromisoformat(since) if isinstance(since, str) else ctx.last_contact,
                 ctx.reader_tz or ctx.me.tz)
    if ctx.kind != PromptKind.STALL_ALERT:
        slot = "payforward.admin"
    elif ctx.payload.get("asked_by"):
        slot = "rematch.admin"
        full["asker"] = str(ctx.payload["asked_by"])
    else:
        slot = "stall.admin"
    text = ws(ctx, slot, days=str(ctx.payload.get("days", 35)), since=when,
              checkins=str(ctx.payload.get("checkins", 0)), answered=str(ctx.payload.get("answered", 0)),
              digests=str(ctx.payload.get("digests", 0)), **full)
    meta = {"quiet_since_at": since} if slot == "stall.admin" and isinstance(since, str) else {}
    return MessageBuilder(kind=ctx.kind).add(para(text)).build(text=text, meta=meta)


COMPOSERS = {
    PromptKind.CHECKIN: checkin,
    PromptKind.PREP: prep,
    PromptKind.NUDGE: nudge,
    PromptKind.KICKOFF: kickoff,
    PromptKind.FOLLOWUP: followup,
    PromptKind.REVIEW: review,
    PromptKind.WRAPUP: wrapup,
    PromptKind.AGENDA: agenda_share,
    PromptKind.SHARED_NOTE: shared_note,
    PromptKind.ASK_GOAL: ask_goal,
    PromptKind.STALL_ALERT: admin_alert,
    PromptKind.FORWARD_ALERT: admin_alert,
}


def compose(ctx: PromptContext) -> Message:
    """The message for a prompt. Its meta names the phase it was written for and, for a pair in touch,
    that phase's index (delivery records the furthest reached: phases do not move back)."""
    msg = COMPOSERS[PromptKind(ctx.kind)](ctx)
    keys = [p.key for p in ctx.j.phases]
    if msg.meta.get("phase") in keys and not ctx.pair.stalled_days:
        msg.meta["phase_index"] = keys.index(msg.meta["phase"])
    return msg


def as_sent(ctx: PromptContext) -> Message:
    """The prompt's message as it was sent: a tap never composes it again from what is true at the tap
    (which would count the tap itself as news, pick another tip, or forget what the message said).
    Composed again only for a message sent before messages were kept."""
    return ctx.shown if ctx.shown is not None else compose(ctx)


def kept_facts(msg: Message) -> tuple[Block, ...]:
    """What a message said, without what could be tapped: its blocks but buttons and choices."""
    return tuple(b for b in msg.blocks if not isinstance(b, (Buttons, Choice, TextInput, Checkbox)))


def answered(ctx: PromptContext, text: str) -> Message:
    """A prompt after its answer: everything it said, as sent, and one receipt line ("\u2713 ...")."""
    return Message(text=text, blocks=(*kept_facts(as_sent(ctx)), Paragraph((Text("\u2713 ", bold=True), Text(text)))),
                   kind=f"{ctx.kind}.answered", meta={"receipt": text})


def reply_text(ctx: PromptContext, slot: str, **extra: str) -> str:
    return ws(ctx, slot, **extra)
