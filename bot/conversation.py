"""The conversation core's one entry point: an ``Interaction`` in, a ``Response`` out.

Buttons and forms carry ``"<prompt id>:<answer>"``; every answer is checked
against the prompt's recipient, stored once (answering again updates), and the
original message is turned into a confirmation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot import commands, directory, metrics, prompts, reports, wire
from bot.actor import Ctx, Lookups, NeedLookups, say
from bot.config import parse_hhmm
from bot.context import load_context
from bot.errors import NotAdmin, UserError
from bot.interactions import Interaction, Kind, Profile, Response
from bot.journey import Kind as PromptKind
from bot.journey import checkin_strategy, stage_for, variant_for
from bot.messages import Form, Message, TextInput
from bot.ports import WorkspaceRef
from bot.prompts import Actions, PromptContext
from bot.signing import SEP, parse_prompt_id
from bot.timing import week_index, zone
from storage import inbox
from storage.models import Agenda, CheckIn, Goal, Pair, Person, ProcessedEvent, Program, Prompt, Touchpoint, Win

if TYPE_CHECKING:
    from bot.app import Momentum

_LOGGER = logging.getLogger(__name__)

SORRY = say("Sorry, something went wrong on my side and nothing was changed. Please try again in a moment.")

ActionHandler = Callable[[Ctx, Prompt, PromptContext, str], Response]
FormHandler = Callable[[Ctx, Prompt, PromptContext, Interaction], Response]
Roles = frozenset[str]
ANYONE: Roles = frozenset({"junior", "senior"})
SENIOR: Roles = frozenset({"senior"})
JUNIOR: Roles = frozenset({"junior"})


@dataclass(frozen=True)
class ActionRule:
    """What a button (or form) may act on: prompts of these kinds, clicked by a person in one of these roles."""

    handler: ActionHandler
    kinds: frozenset[str]
    roles: Roles = ANYONE


@dataclass(frozen=True)
class FormRule:
    handler: FormHandler
    kinds: frozenset[str]
    roles: Roles = ANYONE


ACTIONS: dict[str, ActionRule] = {}
FORMS: dict[str, FormRule] = {}


def action(*ids: str, kinds: set[PromptKind], roles: Roles = ANYONE) -> Callable[[ActionHandler], ActionHandler]:
    """Register a button handler for ``ids``: it only ever runs on a prompt of one of ``kinds``."""
    def deco(fn: ActionHandler) -> ActionHandler:
        for i in ids:
            ACTIONS[i] = ActionRule(fn, frozenset(k.value for k in kinds), roles)
        return fn
    return deco


def form(form_id: str, *, kinds: set[PromptKind], roles: Roles = ANYONE) -> Callable[[FormHandler], FormHandler]:
    def deco(fn: FormHandler) -> FormHandler:
        FORMS[form_id] = FormRule(fn, frozenset(k.value for k in kinds), roles)
        return fn
    return deco


PlainFormHandler = Callable[[Ctx, Interaction], Response]
PLAIN_FORMS: dict[str, PlainFormHandler] = {}  # forms that act on no prompt (win, import): the person's own data


def plain_form(form_id: str) -> Callable[[PlainFormHandler], PlainFormHandler]:
    def deco(fn: PlainFormHandler) -> PlainFormHandler:
        PLAIN_FORMS[form_id] = fn
        return fn
    return deco


class Refused(UserError):
    """A click or form that is not this person's to make (someone else's prompt, a forged or
    stale value, an action of another prompt kind). Nothing changes; the refusal is audited."""

    def __init__(self, reason: str, message: str = "That button belongs to someone else's message, so I left "
                 "everything as it was. Try `me` to see your own prompts.") -> None:
        super().__init__(message)
        self.reason = reason


class Turns:
    """One person's interactions are handled one at a time, in the order they arrive (units of
    work run in parallel on the database executor, so a quick second click or command must not
    overtake the first). Locks live only while someone waits on them."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str, str], tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def turn(self, ia: Interaction) -> AsyncIterator[None]:
        key = (ia.platform, ia.workspace, ia.user)
        lock, n = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, n + 1)
        try:
            async with lock:
                yield
        finally:
            lock, n = self._locks[key]
            if n <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, n - 1)


MAX_ROUNDS = 3  # a unit of work asks for platform look-ups at most once or twice


@dataclass
class Outcome:
    """What one unit of work hands back to the event loop: the response and the pairs to plan."""

    response: Response
    touched_pairs: list[int]


