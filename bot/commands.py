"""The command language shared by Slack's ``/momentum ...`` and Teams' typed commands."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import or_
from sqlmodel import col, select

from bot import csvio, directory, privacy, reports
from bot.actor import Ctx, NeedLookups, say
from bot.commandspec import COMMANDS
from bot.config import WEEKDAYS, parse_hhmm
from bot.content.journey import Evidence, Journey, JourneyError, builtin, check_text, journey_for, phase_for
from bot.errors import UserError
from bot.interactions import Profile, Response
from bot.journey import PROGRAM_KINDS, Kind, stage_for
from bot.messages import (
    Attachment,
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
from bot.planner import replan_person
from bot.prompts import Actions
from bot.timing import in_quiet_hours, monday_of, week_index, zone
from storage.models import AuditLog, Goal, Pair, Person, Program, Prompt, Touchpoint, Win

Handler = Callable[[Ctx, list[str], str], Response]
HANDLERS: dict[str, Handler] = {}
ALIASES = {"mydata": "my-data", "pausepair": "pause-pair", "endpair": "end-pair", "hi": "help",
           "hello": "help", "?": "help", "status": "me", "check-in": "checkin", "unsnooze": "resume"}


def command(name: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn
    return deco


def tokenize(text: str) -> list[str]:
    text = text.strip()
    for prefix in ("/momentum", "momentum"):
        if text.lower().startswith(prefix + " ") or text.lower() == prefix:
            text = text[len(prefix):].strip()
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def is_command(text: str) -> bool:
    words = tokenize(text)
    return bool(words) and (words[0].lower() in HANDLERS or words[0].lower() in ALIASES)


def run(c: Ctx, text: str) -> Response:
    words = tokenize(text)
    if not words:
        return Response(reply=help_message(c.is_admin))
    name = ALIASES.get(words[0].lower(), words[0].lower())
    handler = HANDLERS.get(name)
    if handler is None:
        intro = f"I don't know `{words[0][:30]}` yet. Here's what I can do:"
        return Response(reply=help_message(c.is_admin, intro=intro))
    rest = text.strip()
    # everything after the command word, raw (for free text like wins and notes)
    idx = rest.lower().find(words[0].lower())
    raw = rest[idx + len(words[0]):].strip() if idx >= 0 else " ".join(words[1:])
    return handler(c, words[1:], raw)


def help_message(admin: bool, intro: str | None = None) -> Message:
    mb = MessageBuilder(kind="help")
    mb.add(Heading("Momentum"))
    mb.add(para(intro or "I keep you and your partner in touch between meetings. Commands:"))
    mb.add(Fields(tuple((c.usage, c.help) for c in COMMANDS if not c.admin)))
    if admin:
        mb.add(para("Admin commands:"), Fields(tuple((c.usage, c.help) for c in COMMANDS if c.admin)))
    mb.add(foot(privacy_line(builtin("sponsorship"), "junior", "Your partner")))
    return mb.build(text="Momentum commands: " + ", ".join(c.name for c in COMMANDS if admin or not c.admin))


def reply(*lines: str) -> Response:
    return Response(reply=say(*lines))


# --- everyone ---------------------------------------------------------------------------------------

@command("help")
def _help(c: Ctx, args: list[str], raw: str) -> Response:
    return Response(reply=help_message(c.is_admin))


def _next_prompt(c: Ctx, person: Person) -> Prompt | None:
    return c.s.exec(
        select(Prompt).where(Prompt.recipient_id == person.id, Prompt.status == "pending")
        .order_by(Prompt.due_at).limit(1)  # type: ignore[arg-type]
    ).first()


def privacy_line(j: Journey, seat: str, partner_first: str) -> str:
    """What the partner sees, in the same words as the check-in footer and the digest."""
    slot = "privacy.checkin" if seat == "junior" else "privacy.digest"
    return j.text(slot).replace("{partner}", partner_first)


def me_message(c: Ctx) -> Message:
    me = c.me
    tz = me.tz or c.ws.default_tz
    mb = MessageBuilder(kind="me")
    pairs = c.pairs_of(me)
    if not pairs:
        mb.add(para("You're not paired in any program yet. Your program manager will pair you."))
    for pair in pairs:
        prog = c.s.get(Program, pair.program_id)
        assert prog is not None
        senior = pair.sponsor_id == me.id
        partner = c.person(pair.sponsoree_id if senior else pair.sponsor_id)
        j = journey_for(prog.kind, prog.journey_yaml)
        week = max(0, week_index(pair.start_date, c.now))
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
    nxt = _next_prompt(c, me)
    state = "opted out" if me.opted_out else "paused" if me.paused else (
        f"snoozed until {me.snoozed_until.astimezone(zone(tz)):%a %d %b}" if me.snoozed_until and
        me.snoozed_until > c.now else "active")
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


@command("me")
def _me(c: Ctx, args: list[str], raw: str) -> Response:
    return Response(reply=me_message(c))


def sponsoree_pair(c: Ctx) -> Pair:
    """The actor's pair for things a sponsoree does (win, goal, check-in); sponsors' first pair."""
    pairs = c.pairs_of(c.me, ("active",))
    if not pairs:
        raise UserError("You're not in an active pair right now, so there's nothing to record yet.")
    own = [p for p in pairs if p.sponsoree_id == c.me.id]
    return (own or pairs)[0]


@command("checkin")
def _checkin(c: Ctx, args: list[str], raw: str) -> Response:
    pair = sponsoree_pair(c)
    from bot.conversation import adhoc_checkin  # avoids an import cycle

    return Response(reply=adhoc_checkin(c, pair))


LOG_KINDS = {"meeting": "meeting", "met": "meeting", "light": "light", "touch": "light", "shared": "shared"}


def record_touch(c: Ctx, pair: Pair, kind: str, note: str | None, source: str = "log",
                 key: str | None = None) -> Touchpoint:
    tp = Touchpoint(pair_id=pair.id, author_id=c.me.id, kind=kind, source=source, source_key=key,  # type: ignore[arg-type]
                    note=note or None, shared=False, occurred_at=c.now)
    c.s.add(tp)
    if kind in ("meeting", "light", "shared") and (pair.last_touch_at is None or pair.last_touch_at < c.now):
        pair.last_touch_at = c.now
    if kind in TWO_WAY:
        mark_two_way(pair, c.now)
    if kind == "meeting":
        pair.meetings += 1
    c.s.add(pair)
    return tp


# Contact both people took part in. One-way taps ("sent a greeting", a light touch) are recorded but
# neither end a stall nor count as a conversation.
TWO_WAY = frozenset({"meeting", "shared"})


def mark_two_way(pair: Pair, now: datetime) -> None:
    if pair.last_two_way_at is None or pair.last_two_way_at < now:
        pair.last_two_way_at = now
    pair.stall_reported_at = None


@command("log")
def _log(c: Ctx, args: list[str], raw: str) -> Response:
    if not args or args[0].lower() not in LOG_KINDS:
        raise UserError("Tell me what to log: `log meeting`, `log light` or `log shared`, optionally with a note.")
    kind = LOG_KINDS[args[0].lower()]
    note = raw.split(None, 1)[1].strip() if len(raw.split(None, 1)) > 1 else None
    pair = sponsoree_pair(c)
    record_touch(c, pair, kind, note)
    partner = c.person(pair.sponsor_id if pair.sponsoree_id == c.me.id else pair.sponsoree_id)
    words = {"meeting": "a meeting", "light": "a light touch", "shared": "a shared experience"}[kind]
    extra = " Your note is private to you." if note else ""
    return reply(f"Logged {words} with {partner.name}.{extra}")


@command("win")
def _win(c: Ctx, args: list[str], raw: str) -> Response:
    private = False
    text = raw
    if text.startswith("--private"):
        private, text = True, text[len("--private"):].strip()
    if not text:
        from bot.conversation import win_form

        return Response(form=win_form(c))
    if len(text) > 1000:
        raise UserError("That win is a bit long: keep it under 1,000 characters.")
    pair = sponsoree_pair(c)
    c.s.add(Win(pair_id=pair.id, author_id=c.me.id, text=text, shared=not private, created_at=c.now))  # type: ignore[arg-type]
    partner = c.person(pair.sponsor_id if pair.sponsoree_id == c.me.id else pair.sponsoree_id)
    if private:
        return reply("Win saved, just for you. \U0001f389")
    return reply(f"Win saved and shared with {partner.name}: they'll see it in their weekly digest. \U0001f389",
                 "Keep one to yourself with `win --private ...`.")


@command("goal")
def _goal(c: Ctx, args: list[str], raw: str) -> Response:
    if not raw:
        raise UserError("Add the goal after the command, e.g. `goal Lead a cross-team project by Q3`. "
                        "`goal done <number>` marks one done; `goal list` shows them.")
    pair = sponsoree_pair(c)
    partner = c.person(pair.sponsor_id if pair.sponsoree_id == c.me.id else pair.sponsoree_id)
    open_goals = list(c.s.exec(select(Goal).where(Goal.pair_id == pair.id, Goal.done == False)  # noqa: E712
                               .order_by(col(Goal.id))).all())
    if args[0].lower() == "list" and len(args) == 1:
        if not open_goals:
            return reply("No open goals yet. Add one: `goal <text>`.")
        return reply(*(f"{i}. {g.text}" for i, g in enumerate(open_goals, 1)))
    if args[0].lower() == "done" and len(args) == 2:
        if not args[1].isdigit() or not 1 <= int(args[1]) <= len(open_goals):
            raise UserError(f"Pick a number from `goal list` (1 to {len(open_goals)}).")
        g = open_goals[int(args[1]) - 1]
        g.done = True
        c.s.add(g)
        return reply(f"Marked done: “{g.text}”. Well done!")
    c.s.add(Goal(pair_id=pair.id, author_id=c.me.id, text=raw[:500], created_at=c.now))  # type: ignore[arg-type]
    return reply(f"Goal saved and shared with {partner.name.split()[0]}: it leads their next digest, so they "
                 "can help with it.")


RHYTHM_WORDS = {"weekly": 1, "1w": 1, "2w": 2, "biweekly": 2, "fortnightly": 2, "monthly": 4, "4w": 4}


def set_rhythm(c: Ctx, pair: Pair, every: int, weekday: int | None, at: str | None) -> None:
    """The pair's meeting rhythm (in the setter's time zone): prep nudges come before each meeting."""
    pair.meet_every = every
    if weekday is not None:
        pair.meet_weekday = weekday
    if at is not None:
        pair.meet_time = at
    pair.meet_tz = c.me.tz or c.ws.default_tz
    pair.planned_until = None  # plan again: preps instead of some check-ins from now on
    c.s.add(pair)
    _drop_pending(c, pair, keep_kinds=("kickoff", "agenda", "shared_note", "ask_goal", "followup"))


@command("meet")
def _meet(c: Ctx, args: list[str], raw: str) -> Response:
    usage = "Use `meet <weekday> <HH:MM> [weekly|2w|monthly]`, e.g. `meet thu 15:00 2w` (your local time)."
    if len(args) not in (2, 3) or args[0][:3].lower() not in WEEKDAYS:
        raise UserError(usage)
    try:
        at = parse_hhmm(args[1])
    except ValueError:
        raise UserError(usage) from None
    every = RHYTHM_WORDS.get(args[2].lower()) if len(args) == 3 else 2
    if every is None:
        raise UserError(usage)
    pair = next(iter(c.pairs_of(c.me, ("active",))), None)
    if pair is None:
        raise UserError("You're not in an active pair yet.")
    day = WEEKDAYS.index(args[0][:3].lower())
    set_rhythm(c, pair, every, day, f"{at:%H:%M}")
    c.touched_pairs.append(pair.id)  # type: ignore[arg-type]
    label = {1: "every week", 2: "every 2 weeks", 4: "monthly"}[every]
    tz = c.me.tz or c.ws.default_tz
    return reply(f"Your meeting rhythm: {label}, {WEEKDAYS[day].title()} {at:%H:%M} ({tz}). "
                 "I'll send a prep nudge the working day before each one.")


@command("time")
def _time(c: Ctx, args: list[str], raw: str) -> Response:
    if len(args) != 2 or args[0][:3].lower() not in WEEKDAYS:
        raise UserError("Use `time <weekday> <HH:MM>`, e.g. `time tue 09:30` (your local time).")
    try:
        at = parse_hhmm(args[1])
    except ValueError:
        raise UserError(f"{args[1]!r} isn't a time: use 24-hour HH:MM, e.g. 09:30.") from None
    day = WEEKDAYS.index(args[0][:3].lower())
    if day not in c.m.settings.working_weekdays:
        raise UserError(f"{args[0].title()} isn't a working day here. Pick one of your working days.")
    if in_quiet_hours(at, c.m.settings.quiet):
        q = c.m.settings.quiet_hours
        raise UserError(f"{args[1]} is inside quiet hours ({q}); I never message then. Pick a daytime slot.")
    change_person(c, c.me, prompt_weekday=day, prompt_time=f"{at:%H:%M}")
    tz = c.me.tz or c.ws.default_tz
    return reply(f"Done: I'll prompt you on {WEEKDAYS[day].title()} at {at:%H:%M} ({tz}).")


def change_person(c: Ctx, person: Person, **fields: object) -> None:
    """Change when/whether someone is prompted, then re-plan their unsent prompts."""
    for name, value in fields.items():
        setattr(person, name, value)
    c.s.add(person)
    c.s.flush()
    replan_person(c.s.connection(), person.id, c.now)  # type: ignore[arg-type]


DURATION = re.compile(r"^(\d{1,2})\s*([dw])$")


def parse_duration(text: str) -> timedelta:
    m = DURATION.match(text.strip().lower())
    if not m:
        raise UserError("Use a duration like `1w`, `2w` or `3d` (up to 8 weeks).")
    n, unit = int(m.group(1)), m.group(2)
    delta = timedelta(days=n) if unit == "d" else timedelta(weeks=n)
    if not timedelta(days=1) <= delta <= timedelta(weeks=8):
        raise UserError("Snooze for between 1 day and 8 weeks.")
    return delta


def snooze(c: Ctx, person: Person, delta: timedelta) -> str:
    until = c.now + delta
    change_person(c, person, snoozed_until=until)
    tz = person.tz or c.ws.default_tz
    return f"Snoozed until {until.astimezone(zone(tz)):%a %d %b}. `resume` brings me back sooner."


@command("snooze")
def _snooze(c: Ctx, args: list[str], raw: str) -> Response:
    return reply(snooze(c, c.me, parse_duration(args[0] if args else "1w")))


@command("pause")
def _pause(c: Ctx, args: list[str], raw: str) -> Response:
    change_person(c, c.me, paused=True)
    c.audit("person.pause", c.me.external_id)
    return reply("Paused. I won't prompt you until you say `resume`. Your partner isn't told anything.")


def resume(c: Ctx, person: Person) -> str:
    change_person(c, person, paused=False, snoozed_until=None, opted_out=False)
    return "Welcome back! Prompts are on again."


@command("resume")
def _resume(c: Ctx, args: list[str], raw: str) -> Response:
    c.audit("person.resume", c.me.external_id)
    return reply(resume(c, c.me))


def opt_out(c: Ctx) -> None:
    change_person(c, c.me, opted_out=True)
    c.audit("person.opt_out", c.me.external_id)


@command("stop")
def _stop(c: Ctx, args: list[str], raw: str) -> Response:
    opt_out(c)
    return reply("You're opted out: no more prompts. Changed your mind? `resume` any time.",
                 "Want a copy of your data, or to have it erased? `my-data`, or ask your program manager.")


@command("my-data")
def _my_data(c: Ctx, args: list[str], raw: str) -> Response:
    data = privacy.my_data(c.s, c.me)
    c.audit("person.my_data", c.me.external_id)
    return Response(reply=say("Here's everything Momentum stores about you, including your private notes."),
                    attachment=Attachment("momentum-my-data.json", data, "application/json", "Your Momentum data"))


# --- admins -----------------------------------------------------------------------------------------

OPTS = re.compile(r"^--([a-z-]+)$")


def _options(args: list[str]) -> tuple[list[str], dict[str, str]]:
    pos: list[str] = []
    opts: dict[str, str] = {}
    it = iter(args)
    for a in it:
        m = OPTS.match(a)
        if m:
            opts[m.group(1)] = next(it, "")
        else:
            pos.append(a)
    return pos, opts


@command("program")
def _program(c: Ctx, args: list[str], raw: str) -> Response:
    c.require_admin("program")
    sub = args[0].lower() if args else "list"
    if sub == "list":
        progs = c.s.exec(select(Program).where(Program.workspace_id == c.ws.id).order_by(Program.id)).all()  # type: ignore[arg-type]
        if not progs:
            return reply("No programs yet. Create one: `program create Pilot sponsorship --weeks 52`.")
        lines = []
        for p in progs:
            n = len(c.s.exec(select(Pair.id).where(Pair.program_id == p.id, Pair.status == "active")).all())
            lines.append((p.name, f"{p.kind}, {p.length_weeks} weeks from {p.start_date:%d %b %Y}, "
                                  f"{n} active pairs, {p.status}"))
        return Response(reply=MessageBuilder(kind="programs").add(Heading("Programs"), Fields(tuple(lines))).build())
    if sub == "show":
        prog = c.program(" ".join(args[1:]) or None)
        return Response(reply=reports.render(reports.build(c.s, c.ws.id, c.now, prog.name)))  # type: ignore[arg-type]
    if sub == "create":
        pos, opts = _options(args[1:])
        if not pos:
            raise UserError("Name the program: `program create <name> [sponsorship|mentoring|reverse-mentoring]`.")
        kind = "sponsorship"
        if len(pos) > 1 and pos[-1].lower() in PROGRAM_KINDS:
            kind = pos.pop().lower()
        name = " ".join(pos)[:100]
        if c.s.exec(select(Program).where(Program.workspace_id == c.ws.id, Program.name == name)).first():
            raise UserError(f"A program called {name!r} already exists.")
        try:
            weeks = int(opts.get("weeks", str(builtin(kind).default_weeks)))
            start = date.fromisoformat(opts["start"]) if "start" in opts else c.now.date()
        except ValueError:
            raise UserError("`--weeks` takes a number and `--start` a date like 2026-01-05.") from None
        if not 4 <= weeks <= 156:
            raise UserError("A program runs between 4 and 156 weeks.")
        tz = opts.get("tz") or c.ws.default_tz
        if zone(tz).key != tz:
            raise UserError(f"{tz!r} isn't a time zone I know; use an IANA name like Europe/Berlin.")
        prog = Program(workspace_id=c.ws.id, name=name, kind=kind, start_date=start, length_weeks=weeks,  # type: ignore[arg-type]
                       default_tz=tz, stale_days=c.m.settings.stale_days, created_at=c.now)
        c.s.add(prog)
        c.audit("program.create", name, detail={"kind": kind, "weeks": weeks})
        return reply(f"Created {name} ({kind}, {weeks} weeks). Pair people with `pair @sponsor @sponsoree {name}` "
                     "or paste a CSV with `import`.")
    if sub == "journey":
        return _program_journey(c, args[1:], raw)
    raise UserError("Use `program create <name> [kind]`, `program list`, `program show <name>` or "
                    "`program journey <name>` with a journey file pasted below it.")


def _program_journey(c: Ctx, args: list[str], raw: str) -> Response:
    """``program journey <name>`` + a journey file on the following lines: validate, then attach.
    ``program journey <name> reset`` goes back to the kind's own journey."""
    first, _, body = raw.partition("\n")
    words = first.split()[1:]
    if not words:
        raise UserError("Use `program journey <name>` and paste the journey file (YAML) on the lines below, "
                        "or `program journey <name> reset`. Check a file first with `momentum journey check FILE`.")
    reset = words[-1].lower() == "reset"
    prog = c.program(" ".join(words[:-1] if reset else words))
    if reset:
        prog.journey_yaml = None
        c.s.add(prog)
        c.audit("program.journey", prog.name, detail={"reset": True})
        return reply(f"{prog.name} uses the built-in {prog.kind} journey again.")
    if not body.strip():
        raise UserError("Paste the journey file (YAML) on the lines below `program journey <name>`.")
    try:
        j = check_text(body, "your journey")
    except JourneyError as exc:
        raise UserError(f"That journey file has problems, so nothing was changed:\n{exc}") from None
    if j.kind != prog.kind:
        raise UserError(f"That file is a {j.kind} journey, but {prog.name} is a {prog.kind} program. "
                        "Nothing was changed.")
    prog.journey_yaml = body
    c.s.add(prog)
    c.audit("program.journey", prog.name, detail={"phases": [p.key for p in j.phases]})
    return reply(f"{prog.name} now uses its own journey ({len(j.phases)} phases, {len(j.words)} texts).")


