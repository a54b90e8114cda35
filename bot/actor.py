"""Who is acting, in which workspace, and helpers every handler needs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, or_, select

from bot import directory
from bot.errors import NotAdmin, UserError
from bot.interactions import Interaction, Profile
from bot.messages import Message, MessageBuilder, Paragraph, Text, para
from storage.models import AuditLog, Pair, Person, Program, Workspace

if TYPE_CHECKING:
    from bot.app import Momentum

MENTION = re.compile(r"^<@([^>|\s]+)(?:\|[^>]*)?>$")
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


@dataclass
class Ctx:
    m: Momentum
    s: Session
    ia: Interaction
    ws: Workspace
    me: Person
    now: datetime
    touched_pairs: list[int] = field(default_factory=list)  # new or resumed pairs to plan right away
    subject: str = ""  # whom the clicked message's buttons are signed for (bot.signing); "" = me

    @property
    def is_admin(self) -> bool:
        return directory.is_admin(self.me, self.m.settings.admin_emails)

    def audit(self, action: str, target: str = "", ok: bool = True, detail: dict[str, Any] | None = None) -> None:
        self.s.add(AuditLog(workspace_id=self.ws.id, actor_id=self.me.id, action=action, target=target[:200],
                            ok=ok, detail=detail, at=self.now))

    def require_admin(self, command: str) -> None:
        if not self.is_admin:
            raise NotAdmin(
                command,
                f"Only Momentum admins can run `{command}`. Nothing was changed. "
                "A workspace admin can grant access with `admin add @you`."
            )

    async def resolve(self, token: str) -> Person:
        """A person from ``<@ID>`` or an email address, creating them from the platform profile."""
        return (await self.resolve_all([token]))[0]

    async def resolve_all(self, tokens: list[str]) -> list[Person]:
        """Several people at once. Every platform call is awaited before anything is written:
        SQLite holds its write lock from the first write to the commit, and other requests on
        this event loop must not wait behind a network call."""
        keys = [t.strip().rstrip(",") for t in tokens]
        known: dict[str, Person] = {}
        fetched: dict[str, Profile] = {}
        for key in keys:
            if key in known or key in fetched:
                continue
            p = self._find(key)
            if p is not None:
                known[key] = p
            else:
                fetched[key] = await self._fetch(key)
        for key, prof in fetched.items():
            known[key] = directory.upsert_person(self.s, self.now, self.ws.id, prof)  # type: ignore[arg-type]
        return [known[k] for k in keys]

    def _find(self, key: str) -> Person | None:
        m = MENTION.match(key)
        if m:
            return directory.get_person(self.s, self.ws.id, m.group(1))  # type: ignore[arg-type]
        if EMAIL.match(key):
            return directory.find_by_email(self.s, self.ws.id, key)  # type: ignore[arg-type]
        raise UserError(f"I need a person as @mention or email address, not {key!r}.")

    async def _fetch(self, key: str) -> Profile:
        m = MENTION.match(key)
        if m:
            return await self.profile(m.group(1)) or Profile(external_id=m.group(1))
        prof = await self.lookup_email(key.lower())
        if prof is None:
            raise UserError(
                f"I couldn't find anyone with the email {key} here. If they haven't used Momentum yet, "
                "ask them to say hi to me (on Teams, add Momentum to a team they're in), then try again."
            )
        return Profile(**{**prof.__dict__, "email": prof.email or key.lower()})

    async def profile(self, external_id: str) -> Profile | None:
        plat = self.m.platforms.get(self.ws.platform)
        if plat is None:
            return None
        try:
            return await plat.profile(directory.workspace_ref(self.ws, self.m.box), external_id)
        except Exception:
            return None

    async def lookup_email(self, email: str) -> Profile | None:
        plat = self.m.platforms.get(self.ws.platform)
        if plat is None:
            return None
        try:
            return await plat.lookup_email(directory.workspace_ref(self.ws, self.m.box), email)
        except Exception:
            return None

    def pairs_of(self, person: Person, statuses: tuple[str, ...] = ("active", "paused")) -> list[Pair]:
        return list(self.s.exec(
            select(Pair).where(or_(col(Pair.sponsor_id) == person.id, col(Pair.sponsoree_id) == person.id),
                               col(Pair.status).in_(statuses))
            .order_by(col(Pair.id))
        ).all())

    def person(self, person_id: int) -> Person:
        p = self.s.get(Person, person_id)
        assert p is not None
        return p

    def program(self, name: str | None) -> Program:
        progs = list(self.s.exec(select(Program).where(Program.workspace_id == self.ws.id,
                                                       Program.status == "active")).all())
        if name:
            for p in progs:
                if p.name.lower() == name.lower():
                    return p
            raise UserError(f"There's no active program called {name!r}. "
                            + (f"Programs: {', '.join(p.name for p in progs)}." if progs
                               else "Create one with `program create <name>`."))
        if len(progs) == 1:
            return progs[0]
        if not progs:
            raise UserError("There's no program yet. Create one with `program create <name>`.")
        raise UserError(f"Which program? Add its name: {', '.join(p.name for p in progs)}.")


def say(*lines: str, kind: str = "reply") -> Message:
    """A short reply of one or more paragraphs of plain text."""
    mb = MessageBuilder(kind=kind)
    for line in lines:
        mb.add(para(line))
    return mb.build(text=" ".join(lines))


def say_spans(*spans: Text, kind: str = "reply") -> Message:
    return MessageBuilder(kind=kind).add(Paragraph(tuple(spans))).build()
