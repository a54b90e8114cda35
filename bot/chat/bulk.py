"""Bulk work in the core: which interactions are long admin jobs (they run on the database's
background lane), people found by many emails in one query, and many emails looked up at once.

Nothing here talks to a platform's API directly: a platform that can answer many emails in one
go (Slack: ``users.list`` pages) offers ``lookup_emails``; the others are asked one by one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping
from typing import Protocol, runtime_checkable

from sqlmodel import Session, col, select

from bot.content.prompts import Actions
from bot.model.interactions import Interaction, InteractionKind, Profile
from bot.model.ports import Platform, WorkspaceRef
from storage.models import Person

_LOGGER = logging.getLogger(__name__)

LONG_COMMANDS = frozenset({"import", "export"})  # admin commands whose work grows with the workspace
LONG_FORMS = frozenset({Actions.IMPORT_FORM})
EMAIL_CHUNK = 500  # emails per IN (...) query: well under SQLite's and PostgreSQL's parameter limits



@runtime_checkable
class BulkDirectory(Protocol):
    """What a platform offers when it can look many people up at once."""

    async def lookup_emails(self, workspace: WorkspaceRef, emails: Collection[str]) -> Mapping[str, Profile | None]:
        """Every email -> its person's profile, or None for nobody with that email."""
        ...


def is_long_job(ia: Interaction) -> bool:
    """Whether this interaction is a long admin job (CSV import, export): it runs on the database's
    background lane, so it never takes the slots interactive answers use."""
    if ia.kind == InteractionKind.SUBMIT:
        return ia.action_id in LONG_FORMS
    if ia.kind not in (InteractionKind.COMMAND, InteractionKind.MESSAGE):
        return False
    words = ia.text.strip().split(None, 2)
    if words and words[0].lower() in ("/momentum", "momentum"):
        words = words[1:]
    return bool(words) and words[0].lower() in LONG_COMMANDS


def find_by_emails(s: Session, workspace_id: int, emails: Collection[str]) -> dict[str, Person]:
    """The stored people with these emails (lower-cased), a few queries for thousands of emails."""
    wanted = sorted({e.strip().lower() for e in emails if e})
    found: dict[str, Person] = {}
    for i in range(0, len(wanted), EMAIL_CHUNK):
        chunk = wanted[i:i + EMAIL_CHUNK]
        rows = s.exec(select(Person).where(Person.workspace_id == workspace_id,
                                           col(Person.email).in_(chunk)).order_by(col(Person.id))).all()
        for p in rows:
            if p.email:
                found.setdefault(p.email, p)
    return found


async def look_up_emails(plat: Platform | None, ref: WorkspaceRef | None,
                         emails: Collection[str]) -> dict[str, Profile | None]:
    """Ask the platform for these emails (no transaction is open here). A platform with a bulk
    directory answers them together; otherwise each is looked up. A failed look-up counts as
    "not found", as for one person."""
    wanted = sorted(set(emails))
    if not wanted:
        return {}
    if plat is None or ref is None:
        return dict.fromkeys(wanted)
    if isinstance(plat, BulkDirectory):
        try:
            found = await plat.lookup_emails(ref, wanted)
            return {e: found.get(e) for e in wanted}
        except Exception as exc:
            _LOGGER.warning("bulk email look-up failed: %s", type(exc).__name__)
            return dict.fromkeys(wanted)

    async def one(addr: str) -> Profile | None:
        try:
            return await plat.lookup_email(ref, addr)
        except Exception:
            return None

    answers = await asyncio.gather(*(one(e) for e in wanted))
    return dict(zip(wanted, answers, strict=True))