def create_pair(c: Ctx, sponsor: Person, sponsoree: Person, prog: Program,
                      sponsor_unit: str | None = None, sponsoree_unit: str | None = None) -> tuple[Pair | None, str]:
    """Pair two people; returns (pair or None if it already existed, a warning or '')."""
    if sponsor.id == sponsoree.id:
        raise UserError("A person can't sponsor themselves: pick two different people.")
    existing = c.s.exec(select(Pair).where(Pair.program_id == prog.id, Pair.sponsoree_id == sponsoree.id,
                                           Pair.status.in_(("active", "paused")))).first()  # type: ignore[attr-defined]
    if existing is not None:
        if existing.sponsor_id == sponsor.id:
            return None, ""
        other = c.person(existing.sponsor_id)
        raise UserError(f"{sponsoree.name} is already paired with {other.name} in {prog.name}. "
                        f"End that pair first with `end-pair`.")
    if sponsor_unit:
        sponsor.unit = sponsor_unit
    if sponsoree_unit:
        sponsoree.unit = sponsoree_unit
    same = bool(sponsor.unit and sponsoree.unit and sponsor.unit.lower() == sponsoree.unit.lower())
    pair = Pair(program_id=prog.id, sponsor_id=sponsor.id, sponsoree_id=sponsoree.id,  # type: ignore[arg-type]
                start_date=monday_of(c.now.astimezone(zone(prog.default_tz)).date()), created_at=c.now,
                same_unit=same, last_touch_at=None)
    c.s.add(pair)
    c.s.flush()
    c.touched_pairs.append(pair.id)  # type: ignore[arg-type]
    warn = (f"Heads-up: {sponsor.name} and {sponsoree.name} are both in {sponsor.unit}. Programs work best when "
            "the sponsor is outside the sponsoree's reporting line.") if same else ""
    return pair, warn


