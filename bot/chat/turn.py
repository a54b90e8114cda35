"""Who is acting, in which workspace, and helpers every handler needs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, or_, select

from bot.domain import people as directory
from bot.model.deps import Deps
from bot.model.errors import NotAdmin, UserError
from bot.model.interactions import Interaction, Profile, Response
from bot.model.messages import Message, MessageBuilder, para
from bot.model.ports import WorkspaceRef
from storage.models import AuditLog, Pair, Person, Program, Workspace

MENTION = re.compile(r"^<@([^>|\s]+)(?:\|[^>]*)?>$")
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


class NeedLookups(Exception):
    """Raised inside a unit of work when the platform must be asked first: the unit rolls back,
    the facade looks these people up with no transaction open, then runs the unit again."""

    def __init__(self, profiles: set[str], emails: set[str]) -> None:
        super().__init__(f"{len(profiles)} profile(s), {len(emails)} email(s) to look up")
        self.profiles, self.emails = profiles, emails
        self.workspace: WorkspaceRef | None = None  # where to ask (set by the unit of work)


@dataclass
class Lookups:
    """Platform answers gathered before a unit of work: profiles by external id, by email."""

    profiles: dict[str, Profile | None] = field(default_factory=dict)
    emails: dict[str, Profile | None] = field(default_factory=dict)


@dataclass
class Turn:
    deps: Deps
    session: Session
    interaction: Interaction
    workspace: Workspace
    me: Person
    now: datetime
    touched_pairs: list[int] = field(default_factory=list)  # new or resumed pairs to plan right away
    lookups: Lookups = field(default_factory=lambda: Lookups())  # platform answers fetched before the unit
    plan_after: bool = False  # plan ``touched_pairs`` once the unit of work has committed
    subject: str = ""  # whom the clicked message's buttons are signed for (bot.model.signing); "" = me
    readonly: bool = False  # writes are failing (bot.model.faults): the audit trail is best-effort, skipped

    @property
    def is_admin(self) -> bool:
        return directory.is_admin(self.me, self.deps.settings.admin_emails)

    def audit(self, action: str, target: str = "", ok: bool = True, detail: dict[str, Any] | None = None) -> None:
        if self.readonly:
            return
        self.session.add(AuditLog(workspace_id=self.workspace.id, actor_id=self.me.id, action=action,
                                  target=target[:200],
                            ok=ok, detail=detail, at=self.now))

    def require_admin(self, command: str) -> None:
        if not self.is_admin:
            raise NotAdmin(
                command,
                f"Only Momentum admins can run `{command}`. Nothing was changed. "
                "A workspace admin can grant access with `admin add @you`."
            )

    def resolve(self, token: str) -> Person:
        """A person from ``<@ID>`` or an email address, creating them from the platform profile."""
        return self.resolve_all([token])[0]

    def resolve_all(self, tokens: list[str]) -> list[Person]:
        """Several people at once. People not stored yet come from the platform: when a profile
        has not been looked up yet this raises ``NeedLookups`` (naming every one missing) and the
        facade asks the platform with no transaction open, then runs the unit of work again."""
        keys = [t.strip().rstrip(",") for t in tokens]
        known: dict[str, Person] = {}
        unknown: list[str] = []
        for key in keys:
            if key in known or key in unknown:
                continue
            p = self._find(key)
            if p is not None:
                known[key] = p
            else:
                unknown.append(key)
        ids = {m.group(1) for k in unknown if (m := MENTION.match(k)) and m.group(1) not in self.lookups.profiles}
        emails = {k.lower() for k in unknown if not MENTION.match(k) and k.lower() not in self.lookups.emails}
        if ids or emails:
            raise NeedLookups(ids, emails)
        fetched = {key: self._fetched(key) for key in unknown}
        for key, prof in fetched.items():
            known[key] = directory.upsert_person(self.session, self.now, self.workspace.id, prof)  # type: ignore[arg-type]
        return [known[k] for k in keys]

    def _find(self, key: str) -> Person | None:
        m = MENTION.match(key)
        if m:
            return directory.get_person(self.session, self.workspace.id, m.group(1))  # type: ignore[arg-type]
        if EMAIL.match(key):
            return directory.find_by_email(self.session, self.workspace.id, key)  # type: ignore[arg-type]
        raise UserError(f"I need a person as @mention or email address, not {key!r}.")

    def _fetched(self, key: str) -> Profile:
        m = MENTION.match(key)
        if m:
            return self.lookups.profiles.get(m.group(1)) or Profile(external_id=m.group(1))
        prof = self.lookup_email(key.lower())
        if prof is None:
            raise UserError(
                f"I couldn't find anyone with the email {key} here. If they haven't used Momentum yet, "
                "ask them to say hi to me (on Teams, add Momentum to a team they're in), then try again."
            )
        return Profile(**{**prof.__dict__, "email": prof.email or key.lower()})

    def lookup_email(self, email: str) -> Profile | None:
        """The platform's answer for ``email``, looked up before this unit of work (``NeedLookups``)."""
        if email not in self.lookups.emails:
            raise NeedLookups(set(), {email})
        return self.lookups.emails[email]

    def pairs_of(self, person: Person, statuses: tuple[str, ...] = ("active", "paused")) -> list[Pair]:
        return list(self.session.exec(
            select(Pair).where(or_(col(Pair.sponsor_id) == person.id, col(Pair.sponsoree_id) == person.id),
                               col(Pair.status).in_(statuses))
            .order_by(col(Pair.id))
        ).all())

    def person(self, person_id: int) -> Person:
        p = self.session.get(Person, person_id)
        assert p is not None
        return p

    def program(self, name: str | None) -> Program:
        progs = list(self.session.exec(select(Program).where(Program.workspace_id == self.workspace.id,
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


def reply(*lines: str) -> Response:
    """A ``Response`` whose reply is ``say(*lines)``."""
    return Response(reply=say(*lines))
