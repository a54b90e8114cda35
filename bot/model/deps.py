"""``Deps``: what the core's functions need from the outside world, passed down instead of the facade."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.model.clock import Clock
from bot.model.config import Settings
from bot.model.messages import Message
from bot.model.ports import Platform
from bot.model.signing import Signer
from storage.crypto import SecretBox
from storage.db import Database


@dataclass
class Deps:
    """The database, settings, clock, registered platforms and secrets (the token box, the signing key).

    ``signer`` is made on first use by ``make_signer`` (its key may live in the database, so the first
    use must happen inside a unit of work on the database executor, never on the event loop)."""

    db: Database
    settings: Settings
    clock: Clock
    platforms: dict[str, Platform]
    box: SecretBox | None
    make_signer: Callable[[], Signer]
    # Prompt kinds composed above the outbox (the admin digest reads program health from bot.domain):
    # kind -> fn(session, admin prompt row, now) -> the message, or None when it is no longer wanted.
    composers: dict[str, Callable[[Any, Any, datetime], Message | None]] = field(default_factory=dict)
    _signer: Signer | None = field(default=None, repr=False)

    @property
    def signer(self) -> Signer:
        if self._signer is None:
            self._signer = self.make_signer()
        return self._signer

    def now(self) -> datetime:
        return self.clock.now()