@command("pair")
def _pair(c: Ctx, args: list[str], raw: str) -> Response:
    c.require_admin("pair")
    if len(args) < 2:
        raise UserError("Use `pair @sponsor @sponsoree [program]` (mentions or email addresses).")
    sponsor, sponsoree = c.resolve_all(args[:2])
    prog = c.program(" ".join(args[2:]) or None)
    pair, warn = create_pair(c, sponsor, sponsoree, prog)
    if pair is None:
        return reply(f"{sponsor.name} and {sponsoree.name} are already paired in {prog.name}. Nothing changed.")
    c.audit("pair.create", f"{sponsor.external_id}->{sponsoree.external_id}", detail={"program": prog.name,
                                                                                     "pair_id": pair.id})
    lines = [f"Paired {sponsor.name} (sponsor) with {sponsoree.name} in {prog.name}. "
             "I'll send them a kickoff at a good local time."]
    if warn:
        lines.append(warn)
    return Response(reply=say(*lines), ephemeral=True)


def _target_pair(c: Ctx, args: list[str], command: str) -> Pair:
    if not args:
        raise UserError(f"Use `{command} @person` (or `{command} @sponsor @sponsoree`).")
    people = c.resolve_all([a for a in args[:2] if a.startswith("<@") or "@" in a])
    if not people:
        raise UserError(f"Use `{command} @person` (or `{command} @sponsor @sponsoree`).")
    q = select(Pair).where(Pair.status.in_(("active", "paused")))  # type: ignore[attr-defined]
    for p in people:
        q = q.where(or_(col(Pair.sponsor_id) == p.id, col(Pair.sponsoree_id) == p.id))
    pairs = [p for p in c.s.exec(q).all() if c.s.get(Program, p.program_id).workspace_id == c.ws.id]  # type: ignore[union-attr]
    if not pairs:
        raise UserError(f"{' and '.join(p.name for p in people)} {'is' if len(people) == 1 else 'are'} "
                        "not in an active pair.")
    if len(pairs) > 1:
        raise UserError(f"{people[0].name} is in {len(pairs)} pairs: name both people, "
                        f"`{command} @sponsor @sponsoree`.")
    return pairs[0]


