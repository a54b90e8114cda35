"""A Platform that prints to a terminal (the demo) and keeps what it sent for replies."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.model.interactions import Profile
from bot.model.messages import Message
from bot.model.ports import Delivered, Recipient, WorkspaceRef


@dataclass
class Sent:
    ref: str
    to: list[Recipient]
    message: Message
    at: datetime


@dataclass
class ConsolePlatform:
    """Prints each message with the recipient's name and local time; records them as ``sent``."""

    clock: Callable[[], datetime]
    people: dict[str, Profile] = field(default_factory=dict)
    out: Callable[[str], None] = print
    name: str = "console"
    sent: list[Sent] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def _header(self, to: Sequence[Recipient]) -> str:
        parts = []
        for r in to:
            tz = (self.people.get(r.external_id) or Profile(r.external_id)).tz or "UTC"
            parts.append(f"{r.name} ({self.clock().astimezone(ZoneInfo(tz)):%a %d %b %H:%M} {tz})")
        return "\u2500\u2500 to " + " & ".join(parts) + " " + "\u2500" * 8

    def _print(self, to: Sequence[Recipient], message: Message) -> Delivered:
        ref = f"m{next(self._ids)}"
        self.out(self._header(to))
        self.out(indent(message.as_plain_text()))
        self.sent.append(Sent(ref, list(to), message, self.clock()))
        return Delivered(ref={"id": ref})

    async def send(self, workspace: WorkspaceRef, to: Recipient, message: Message) -> Delivered:
        return self._print([to], message)

    async def send_group(self, workspace: WorkspaceRef, to: Sequence[Recipient], message: Message) -> Delivered:
        return self._print(list(to), message)

    async def update(self, workspace: WorkspaceRef, ref: Mapping[str, Any], message: Message) -> None:
        self.out(indent(message.as_plain_text(), "   \u21b3 "))

    async def profile(self, workspace: WorkspaceRef, external_id: str) -> Profile | None:
        return self.people.get(external_id)

    async def lookup_email(self, workspace: WorkspaceRef, email: str) -> Profile | None:
        return next((p for p in self.people.values() if (p.email or "").lower() == email.lower()), None)


def indent(text: str, prefix: str = "   ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())
