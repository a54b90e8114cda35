"""Loads what a prompt needs to be composed: the pair, both people, the program, the digest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from bot.prompts import Digest, PersonView, PromptContext
from storage.models import CheckIn, Goal, Pair, Person, Program, Prompt, Win, Workspace

SponsorP = aliased(Person, name="sp")
SponsoreeP = aliased(Person, name="se")


def _view(name: str, ext: str, tz: str | None, default_tz: str) -> PersonView:
    return PersonView(name=name or "your partner", external_id=ext, tz=tz or default_tz or "UTC")


def load_rows(conn: Connection, prompt_ids: list[int]) -> list[Any]:
    """One query for everything the prompts' messages need (no digest)."""
    q = (
        select(
            Prompt.id, Prompt.kind, Prompt.week, Prompt.phase, Prompt.strategy, Prompt.variant,
            Prompt.recipient_id, Prompt.audience, Prompt.payload, Prompt.due_at, Prompt.attempts,
            Prompt.platform_ref, Prompt.status, Prompt.answer,
            Pair.id.label("pair_id"), Pair.status.label("pair_status"), Pair.unanswered_checkins,
            Pair.last_touch_at, Pair.sponsor_id, Pair.sponsoree_id,
            Program.name.label("program_name"), Program.kind.label("program_kind"),
            Program.default_tz, Program.status.label("program_status"),
            Workspace.id.label("ws_id"), Workspace.platform, Workspace.external_id.label("ws_ext"),
            Workspace.status.label("ws_status"), Workspace.credentials_enc,
            SponsorP.name.label("sp_name"), SponsorP.external_id.label("sp_ext"), SponsorP.tz.label("sp_tz"),
            SponsorP.address.label("sp_address"),
            SponsoreeP.name.label("se_name"), SponsoreeP.external_id.label("se_ext"),
            SponsoreeP.tz.label("se_tz"), SponsoreeP.address.label("se_address"),
        )
        .join(Pair, Pair.id == Prompt.pair_id)
        .join(Program, Program.id == Pair.program_id)
        .join(Workspace, Workspace.id == Program.workspace_id)
        .join(SponsorP, SponsorP.id == Pair.sponsor_id)
        .join(SponsoreeP, SponsoreeP.id == Pair.sponsoree_id)
        .where(Prompt.id.in_(prompt_ids))  # type: ignore[attr-defined]
    )
    return list(conn.execute(q).all())


def digest(conn: Connection, pair_id: int, last_touch: datetime | None) -> Digest:
    goals = conn.execute(
        select(Goal.text).where(Goal.pair_id == pair_id, Goal.done.is_(False))  # type: ignore[attr-defined]
        .order_by(Goal.id.desc()).limit(3)  # type: ignore[union-attr]
    ).scalars().all()
    wins = conn.execute(
        select(Win.text).where(Win.pair_id == pair_id, Win.shared.is_(True))  # type: ignore[attr-defined]
        .order_by(Win.id.desc()).limit(3)  # type: ignore[union-attr]
    ).scalars().all()
    trend = conn.execute(
        select(CheckIn.momentum).where(CheckIn.pair_id == pair_id, CheckIn.momentum.is_not(None))  # type: ignore[union-attr]
        .order_by(CheckIn.id.desc()).limit(4)  # type: ignore[union-attr]
    ).scalars().all()
    return Digest(goals=tuple(goals), wins=tuple(wins), last_contact=last_touch,
                  trend=tuple(int(x) for x in reversed(trend)))


def context_from_row(r: Any, now: datetime, dig: Digest | None = None) -> PromptContext:
    g = r._mapping
    sponsor = _view(g["sp_name"], g["sp_ext"], g["sp_tz"], g["default_tz"])
    sponsoree = _view(g["se_name"], g["se_ext"], g["se_tz"], g["default_tz"])
    junior = g["recipient_id"] == g["sponsoree_id"]
    return PromptContext(
        prompt_id=g["id"], kind=g["kind"], program_name=g["program_name"], program_kind=g["program_kind"],
        week=g["week"], stage=g["phase"] or "know", strategy=g["strategy"] or 1, variant=g["variant"],
        role="junior" if junior else "senior",
        me=sponsoree if junior else sponsor, partner=sponsor if junior else sponsoree,
        sponsor=sponsor, sponsoree=sponsoree, now=now,
        slowed=(g["unanswered_checkins"] or 0) >= 3, digest=dig, payload=dict(g["payload"] or {}),
    )


def load_context(conn: Connection, prompt_id: int, now: datetime) -> tuple[PromptContext, Any] | None:
    rows = load_rows(conn, [prompt_id])
    if not rows:
        return None
    r = rows[0]
    dig = digest(conn, r.pair_id, r.last_touch_at) if r.kind == "nudge" else None
    return context_from_row(r, now, dig), r


def pair_of(conn: Connection, pair_id: int) -> Any:
    return conn.execute(select(Pair).where(Pair.id == pair_id)).scalar_one_or_none()