def _drop_pending(c: Ctx, pair: Pair, keep_kinds: tuple[str, ...] = ()) -> None:
    P = Prompt.__table__  # type: ignore[attr-defined]
    stmt = P.delete().where(P.c.pair_id == pair.id, P.c.status == "pending", P.c.attempts == 0,
                            P.c.lease_owner.is_(None))
    if keep_kinds:
        stmt = stmt.where(P.c.kind.not_in(keep_kinds))
    c.s.connection().execute(stmt)


def _end(c: Ctx, pair: Pair, action: str) -> tuple[Person, Person]:
    """End a pair: no more prompts (unsent ones are dropped), audited. Returns (sponsor, sponsoree)."""
    pair.status, pair.ended_at = "ended", c.now
    c.s.add(pair)
    _drop_pending(c, pair)
    sp, se = c.person(pair.sponsor_id), c.person(pair.sponsoree_id)
    c.audit(action, f"{sp.external_id}->{se.external_id}", detail={"pair_id": pair.id})
    return sp, se


@command("unpair")
def _unpair(c: Ctx, args: list[str], raw: str) -> Response:
    c.require_admin("unpair")
    pair = _target_pair(c, args, "unpair")
    sp, se = _end(c, pair, "pair.unpair")
    return reply(f"Unpaired {sp.name} and {se.name}. No more prompts go to this pair; nothing was sent to them.")


