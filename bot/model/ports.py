"""The platform port: what delivery needs from a chat platform.

Slack, Teams and the console each provide one ``Platform``.  Errors are always
``PlatformError``, which says whether a retry makes sense and after how long.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from bot.model.interactions import Profile
from bot.model.messages import Message


@dataclass(frozen=True)
class WorkspaceRef:
    id: int
    platform: str
    external_id: str
    credentials: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Recipient:
    person_id: int
    external_id: str
    name: str
    address: Mapping[str, Any] | None = None  # stored conversation reference, DM channel, ...


@dataclass(frozen=True)
class Delivered:
    """A sent message: ``ref`` lets the platform update it later.

    ``addresses`` carries new/changed ways to reach people (person id -> address),
    which the core stores so the next send skips e.g. ``conversations.open``.
    """

    ref: Mapping[str, Any]
    addresses: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)


class FailureScope(StrEnum):
    MESSAGE = "message"  # this message only (e.g. invalid blocks)
    PERSON = "person"  # this person cannot be reached (deactivated, blocked the bot)
    WORKSPACE = "workspace"  # the whole install is gone (uninstalled, token revoked)


class PlatformError(Exception):
    """A failed platform call.

    ``retryable``: worth trying again (rate limit, 5xx, timeout).
    ``retry_after``: seconds the platform asked us to wait (429 Retry-After).
    ``scope``: for permanent failures, what can no longer be reached.
    ``reason``: a short code shown to admins (``account_inactive``, ``ConversationBlockedByUser``).
    """

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        scope: FailureScope = FailureScope.MESSAGE,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        self.scope = scope


@runtime_checkable
class Platform(Protocol):
    name: str

    async def send(self, workspace: WorkspaceRef, to: Recipient, message: Message) -> Delivered:
        """Send a direct message to one person."""
        ...

    async def send_group(
        self, workspace: WorkspaceRef, to: Sequence[Recipient], message: Message
    ) -> Delivered:
        """Send one message to several people together (a group DM where possible)."""
        ...

    async def update(self, workspace: WorkspaceRef, ref: Mapping[str, Any], message: Message) -> None:
        """Replace a message we sent earlier."""
        ...

    async def profile(self, workspace: WorkspaceRef, external_id: str) -> Profile | None:
        """Read a person's profile (name, time zone, locale, admin flag)."""
        ...

    async def lookup_email(self, workspace: WorkspaceRef, email: str) -> Profile | None:
        """Find a person by email (CSV import)."""
        ...

