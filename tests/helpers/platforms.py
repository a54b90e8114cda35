"""A base for send-only fake platforms (worker processes, benchmarks): everything but sending is a no-op."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from bot.model.interactions import Profile
from bot.model.messages import Message
from bot.model.ports import Delivered, Recipient, WorkspaceRef


class SendOnlyPlatform(ABC):
    """Subclasses implement ``deliver``; a group message counts as one send."""

    name = "test"

    @abstractmethod
    async def deliver(self, message: Message) -> Delivered:
        """Send one message (to one person or a group)."""

    async def send(self, workspace: WorkspaceRef, to: Recipient, message: Message) -> Delivered:
        return await self.deliver(message)

    async def send_group(self, workspace: WorkspaceRef, to: Sequence[Recipient], message: Message) -> Delivered:
        return await self.deliver(message)

    async def update(self, workspace: WorkspaceRef, ref: Mapping[str, Any], message: Message) -> None:
        return None

    async def profile(self, workspace: WorkspaceRef, external_id: str) -> Profile | None:
        return None

    async def lookup_email(self, workspace: WorkspaceRef, email: str) -> Profile | None:
        return None