@command("pause-pair")
def _pause_pair(c: Ctx, args: list[str], raw: str) -> Response:
    c.require_admin("pause-pair")
    resume_it = bool(args) and args[-1].lower() == "resume"
    pair = _target_pair(c, [a for a in args if a.lower() != "resume"], "pause-pair")
    sp, se = c.person(pair.sponsor_id), c.person(pair.sponsoree_id)
    if resume_it:
        pair.status, pair.paused_until, pair.planned_until = "active", None, None
        c.touched_pairs.append(pair.id)  # type: ignore[arg-type]
        c.audit("pair.resume", f"{sp.external_id}->{se.external_id}", detail={"pair_id": pair.id})
        msg = f"Resumed {sp.name} and {se.name}: prompts start again at their next usual time."
    else:
        pair.status = "paused"
        _drop_pending(c, pair)
        c.audit("pair.pause", f"{sp.external_id}->{se.external_id}", detail={"pair_id": pair.id})
        who = se.email or f"<@{se.external_id}>"
        msg = f"Paused {sp.name} and {se.name}. Resume with `pause-pair {who} resume`."
    c.s.add(pair)
    return reply(msg)


@command("end-pair")
def _end_pair(c: Ctx, args: list[str], raw: str) -> Response:
    c.require_admin("end-pair")
    pair = _target_pair(c, args, "end-pair")
    sp, se = _end(c, pair, "pair.end")
    prog = c.s.get(Program, pair.program_id)
    assert prog is not None
    week = max(1, week_index(pair.start_date, c.now))
    from bot.journey import variant_for

    for person_id in (pair.sponsoree_id, pair.sponsor_id):
        if c.s.exec(select(Prompt).where(Prompt.pair_id == pair.id, Prompt.recipient_id == person_id,
                                         Prompt.kind == Kind.WRAPUP, Prompt.period == "end")).first():
            continue
        c.s.add(Prompt(pair_id=pair.id, recipient_id=person_id, workspace_id=c.ws.id, kind=Kind.WRAPUP,  # type: ignore[arg-type]
                       phase=stage_for(prog.kind, week), period="end", week=week,
                       variant=variant_for(pair.id, Kind.WRAPUP, "end"), due_at=c.now,  # type: ignore[arg-type]
                       next_attempt_at=c.now, created_at=c.now))
    return reply(f"Ended {sp.name} and {se.name}'s pairing. Both get a short wrap-up with a reflection and "
                 "an invitation to pay it forward.")


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


