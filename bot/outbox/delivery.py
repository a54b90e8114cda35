"""The delivery worker: claims due prompts with a lease, sends them, records the outcome.

Safe with any number of workers on one PostgreSQL: a claim is one
``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)``, so two workers
never hold the same prompt; a worker that dies mid-batch simply lets its lease
expire and another one takes over.  A prompt can therefore be sent twice only
if its worker died after the platform accepted it and before the outcome was
written (at most one batch in flight).

Leases are measured on the worker's own elapsed time, not only on the ``now`` it
was called with: one ``deliver_due`` call may run for longer than a lease, and
every batch it claims must still be protected for a full lease.  A worker never
starts a send once its lease is nearly over (it releases the prompt instead), and
it only writes a retry/dead/cancelled outcome while it still holds the lease.

Outcomes: ``sent`` (with the platform reference, so the message can be updated),
retried with exponential backoff honouring ``Retry-After``, ``dead`` with the
reason after a permanent failure or too many attempts, ``cancelled`` when the
pair or person stopped wanting it after it was planned.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, exists, func, insert, literal, or_, select, update
from sqlalchemy.engine import Connection
from sqlmodel import Session
from sqlmodel.sql.sqltypes import UTCDateTime

from bot.content.kinds import RETIRED, PromptKind
from bot.content.prompts import compose
from bot.model import facts, metrics, wire
from bot.model.deps import Deps
from bot.model.messages import Buttons, Message
from bot.model.ports import Delivered, FailureScope, Platform, PlatformError, Recipient, WorkspaceRef
from bot.outbox.admin import load_admin_rows
from bot.outbox.faults import ride_out, watch_for
from bot.outbox.loader import context_from_row, digests_for, history_for, load_rows
from storage.crypto import DecryptionError
from storage.models import Pair, Person, Prompt, Touchpoint, Workspace

_LOGGER = logging.getLogger(__name__)

BACKOFF_BASE_S = 30.0
BACKOFF_MAX_S = 6 * 3600.0
LEASE_SAFETY = 0.8  # no send starts after this fraction of the lease has passed since the claim
STALE_AFTER = timedelta(days=2)  # a prompt this late is no longer worth sending
# What one person sends the other: held through the recipient's snooze or pause, never cancelled.
PARTNER_SENT = frozenset({PromptKind.AGENDA.value, PromptKind.SHARED_NOTE.value})
OUTLIVE_PAIR = frozenset({PromptKind.WRAPUP.value, PromptKind.FORWARD_ALERT.value, PromptKind.STALL_ALERT.value,
                          *PARTNER_SENT})

P = Prompt.__table__  # type: ignore[attr-defined]
Pa = Pair.__table__  # type: ignore[attr-defined]
Pe = Person.__table__  # type: ignore[attr-defined]
W = Workspace.__table__  # type: ignore[attr-defined]


@dataclass
class DeliveryStats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    cancelled: int = 0
    released: int = 0  # claimed but not attempted (the lease ran short): back in the queue
    reasons: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def merge(self, other: DeliveryStats) -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.retried += other.retried
        self.dead += other.dead
        self.cancelled += other.cancelled
        self.released += other.released
        for k, v in other.reasons.items():
            self.reasons[k] += v


@dataclass
class Loaded:
    """What one claimed batch needs to be composed: rows, sponsor digests, people, pair histories."""

    rows: list[Any]
    digests: dict[int, Any]
    people: dict[int, Any]
    histories: dict[int, Any]
    admin: list[tuple[Any, Message | None]] = field(default_factory=list)  # admin prompts, composed


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{random.randrange(1 << 16):04x}"


def _record_contact(conn: Connection, outcomes: list[Outcome], now: datetime) -> None:
    """A shared note or agenda reached its reader: a "shared" touch of the pair (once per prompt, even if
    the record is written twice), and the pair's last contact moves to now."""
    T = Touchpoint.__table__  # type: ignore[attr-defined]
    for o in outcomes:
        key = f"delivered:{o.prompt_id}"
        author = select(case((Pa.c.sponsor_id == o.recipient_id, Pa.c.sponsoree_id), else_=Pa.c.sponsor_id)).where(
            Pa.c.id == o.pair_id).scalar_subquery()
        conn.execute(insert(T).from_select(
            ["pair_id", "author_id", "kind", "source", "source_key", "shared", "occurred_at"],
            select(literal(o.pair_id), author, literal("shared"), literal("delivery"), literal(key), literal(False),
                   literal(now, UTCDateTime())).where(~exists().where(T.c.source_key == key))))
    conn.execute(
        update(Pa).where(Pa.c.id == bindparam("pid"), or_(Pa.c.last_touch_at.is_(None), Pa.c.last_touch_at < now))
        .values(last_touch_at=now, last_two_way_at=now, stall_reported_at=None),
        [{"pid": o.pair_id} for o in outcomes])