async def handle(m: Momentum, ia: Interaction) -> Response:
    """Three steps, and the event loop never waits on the database: (1) platform look-ups with no
    transaction open, (2) one synchronous unit of work on the database executor (``unit``), which
    may ask for more look-ups (``NeedLookups``: it rolls back, they are made, it runs again),
    (3) the network effects after it: planning new or resumed pairs (in the planner's thread)."""
    metrics.INTERACTIONS.labels(ia.platform, ia.kind.value).inc()
    now = m.now()
    try:
        profile = ia.profile
        if profile is None:
            known, ref = await m.db.run(_who, m, ia)
            plat = m.platforms.get(ia.platform)
            if not known and plat is not None and ref is not None:
                try:
                    profile = await plat.profile(ref, ia.user)
                except Exception as exc:  # a profile is nice to have, not required
                    _LOGGER.info("profile lookup failed: %s", type(exc).__name__)
        lookups = Lookups()
        first = True
        for _ in range(MAX_ROUNDS):
            out = await m.db.run(unit, m, ia, now, profile, lookups, first)
            first = False
            if isinstance(out, Outcome):
                break
            await look_up(m, out, lookups)
        else:
            raise RuntimeError("platform look-ups did not settle")
        if out.touched_pairs:  # new or resumed pairs get their kickoff planned now, not in 15 minutes
            await asyncio.to_thread(m.plan, now, pair_ids=out.touched_pairs)
        return out.response
    except Exception:
        _LOGGER.exception("interaction failed", extra={"platform": ia.platform, "kind": ia.kind.value,
                                                       "action": ia.action_id})
        return Response(reply=SORRY)


def _who(m: Momentum, ia: Interaction) -> tuple[bool, WorkspaceRef | None]:
    """Whether the person is stored already, and the workspace to ask the platform in."""
    with m.db.session() as s:
        ws = directory.get_workspace(s, ia.platform, ia.workspace)
        known = ws is not None and directory.get_person(s, ws.id, ia.user) is not None  # type: ignore[arg-type]
        return known, directory.workspace_ref(ws, m.box) if ws is not None else None


async def look_up(m: Momentum, need: NeedLookups, lookups: Lookups) -> None:
    """Ask the platform for what a unit of work needs (no transaction is open here). A failed
    look-up counts as "not found", as before."""
    ref = need.workspace
    plat = m.platforms.get(ref.platform) if ref is not None else None

    async def profile(ext: str) -> None:
        try:
            lookups.profiles[ext] = await plat.profile(ref, ext) if plat is not None and ref else None
        except Exception:
            lookups.profiles[ext] = None

    async def email(addr: str) -> None:
        try:
            lookups.emails[addr] = await plat.lookup_email(ref, addr) if plat is not None and ref else None
        except Exception:
            lookups.emails[addr] = None

    await asyncio.gather(*(profile(x) for x in sorted(need.profiles)), *(email(x) for x in sorted(need.emails)))


def unit(m: Momentum, ia: Interaction, now: datetime, profile: Profile | None, lookups: Lookups,
         first: bool) -> Outcome | NeedLookups:
    """The interaction's one synchronous unit of work (runs on the database executor): every read
    and write, the response, its signatures. Returns ``NeedLookups`` (after rolling back) when a
    command needs the platform first."""
    with m.db.session() as s:
        if ia.event_id and first:
            s.add(ProcessedEvent(platform=ia.platform, event_id=ia.event_id[:200], at=now))
            try:
                s.flush()
            except IntegrityError:
                s.rollback()
                return Outcome(Response(duplicate=True), [])
        ws = directory.upsert_workspace(s, now, ia.platform, ia.workspace, name=ia.workspace_name,
                                        reactivate=False, default_tz=m.settings.default_tz)
        me = directory.upsert_person(s, now, ws.id, profile or Profile(external_id=ia.user),  # type: ignore[arg-type]
                                     address=ia.address)
        s.commit()  # who acted (and the dedupe marker) stands even if the request is refused
        c = Ctx(m, s, ia, ws, me, now, lookups=lookups)
        try:
            resp = dispatch(c)
        except NeedLookups as need:
            s.rollback()
            need.workspace = directory.workspace_ref(ws, m.box)
            return need
        except UserError as exc:
            # Bad input changes nothing: roll back; only the refusal is audited.
            s.rollback()
            c.touched_pairs.clear()
            if isinstance(exc, NotAdmin):
                c.audit(f"refused.{exc.command}", ok=False, detail={"reason": "not an admin"})
            elif isinstance(exc, Refused):
                c.audit(f"refused.{ia.kind.value}", ia.action_id[:64], ok=False, detail={"reason": exc.reason})
                _LOGGER.warning("refused %s %s: %s", ia.kind.value, ia.action_id[:64], exc.reason)
            resp = Response(errors=exc.errors) if isinstance(exc, FormErrors) else Response(reply=say(str(exc)))
        except Exception:
            s.rollback()
            if ia.event_id:  # let the platform's retry try again
                s.execute(delete(ProcessedEvent).where(
                    ProcessedEvent.platform == ia.platform,  # type: ignore[arg-type]
                    ProcessedEvent.event_id == ia.event_id[:200]))  # type: ignore[arg-type]
                s.commit()
            raise
        resp = signed(c, resp)
        if ia.inbox_id is not None and not inbox.mark_answered(s, ia.inbox_id, wire.dump(resp), m.box):
            s.rollback()  # an earlier attempt (or another replica) already did this work
            return Outcome(Response(duplicate=True), [])
        return Outcome(resp, list(c.touched_pairs) if c.plan_after else [])


def dispatch(c: Ctx) -> Response:
    ia = c.ia
    if ia.kind == Kind.ACTION:
        return on_action(c)
    if ia.kind == Kind.SUBMIT:
        return on_submit(c)
    if ia.kind == Kind.COMMAND or commands.is_command(ia.text):
        c.plan_after = True
        return commands.run(c, ia.text)
    return Response(reply=say(
        "Hi! I'm a bot, so I only understand a few commands. Try `help`, `me`, `win <text>` or "
        "`log meeting <note>`.",
    ))