@command("import")
def _import(c: Ctx, args: list[str], raw: str) -> Response:
    c.require_admin("import")
    if raw.strip():
        return import_csv(c, raw)
    return Response(form=import_form())


def import_csv(c: Ctx, text: str) -> Response:
    """Validate every row, then import all rows in this one transaction (or none)."""
    progs = {p.name.lower(): p for p in c.s.exec(select(Program).where(Program.workspace_id == c.ws.id,
                                                                          Program.status == "active")).all()}
    default = next(iter(progs.values())).name if len(progs) == 1 else None
    parsed = csvio.parse(text, default)
    errors = list(parsed.errors)
    found: dict[str, Person] = {}
    missing: dict[str, int] = {}  # email -> first line
    for row in parsed.rows:
        if row.program.lower() not in progs:
            errors.append(f"Line {row.line}: there's no program {row.program!r}")
        for email in (row.sponsor, row.sponsoree):
            if email not in found and email not in missing:
                p = directory.find_by_email(c.s, c.ws.id, email)  # type: ignore[arg-type]
                if p is not None:
                    found[email] = p
                else:
                    missing[email] = row.line
    # Everyone unknown was looked up on the platform before this unit of work (see Ctx.resolve_all).
    need = {e for e in missing if e not in c.lookups.emails}
    if need:
        raise NeedLookups(set(), need)
    profiles = [c.lookup_email(e) for e in missing]
    for (email, line), prof in zip(missing.items(), profiles, strict=True):
        if prof is None:
            errors.append(f"Line {line}: nobody with the email {email} in this workspace")
    if not errors:
        for (email, _line), prof in zip(missing.items(), profiles, strict=True):
            assert prof is not None
            found[email] = directory.upsert_person(c.s, c.now, c.ws.id,  # type: ignore[arg-type]
                                                   Profile(**{**prof.__dict__, "email": prof.email or email}))
    people = found
    if errors:
        errors.sort(key=lambda e: int(re.findall(r"\d+", e)[0]) if re.findall(r"\d+", e) else 0)
        c.s.rollback()
        c.audit("pairs.import", ok=False, detail={"errors": len(errors)})
        shown = "\n".join(errors[:15]) + (f"\n... and {len(errors) - 15} more" if len(errors) > 15 else "")
        return Response(reply=say(f"Nothing was imported: {len(errors)} line(s) need fixing.", shown),
                        errors={"csv": shown[:1900]})
    created, existing, warnings = 0, 0, []
    for row in parsed.rows:
        try:
            pair, warn = create_pair(c, people[row.sponsor], people[row.sponsoree], progs[row.program.lower()],
                                           row.sponsor_unit, row.unit)
        except UserError as exc:
            c.s.rollback()
            c.touched_pairs.clear()
            return Response(reply=say(f"Nothing was imported. Line {row.line}: {exc}"),
                            errors={"csv": f"Line {row.line}: {exc}"})
        if pair is None:
            existing += 1
        else:
            created += 1
            if warn:
                warnings.append(f"Line {row.line}: {people[row.sponsor].name} and {people[row.sponsoree].name} "
                                f"are in the same unit ({people[row.sponsor].unit}).")
    c.audit("pairs.import", detail={"created": created, "unchanged": existing})
    lines = [f"Imported {created} new pair(s); {existing} already existed and were left as they were."]
    if warnings:
        lines.append("Heads-up, same unit: " + " ".join(warnings[:10]))
    return Response(reply=say(*lines))