def _lock(conn: Connection, table: Any, ids: set[int]) -> None:
    """``SELECT ... FOR UPDATE`` of these rows in id order (nothing on SQLite, whose writers queue)."""
    if ids and conn.dialect.name == "postgresql":
        conn.execute(select(table.c.id).where(table.c.id.in_(sorted(ids))).order_by(table.c.id).with_for_update())


def backoff(attempts: int, retry_after: float | None) -> float:
    """Exponential backoff with jitter; never sooner than the platform asked."""
    base = min(BACKOFF_MAX_S, BACKOFF_BASE_S * (2 ** max(0, attempts - 1)))
    delay = base * (0.5 + random.random() / 2)
    return max(delay, retry_after or 0.0)


@dataclass
class Outcome:
    prompt_id: int
    status: str  # sent | retry | dead | cancelled | released
    ref: dict[str, Any] | None = None
    addresses: dict[int, dict[str, Any]] = field(default_factory=dict)
    reason: str | None = None
    retry_at: datetime | None = None
    scope: FailureScope | None = None
    recipient_id: int | None = None
    workspace_id: int | None = None
    kind: str = ""
    pair_id: int | None = None
    platform: str = ""
    lag_s: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    shown: dict[str, Any] | None = None  # the message as sent (bot.model.wire)
    period: str = ""


