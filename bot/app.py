"""``Momentum``: the core's facade, the one object adapters talk to.

It holds the database, the clock, the settings and the registered platforms, and
exposes what the edges need: ``handle`` an interaction, ``plan`` and
``deliver_due`` prompts, register installs and people, render App Home.

The facade is async all through and the event loop never waits on the database: ``handle`` and
``deliver_due`` run their units of work on the database executor (``db.run``), and so do installs,
people, addresses and App Home (``await m.upsert_person(...)``), whose synchronous units live in
``Units`` (``m.units``) for callers already off the loop (the CLI, seeding scripts, tests).
``plan`` blocks for seconds: the scheduler runs it in its own thread.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from cachetools import TTLCache
from sqlalchemy.exc import IntegrityError

from bot.chat import entry, home, quick
from bot.content.kinds import PromptKind
from bot.domain import digest, roster
from bot.domain import people as directory
from bot.model import metrics
from bot.model.clock import Clock, SystemClock
from bot.model.config import Settings
from bot.model.deps import Deps
from bot.model.interactions import Interaction, Profile, Response
from bot.model.messages import Message
from bot.model.ports import Platform, WorkspaceRef
from bot.model.signing import Signer, derive_key
from bot.outbox import delivery, planner
from storage.crypto import SecretBox
from storage.db import Database
from storage.models import AppSecret, AuditLog

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

# ``quick``: how long whether someone is an admin is kept (another replica's change shows within this)
STANDING_TTL_S = 60.0
QUICK_WAIT_S = 1.0  # a quick answer waits this long for that read, then the usual path takes over


@dataclass
class PersonInfo:
    id: int
    workspace_id: int
    external_id: str
    name: str


class Momentum:
    def __init__(
        self,
        db: Database,
        settings: Settings | None = None,
        clock: Clock | None = None,
        platforms: Mapping[str, Platform] | None = None,
    ) -> None:
        settings = settings or Settings()
        keys = settings.secret_keys  # the current key seals; the previous one only reads
        self.deps = Deps(
            db=db, settings=settings, clock=clock or SystemClock(), platforms=dict(platforms or {}),
            box=SecretBox(keys) if keys else None, make_signer=self._make_signer,
            composers={PromptKind.ADMIN_DIGEST.value: digest.compose(settings)},
        )
        self._turns = entry.Turns()
        self.units = Units(self.deps)
        self._standing: TTLCache[tuple[str, str, str], bool] = TTLCache(maxsize=10_000, ttl=STANDING_TTL_S)

    # The facade's parts, for the edges (the core's functions get ``deps``).
    @property
    def db(self) -> Database:
        return self.deps.db

    @property
    def settings(self) -> Settings:
        return self.deps.settings

    @property
    def clock(self) -> Clock:
        return self.deps.clock

    @property
    def platforms(self) -> dict[str, Platform]:
        return self.deps.platforms

    @property
    def box(self) -> SecretBox | None:
        return self.deps.box

    @property
    def signer(self) -> Signer:
        return self.deps.signer

    def _make_signer(self) -> Signer:
        """Signs and checks button values: keyed by ``MOMENTUM_SECRET_KEY`` (its first key signs; the others
        and ``MOMENTUM_SECRET_KEY_PREVIOUS`` still verify), or by a
        random key the database keeps for every replica when none is configured."""
        key = self.settings.secret_key
        if key:
            current, *older = [k.strip() for k in (self.settings.secret_keys or "").split(",") if k.strip()]
            return Signer(derive_key(current), tuple(derive_key(k) for k in older))
        return Signer(derive_key(self._stored_secret("actions")))

    def _stored_secret(self, name: str) -> bytes:
        with self.db.session() as s:
            row = s.get(AppSecret, name)
            if row is not None:
                return row.value
        try:
            with self.db.session() as s:
                s.add(AppSecret(name=name, value=secrets.token_bytes(32), created_at=self.now()))
        except IntegrityError:  # another replica made it first: use theirs
            pass
        with self.db.session() as s:
            row = s.get(AppSecret, name)
            assert row is not None
            return row.value

    # --- wiring -------------------------------------------------------------------------------

    def register_platform(self, platform: Platform) -> None:
        self.platforms[platform.name] = platform

    def now(self) -> datetime:
        return self.clock.now()

    # --- inbound ------------------------------------------------------------------------------

    async def handle(self, interaction: Interaction) -> Response:
        """The one entry point for everything people do: buttons, forms, commands, messages."""
        try:
            async with self._turns.turn(interaction):  # one person's interactions in the order they came
                return await entry.handle(self.deps, interaction)
        finally:
            self._standing.clear()  # it may have changed who is an admin (or who we know)

    async def quick(self, interaction: Interaction) -> Response | None:
        """The answer to a command that needs no unit of work (``bot.chat.quick``: ``help``) for someone
        we know, or None: use ``handle``. Nothing is written. Whether they are an admin is one indexed
        read on the database's ack lane, kept ``STANDING_TTL_S`` (dropped whenever this process handles
        anything else, so a change made here shows at once)."""
        is_help, intro = quick.help_intro(interaction)
        if not is_help:
            return None
        key = (interaction.platform, interaction.workspace, interaction.user)
        admin = self._standing.get(key)
        if admin is None:
            try:
                admin = await asyncio.wait_for(self.db.run_ack(self.units.admin_standing, *key), QUICK_WAIT_S)
            except Exception as exc:  # the usual path knows how to answer while the database is away
                _LOGGER.info("quick answer skipped: %s", type(exc).__name__)
                return None
            if admin is None:
                return None
            self._standing[key] = admin
        metrics.INTERACTIONS.labels(interaction.platform, interaction.kind.value).inc()
        return quick.answer(admin, intro)

    # --- installs, people and views: each a unit of work (``Units``) on the database executor ---------

    async def upsert_workspace(
        self,
        platform: str,
        external_id: str,
        *,
        name: str | None = None,
        credentials: Mapping[str, Any] | None = None,
    ) -> int:
        return await self.db.run(self.units.upsert_workspace, platform, external_id, name=name,
                                 credentials=credentials)

    async def workspace_ref(self, platform: str, external_id: str) -> WorkspaceRef | None:
        return await self.db.run(self.units.workspace_ref, platform, external_id)

    async def set_workspace_status(self, platform: str, external_id: str, status: str, reason: str | None) -> None:
        """Mark an install uninstalled (``app_uninstalled``, ``tokens_revoked``) or active again."""
        return await self.db.run(self.units.set_workspace_status, platform, external_id, status, reason)

    async def upsert_person(
        self,
        platform: str,
        workspace_external_id: str,
        profile: Profile,
        *,
        address: Mapping[str, Any] | None = None,
        workspace_name: str | None = None,
    ) -> PersonInfo:
        """Store or refresh a person (installs, roster reads, ``user_change``)."""
        self._standing.clear()
        return await self.db.run(self.units.upsert_person, platform, workspace_external_id, profile,
                                 address=address, workspace_name=workspace_name)

    async def store_people(
        self, platform: str, workspace_external_id: str, entries: Sequence[roster.RosterEntry]
    ) -> roster.RosterStats:
        """Store a page of a roster in one unit of work (``bot.domain.roster``)."""
        self._standing.clear()
        return await self.db.run(self.units.store_people, platform, workspace_external_id, entries)

    async def mark_unreachable(
        self, platform: str, workspace_external_id: str, external_id: str, reason: str | None
    ) -> None:
        """Stop (or with ``reason=None`` resume) delivering to one person; shown in ``report``."""
        return await self.db.run(self.units.mark_unreachable, platform, workspace_external_id, external_id, reason)

    async def addresses(self, platform: str, workspace_external_id: str) -> dict[str, dict[str, Any]]:
        return await self.db.run(self.units.addresses, platform, workspace_external_id)

    async def person_address(
        self, platform: str, workspace_external_id: str, external_id: str
    ) -> dict[str, Any] | None:
        return await self.db.run(self.units.person_address, platform, workspace_external_id, external_id)

    async def app_home(self, platform: str, workspace_external_id: str, user_external_id: str) -> Message:
        """The personal home view (Slack App Home, Teams personal tab / welcome card)."""
        return await self.db.run(self.units.app_home, platform, workspace_external_id, user_external_id)

    def team_welcome(self) -> Message:
        """What the bot says when it is added to a team or channel (no database)."""
        return home.team_welcome()

    async def home_view(self, platform: str, workspace_external_id: str, user_external_id: str,
                        render: Callable[[Message], T]) -> T:
        """The home view read and rendered in one call on the database executor (rendering a whole view
        is milliseconds of CPU: too long for the event loop)."""
        return await self.db.run(lambda: render(self.units.app_home(platform, workspace_external_id,
                                                                     user_external_id)))

    # --- time-driven work ---------------------------------------------------------------------

    def plan(self, now: datetime | None = None, *, pair_ids: list[int] | None = None) -> planner.PlanStats:
        """Plan due prompts (blocking: the server runs it in a worker thread)."""
        return planner.plan(self.db, self.settings, now or self.now(), pair_ids=pair_ids)

    async def deliver_due(
        self, now: datetime | None = None, *, worker_id: str | None = None, limit: int | None = None
    ) -> delivery.DeliveryStats:
        worker = delivery.DeliveryWorker(self.deps, worker_id=worker_id)
        return await worker.deliver_due(now or self.now(), limit=limit)


class Units:
    """The facade's synchronous units of work (each opens and commits its own transaction). The async
    facade runs them on the database executor; callers already off the event loop (the CLI, seeding
    scripts, tests) may call them directly."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def admin_standing(self, platform: str, workspace_external_id: str, external_id: str) -> bool | None:
        with self.deps.db.session() as s:
            return directory.admin_standing(s, platform, workspace_external_id, external_id,
                                            self.deps.settings.admin_emails)

    # --- installs and people ------------------------------------------------------------------

    def upsert_workspace(
        self,
        platform: str,
        external_id: str,
        *,
        name: str | None = None,
        credentials: Mapping[str, Any] | None = None,
    ) -> int:
        with self.deps.db.session() as s:
            ws = directory.upsert_workspace(
                s, self.deps.now(), platform, external_id, name=name, credentials=credentials, box=self.deps.box,
                default_tz=self.deps.settings.default_tz,
            )
            assert ws.id is not None
            return ws.id

    def workspace_ref(self, platform: str, external_id: str) -> WorkspaceRef | None:
        with self.deps.db.session() as s:
            ws = directory.get_workspace(s, platform, external_id)
            return directory.workspace_ref(ws, self.deps.box) if ws else None

    def set_workspace_status(self, platform: str, external_id: str, status: str, reason: str | None) -> None:
        """Mark an install uninstalled (``app_uninstalled``, ``tokens_revoked``) or active again."""
        with self.deps.db.session() as s:
            ws = directory.get_workspace(s, platform, external_id)
            if ws is None:
                return
            ws.status, ws.status_reason = status, reason
            s.add(AuditLog(workspace_id=ws.id, action=f"workspace.{status}", target=external_id,
                           detail={"reason": reason} if reason else None, at=self.deps.now()))

    def upsert_person(
        self,
        platform: str,
        workspace_external_id: str,
        profile: Profile,
        *,
        address: Mapping[str, Any] | None = None,
        workspace_name: str | None = None,
    ) -> PersonInfo:
        """Store or refresh a person (installs, roster reads, ``user_change``)."""
        with self.deps.db.session() as s:
            ws = directory.get_workspace(s, platform, workspace_external_id)
            if ws is None:
                ws = directory.upsert_workspace(
                    s, self.deps.now(), platform, workspace_external_id, name=workspace_name,
                    default_tz=self.deps.settings.default_tz,
                )
            assert ws.id is not None
            p = directory.upsert_person(s, self.deps.now(), ws.id, profile, address=address)
            assert p.id is not None
            return PersonInfo(p.id, ws.id, p.external_id, p.name)

    def store_people(
        self, platform: str, workspace_external_id: str, entries: Sequence[roster.RosterEntry]
    ) -> roster.RosterStats:
        """Store a page of a roster in one unit of work (``bot.domain.roster``). Two readers inserting the
        same newcomer at once: the loser's unit runs again and finds them."""
        for attempt in (1, 2):
            try:
                with self.deps.db.session() as s:
                    ws = directory.get_workspace(s, platform, workspace_external_id)
                    if ws is None:
                        ws = directory.upsert_workspace(s, self.deps.now(), platform, workspace_external_id,
                                                        default_tz=self.deps.settings.default_tz)
                    assert ws.id is not None
                    return roster.store_people(s, self.deps.now(), ws.id, entries)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def mark_unreachable(
        self, platform: str, workspace_external_id: str, external_id: str, reason: str | None
    ) -> None:
        """Stop (or with ``reason=None`` resume) delivering to one person; shown in ``report``."""
        with self.deps.db.session() as s:
            ws = directory.get_workspace(s, platform, workspace_external_id)
            if ws is None or ws.id is None:
                return
            p = directory.get_person(s, ws.id, external_id)
            if p is None:
                return
            p.unreachable_reason = reason
            s.add(AuditLog(workspace_id=ws.id, actor_id=p.id,
                           action="person.unreachable" if reason else "person.reachable",
                           target=p.external_id, detail={"reason": reason} if reason else None,
                           at=self.deps.now()))

    def addresses(self, platform: str, workspace_external_id: str) -> dict[str, dict[str, Any]]:
        """Stored addresses (conversation references, DM channels) by person external id."""
        with self.deps.db.session() as s:
            ws = directory.get_workspace(s, platform, workspace_external_id)
            if ws is None or ws.id is None:
                return {}
            return directory.addresses(s, ws.id)

    def person_address(self, platform: str, workspace_external_id: str, external_id: str) -> dict[str, Any] | None:
        with self.deps.db.session() as s:
            ws = directory.get_workspace(s, platform, workspace_external_id)
            p = directory.get_person(s, ws.id, external_id) if ws is not None and ws.id is not None else None
            return dict(p.address) if p is not None and p.address else None

    # --- views --------------------------------------------------------------------------------

    def app_home(self, platform: str, workspace_external_id: str, user_external_id: str) -> Message:
        """The personal home view (Slack App Home, Teams personal tab / welcome card)."""
        return home.app_home(self.deps, platform, workspace_external_id, user_external_id)