@command("export")
def _export(c: Ctx, args: list[str], raw: str) -> Response:
    c.require_admin("export")
    data = csvio.export(c.s, c.ws.id)  # type: ignore[arg-type]
    c.audit("pairs.export")
    rows = max(0, data.count("\n") - 1)
    return Response(reply=say(f"Here's the export: {rows} pair(s), activity counts only (no private notes)."),
                    attachment=Attachment("momentum-pairs.csv", data, "text/csv", "Momentum pairs"))


@command("report")
def _report(c: Ctx, args: list[str], raw: str) -> Response:
    c.require_admin("report")
    return Response(reply=reports.render(reports.build(c.s, c.ws.id, c.now, raw or None)))  # type: ignore[arg-type]


@command("console")
def _console(c: Ctx, args: list[str], raw: str) -> Response:
    """A single-use link to the web console, for this admin only (bot.console)."""
    from bot import console
    from bot.content._data import words

    c.require_admin("console")
    if not c.m.settings.public_url:
        return reply(words().console_not_configured)
    url = console.issue_link(c.s, c.me.id, c.now, c.m.settings.public_url)  # type: ignore[arg-type]
    c.audit("console.link")
    minutes = int(console.LINK_TTL.total_seconds() // 60)
    return Response(reply=say(*words().console_link.format(url=url, minutes=minutes).split("\n")))


@command("audit")
def _audit(c: Ctx, args: list[str], raw: str) -> Response:
    c.require_admin("audit")
    try:
        n = max(1, min(50, int(args[0]))) if args else 20
    except ValueError:
        raise UserError("Use `audit` or `audit 50`.") from None
    rows = c.s.exec(select(AuditLog).where(AuditLog.workspace_id == c.ws.id)
                    .order_by(AuditLog.id.desc()).limit(n)).all()  # type: ignore[union-attr]
    names = {p.id: p.name for p in c.s.exec(select(Person).where(Person.workspace_id == c.ws.id)).all()}
    items = tuple(
        (f"{r.at:%Y-%m-%d %H:%M} UTC", f"{names.get(r.actor_id, 'system') if r.actor_id else 'system'}: "
         f"{r.action}{' ' + r.target if r.target else ''}{'' if r.ok else ' (refused)'}")
        for r in rows
    )
    mb = MessageBuilder(kind="audit").add(Heading(f"Audit: last {len(items)} changes"))
    mb.add(Fields(items) if items else para("Nothing yet."))
    return Response(reply=mb.build())


@command("admin")
def _admin(c: Ctx, args: list[str], raw: str) -> Response:
    c.require_admin("admin")
    if len(args) < 2 or args[0].lower() not in ("add", "remove"):
        raise UserError("Use `admin add @person` or `admin remove @person`.")
    who = c.resolve(args[1])
    add = args[0].lower() == "add"
    if not add and who.id == c.me.id and not (c.me.is_platform_admin or
                                               (c.me.email or "") in c.m.settings.admin_emails):
        raise UserError("You can't remove your own admin rights; ask another admin.")
    who.is_granted_admin = add
    c.s.add(who)
    c.audit("admin.add" if add else "admin.remove", who.external_id)
    return reply(f"{who.name} {'can now' if add else 'can no longer'} run admin commands."
                 + ("" if add or not who.is_platform_admin else " (They remain a workspace admin/owner.)"))


@command("forget")
def _forget(c: Ctx, args: list[str], raw: str) -> Response:
    c.require_admin("forget")
    if not args:
        raise UserError("Use `forget @person`. This erases their personal data and notes for good.")
    who = c.resolve(args[0])
    ext = who.external_id
    counts = privacy.forget(c.s, who, c.now)
    c.audit("person.forget", ext, detail=counts)
    c.s.commit()
    c.m.db.scrub()  # no erased byte left behind in the database files (SQLite: WAL checkpoint)
    return reply(f"Erased {ext}'s personal data and notes ({sum(counts.values())} records). Aggregate counts stay, "
                 "anonymised. This is in the audit log.")