class DeliveryWorker:
    def __init__(self, deps: Deps, *, worker_id: str | None = None) -> None:
        self.deps = deps
        self.worker_id = worker_id or default_worker_id()
        s = deps.settings
        self.batch = s.worker_batch
        self.concurrency = s.worker_concurrency
        self.lease = timedelta(seconds=s.lease_s)
        self.max_attempts = s.max_attempts
        self._clock = time.monotonic
        self._started = self._clock()  # ``now`` is taken to be this moment; see _elapsed()
        self._claimed_at = self._started

    def _elapsed(self) -> timedelta:
        """Real time since ``deliver_due`` started: ``now`` plus this is the present moment."""
        return timedelta(seconds=max(0.0, self._clock() - self._started))

    def _lease_left(self) -> float:
        """Seconds a send may still take before the claim's safety margin is used up."""
        return self.lease.total_seconds() * LEASE_SAFETY - (self._clock() - self._claimed_at)

    def _lease_ok(self) -> bool:
        return self._lease_left() > 0

    # --- claiming -------------------------------------------------------------------------------

    def _live_workspaces(self, conn: Connection) -> list[int]:
        names = list(self.deps.platforms)
        if not names:
            return []
        rows = conn.execute(
            select(W.c.id).where(W.c.status == "active", W.c.platform.in_(names))
        ).scalars().all()
        return [int(x) for x in rows]

    def claim(self, now: datetime, limit: int) -> list[int]:
        """Lease up to ``limit`` due prompts to this worker.

        PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets concurrent workers claim disjoint rows.
        SQLite has one writer at a time, so the same statement is atomic there as it is.
        """
        started = self._clock()
        present = now + self._elapsed()  # ``now`` may be the start of a long deliver_due run
        with self.deps.db.engine.begin() as conn:
            ws = self._live_workspaces(conn)
            if not ws:
                return []
            due = (
                select(P.c.id)
                .where(
                    P.c.status.in_(("pending", "sending")),
                    P.c.next_attempt_at <= now,
                    or_(P.c.lease_until.is_(None), P.c.lease_until < present),
                    P.c.workspace_id.in_(ws),
                )
                .order_by(P.c.next_attempt_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            stmt = (
                update(P)
                .where(P.c.id.in_(due.scalar_subquery()))
                .values(status="sending", lease_owner=self.worker_id, lease_until=present + self.lease,
                        attempts=P.c.attempts + 1)
                .returning(P.c.id)
            )
            self._claimed_at = started
            ids = conn.execute(stmt).scalars().all()
            return sorted(int(i) for i in ids)

    # --- the loop ---------------------------------------------------------------------------------

    async def deliver_due(self, now: datetime, *, limit: int | None = None) -> DeliveryStats:
        """Deliver everything due at ``now``; returns when nothing claimable is left (or ``limit``)."""
        total = DeliveryStats()
        self._started = self._clock()
        while limit is None or total.claimed < limit:
            n = self.batch if limit is None else min(self.batch, limit - total.claimed)
            ids = await self.deps.db.run(self.claim, now, n)
            if not ids:
                break
            total.merge(await self.deliver_batch(ids, now))
            if len(ids) < n:
                break
        return total

    def load(self, ids: list[int], now: datetime) -> Loaded:
        """Everything the batch's messages need, read in one connection (on the database executor)."""
        _ = self.deps.signer  # the signing key may come from the database: read it here, not on the loop
        with self.deps.db.engine.connect() as conn:
            rows = load_rows(conn, ids)
            return Loaded(
                rows=rows,
                digests=digests_for(conn, rows, now),
                people=self._people(conn, rows),
                histories={r.pair_id: history_for(conn, r.pair_id) for r in rows if r.kind in ("review", "wrapup")},
                admin=self._load_admin(conn, ids, now),
            )

    def _load_admin(self, conn: Connection, ids: list[int], now: datetime) -> list[tuple[Any, Message | None]]:
        """Admin prompts (no pair) are composed here, on the database executor, by the kind's composer."""
        out: list[tuple[Any, Message | None]] = []
        for r in load_admin_rows(conn, ids):
            composer = self.deps.composers.get(r.kind)
            with Session(bind=conn) as session:
                out.append((r, composer(session, r, now) if composer else None))
        return out

    async def deliver_batch(self, ids: list[int], now: datetime) -> DeliveryStats:
        """Load (database executor), send (event loop), record (database executor)."""
        batch = await self.deps.db.run(self.load, ids, now)
        rows, digests, people, histories = batch.rows, batch.digests, batch.people, batch.histories
        sem = asyncio.Semaphore(self.concurrency)

        async def one(r: Any) -> Outcome:
            async with sem:
                return await self._deliver_one(r, now, digests.get(r.id), people, histories.get(r.pair_id))

        async def one_admin(r: Any, message: Message | None) -> Outcome:
            async with sem:
                return await self._deliver_admin(r, message, now)

        outcomes = list(await asyncio.gather(*(one(r) for r in rows), *(one_admin(r, m) for r, m in batch.admin)))
        # What was sent is recorded even through a database outage (dropped, its lease would run out
        # and it would go out again): the record is retried with backoff while the lease holds.
        return await ride_out(watch_for(self.deps.db), lambda: self.deps.db.run(self._record, outcomes, now),
                              give_up_after_s=max(1.0, self.lease.total_seconds() - (self._clock() - self._claimed_at)))

    # --- one prompt ---------------------------------------------------------------------------------

    def _cancel_reason(self, r: Any, now: datetime) -> str | None:
        # The wrap-up, what one person shares with the other at the end, and the admins' alerts
        # outlive the pair.
        closing = r.kind in OUTLIVE_PAIR and r.pair_status == "ended"
        if (r.pair_status != "active" and not closing) or r.program_status != "active":
            return f"pair {r.pair_status}"
        if r.ws_status != "active":
            return "workspace uninstalled"
        if now - r.due_at > STALE_AFTER and r.kind != PromptKind.KICKOFF and r.kind not in PARTNER_SENT:
            return "too late"
        if r.kind in RETIRED:
            return "retired kind"
        if r.kind == PromptKind.FOLLOWUP and (r.booked_at is not None or r.agreed_at is not None or r.meetings):
            return "first chat already booked"
        return None

    @staticmethod
    def _people(conn: Connection, rows: list[Any]) -> dict[int, Any]:
        """Everyone the batch may write to, in one query (their state decides whether to send)."""
        ids = {pid for r in rows for pid in ((r.sponsor_id, r.sponsoree_id) if r.audience == "pair"
                                              else (r.recipient_id,))}
        if not ids:
            return {}
        q = select(Pe.c.id, Pe.c.opted_out, Pe.c.paused, Pe.c.snoozed_until, Pe.c.unreachable_reason,
                   Pe.c.forgotten).where(Pe.c.id.in_(sorted(ids)))
        return {int(p.id): p for p in conn.execute(q)}

    @staticmethod
    def _back_at(person_id: int, now: datetime, people: dict[int, Any]) -> datetime:
        p = people.get(person_id)
        if p is not None and p.snoozed_until is not None and p.snoozed_until > now and not p.paused:
            return p.snoozed_until  # type: ignore[no-any-return]
        return now + timedelta(days=1)  # paused: look again tomorrow

    def _person_block(self, person_id: int, now: datetime, people: dict[int, Any]) -> str | None:
        p = people.get(person_id)
        if p is None:
            return "person gone"
        if p.opted_out or p.forgotten:
            return "opted out"
        if p.paused:
            return "paused"
        if p.unreachable_reason:
            return f"unreachable: {p.unreachable_reason}"
        if p.snoozed_until is not None and p.snoozed_until > now:
            return "snoozed"
        return None

    async def _deliver_one(self, r: Any, now: datetime, dig: Any, people: dict[int, Any],
                           history: Any = None) -> Outcome:
        out = Outcome(prompt_id=r.id, status="sent", recipient_id=r.recipient_id, workspace_id=r.ws_id,
                      kind=r.kind, pair_id=r.pair_id, platform=r.platform, period=r.period or "")
        reason = self._cancel_reason(r, now)
        if reason is None:
            ids = [r.sponsor_id, r.sponsoree_id] if r.audience == "pair" else [r.recipient_id]
            for pid in ids:
                reason = self._person_block(pid, now, people)
                if reason:
                    break
        if reason in ("snoozed", "paused") and r.kind in PARTNER_SENT:
            # Words one person sends the other are held for the recipient's break, never dropped.
            out.status, out.reason = "deferred", reason
            out.retry_at = self._back_at(r.recipient_id, now, people)
            return out
        if reason:
            out.status, out.reason = "cancelled", reason
            return out
        if not self._lease_ok():  # another worker may take it over soon: never send without a lease
            out.status = "released"
            return out
        platform: Platform = self.deps.platforms[r.platform]

        def start(ws: WorkspaceRef) -> Awaitable[Delivered]:
            ctx = context_from_row(r, now, dig, history)
            message: Message = compose(ctx)
            out.meta = dict(message.meta)
            out.shown = wire.dump(message)  # what it says, as sent: a tap keeps it (before signing)
            if r.kind == PromptKind.NUDGE:
                done = next((b.label for blk in message.blocks if isinstance(blk, Buttons) for b in blk.buttons
                             if b.action_id in ("nudge.done", "nudge.ask_goal")), "Done")
                out.meta["done"] = done
            recipient_ext = r.rc_ext
            message = self.deps.signer.message(message, f"pair:{r.pair_id}" if r.audience == "pair" else recipient_ext)
            sponsor = Recipient(r.sponsor_id, r.sp_ext, r.sp_name, r.sp_address)
            sponsoree = Recipient(r.sponsoree_id, r.se_ext, r.se_name, r.se_address)
            if r.audience == "pair":
                sending = platform.send_group(ws, [sponsor, sponsoree], message)
            else:
                recipient = Recipient(r.recipient_id, r.rc_ext, r.rc_name, r.rc_address)
                sending = platform.send(ws, recipient, message)
            return sending

        return await self._send(out, r, now, start)

    async def _deliver_admin(self, r: Any, message: Message | None, now: datetime) -> Outcome:
        """An admin prompt: to one admin, about programs (no pair, no buttons)."""
        out = Outcome(prompt_id=r.id, status="sent", recipient_id=r.recipient_id, workspace_id=r.ws_id,
                      kind=r.kind, platform=r.platform)
        if r.ws_status != "active":
            reason: str | None = "workspace uninstalled"
        elif now - r.due_at > STALE_AFTER:
            reason = "too late"
        elif message is None:
            reason = "no longer wanted"
        else:
            reason = self._person_block(r.recipient_id, now, {r.recipient_id: r})
        if reason:
            out.status, out.reason = "cancelled", reason
            return out
        assert message is not None
        if not self._lease_ok():
            out.status = "released"
            return out
        recipient = Recipient(r.recipient_id, r.rc_ext, r.rc_name, r.rc_address)
        platform = self.deps.platforms[r.platform]
        return await self._send(out, r, now, lambda ws: platform.send(ws, recipient, message))

    async def _send(self, out: Outcome, r: Any, now: datetime,
                    start: Callable[[WorkspaceRef], Awaitable[Delivered]]) -> Outcome:
        """Send what ``start`` starts for prompt row ``r`` and turn what happened into ``out``: sent (with
        the platform's reference), retry with backoff, dead with the reason, or released when the lease runs
        short."""
        try:
            ws = WorkspaceRef(id=r.ws_id, platform=r.platform, external_id=r.ws_ext,
                              credentials=self.deps.box.decrypt_json(r.credentials_enc)
                              if (r.credentials_enc and self.deps.box) else {})
            sending = start(ws)
            # Pacing and in-place 429 waits can be long: a send that outlives the lease could meet a
            # second copy from the replica that takes the prompt over, so it is cut off in time.
            try:
                delivered = await asyncio.wait_for(sending, timeout=self._lease_left())
            except TimeoutError:
                out.status, out.reason = "released", "lease ran short while sending"
                return out
            out.ref = dict(delivered.ref)
            out.addresses = {int(k): dict(v) for k, v in delivered.addresses.items()}
            out.lag_s = max(0.0, (now - r.due_at).total_seconds())
        except PlatformError as exc:
            out.reason, out.scope = exc.reason[:200], exc.scope
            if exc.retryable and r.attempts < self.max_attempts:
                out.status = "retry"
                out.retry_at = now + timedelta(seconds=backoff(r.attempts, exc.retry_after))
            else:
                out.status = "dead"
                if not exc.retryable:
                    out.reason = exc.reason[:200]
                else:
                    out.reason = f"gave up after {r.attempts} attempts: {exc.reason}"[:200]
                    out.scope = FailureScope.MESSAGE
        except DecryptionError:
            out.status, out.reason, out.scope = "dead", "cannot decrypt workspace credentials", FailureScope.MESSAGE
        except Exception as exc:  # a bug or an unexpected library error: retry, log the type only
            _LOGGER.exception("delivery of prompt %s failed unexpectedly", r.id)
            out.reason = f"internal: {type(exc).__name__}"
            if r.attempts < self.max_attempts:
                out.status, out.retry_at = "retry", now + timedelta(seconds=backoff(r.attempts, None))
            else:
                out.status = "dead"
        return out

    # --- recording ----------------------------------------------------------------------------------

    def _record(self, outcomes: list[Outcome], now: datetime) -> DeliveryStats:
        st = DeliveryStats(claimed=len(outcomes))
        sent = [o for o in outcomes if o.status == "sent"]
        retry = [o for o in outcomes if o.status == "retry"]
        final = [o for o in outcomes if o.status in ("dead", "cancelled")]
        released = [o for o in outcomes if o.status == "released"]
        deferred = [o for o in outcomes if o.status == "deferred"]
        mine = (P.c.id == bindparam("pid"), P.c.status == "sending", P.c.lease_owner == self.worker_id)
        with self.deps.db.engine.begin() as conn:
            if sent:
                conn.execute(
                    update(P).where(P.c.id == bindparam("pid")).values(
                        status="sent", platform_ref=bindparam("ref"), sent_at=now, lease_owner=None,
                        lease_until=None, last_error=None, phase=func.coalesce(bindparam("phase"), P.c.phase),
                        shown=bindparam("shown")),
                    [{"pid": o.prompt_id, "ref": o.ref, "phase": o.meta.get("phase"), "shown": o.shown}
                     for o in sent],
                )
            # Pairs and people are shared between workers (a pair's check-in and its sponsor's digest may
            # be claimed by two): lock the ones this batch changes in id order before changing any, so two
            # workers recording at once wait for each other instead of deadlocking (PostgreSQL; SQLite has
            # one writer). The prompts above are this worker's own (leased).
            _lock(conn, Pa, {o.pair_id for o in sent if o.pair_id is not None})
            _lock(conn, Pe, {pid for o in sent for pid in o.addresses}
                  | {o.recipient_id for o in outcomes
                     if o.status == "dead" and o.scope == FailureScope.PERSON and o.recipient_id is not None})
            if sent:
                checkins = [o for o in sent if o.kind == PromptKind.CHECKIN]
                if checkins:
                    conn.execute(
                        update(Pa).where(Pa.c.id == bindparam("pid")).values(
                            checkins_sent=Pa.c.checkins_sent + 1,
                            unanswered_checkins=Pa.c.unanswered_checkins + 1,
                            junior_offers=Pa.c.junior_offers + bindparam("offer")),
                        [{"pid": o.pair_id, "offer": int(bool(o.meta.get("offer")))} for o in checkins],
                    )
                digests = [o for o in sent if o.kind == PromptKind.NUDGE]
                if digests:  # the sponsor's side of the ghost rule, and "what's new since the last digest"
                    conn.execute(
                        update(Pa).where(Pa.c.id == bindparam("pid")).values(
                            last_digest_at=now, ignored_digests=Pa.c.ignored_digests + 1,
                            senior_offers=Pa.c.senior_offers + bindparam("offer")),
                        [{"pid": o.pair_id, "offer": int(bool(o.meta.get("offer")))} for o in digests],
                    )
                    conn.execute(
                        update(P).where(P.c.id == bindparam("pid")).values(payload=bindparam("pl")),
                        [{"pid": o.prompt_id, "pl": {"action": o.meta.get("action"), "done": o.meta.get("done")}}
                         for o in digests],
                    )
                words = [o for o in sent if o.kind in PARTNER_SENT and o.pair_id is not None
                         and facts.words_are_contact(o.period)]
                if words:  # words one shared with the other are contact once they arrive (bot.model.facts)
                    _record_contact(conn, words, now)
                phased = [o for o in sent if o.meta.get("phase_index") is not None]
                if phased:  # phases only move forward
                    conn.execute(
                        update(Pa).where(Pa.c.id == bindparam("pid"), Pa.c.phase_index < bindparam("idx"))
                        .values(phase_index=bindparam("idx")),
                        [{"pid": o.pair_id, "idx": int(o.meta["phase_index"])} for o in phased],
                    )
                addr = [{"pid": pid, "a": a} for o in sent for pid, a in o.addresses.items()]
                if addr:
                    conn.execute(update(Pe).where(Pe.c.id == bindparam("pid")).values(address=bindparam("a")), addr)
            if retry:
                conn.execute(
                    update(P).where(*mine).values(
                        status="pending", next_attempt_at=bindparam("at"), last_error=bindparam("err"),
                        lease_owner=None, lease_until=None),
                    [{"pid": o.prompt_id, "at": o.retry_at, "err": o.reason} for o in retry],
                )
            if final:
                conn.execute(
                    update(P).where(*mine).values(
                        status=bindparam("st"), last_error=bindparam("err"), lease_owner=None, lease_until=None),
                    [{"pid": o.prompt_id, "st": o.status, "err": o.reason} for o in final],
                )
            if deferred:
                conn.execute(
                    update(P).where(*mine).values(
                        status="pending", attempts=P.c.attempts - 1, next_attempt_at=bindparam("at"),
                        lease_owner=None, lease_until=None),
                    [{"pid": o.prompt_id, "at": o.retry_at} for o in deferred],
                )
            if released:
                conn.execute(
                    update(P).where(*mine).values(
                        status="pending", attempts=P.c.attempts - 1, lease_owner=None, lease_until=None),
                    [{"pid": o.prompt_id} for o in released],
                )
            for o in outcomes:
                if o.status == "dead" and o.scope == FailureScope.PERSON:
                    conn.execute(update(Pe).where(Pe.c.id == o.recipient_id).values(unreachable_reason=o.reason))
                elif o.status == "dead" and o.scope == FailureScope.WORKSPACE:
                    conn.execute(update(W).where(W.c.id == o.workspace_id).values(
                        status="uninstalled", status_reason=o.reason))
        for o in outcomes:
            if o.status == "sent":
                st.sent += 1
                metrics.PROMPTS_SENT.labels(o.kind, o.platform).inc()
                if o.lag_s is not None:
                    metrics.DELIVERY_LAG.observe(o.lag_s)
            elif o.status == "retry":
                st.retried += 1
                metrics.PROMPTS_FAILED.labels(o.platform, (o.reason or "")[:40]).inc()
            elif o.status in ("released", "deferred"):
                st.released += 1
                continue
            elif o.status == "dead":
                st.dead += 1
                metrics.PROMPTS_DEAD.labels(o.platform, (o.reason or "")[:40]).inc()
                _LOGGER.warning("prompt parked", extra={"prompt_id": o.prompt_id, "reason": o.reason})
            else:
                st.cancelled += 1
                metrics.PROMPTS_CANCELLED.labels(o.reason or "").inc()
            if o.reason:
                st.reasons[o.reason] += 1
        return st