# --- button clicks ---------------------------------------------------------------------------------

HOME_ACTIONS = {Actions.HOME_CHECKIN, Actions.HOME_LIGHT, Actions.HOME_SNOOZE, Actions.HOME_RESUME,
                Actions.HOME_REPORT, Actions.HOME_EXPORT, Actions.WIN_OPEN}


def signed(c: Ctx, resp: Response) -> Response:
    """Sign every button and form state of what goes back to the person (see ``bot.signing``)."""
    sig = c.m.signer
    if resp.update is not None:
        resp.update = sig.message(resp.update, c.subject or c.me.external_id)
    if resp.reply is not None:
        resp.reply = sig.message(resp.reply, c.me.external_id)
    if resp.form is not None:
        resp.form = sig.form(resp.form, c.me.external_id)
    return resp


def subject_of(p: Prompt, recipient_ext: str) -> str:
    """Whom a prompt's buttons are signed for: its recipient, or the pair for a message to both."""
    return f"pair:{p.pair_id}" if p.audience == "pair" else recipient_ext


def authorised_prompt(c: Ctx, action_id: str, signed_value: str, kinds: frozenset[str],
                      roles: Roles, *, form: bool = False) -> tuple[Prompt, PromptContext, str]:
    """The prompt a click or form acts on, after every check; ``Refused`` otherwise.

    The value must parse, name an existing prompt, carry a valid signature for this action and
    this person (or their pair, for a button on a message to both; forms are always the person's
    own), and the prompt must be of a kind this
    action belongs to, sent to the person who clicked, in a role the action is for.
    """
    value, _, mac = signed_value.rpartition(SEP)
    pid_text, _, answer = value.partition(":")
    pid = parse_prompt_id(pid_text)
    if not mac or pid is None:
        raise Refused("malformed value", "That button has expired. Try `me` to see where things are.")
    p = c.s.get(Prompt, pid)
    if p is None:
        raise Refused("unknown prompt", "That prompt no longer exists. Try `me` to see where things are.")
    pair = c.s.get(Pair, p.pair_id)
    if pair is None:
        raise Refused("unknown pair", "That prompt no longer exists. Try `me` to see where things are.")
    if p.audience == "pair":
        if c.me.id not in (pair.sponsor_id, pair.sponsoree_id):
            raise Refused("not in the pair")
        role = "junior" if c.me.id == pair.sponsoree_id else "senior"
    else:
        if c.me.id != p.recipient_id:
            raise Refused("not the recipient")
        role = "junior" if p.recipient_id == pair.sponsoree_id else "senior"
    c.subject = subject_of(p, c.me.external_id)
    if c.m.signer.verify(action_id, signed_value, c.me.external_id if form else c.subject) is None:
        raise Refused("bad signature", "That button has expired or was changed, so I left everything as it "
                                        "was. Try `me` to see where things are.")
    if p.kind not in kinds:
        raise Refused(f"action not for a {p.kind} prompt")
    if role not in roles:
        raise Refused(f"action not for the {role}")
    loaded = load_context(c.s.connection(), pid, c.now)
    if loaded is None:
        raise Refused("unknown prompt", "That prompt no longer exists.")
    ctx = loaded[0]
    if p.audience == "pair":
        junior = role == "junior"
        ctx = PromptContext(**{**ctx.__dict__, "role": role,
                               "me": ctx.sponsoree if junior else ctx.sponsor,
                               "partner": ctx.sponsor if junior else ctx.sponsoree})
    return p, ctx, answer


def on_action(c: Ctx) -> Response:
    aid = c.ia.action_id
    if aid in HOME_ACTIONS:
        return home_action(c, aid)
    rule = ACTIONS.get(aid)
    if rule is None:
        raise Refused("unknown action", "I don't recognise that button any more. Try `me` or `help`.")
    p, ctx, answer = authorised_prompt(c, aid, c.ia.value, rule.kinds, rule.roles)
    return rule.handler(c, p, ctx, answer)


def on_submit(c: Ctx) -> Response:
    fid = c.ia.action_id
    plain_handler = PLAIN_FORMS.get(fid)
    if plain_handler is not None:
        return plain_handler(c, c.ia)
    rule = FORMS.get(fid)
    if rule is None:
        raise Refused("unknown form", "That form has expired. Please start again.")
    p, ctx, _ = authorised_prompt(c, fid, c.ia.value, rule.kinds, rule.roles, form=True)
    return rule.handler(c, p, ctx, c.ia)


def mark_answered(c: Ctx, p: Prompt, answer: str) -> None:
    if p.answered_at is None:
        p.answered_at = c.now
    p.answer = answer[:32]
    c.s.add(p)


def partner_of(c: Ctx, pair: Pair) -> int:
    return pair.sponsor_id if pair.sponsoree_id == c.me.id else pair.sponsoree_id


def _checkin(c: Ctx, p: Prompt) -> CheckIn:
    """This person's check-in on ``p`` (only ever the recipient's: check-in actions refuse anyone else)."""
    ci = c.s.exec(select(CheckIn).where(CheckIn.prompt_id == p.id, CheckIn.author_id == c.me.id)).first()
    if ci is None:
        ci = CheckIn(prompt_id=p.id, pair_id=p.pair_id, author_id=c.me.id, created_at=c.now,  # type: ignore[arg-type]
                     updated_at=c.now)
    return ci


