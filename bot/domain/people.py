"""Workspaces and people: installs, profiles, addresses, reachability, admin rights."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, col, select

from bot.model.interactions import Profile
from bot.model.ports import WorkspaceRef
from bot.outbox.planner import replan_person
from storage.crypto import SecretBox
from storage.models import Person, Workspace

_LOGGER = logging.getLogger(__name__)


def valid_tz(tz: str | None) -> str | None:
    if not tz:
        return None
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return tz


def country_from_locale(locale: str | None) -> str | None:
    """``en-GB`` / ``pt_BR`` -> ``GB`` / ``BR``: where public holidays are looked up when nobody said."""
    if not locale:
        return None
    parts = locale.replace("_", "-").split("-")
    region = parts[-1] if len(parts) >= 2 else ""
    return region.upper() if len(region) == 2 and region.isalpha() else None


def get_workspace(s: Session, platform: str, external_id: str) -> Workspace | None:
    return s.exec(
        select(Workspace).where(Workspace.platform == platform, Workspace.external_id == external_id)
    ).first()


def upsert_workspace(
    s: Session,
    now: datetime,
    platform: str,
    external_id: str,
    *,
    name: str | None = None,
    credentials: Mapping[str, Any] | None = None,
    box: SecretBox | None = None,
    reactivate: bool = True,
    default_tz: str = "UTC",
) -> Workspace:
    ws = get_workspace(s, platform, external_id)
    if ws is None:
        ws = Workspace(platform=platform, external_id=external_id, name=name or "", default_tz=default_tz,
                       created_at=now)
        s.add(ws)
    if name:
        ws.name = name
    if credentials is not None:
        if box is None:
            raise ValueError("MOMENTUM_SECRET_KEY is required to store workspace credentials")
        ws.credentials_enc = box.encrypt_json(dict(credentials))
    if reactivate and ws.status != "active":
        ws.status, ws.status_reason = "active", None
    s.flush()
    return ws


def workspace_ref(ws: Workspace, box: SecretBox | None) -> WorkspaceRef:
    creds: dict[str, Any] = {}
    if ws.credentials_enc and box is not None:
        creds = box.decrypt_json(ws.credentials_enc)
    assert ws.id is not None
    return WorkspaceRef(id=ws.id, platform=ws.platform, external_id=ws.external_id, credentials=creds)


def get_person(s: Session, workspace_id: int, external_id: str) -> Person | None:
    return s.exec(
        select(Person).where(Person.workspace_id == workspace_id, Person.external_id == external_id)
    ).first()


def find_by_email(s: Session, workspace_id: int, email: str) -> Person | None:
    return s.exec(
        select(Person).where(Person.workspace_id == workspace_id, Person.email == email.strip().lower())
    ).first()


def upsert_person(
    s: Session,
    now: datetime,
    workspace_id: int,
    profile: Profile,
    *,
    address: Mapping[str, Any] | None = None,
) -> Person:
    """Create or refresh a person from what the platform told us; unknown fields stay as they are."""
    p = get_person(s, workspace_id, profile.external_id)
    if p is None:
        p = Person(
            workspace_id=workspace_id,
            external_id=profile.external_id,
            name=profile.name or profile.external_id,
            created_at=now,
            updated_at=now,
        )
        s.add(p)
    if p.forgotten:
        # An erased person who comes back starts fresh; we keep nothing from before.
        p.forgotten = False
    if profile.name:
        p.name = profile.name
    if profile.given_name:
        p.given_name = profile.given_name.strip()[:200]
    if profile.email:
        p.email = profile.email.strip().lower()
    tz = valid_tz(profile.tz)
    moved = bool(tz and p.tz and tz != p.tz and p.id is not None)
    if tz:
        p.tz = tz
    if profile.locale:
        p.locale = profile.locale
    country = profile.country or country_from_locale(profile.locale)
    if country:
        p.country = country.upper()
    if profile.is_admin is not None:
        p.is_platform_admin = profile.is_admin
    if address is not None and dict(address) != (p.address or {}):
        # A new way to reach them (e.g. a fresh 1:1 chat): worth trying again.
        p.address = dict(address)
        p.unreachable_reason = None
    p.updated_at = now
    s.flush()
    if moved:
        # A new time zone: unsent prompts were timed for the old one, so plan them again.
        replan_person(s.connection(), p.id, now)  # type: ignore[arg-type]
    return p


def addresses(s: Session, workspace_id: int) -> dict[str, dict[str, Any]]:
    rows = s.exec(select(Person.external_id, Person.address).where(
        Person.workspace_id == workspace_id, col(Person.address).is_not(None))).all()
    return {ext: dict(addr) for ext, addr in rows if isinstance(addr, dict)}


def admin_standing(s: Session, platform: str, workspace: str, user: str,
                   admin_emails: frozenset[str]) -> bool | None:
    """Whether someone we know is an admin (``is_admin``), in one indexed read; None when we do not know
    them (or they were erased, or their workspace is not active)."""
    p = s.exec(
        select(Person).join(Workspace, col(Workspace.id) == col(Person.workspace_id))
        .where(Workspace.platform == platform, Workspace.external_id == workspace, Workspace.status == "active",
               Person.external_id == user, col(Person.forgotten).is_(False))
    ).first()
    return None if p is None else is_admin(p, admin_emails)


def is_admin(p: Person, admin_emails: frozenset[str]) -> bool:
    return bool(
        p.is_platform_admin or p.is_granted_admin or (p.email and p.email.lower() in admin_emails)
    )
