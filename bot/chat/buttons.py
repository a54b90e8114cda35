"""What each button and form on a prompt does (check-ins, digests, kickoffs, reviews, wrap-ups, App Home)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from bot.chat.admin import import_csv
from bot.chat.changes import mark_two_way, opt_out, record_touch, resume, set_rhythm, snooze
from bot.chat.registry import COMMANDS
from bot.chat.rules import JUNIOR, SENIOR, FormErrors, action, form, form_fields, plain_form, truthy
from bot.chat.turn import Turn, say
from bot.chat.views import adhoc_checkin, sponsoree_pair, win_form
from bot.content import prompts
from bot.content.chat_words import t
from bot.content.kinds import PromptKind
from bot.content.prompts import Actions, PromptContext
from bot.content.timing import next_allowed, parse_when, week_index, zone
from bot.domain import reports
from bot.model import metrics
from bot.model.errors import UserError
from bot.model.interactions import Interaction, Response
from bot.model.messages import (
    Form,
    Message,
)
from bot.model.names import addressed
from bot.outbox.admin import is_admin as admin_rule
from storage.models import (
    Agenda,
    CheckIn,
    Goal,
    Pair,
    Person,
    Program,
    Prompt,
    Touchpoint,
    Win,
)


def mark_answered(turn: Turn, p: Prompt, answer: str) -> None:
    if p.answered_at is None:
        p.answered_at = turn.now
    p.answer = answer[:32]
    turn.session.add(p)


def partner_of(turn: Turn, pair: Pair) -> int:
    return pair.sponsor_id if pair.sponsoree_id == turn.me.id else pair.sponsoree_id


def _checkin(turn: Turn, p: Prompt) -> CheckIn:
    """This person's check-in on ``p`` (only ever the recipient's: check-in actions refuse anyone else)."""
    ci = turn.session.exec(select(CheckIn).where(CheckIn.prompt_id == p.id, CheckIn.author_id == turn.me.id)).first()
    if ci is None:
        ci = CheckIn(prompt_id=p.id, pair_id=p.pair_id, author_id=turn.me.id, created_at=turn.now,  # type: ignore[arg-type]
                     updated_at=turn.now)
    return ci


def _answered_view(ci: CheckIn, ctx: PromptContext) -> Message:
    return prompts.checkin_answered(ctx, ci.status, ci.momentum, bool(ci.note), ci.shared)


@action(Actions.CHECKIN_STATUS, kinds={PromptKind.CHECKIN})
def _status(turn: Turn, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    if answer not in prompts.STATUS_LABELS:
        raise UserError(t("buttons.unknown_answer"))
    pair = turn.session.get(Pair, p.pair_id)
    assert pair is not None
    ci = _checkin(turn, p)
    first = ci.id is None or (ci.status is None and ci.momentum is None)
    ci.status, ci.updated_at = answer, turn.now
    turn.session.add(ci)
    if first:  # the first answer of any part of this check-in counts once
        pair.unanswered_checkins = 0
        pair.checkins_answered += 1
        metrics.CHECKINS.labels(answer).inc()
    key = f"checkin:{p.id}"
    tp = turn.session.exec(select(Touchpoint).where(Touchpoint.source_key == key)).first()
    if answer in ("met", "light"):
        kind = "meeting" if answer == "met" else "light"
        if tp is None:
            record_touch(turn, pair, kind, None, source="checkin", key=key)
        elif tp.kind != kind:
            pair.meetings += 1 if kind == "meeting" else -1
            if kind == "meeting":
                mark_two_way(pair, turn.now)
            tp.kind = kind
            turn.session.add(tp)
    elif tp is not None:
        if tp.kind == "meeting":
            pair.meetings = max(0, pair.meetings - 1)
        turn.session.delete(tp)
    turn.session.add(pair)
    mark_answered(turn, p, answer)
    return Response(update=_answered_view(ci, ctx))


@action(Actions.CHECKIN_MOMENTUM, kinds={PromptKind.CHECKIN})
def _momentum(turn: Turn, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    if answer not in {"1", "2", "3", "4", "5"}:
        raise UserError(t("buttons.momentum_range"))
    ci = _checkin(turn, p)
    if ci.id is None or (ci.status is None and ci.momentum is None):
        pair = turn.session.get(Pair, p.pair_id)
        assert pair is not None
        pair.unanswered_checkins = 0
        pair.checkins_answered += 1
        turn.session.add(pair)
    ci.momentum, ci.updated_at = int(answer), turn.now
    turn.session.add(ci)
    mark_answered(turn, p, ci.status or f"m{answer}")
    return Response(update=_answered_view(ci, ctx))


@action(Actions.CHECKIN_CHANGE, kinds={PromptKind.CHECKIN})
def _change(turn: Turn, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    """"Change" shows the question again exactly as it was sent (the same tip), to answer anew."""
    return Response(update=prompts.as_sent(ctx))


@action(Actions.CHECKIN_NOTE, kinds={PromptKind.CHECKIN})
def _note_open(turn: Turn, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    ci = turn.session.exec(select(CheckIn).where(CheckIn.prompt_id == p.id, CheckIn.author_id == turn.me.id)).first()
    return Response(form=prompts.note_form(p.id, ctx.partner.name, (ci.note or "") if ci else "",  # type: ignore[arg-type]
                                           ci.shared if ci else False))


def partner_away_until(turn: Turn, pair: Pair) -> str | None:
    """When the partner is snoozed or paused: until when (what the sender is told)."""
    partner = turn.person(partner_of(turn, pair))
    if partner.paused:
        return t("buttons.away_until_resume")
    if partner.snoozed_until is not None and partner.snoozed_until > turn.now:
        local = partner.snoozed_until.astimezone(zone(partner.tz or turn.workspace.default_tz))
        return f"{local:%a} {local.day} {local:%b}"
    return None


def share_with_partner(turn: Turn, pair: Pair, kind: PromptKind, key: str, payload: dict[str, str] | None) -> None:
    """Keep the partner's copy of words their author chose to share in step with that choice.

    ``payload=None`` (unshared): a copy not yet on its way is withdrawn. New or edited words: the
    copy waiting in the outbox is updated, or, if the old words already went out, a new one is
    queued. Words already sent are never sent twice. The partner's snooze or pause only delays a
    copy (delivery holds it until they are back); it never cancels it.
    """
    partner = partner_of(turn, pair)
    copies = turn.session.exec(select(Prompt).where(
        Prompt.pair_id == pair.id, Prompt.recipient_id == partner, Prompt.kind == kind,
        col(Prompt.period).startswith(key))).all()
    waiting = [x for x in copies if x.status == "pending" and x.attempts == 0 and x.lease_owner is None]
    for x in waiting:
        if payload is None:
            turn.session.delete(x)
        else:
            x.payload = payload
            turn.session.add(x)
    if payload is None or waiting or any(x.payload == payload for x in copies):
        return
    queue(turn, pair, partner, kind, key if not copies else f"{key}-v{len(copies) + 1}", payload)


READER_DAY_KINDS = frozenset({PromptKind.SHARED_NOTE, PromptKind.AGENDA, PromptKind.ASK_GOAL})


def queue(turn: Turn, pair: Pair, recipient: int, kind: PromptKind, period: str, payload: dict[str, Any] | None,
          due: datetime | None = None) -> None:
    """One message to ``recipient`` now (or at ``due``), outside the weekly plan."""
    week = max(0, week_index(pair.start_date, turn.now))
    prog = turn.session.get(Program, pair.program_id)
    assert prog is not None
    at = due or turn.now
    if due is None and kind in READER_DAY_KINDS:
        # words one partner sends the other wait for the reader's day (their working days, outside quiet
        # hours, in their own time zone): a note written at 23:00 arrives the next morning
        s = turn.deps.settings
        at = next_allowed(at, turn.person(recipient).tz or turn.workspace.default_tz, s.working_weekdays, s.quiet)
    turn.session.add(Prompt(pair_id=pair.id, recipient_id=recipient, workspace_id=turn.workspace.id, kind=kind,  # type: ignore[arg-type]
                   phase="", period=period[:40], week=week, variant=0, due_at=at, next_attempt_at=at,
                   payload=payload, created_at=turn.now))


@form(Actions.CHECKIN_NOTE, kinds={PromptKind.CHECKIN})
def _note_submit(turn: Turn, p: Prompt, ctx: PromptContext, ia: Interaction) -> Response:
    f = form_fields(ia, "note")
    if len(f["note"]) > 1500:
        raise FormErrors({"note": t("buttons.note.too_long")})
    ci = _checkin(turn, p)
    ci.note, ci.shared, ci.updated_at = f["note"], truthy(f.get("share")), turn.now
    turn.session.add(ci)
    turn.session.flush()
    pair = turn.session.get(Pair, p.pair_id)
    assert pair is not None
    share_with_partner(turn, pair, PromptKind.SHARED_NOTE, f"note-{ci.id}",
                       {"what": t("buttons.shared.checkin_note"), "text": ci.note} if ci.shared else None)
    msg = t("buttons.note.saved_shared", partner=ctx.partner.name) if ci.shared else t("buttons.note.saved_private")
    return Response(reply=say(msg), update=_answered_view(ci, ctx))


@action(Actions.REFRAME_SLOT, kinds={PromptKind.CHECKIN})
def _slot(turn: Turn, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    mark_answered(turn, p, "not_yet")
    return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.slot")))


@action(Actions.GHOST_PAUSE, kinds={PromptKind.CHECKIN, PromptKind.NUDGE})
def _ghost_pause(turn: Turn, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    text = snooze(turn, turn.me, timedelta(weeks=4))
    mark_answered(turn, p, "pause")
    return Response(update=prompts.answered(ctx, t("buttons.ghost.paused", snoozed=text)))


@action(Actions.GHOST_STOP, kinds={PromptKind.CHECKIN, PromptKind.NUDGE})
def _ghost_stop(turn: Turn, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    opt_out(turn)
    mark_answered(turn, p, "stop")
    return Response(update=prompts.answered(ctx, t("buttons.ghost.stopped")))


@action(Actions.RESTART_KEEP, Actions.RESTART_PAUSE, Actions.RESTART_REMATCH,
        kinds={PromptKind.CHECKIN, PromptKind.NUDGE})
def _restart(turn: Turn, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    """The kind offer after a stall that two restarts didn't end (the sponsoree's check-in), or after
    about six silent weeks (the sponsor's digest): keep going, pause, or ask the program team."""
    pair = turn.session.get(Pair, p.pair_id)
    assert pair is not None
    mark_answered(turn, p, answer)
    if turn.interaction.action_id == Actions.RESTART_KEEP:
        return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.keep_going")))
    if turn.interaction.action_id == Actions.RESTART_PAUSE:
        pair.status, pair.paused_until = "paused", turn.now + timedelta(weeks=4)
        turn.session.add(pair)
        turn.audit("pair.pause", f"pair:{pair.id}", detail={"by": "participant", "reason": "stalled"})
        return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.restart_pause")))
    turn.audit("pair.rematch_requested", f"pair:{pair.id}")
    since = ctx.last_contact.isoformat() if ctx.last_contact else None
    for admin in admins_of(turn):
        queue(turn, pair, admin.id, PromptKind.STALL_ALERT, f"rematch-{p.id}-{admin.id}",  # type: ignore[arg-type]
              {"days": ctx.pair.quiet_days, "since": since, "asked_by": turn.me.name})
    return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.restart_rematch")))


def admins_of(turn: Turn) -> list[Person]:
    """Who runs the program here: granted or platform admins, and the configured admin emails."""
    return list(turn.session.exec(select(Person).where(  # the few admins, found by SQL (not every person read)
        Person.workspace_id == turn.workspace.id, Person.forgotten == False,  # noqa: E712
        admin_rule(turn.deps.settings))).all())


FORM_OPENERS: dict[str, Callable[[int, str], Form]] = {
    Actions.PREP_OPEN: prompts.prep_form,
    Actions.REVIEW_OPEN: prompts.review_form,
    Actions.WRAPUP_REFLECT: prompts.wrapup_form,
}


@action(Actions.PREP_OPEN, kinds={PromptKind.PREP})
@action(Actions.REVIEW_OPEN, kinds={PromptKind.REVIEW})
@action(Actions.WRAPUP_REFLECT, kinds={PromptKind.WRAPUP})
def _open_form(turn: Turn, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    """Buttons that open the prompt's form: prep agenda, review, wrap-up reflection."""
    return Response(form=FORM_OPENERS[turn.interaction.action_id](p.id, ctx.partner.name))  # type: ignore[arg-type]


@form(Actions.PREP_FORM, kinds={PromptKind.PREP})
def _prep_submit(turn: Turn, p: Prompt, ctx: PromptContext, ia: Interaction) -> Response:
    f = form_fields(ia, "update")
    ag = turn.session.exec(select(Agenda).where(Agenda.prompt_id == p.id)).first() or Agenda(
        prompt_id=p.id, pair_id=p.pair_id, author_id=turn.me.id, created_at=turn.now)
    ag.update_text, ag.question, ag.ask = f["update"][:500], f.get("question", "")[:500], f.get("ask", "")[:500]
    ag.shared = truthy(f.get("share"))
    turn.session.add(ag)
    mark_answered(turn, p, "agenda")
    turn.session.flush()
    pair = turn.session.get(Pair, p.pair_id)
    assert pair is not None
    share_with_partner(turn, pair, PromptKind.AGENDA, f"agenda-{ag.id}",
                       {"update": ag.update_text, "question": ag.question, "ask": ag.ask} if ag.shared else None)
    if not ag.shared:
        msg = prompts.reply_text(ctx, "reply.agenda_private")
    elif (until := partner_away_until(turn, pair)) is not None:
        msg = prompts.reply_text(ctx, "reply.agenda_shared_later", until=until)
    else:
        msg = prompts.reply_text(ctx, "reply.agenda_shared")
    return Response(reply=say(msg), update=prompts.answered(ctx, t("buttons.agenda_ready")))


@action(Actions.PREP_SKIP, kinds={PromptKind.PREP})
@action(Actions.NUDGE_SKIP, kinds={PromptKind.NUDGE}, roles=SENIOR)
def _skip(turn: Turn, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    mark_answered(turn, p, "skip")
    if p.kind == PromptKind.NUDGE:
        digest_answered(turn, p)
        return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.not_this_week")))
    return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.skip")))


def answer_key(turn: Turn, p: Prompt) -> str:
    """The key of this person's own answer to ``p``: on a message to both, each keeps their own."""
    return f"prompt:{p.id}:{turn.me.id}" if p.audience == "pair" else f"prompt:{p.id}"


def digest_answered(turn: Turn, p: Prompt) -> Pair:
    """Any tap on a digest shows the sponsor is reading: the slow-down resets."""
    pair = turn.session.get(Pair, p.pair_id)
    assert pair is not None
    pair.ignored_digests = 0
    turn.session.add(pair)
    return pair


@action(Actions.NUDGE_DONE, kinds={PromptKind.NUDGE}, roles=SENIOR)
def _nudge_done(turn: Turn, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    """The sponsor did the digest's one action: it becomes part of the pair's story (reviews and the
    wrap-up quote it)."""
    pair = digest_answered(turn, p)
    done = str((p.payload or {}).get("done") or t("buttons.done_default"))
    key = answer_key(turn, p)
    if turn.session.exec(select(Touchpoint).where(Touchpoint.source_key == key)).first() is None:
        turn.session.add(Touchpoint(pair_id=pair.id, author_id=turn.me.id, kind="advocacy", source="digest",  # type: ignore[arg-type]
                           source_key=key, note=done[:200], shared=True, occurred_at=turn.now))
    mark_answered(turn, p, "done")
    return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.done", done=done)))


@action(Actions.NUDGE_ASK_GOAL, kinds={PromptKind.NUDGE}, roles=SENIOR)
def _nudge_ask_goal(turn: Turn, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    """With nothing new to go on, the sponsor asks for the sponsoree's current goal in one tap."""
    pair = digest_answered(turn, p)
    if not turn.session.exec(select(Prompt).where(Prompt.pair_id == pair.id, Prompt.kind == PromptKind.ASK_GOAL,
                                         Prompt.period == f"askgoal-{p.id}")).first():
        queue(turn, pair, pair.sponsoree_id, PromptKind.ASK_GOAL, f"askgoal-{p.id}", None)
    mark_answered(turn, p, "ask_goal")
    return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.asked_goal")))


@action(Actions.GOAL_OPEN, kinds={PromptKind.ASK_GOAL}, roles=JUNIOR)
def _goal_open(turn: Turn, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    return Response(form=prompts.goal_form(ctx))


@form(Actions.GOAL_FORM, kinds={PromptKind.ASK_GOAL}, roles=JUNIOR)
def _goal_submit(turn: Turn, p: Prompt, ctx: PromptContext, ia: Interaction) -> Response:
    f = form_fields(ia, "goal")
    turn.session.add(Goal(pair_id=p.pair_id, author_id=turn.me.id, text=f["goal"][:300], created_at=turn.now))
    mark_answered(turn, p, "goal")
    return Response(reply=say(prompts.reply_text(ctx, "reply.goal_saved")),
                    update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.goal_saved")))


@action(Actions.NUDGE_SNOOZE, kinds={PromptKind.NUDGE}, roles=SENIOR)
def _nudge_snooze(turn: Turn, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    """Snoozes the digest, and only the digest: nothing the sponsoree sends is held back or dropped."""
    pair = digest_answered(turn, p)
    pair.digest_snoozed_until = turn.now + timedelta(weeks=1)
    turn.session.add(pair)
    for x in turn.session.exec(select(Prompt).where(Prompt.pair_id == pair.id, Prompt.kind == PromptKind.NUDGE,
                                           Prompt.status == "pending", Prompt.attempts == 0,
                                           col(Prompt.lease_owner).is_(None),
                                           col(Prompt.due_at) < pair.digest_snoozed_until)).all():
        turn.session.delete(x)
    mark_answered(turn, p, "snooze")
    return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.digest_snoozed")))


@action(Actions.KICKOFF_BOOKED, kinds={PromptKind.KICKOFF, PromptKind.FOLLOWUP})
def _kickoff(turn: Turn, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    pair = turn.session.get(Pair, p.pair_id)
    assert pair is not None
    pair.booked_at = pair.booked_at or turn.now
    turn.session.add(pair)
    mark_answered(turn, p, "booked")
    me = addressed(turn.me.name, turn.me.given_name)
    return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.booked", me=me)))


@action(Actions.KICKOFF_AGREE, kinds={PromptKind.KICKOFF})
def _agree_open(turn: Turn, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    return Response(form=prompts.agreement_form(ctx))


@form(Actions.AGREEMENT_FORM, kinds={PromptKind.KICKOFF})
def _agree_submit(turn: Turn, p: Prompt, ctx: PromptContext, ia: Interaction) -> Response:
    """Each person's part of the kickoff agreement: shared with the partner (the form says so); the
    sponsoree's "where this should lead" is what the reviews quote; the rhythm plans prep nudges."""
    f = form_fields(ia, "want", "lead")
    pair = turn.session.get(Pair, p.pair_id)
    assert pair is not None
    said = parse_when(f.get("when", ""))  # "Thursday mornings", "every other Tuesday 3pm": never refused
    chosen = f.get("rhythm") or ""
    every = int(chosen) if chosen in prompts.RHYTHMS else (said.every if said.every in (1, 2, 4) else 2)
    weekday, at = said.weekday, said.at if said.weekday is not None else None
    text = t("buttons.agreement.text", want=f["want"][:300], lead=f["lead"][:300])
    key = answer_key(turn, p)
    tp = turn.session.exec(select(Touchpoint).where(Touchpoint.source_key == key)).first() or Touchpoint(
        pair_id=pair.id, author_id=turn.me.id, kind="agreement", source="kickoff", source_key=key,  # type: ignore[arg-type]
        occurred_at=turn.now)
    tp.note, tp.shared = text, True
    turn.session.add(tp)
    pair.agreed_at = pair.agreed_at or turn.now
    if turn.me.id == pair.sponsoree_id or not pair.agreement_lead:
        pair.agreement_lead = f["lead"][:300]
    if turn.me.id == pair.sponsoree_id and not turn.session.exec(select(Goal).where(Goal.pair_id == pair.id)).first():
        # the sponsoree's "where this should lead" is their first goal: it leads the next digest
        turn.session.add(Goal(pair_id=pair.id, author_id=turn.me.id, text=f["lead"][:300], created_at=turn.now))  # type: ignore[arg-type]
    set_rhythm(turn, pair, every, weekday, at)
    turn.touched_pairs.append(pair.id)  # type: ignore[arg-type]
    share_with_partner(turn, pair, PromptKind.SHARED_NOTE, f"agreement-{p.id}-{turn.me.id}",
                       {"what": t("buttons.shared.agreement"), "text": text})
    rhythm = prompts.reply_text(ctx, f"rhythm.{prompts.RHYTHMS[str(every)]}")
    msg = prompts.reply_text(ctx, "reply.agreement", rhythm=rhythm + ".")
    return Response(reply=say(msg))


@form(Actions.REVIEW_FORM, kinds={PromptKind.REVIEW})
def _review_submit(turn: Turn, p: Prompt, ctx: PromptContext, ia: Interaction) -> Response:
    f = form_fields(ia, "working")
    text = t("buttons.review.working", text=f["working"])
    if f.get("change"):
        text += t("buttons.review.change", text=f["change"])
    if f.get("next"):
        text += t("buttons.review.next", text=f["next"])
    return _reflective(turn, p, ctx, "review", text[:2000], truthy(f.get("share")), t("buttons.shared.review"))


@action(Actions.REVIEW_LATER, kinds={PromptKind.REVIEW})
def _review_later(turn: Turn, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    """"Later" sets a reminder: the same review comes back in three days (once)."""
    pair = turn.session.get(Pair, p.pair_id)
    assert pair is not None
    if p.period.endswith("-later"):  # this is the reminder: no second one is promised, or sent
        mark_answered(turn, p, "later")
        return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.later_once")))
    period = f"{p.period}-later"[:40]
    if not p.period.endswith("-later") and not turn.session.exec(select(Prompt).where(
            Prompt.pair_id == pair.id, Prompt.recipient_id == turn.me.id, Prompt.kind == PromptKind.REVIEW,
            Prompt.period == period)).first():
        queue(turn, pair, turn.me.id, PromptKind.REVIEW, period, dict(p.payload or {}),  # type: ignore[arg-type]
              due=turn.now + timedelta(days=3))
    mark_answered(turn, p, "later")
    return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.later")))


def _reflective(turn: Turn, p: Prompt, ctx: PromptContext, kind: str, text: str, shared: bool, what: str) -> Response:
    key = answer_key(turn, p)
    tp = turn.session.exec(select(Touchpoint).where(Touchpoint.source_key == key)).first()
    if tp is None:
        tp = Touchpoint(pair_id=p.pair_id, author_id=turn.me.id, kind=kind, source="prompt", source_key=key,
                        occurred_at=turn.now)
    tp.note, tp.shared = text, shared
    turn.session.add(tp)
    mark_answered(turn, p, "done")
    pair = turn.session.get(Pair, p.pair_id)
    assert pair is not None
    share_with_partner(turn, pair, PromptKind.SHARED_NOTE, f"{kind}-{p.id}",
                       {"what": what, "text": text} if shared else None)
    msg = t("buttons.reflect.saved_shared", partner=ctx.partner.name) if shared else t("buttons.reflect.saved_private")
    return Response(reply=say(msg), update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.reflect_saved")))


@form(Actions.WRAPUP_FORM, kinds={PromptKind.WRAPUP})
def _wrapup_submit(turn: Turn, p: Prompt, ctx: PromptContext, ia: Interaction) -> Response:
    f = form_fields(ia, "reflection")
    return _reflective(turn, p, ctx, "reflection", f["reflection"][:1500], truthy(f.get("share")),
                       t("buttons.shared.reflection"))


@action(Actions.WRAPUP_FORWARD, kinds={PromptKind.WRAPUP}, roles=JUNIOR)
def _forward(turn: Turn, p: Prompt, ctx: PromptContext, answer: str) -> Response:
    """Pay it forward reaches the program's admins (the audit log, the report, a DM each)."""
    pair = turn.session.get(Pair, p.pair_id)
    assert pair is not None
    if p.answer != "forward":
        turn.audit("pay_it_forward", turn.me.external_id, detail={"pair_id": pair.id})
        for admin in admins_of(turn):
            queue(turn, pair, admin.id, PromptKind.FORWARD_ALERT, f"forward-{p.id}-{admin.id}", None)  # type: ignore[arg-type]
    mark_answered(turn, p, "forward")
    return Response(update=prompts.answered(ctx, prompts.reply_text(ctx, "reply.forward")))


@plain_form(Actions.WIN_FORM)
def _win_submit(turn: Turn, ia: Interaction) -> Response:
    f = form_fields(ia, "win")
    if len(f["win"]) > 1000:
        raise FormErrors({"win": t("buttons.win.too_long")})
    pair = sponsoree_pair(turn)
    shared = truthy(f.get("share", "true"))
    turn.session.add(Win(pair_id=pair.id, author_id=turn.me.id, text=f["win"], shared=shared, created_at=turn.now))  # type: ignore[arg-type]
    return Response(reply=say(t("buttons.win.saved_shared" if shared else "buttons.win.saved_private")))


@plain_form(Actions.IMPORT_FORM)
def _import_submit(turn: Turn, ia: Interaction) -> Response:
    turn.require_admin("import")
    f = form_fields(ia, "csv")
    turn.plan_after = True
    return import_csv(turn, f["csv"])


def home_action(turn: Turn, aid: str) -> Response:
    if aid == Actions.HOME_CHECKIN:
        return Response(reply=adhoc_checkin(turn, sponsoree_pair(turn)))
    if aid == Actions.HOME_LIGHT:
        pair = sponsoree_pair(turn)
        record_touch(turn, pair, "light", None)
        return Response(reply=say(t("buttons.light_logged")))
    if aid == Actions.HOME_SNOOZE:
        return Response(reply=say(snooze(turn, turn.me, timedelta(weeks=1))))
    if aid == Actions.HOME_RESUME:
        return Response(reply=say(resume(turn, turn.me)))
    if aid == Actions.WIN_OPEN:
        return Response(form=win_form(turn))
    turn.require_admin("report" if aid == Actions.HOME_REPORT else "export")
    if aid == Actions.HOME_REPORT:
        return Response(reply=reports.render(reports.build(turn.session, turn.workspace.id, turn.now)))  # type: ignore[arg-type]
    return COMMANDS["export"].handler(turn, [], "")  # type: ignore[misc]