def _answered_view(ci: CheckIn, ctx: PromptContext) -> Message:
    return prompts.checkin_answered(ctx, ci.status, ci.momentum, bool(ci.note), ci.shared)


@action(Actions.CHECKIN_STATUS, kinds={PromptKind.CHECKIN})
def _status(c: Ctx, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    if answer not in prompts.STATUS_LABELS:
        raise UserError("That answer isn't one I know.")
    pair = c.s.get(Pair, p.pair_id)
    assert pair is not None
    ci = _checkin(c, p)
    first = ci.id is None or (ci.status is None and ci.momentum is None)
    ci.status, ci.updated_at = answer, c.now
    c.s.add(ci)
    if first:  # the first answer of any part of this check-in counts once
        pair.unanswered_checkins = 0
        pair.checkins_answered += 1
        metrics.CHECKINS.labels(answer).inc()
    key = f"checkin:{p.id}"
    tp = c.s.exec(select(Touchpoint).where(Touchpoint.source_key == key)).first()
    if answer in ("met", "light"):
        kind = "meeting" if answer == "met" else "light"
        if tp is None:
            commands.record_touch(c, pair, kind, None, source="checkin", key=key)
        elif tp.kind != kind:
            pair.meetings += 1 if kind == "meeting" else -1
            if kind == "meeting":
                commands.mark_two_way(pair, c.now)
            tp.kind = kind
            c.s.add(tp)
    elif tp is not None:
        if tp.kind == "meeting":
            pair.meetings = max(0, pair.meetings - 1)
        c.s.delete(tp)
    c.s.add(pair)
    mark_answered(c, p, answer)
    return Response(update=_answered_view(ci, ctx))


@action(Actions.CHECKIN_MOMENTUM, kinds={PromptKind.CHECKIN})
def _momentum(c: Ctx, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    if answer not in {"1", "2", "3", "4", "5"}:
        raise UserError("Momentum goes from 1 to 5.")
    ci = _checkin(c, p)
    if ci.id is None or (ci.status is None and ci.momentum is None):
        pair = c.s.get(Pair, p.pair_id)
        assert pair is not None
        pair.unanswered_checkins = 0
        pair.checkins_answered += 1
        c.s.add(pair)
    ci.momentum, ci.updated_at = int(answer), c.now
    c.s.add(ci)
    mark_answered(c, p, ci.status or f"m{answer}")
    return Response(update=_answered_view(ci, ctx))


@action(Actions.CHECKIN_CHANGE, kinds={PromptKind.CHECKIN})
def _change(c: Ctx, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    return Response(update=prompts.checkin(ctx))


@action(Actions.CHECKIN_NOTE, kinds={PromptKind.CHECKIN})
def _note_open(c: Ctx, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    ci = c.s.exec(select(CheckIn).where(CheckIn.prompt_id == p.id, CheckIn.author_id == c.me.id)).first()
    return Response(form=prompts.note_form(p.id, ctx.partner.name, (ci.note or "") if ci else "",  # type: ignore[arg-type]
                                           ci.shared if ci else False))


def partner_away_until(c: Ctx, pair: Pair) -> str | None:
    """When the partner is snoozed or paused: until when (what the sender is told)."""
    partner = c.person(partner_of(c, pair))
    if partner.paused:
        return "they resume"
    if partner.snoozed_until is not None and partner.snoozed_until > c.now:
        local = partner.snoozed_until.astimezone(zone(partner.tz or c.ws.default_tz))
        return f"{local:%a} {local.day} {local:%b}"
    return None


def share_with_partner(c: Ctx, pair: Pair, kind: PromptKind, key: str, payload: dict[str, str] | None) -> None:
    """Keep the partner's copy of words their author chose to share in step with that choice.

    ``payload=None`` (unshared): a copy not yet on its way is withdrawn. New or edited words: the
    copy waiting in the outbox is updated, or, if the old words already went out, a new one is
    queued. Words already sent are never sent twice. The partner's snooze or pause only delays a
    copy (delivery holds it until they are back); it never cancels it.
    """
    partner = partner_of(c, pair)
    copies = c.s.exec(select(Prompt).where(
        Prompt.pair_id == pair.id, Prompt.recipient_id == partner, Prompt.kind == kind,
        col(Prompt.period).startswith(key))).all()
    waiting = [x for x in copies if x.status == "pending" and x.attempts == 0 and x.lease_owner is None]
    for x in waiting:
        if payload is None:
            c.s.delete(x)
        else:
            x.payload = payload
            c.s.add(x)
    if payload is None or waiting or any(x.payload == payload for x in copies):
        return
    queue(c, pair, partner, kind, key if not copies else f"{key}-v{len(copies) + 1}", payload)


def queue(c: Ctx, pair: Pair, recipient: int, kind: PromptKind, period: str, payload: dict[str, Any] | None,
          due: datetime | None = None) -> None:
    """One message to ``recipient`` now (or at ``due``), outside the weekly plan."""
    week = max(0, week_index(pair.start_date, c.now))
    prog = c.s.get(Program, pair.program_id)
    assert prog is not None
    at = due or c.now
    c.s.add(Prompt(pair_id=pair.id, recipient_id=recipient, workspace_id=c.ws.id, kind=kind,  # type: ignore[arg-type]
                   phase="", period=period[:40], week=week, variant=0, due_at=at, next_attempt_at=at,
                   payload=payload, created_at=c.now))


def _fields(ia: Interaction, *required: str) -> dict[str, str]:
    f = {k: (v or "").strip() for k, v in ia.fields.items()}
    errors = {k: "Please fill this in." for k in required if not f.get(k)}
    if errors:
        raise FormErrors(errors)
    return f


class FormErrors(UserError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def _truthy(v: str | None) -> bool:
    return (v or "").lower() in {"true", "1", "yes", "on", "share"}


@form(Actions.CHECKIN_NOTE, kinds={PromptKind.CHECKIN})
def _note_submit(c: Ctx, p: Prompt, ctx: PromptContext, ia: Interaction) -> Response:
    f = _fields(ia, "note")
    if len(f["note"]) > 1500:
        raise FormErrors({"note": "Please keep the note under 1,500 characters."})
    ci = _checkin(c, p)
    ci.note, ci.shared, ci.updated_at = f["note"], _truthy(f.get("share")), c.now
    c.s.add(ci)
    c.s.flush()
    pair = c.s.get(Pair, p.pair_id)
    assert pair is not None
    share_with_partner(c, pair, PromptKind.SHARED_NOTE, f"note-{ci.id}",
                       {"what": "a check-in note", "text": ci.note} if ci.shared else None)
    msg = f"Note saved and shared with {ctx.partner.name}." if ci.shared else "Note saved. It's private to you."
    return Response(reply=say(msg), update=_answered_view(ci, ctx))


@action(Actions.REFRAME_SLOT, kinds={PromptKind.CHECKIN})
def _slot(c: Ctx, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    mark_answered(c, p, "not_yet")
    return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.slot")))


@action(Actions.GHOST_PAUSE, kinds={PromptKind.CHECKIN, PromptKind.NUDGE})
def _ghost_pause(c: Ctx, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    text = commands.snooze(c, c.me, timedelta(weeks=4))
    mark_answered(c, p, "pause")
    return Response(update=prompts.answered(ctx, "Taking a break: " + text))


@action(Actions.GHOST_STOP, kinds={PromptKind.CHECKIN, PromptKind.NUDGE})
def _ghost_stop(c: Ctx, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    commands.opt_out(c)
    mark_answered(c, p, "stop")
    return Response(update=prompts.answered(ctx, "You're opted out. Say `resume` any time."))


@action(Actions.RESTART_KEEP, Actions.RESTART_PAUSE, Actions.RESTART_REMATCH, kinds={PromptKind.CHECKIN})
def _restart(c: Ctx, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    """The kind offer after a stall that two restarts didn't end: keep going, pause, or a new match."""
    pair = c.s.get(Pair, p.pair_id)
    assert pair is not None
    mark_answered(c, p, answer)
    if c.ia.action_id == Actions.RESTART_KEEP:
        return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.keep_going")))
    if c.ia.action_id == Actions.RESTART_PAUSE:
        pair.status, pair.paused_until = "paused", c.now + timedelta(weeks=4)
        c.s.add(pair)
        c.audit("pair.pause", f"pair:{pair.id}", detail={"by": "participant", "reason": "stalled"})
        return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.restart_pause")))
    c.audit("pair.rematch_requested", f"pair:{pair.id}")
    for admin in admins_of(c):
        queue(c, pair, admin.id, PromptKind.STALL_ALERT, f"rematch-{p.id}-{admin.id}",  # type: ignore[arg-type]
              {"days": ctx.pair.stalled_days})
    return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.restart_rematch")))


def admins_of(c: Ctx) -> list[Person]:
    """Who runs the program here: granted or platform admins, and the configured admin emails."""
    emails = c.m.settings.admin_emails
    people = c.s.exec(select(Person).where(Person.workspace_id == c.ws.id, Person.forgotten == False)).all()  # noqa: E712
    return [p for p in people if directory.is_admin(p, emails)]


FORM_OPENERS: dict[str, Callable[[int, str], Form]] = {
    Actions.PREP_OPEN: prompts.prep_form,
    Actions.REVIEW_OPEN: prompts.review_form,
    Actions.WRAPUP_REFLECT: prompts.wrapup_form,
}


@action(Actions.PREP_OPEN, kinds={PromptKind.PREP})
@action(Actions.REVIEW_OPEN, kinds={PromptKind.REVIEW})
@action(Actions.WRAPUP_REFLECT, kinds={PromptKind.WRAPUP})
def _open_form(c: Ctx, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    """Buttons that open the prompt's form: prep agenda, review, wrap-up reflection."""
    return Response(form=FORM_OPENERS[c.ia.action_id](p.id, ctx.partner.name))  # type: ignore[arg-type]


@form(Actions.PREP_FORM, kinds={PromptKind.PREP})
def _prep_submit(c: Ctx, p: Prompt, ctx: PromptContext, ia: Interaction) -> Response:
    f = _fields(ia, "update")
    ag = c.s.exec(select(Agenda).where(Agenda.prompt_id == p.id)).first() or Agenda(
        prompt_id=p.id, pair_id=p.pair_id, author_id=c.me.id, created_at=c.now)
    ag.update_text, ag.question, ag.ask = f["update"][:500], f.get("question", "")[:500], f.get("ask", "")[:500]
    ag.shared = _truthy(f.get("share"))
    c.s.add(ag)
    mark_answered(c, p, "agenda")
    c.s.flush()
    pair = c.s.get(Pair, p.pair_id)
    assert pair is not None
    share_with_partner(c, pair, PromptKind.AGENDA, f"agenda-{ag.id}",
                       {"update": ag.update_text, "question": ag.question, "ask": ag.ask} if ag.shared else None)
    if not ag.shared:
        msg = prompts.reply_text(ctx, "reply.agenda_private")
    elif (until := partner_away_until(c, pair)) is not None:
        msg = prompts.reply_text(ctx, "reply.agenda_shared_later", until=until)
    else:
        msg = prompts.reply_text(ctx, "reply.agenda_shared")
    return Response(reply=say(msg), update=prompts.answered(ctx, "Agenda ready."))


@action(Actions.PREP_SKIP, kinds={PromptKind.PREP})
@action(Actions.NUDGE_SKIP, kinds={PromptKind.NUDGE}, roles=SENIOR)
def _skip(c: Ctx, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    mark_answered(c, p, "skip")
    if p.kind == PromptKind.NUDGE:
        digest_answered(c, p)
        return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.not_this_week")))
    return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.skip")))


def answer_key(c: Ctx, p: Prompt) -> str:
    """The key of this person's own answer to ``p``: on a message to both, each keeps their own."""
    return f"prompt:{p.id}:{c.me.id}" if p.audience == "pair" else f"prompt:{p.id}"


def digest_answered(c: Ctx, p: Prompt) -> Pair:
    """Any tap on a digest shows the sponsor is reading: the slow-down resets."""
    pair = c.s.get(Pair, p.pair_id)
    assert pair is not None
    pair.ignored_digests = 0
    c.s.add(pair)
    return pair


@action(Actions.NUDGE_DONE, kinds={PromptKind.NUDGE}, roles=SENIOR)
def _nudge_done(c: Ctx, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    """The sponsor did the digest's one action: it becomes part of the pair's story (reviews and the
    wrap-up quote it)."""
    pair = digest_answered(c, p)
    done = str((p.payload or {}).get("done") or "Done")
    key = answer_key(c, p)
    if c.s.exec(select(Touchpoint).where(Touchpoint.source_key == key)).first() is None:
        c.s.add(Touchpoint(pair_id=pair.id, author_id=c.me.id, kind="advocacy", source="digest",  # type: ignore[arg-type]
                           source_key=key, note=done[:200], shared=True, occurred_at=c.now))
    mark_answered(c, p, "done")
    return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.done", done=done)))


@action(Actions.NUDGE_ASK_GOAL, kinds={PromptKind.NUDGE}, roles=SENIOR)
def _nudge_ask_goal(c: Ctx, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    """With nothing new to go on, the sponsor asks for the sponsoree's current goal in one tap."""
    pair = digest_answered(c, p)
    if not c.s.exec(select(Prompt).where(Prompt.pair_id == pair.id, Prompt.kind == PromptKind.ASK_GOAL,
                                         Prompt.period == f"askgoal-{p.id}")).first():
        queue(c, pair, pair.sponsoree_id, PromptKind.ASK_GOAL, f"askgoal-{p.id}", None)
    mark_answered(c, p, "ask_goal")
    return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.asked_goal")))


@action(Actions.GOAL_OPEN, kinds={PromptKind.ASK_GOAL}, roles=JUNIOR)
def _goal_open(c: Ctx, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    return Response(form=prompts.goal_form(ctx))


@form(Actions.GOAL_FORM, kinds={PromptKind.ASK_GOAL}, roles=JUNIOR)
def _goal_submit(c: Ctx, p: Prompt, ctx: PromptContext, ia: Interaction) -> Response:
    f = _fields(ia, "goal")
    c.s.add(Goal(pair_id=p.pair_id, author_id=c.me.id, text=f["goal"][:300], created_at=c.now))
    mark_answered(c, p, "goal")
    return Response(reply=say(prompts.reply_text(ctx, "reply.goal_saved")),
                    update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.goal_saved")))


@action(Actions.NUDGE_SNOOZE, kinds={PromptKind.NUDGE}, roles=SENIOR)
def _nudge_snooze(c: Ctx, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    """Snoozes the digest, and only the digest: nothing the sponsoree sends is held back or dropped."""
    pair = digest_answered(c, p)
    pair.digest_snoozed_until = c.now + timedelta(weeks=1)
    c.s.add(pair)
    for x in c.s.exec(select(Prompt).where(Prompt.pair_id == pair.id, Prompt.kind == PromptKind.NUDGE,
                                           Prompt.status == "pending", Prompt.attempts == 0,
                                           col(Prompt.lease_owner).is_(None),
                                           col(Prompt.due_at) < pair.digest_snoozed_until)).all():
        c.s.delete(x)
    mark_answered(c, p, "snooze")
    return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.digest_snoozed")))


@action(Actions.KICKOFF_BOOKED, kinds={PromptKind.KICKOFF, PromptKind.FOLLOWUP})
def _kickoff(c: Ctx, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    pair = c.s.get(Pair, p.pair_id)
    assert pair is not None
    pair.booked_at = pair.booked_at or c.now
    c.s.add(pair)
    mark_answered(c, p, "booked")
    return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.booked", me=c.me.name.split()[0])))


@action(Actions.KICKOFF_AGREE, kinds={PromptKind.KICKOFF})
def _agree_open(c: Ctx, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    return Response(form=prompts.agreement_form(ctx))


@form(Actions.AGREEMENT_FORM, kinds={PromptKind.KICKOFF})
def _agree_submit(c: Ctx, p: Prompt, ctx: PromptContext, ia: Interaction) -> Response:
    """Each person's part of the kickoff agreement: shared with the partner (the form says so); the
    sponsoree's "where this should lead" is what the reviews quote; the rhythm plans prep nudges."""
    f = _fields(ia, "want", "lead")
    pair = c.s.get(Pair, p.pair_id)
    assert pair is not None
    every = int(f.get("rhythm") or "2") if (f.get("rhythm") or "2") in prompts.RHYTHMS else 2
    weekday, at = None, None
    when = f.get("when", "").split()
    if when:
        try:
            if len(when) != 2 or when[0][:3].lower() not in commands.WEEKDAYS:
                raise ValueError
            weekday, at = commands.WEEKDAYS.index(when[0][:3].lower()), f"{parse_hhmm(when[1]):%H:%M}"
        except ValueError:
            raise FormErrors({"when": "Use a weekday and a time, like Thu 15:00."}) from None
    text = f"What I want: {f['want'][:300]}\nWhere this should lead: {f['lead'][:300]}"
    key = answer_key(c, p)
    tp = c.s.exec(select(Touchpoint).where(Touchpoint.source_key == key)).first() or Touchpoint(
        pair_id=pair.id, author_id=c.me.id, kind="agreement", source="kickoff", source_key=key,  # type: ignore[arg-type]
        occurred_at=c.now)
    tp.note, tp.shared = text, True
    c.s.add(tp)
    pair.agreed_at = pair.agreed_at or c.now
    if c.me.id == pair.sponsoree_id or not pair.agreement_lead:
        pair.agreement_lead = f["lead"][:300]
    if c.me.id == pair.sponsoree_id and not c.s.exec(select(Goal).where(Goal.pair_id == pair.id)).first():
        # the sponsoree's "where this should lead" is their first goal: it leads the next digest
        c.s.add(Goal(pair_id=pair.id, author_id=c.me.id, text=f["lead"][:300], created_at=c.now))  # type: ignore[arg-type]
    commands.set_rhythm(c, pair, every, weekday, at)
    c.touched_pairs.append(pair.id)  # type: ignore[arg-type]
    share_with_partner(c, pair, PromptKind.SHARED_NOTE, f"agreement-{p.id}-{c.me.id}",
                       {"what": "their part of your agreement", "text": text})
    rhythm = prompts.reply_text(ctx, f"rhythm.{prompts.RHYTHMS[str(every)]}")
    msg = prompts.reply_text(ctx, "reply.agreement", rhythm=rhythm + ".")
    return Response(reply=say(msg))


@form(Actions.REVIEW_FORM, kinds={PromptKind.REVIEW})
def _review_submit(c: Ctx, p: Prompt, ctx: PromptContext, ia: Interaction) -> Response:
    f = _fields(ia, "working")
    text = f"What works: {f['working']}"
    if f.get("change"):
        text += f"\nWhat doesn't: {f['change']}"
    if f.get("next"):
        text += f"\nOne course correction: {f['next']}"
    return _reflective(c, p, ctx, "review", text[:2000], _truthy(f.get("share")), "their review")


@action(Actions.REVIEW_LATER, kinds={PromptKind.REVIEW})
def _review_later(c: Ctx, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    """"Later" sets a reminder: the same review comes back in three days (once)."""
    pair = c.s.get(Pair, p.pair_id)
    assert pair is not None
    period = f"{p.period}-later"[:40]
    if not p.period.endswith("-later") and not c.s.exec(select(Prompt).where(
            Prompt.pair_id == pair.id, Prompt.recipient_id == c.me.id, Prompt.kind == PromptKind.REVIEW,
            Prompt.period == period)).first():
        queue(c, pair, c.me.id, PromptKind.REVIEW, period, dict(p.payload or {}),  # type: ignore[arg-type]
              due=c.now + timedelta(days=3))
    mark_answered(c, p, "later")
    return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.later")))


def _reflective(c: Ctx, p: Prompt, ctx: PromptContext, kind: str, text: str, shared: bool, what: str) -> Response:
    key = answer_key(c, p)
    tp = c.s.exec(select(Touchpoint).where(Touchpoint.source_key == key)).first()
    if tp is None:
        tp = Touchpoint(pair_id=p.pair_id, author_id=c.me.id, kind=kind, source="prompt", source_key=key,
                        occurred_at=c.now)
    tp.note, tp.shared = text, shared
    c.s.add(tp)
    mark_answered(c, p, "done")
    pair = c.s.get(Pair, p.pair_id)
    assert pair is not None
    share_with_partner(c, pair, PromptKind.SHARED_NOTE, f"{kind}-{p.id}",
                       {"what": what, "text": text} if shared else None)
    msg = f"Saved and shared with {ctx.partner.name}." if shared else "Saved. It's private to you."
    return Response(reply=say(msg), update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.reflect_saved")))


@form(Actions.WRAPUP_FORM, kinds={PromptKind.WRAPUP})
def _wrapup_submit(c: Ctx, p: Prompt, ctx: PromptContext, ia: Interaction) -> Response:
    f = _fields(ia, "reflection")
    return _reflective(c, p, ctx, "reflection", f["reflection"][:1500], _truthy(f.get("share")), "a reflection")


@action(Actions.WRAPUP_FORWARD, kinds={PromptKind.WRAPUP}, roles=JUNIOR)
def _forward(c: Ctx, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    """Pay it forward reaches the program's admins (the audit log, the report, a DM each)."""
    pair = c.s.get(Pair, p.pair_id)
    assert pair is not None
    if p.answer != "forward":
        c.audit("pay_it_forward", c.me.external_id, detail={"pair_id": pair.id})
        for admin in admins_of(c):
            queue(c, pair, admin.id, PromptKind.FORWARD_ALERT, f"forward-{p.id}-{admin.id}", None)  # type: ignore[arg-type]
    mark_answered(c, p, "forward")
    return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.forward")))


# --- home / quick actions and small forms ------------------------------------------------------------

def win_form(c: Ctx) -> Form:
    return Form(form_id=Actions.WIN_FORM, title="Share a win", submit_label="Save win", blocks=(
        TextInput("win", "Your win", placeholder="What went well? One or two lines.", multiline=True,
                  optional=False, max_length=1000),
        prompts.Checkbox("share", "Share with my sponsor (they can mention it in the right rooms)", initial=True),
    ))


@plain_form(Actions.WIN_FORM)
def _win_submit(c: Ctx, ia: Interaction) -> Response:
    f = _fields(ia, "win")
    if len(f["win"]) > 1000:
        raise FormErrors({"win": "Please keep it under 1,000 characters."})
    pair = commands.sponsoree_pair(c)
    shared = _truthy(f.get("share", "true"))
    c.s.add(Win(pair_id=pair.id, author_id=c.me.id, text=f["win"], shared=shared, created_at=c.now))  # type: ignore[arg-type]
    return Response(reply=say("Win saved" + (" and shared. \U0001f389" if shared else ", just for you. \U0001f389")))


@plain_form(Actions.IMPORT_FORM)
def _import_submit(c: Ctx, ia: Interaction) -> Response:
    c.require_admin("import")
    f = _fields(ia, "csv")
    c.plan_after = True
    return commands.import_csv(c, f["csv"])


def adhoc_checkin(c: Ctx, pair: Pair) -> Message:
    """A check-in on demand: a prompt row (so answers attach to it) that is never delivered."""
    prog = c.s.get(Program, pair.program_id)
    assert prog is not None
    week = max(0, week_index(pair.start_date, c.now))
    period = f"adhoc-{c.now:%Y%m%d}"
    p = c.s.exec(select(Prompt).where(Prompt.pair_id == pair.id, Prompt.recipient_id == c.me.id,
                                      Prompt.kind == PromptKind.CHECKIN, Prompt.period == period)).first()
    if p is None:
        p = Prompt(pair_id=pair.id, recipient_id=c.me.id, workspace_id=c.ws.id, kind=PromptKind.CHECKIN,  # type: ignore[arg-type]
                   strategy=checkin_strategy(week), phase=stage_for(prog.kind, week), period=period, week=week,
                   variant=variant_for(pair.id or 0, PromptKind.CHECKIN, period), due_at=c.now, next_attempt_at=c.now,
                   status="sent", sent_at=c.now, created_at=c.now)  # type: ignore[arg-type]
        c.s.add(p)
        c.s.flush()
    loaded = load_context(c.s.connection(), p.id, c.now)  # type: ignore[arg-type]
    assert loaded is not None
    return prompts.checkin(loaded[0])


def home_action(c: Ctx, aid: str) -> Response:
    if aid == Actions.HOME_CHECKIN:
        return Response(reply=adhoc_checkin(c, commands.sponsoree_pair(c)))
    if aid == Actions.HOME_LIGHT:
        pair = commands.sponsoree_pair(c)
        commands.record_touch(c, pair, "light", None)
        return Response(reply=say("Light touch logged. Nice one."))
    if aid == Actions.HOME_SNOOZE:
        return Response(reply=say(commands.snooze(c, c.me, timedelta(weeks=1))))
    if aid == Actions.HOME_RESUME:
        return Response(reply=say(commands.resume(c, c.me)))
    if aid == Actions.WIN_OPEN:
        return Response(form=win_form(c))
    c.require_admin("report" if aid == Actions.HOME_REPORT else "export")
    if aid == Actions.HOME_REPORT:
        return Response(reply=reports.render(reports.build(c.s, c.ws.id, c.now)))  # type: ignore[arg-type]
    return commands.HANDLERS["export"](c, [], "")


