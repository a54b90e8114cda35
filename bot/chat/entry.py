"""The conversation core's one entry point: an ``Interaction`` in, a ``Response`` out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from bot.chat import bulk, catalog  # noqa: F401  (registers every command)
from bot.chat.buttons import home_action
from bot.chat.registry import is_command, run
from bot.chat.rules import ACTIONS, FORMS, PLAIN_FORMS, FormErrors, Refused, authorised_prompt, signed
from bot.chat.turn import Lookups, NeedLookups, Turn, say
from bot.content.chat_words import t
from bot.content.prompts import Actions
from bot.domain import people as directory
from bot.model import metrics, wire
from bot.model.deps import Deps
from bot.model.errors import NotAdmin, UserError
from bot.model.interactions import Interaction, InteractionKind, Profile, Response
from bot.model.ports import WorkspaceRef
from bot.outbox import faults, planner
from storage import inbox
from storage.models import (
    ProcessedEvent,
)

_LOGGER = logging.getLogger(__name__)


SORRY = say(t("entry.sorry"))


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


async def handle(deps: Deps, ia: Interaction) -> Response:
    """Three steps, and the event loop never waits on the database: (1) platform look-ups with no
    transaction open, (2) one synchronous unit of work on the database executor (``unit``), which
    may ask for more look-ups (``NeedLookups``: it rolls back, they are made, it runs again),
    (3) the network effects after it: planning new or resumed pairs (in the planner's thread).
    When writes fail (disk full, read-only) what only reads still answers (``readonly_unit``)."""
    metrics.INTERACTIONS.labels(ia.platform, ia.kind.value).inc()
    now = deps.now()
    watch = faults.watch_for(deps.db)
    long_job = bulk.is_long_job(ia)  # long admin jobs (import, export) take the background lane
    run = deps.db.run_background if long_job else deps.db.run
    try:
        try:
            out = await _units(deps, ia, now, run, readonly=False)
        except Exception as exc:
            fault = faults.classify(exc)
            if fault is None or not fault.writes_only:
                raise
            # Writes are failing (disk full, read-only): answer what only reads, without the
            # incidental writes (who acted, the audit trail); what must write fails below.
            watch.saw(fault)
            out = await _units(deps, ia, now, run, readonly=True)
        else:
            await watch.settle()
        if out.touched_pairs:  # new or resumed pairs get their kickoff planned now, not in 15 minutes
            if long_job:  # an import's thousands of new pairs: planned on the background lane too
                await run(planner.plan, deps.db, deps.settings, now, pair_ids=out.touched_pairs)
            else:
                await asyncio.to_thread(planner.plan, deps.db, deps.settings, now, pair_ids=out.touched_pairs)
        return out.response
    except Exception as exc:
        fault = watch.failed(exc)
        if fault is not None:  # logged once per state change by the watch, never a traceback per click
            return Response(reply=say(faults.answer_for(fault)))
        _LOGGER.exception("interaction failed", extra={"platform": ia.platform, "kind": ia.kind.value,
                                                       "action": ia.action_id})
        return Response(reply=SORRY)


async def _units(deps: Deps, ia: Interaction, now: datetime, run: Callable[..., Awaitable[Any]], *,
                 readonly: bool) -> Outcome:
    profile = ia.profile
    if profile is None:
        known, ref = await deps.db.run(_who, deps, ia)
        plat = deps.platforms.get(ia.platform)
        if not known and plat is not None and ref is not None and not readonly:
            try:
                profile = await plat.profile(ref, ia.user)
            except Exception as exc:  # a profile is nice to have, not required
                _LOGGER.info("profile lookup failed: %s", type(exc).__name__)
    lookups = Lookups()
    first = True
    for _ in range(MAX_ROUNDS):
        out = await run(readonly_unit if readonly else unit, deps, ia, now, profile, lookups, first)
        first = False
        if isinstance(out, Outcome):
            return out
        await look_up(deps, out, lookups)
    raise RuntimeError("platform look-ups did not settle")


def readonly_unit(deps: Deps, ia: Interaction, now: datetime, profile: Profile | None, lookups: Lookups,
                  first: bool) -> Outcome | NeedLookups:
    """``unit`` while writes fail: nothing incidental is written (no event marker, no profile refresh,
    no audit row); reads answer as usual and anything that must write fails at its commit."""
    with deps.db.session() as s:
        ws = directory.get_workspace(s, ia.platform, ia.workspace)
        me = directory.get_person(s, ws.id, ia.user) if ws is not None and ws.id is not None else None
        if ws is None or me is None:  # someone new: storing them is the first thing to do
            return Outcome(Response(reply=say(faults.words()["cant_save"])), [])
        turn = Turn(deps, s, ia, ws, me, now, lookups=lookups, readonly=True)
        resp = _answer(turn)
        if isinstance(resp, NeedLookups):
            return resp
        return Outcome(signed(turn, resp), list(turn.touched_pairs) if turn.plan_after else [])


def _who(deps: Deps, ia: Interaction) -> tuple[bool, WorkspaceRef | None]:
    """Whether the person is stored already, and the workspace to ask the platform in."""
    with deps.db.session() as s:
        ws = directory.get_workspace(s, ia.platform, ia.workspace)
        known = ws is not None and directory.get_person(s, ws.id, ia.user) is not None  # type: ignore[arg-type]
        return known, directory.workspace_ref(ws, deps.box) if ws is not None else None


async def look_up(deps: Deps, need: NeedLookups, lookups: Lookups) -> None:
    """Ask the platform for what a unit of work needs (no transaction is open here). A failed
    look-up counts as "not found", as before."""
    ref = need.workspace
    plat = deps.platforms.get(ref.platform) if ref is not None else None

    async def profile(ext: str) -> None:
        try:
            lookups.profiles[ext] = await plat.profile(ref, ext) if plat is not None and ref else None
        except Exception:
            lookups.profiles[ext] = None

    async def emails() -> None:  # many at once where the platform can (bot.chat.bulk)
        lookups.emails.update(await bulk.look_up_emails(plat, ref, need.emails))

    await asyncio.gather(*(profile(x) for x in sorted(need.profiles)), emails())


def unit(deps: Deps, ia: Interaction, now: datetime, profile: Profile | None, lookups: Lookups,
         first: bool) -> Outcome | NeedLookups:
    """The interaction's one synchronous unit of work (runs on the database executor): every read
    and write, the response, its signatures. Returns ``NeedLookups`` (after rolling back) when a
    command needs the platform first."""
    with deps.db.session() as s:
        if ia.event_id and first:
            s.add(ProcessedEvent(platform=ia.platform, event_id=ia.event_id[:200], at=now))
            try:
                s.flush()
            except IntegrityError:
                s.rollback()
                return Outcome(Response(duplicate=True), [])
        ws = directory.upsert_workspace(s, now, ia.platform, ia.workspace, name=ia.workspace_name,
                                        reactivate=False, default_tz=deps.settings.default_tz)
        me = directory.upsert_person(s, now, ws.id, profile or Profile(external_id=ia.user),  # type: ignore[arg-type]
                                     address=ia.address)
        s.commit()  # who acted (and the dedupe marker) stands even if the request is refused
        turn = Turn(deps, s, ia, ws, me, now, lookups=lookups)
        try:
            resp = _answer(turn)
        except Exception:
            s.rollback()
            if ia.event_id:  # let the platform's retry try again
                s.execute(delete(ProcessedEvent).where(
                    ProcessedEvent.platform == ia.platform,  # type: ignore[arg-type]
                    ProcessedEvent.event_id == ia.event_id[:200]))  # type: ignore[arg-type]
                s.commit()
            raise
        if isinstance(resp, NeedLookups):
            return resp
        resp = signed(turn, resp)
        if ia.inbox_id is not None and not inbox.mark_answered(s, ia.inbox_id, wire.dump(resp), deps.box):
            s.rollback()  # an earlier attempt (or another replica) already did this work
            return Outcome(Response(duplicate=True), [])
        return Outcome(resp, list(turn.touched_pairs) if turn.plan_after else [])


def _answer(turn: Turn) -> Response | NeedLookups:
    """The turn's answer. Bad input changes nothing: the unit rolls back and only the refusal is audited
    (not while writes fail: ``Turn.audit`` is skipped then). A command that needs the platform first
    rolls back and returns ``NeedLookups`` naming the workspace to ask in."""
    s, ia = turn.session, turn.interaction
    try:
        return dispatch(turn)
    except NeedLookups as need:
        s.rollback()
        need.workspace = directory.workspace_ref(turn.workspace, turn.deps.box)
        return need
    except UserError as exc:
        s.rollback()
        turn.touched_pairs.clear()
        if isinstance(exc, NotAdmin):
            turn.audit(f"refused.{exc.command}", ok=False, detail={"reason": "not an admin"})
        elif isinstance(exc, Refused):
            turn.audit(f"refused.{ia.kind.value}", ia.action_id[:64], ok=False, detail={"reason": exc.reason})
            _LOGGER.warning("refused %s %s: %s", ia.kind.value, ia.action_id[:64], exc.reason)
        return Response(errors=exc.errors) if isinstance(exc, FormErrors) else Response(reply=say(str(exc)))


def dispatch(turn: Turn) -> Response:
    ia = turn.interaction
    if ia.kind == InteractionKind.ACTION:
        return on_action(turn)
    if ia.kind == InteractionKind.SUBMIT:
        return on_submit(turn)
    if ia.kind == InteractionKind.COMMAND or is_command(ia.text):
        turn.plan_after = True
        return run(turn, ia.text)
    return Response(reply=say(t("entry.not_a_command")))


HOME_ACTIONS = {Actions.HOME_CHECKIN, Actions.HOME_LIGHT, Actions.HOME_SNOOZE, Actions.HOME_RESUME,
                Actions.HOME_REPORT, Actions.HOME_EXPORT, Actions.WIN_OPEN}


def on_action(turn: Turn) -> Response:
    aid = turn.interaction.action_id
    if aid in HOME_ACTIONS:
        return home_action(turn, aid)
    rule = ACTIONS.get(aid)
    if rule is None:
        raise Refused("unknown action", t("refused.unknown_button"))
    p, ctx, answer = authorised_prompt(turn, aid, turn.interaction.value, rule.kinds, rule.roles)
    return rule.handler(turn, p, ctx, answer)


def on_submit(turn: Turn) -> Response:
    fid = turn.interaction.action_id
    plain_handler = PLAIN_FORMS.get(fid)
    if plain_handler is not None:
        return plain_handler(turn, turn.interaction)
    rule = FORMS.get(fid)
    if rule is None:
        raise Refused("unknown form", t("refused.unknown_form"))
    p, ctx, _ = authorised_prompt(turn, fid, turn.interaction.value, rule.kinds, rule.roles, form=True)
    return rule.handler(turn, p, ctx, turn.interaction)
