"""Loads what a prompt needs to be composed: the pair, both people, the program, the digest."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased
from sqlmodel import col

from bot.prompts import Digest, PersonView, PromptContext
from storage.models import CheckIn, Goal, Pair, Person, Program, Prompt, Win, Workspace

G = Goal.__table__  # type: ignore[attr-defined]
Wi = Win.__table__  # type: ignore[attr-defined]
C = CheckIn.__table__  # type: ignore[attr-defined]

SponsorP = aliased(Person, name="sp")
SponsoreeP = aliased(Person, name="se")


def _view(name: str, ext: str, tz: str | None, default_tz: str) -> PersonView:
    return PersonView(name=name or "your partner", external_id=ext, tz=tz or default_tz or "UTC")


@cache
def _rows_query() -> Select[Any]:
    """Built once: constructing this many-column join costs far more than running it."""
    return (
        select(
            col(Prompt.id), col(Prompt.kind), col(Prompt.week), col(Prompt.phase), col(Prompt.strategy),
            col(Prompt.variant), col(Prompt.recipient_id), col(Prompt.audience), col(Prompt.payload),
            col(Prompt.due_at), col(Prompt.attempts), col(Prompt.platform_ref), col(Prompt.status), col(Prompt.answer),
            col(Pair.id).label("pair_id"), col(Pair.status).label("pair_status"), col(Pair.unanswered_checkins),
            col(Pair.last_touch_at), col(Pair.sponsor_id), col(Pair.sponsoree_id),
            col(Program.name).label("program_name"), col(Program.kind).label("program_kind"),
            col(Program.default_tz), col(Program.status).label("program_status"),
            col(Workspace.id).label("ws_id"), col(Workspace.platform), col(Workspace.external_id).label("ws_ext"),
            col(Workspace.status).label("ws_status"), col(Workspace.credentials_enc),
            col(SponsorP.name).label("sp_name"), col(SponsorP.external_id).label("sp_ext"),
            col(SponsorP.tz).label("sp_tz"), col(SponsorP.address).label("sp_address"),
            col(SponsoreeP.name).label("se_name"), col(SponsoreeP.external_id).label("se_ext"),
            col(SponsoreeP.tz).label("se_tz"), col(SponsoreeP.address).label("se_address"),
        )
        .join(Pair, col(Pair.id) == col(Prompt.pair_id))
        .join(Program, col(Program.id) == col(Pair.program_id))
        .join(Workspace, col(Workspace.id) == col(Program.workspace_id))
        .join(SponsorP, col(SponsorP.id) == col(Pair.sponsor_id))
        .join(SponsoreeP, col(SponsoreeP.id) == col(Pair.sponsoree_id))
        .where(col(Prompt.id).in_(bindparam("ids", expanding=True)))
    )


def load_rows(conn: Connection, prompt_ids: list[int]) -> list[Any]:
    """One query for everything the prompts' messages need (no digest)."""
    return list(conn.execute(_rows_query(), {"ids": list(prompt_ids)}).all())


def _latest(conn: Connection, value: Any, table: Any, where: Any, pair_ids: list[int], n: int) -> dict[int, list[Any]]:
    """The ``n`` newest ``value`` per pair (newest first), for many pairs in one query."""
    rank = func.row_number().over(partition_by=table.c.pair_id, order_by=table.c.id.desc()).label("rank")
    sub = select(table.c.pair_id, value.label("value"), rank).where(table.c.pair_id.in_(pair_ids), where).subquery()
    out: dict[int, list[Any]] = {}
    for pid, v in conn.execute(select(sub.c.pair_id, sub.c.value).where(sub.c.rank <= n).order_by(
            sub.c.pair_id, sub.c.rank)):
        out.setdefault(int(pid), []).append(v)
    return out


def digests_for(conn: Connection, rows: list[Any]) -> dict[int, Digest]:
    """The sponsor digest of every nudge in ``rows`` (prompt id -> digest) in three queries:
    open goals, shared wins, momentum trend (newest first, trend shown oldest first)."""
    nudges = [r for r in rows if r.kind == "nudge"]
    if not nudges:
        return {}
    pairs = sorted({int(r.pair_id) for r in nudges})
    goals = _latest(conn, G.c.text, G, G.c.done.is_(False), pairs, 3)
    wins = _latest(conn, Wi.c.text, Wi, Wi.c.shared.is_(True), pairs, 3)
    trend = _latest(conn, C.c.momentum, C, C.c.momentum.is_not(None), pairs, 4)
    return {
        r.id: Digest(goals=tuple(goals.get(r.pair_id, ())), wins=tuple(wins.get(r.pair_id, ())),
                     last_contact=r.last_touch_at, trend=tuple(int(x) for x in reversed(trend.get(r.pair_id, ()))))
        for r in nudges
    }


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
    return context_from_row(r, now, digests_for(conn, [r]).get(r.id)), r


def pair_of(conn: Connection, pair_id: int) -> Any:
    return conn.execute(select(Pair).where(col(Pair.id) == pair_id)).scalar_one_or_none()
