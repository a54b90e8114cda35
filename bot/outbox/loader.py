"""Loads what a prompt needs to be composed: the pair and its evidence, both people, the program
and its journey, the sponsor's digest and the pair's history (for reviews and the wrap-up)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased
from sqlmodel import col

from bot.content.chat_words import t
from bot.content.journey import Evidence, Journey, journey_for, phase_for
from bot.content.prompts import Digest, History, PairState, PersonView, PromptContext
from bot.model import facts, wire
from bot.model.messages import Message
from storage.models import Agenda, CheckIn, Goal, Pair, Person, Program, Prompt, Touchpoint, Win, Workspace

G = Goal.__table__  # type: ignore[attr-defined]
Wi = Win.__table__  # type: ignore[attr-defined]
C = CheckIn.__table__  # type: ignore[attr-defined]
A = Agenda.__table__  # type: ignore[attr-defined]
T = Touchpoint.__table__  # type: ignore[attr-defined]

SponsorP = aliased(Person, name="sp")
SponsoreeP = aliased(Person, name="se")
RecipientP = aliased(Person, name="rc")  # an admin's alert goes to neither of the pair

WIN_SHELF_LIFE = timedelta(weeks=8)  # wins older than this leave the digest


def _view(name: str, ext: str, tz: str | None, default_tz: str, country: str | None = None,
          email: str | None = None, given: str | None = None) -> PersonView:
    return PersonView(name=name or t("views.me.your_partner"), external_id=ext, tz=tz or default_tz or "UTC",
                      country=country, email=email, given=given)


def load_rows(conn: Connection, prompt_ids: list[int]) -> list[Any]:
    """One query for everything the prompts' messages need (no digest)."""
    q = (
        select(
            col(Prompt.id), col(Prompt.kind), col(Prompt.week), col(Prompt.phase), col(Prompt.strategy),
            col(Prompt.variant), col(Prompt.recipient_id), col(Prompt.audience), col(Prompt.payload),
            col(Prompt.due_at), col(Prompt.attempts), col(Prompt.platform_ref), col(Prompt.status), col(Prompt.answer),
            col(Prompt.period), col(Prompt.shown),
            col(Pair.id).label("pair_id"), col(Pair.status).label("pair_status"), col(Pair.unanswered_checkins),
            col(Pair.last_touch_at), col(Pair.sponsor_id), col(Pair.sponsoree_id), col(Pair.created_at).label(
                "pair_created"), col(Pair.meetings), col(Pair.agreed_at), col(Pair.agreement_lead),
            col(Pair.last_two_way_at), col(Pair.meet_every), col(Pair.booked_at), col(Pair.ignored_digests),
            col(Pair.junior_offers), col(Pair.senior_offers), col(Pair.last_digest_at),
            col(Pair.checkins_answered), col(Pair.checkins_sent), col(Pair.phase_index),
            col(Program.name).label("program_name"), col(Program.kind).label("program_kind"),
            col(Program.default_tz), col(Program.status).label("program_status"),
            col(Program.length_weeks), col(Program.journey_yaml),
            col(Workspace.id).label("ws_id"), col(Workspace.platform), col(Workspace.external_id).label("ws_ext"),
            col(Workspace.status).label("ws_status"), col(Workspace.credentials_enc),
            col(SponsorP.name).label("sp_name"), col(SponsorP.external_id).label("sp_ext"),
            col(SponsorP.tz).label("sp_tz"), col(SponsorP.address).label("sp_address"),
            col(SponsorP.country).label("sp_country"), col(SponsorP.email).label("sp_email"),
            col(SponsorP.given_name).label("sp_given"), col(SponsoreeP.given_name).label("se_given"),
            col(SponsoreeP.name).label("se_name"), col(SponsoreeP.external_id).label("se_ext"),
            col(SponsoreeP.tz).label("se_tz"), col(SponsoreeP.address).label("se_address"),
            col(SponsoreeP.country).label("se_country"), col(SponsoreeP.email).label("se_email"),
            col(RecipientP.name).label("rc_name"), col(RecipientP.external_id).label("rc_ext"),
            col(RecipientP.address).label("rc_address"), col(RecipientP.tz).label("rc_tz"),
        )
        .join(Pair, col(Pair.id) == col(Prompt.pair_id))
        .join(Program, col(Program.id) == col(Pair.program_id))
        .join(Workspace, col(Workspace.id) == col(Program.workspace_id))
        .join(SponsorP, col(SponsorP.id) == col(Pair.sponsor_id))
        .join(SponsoreeP, col(SponsoreeP.id) == col(Pair.sponsoree_id))
        .join(RecipientP, col(RecipientP.id) == col(Prompt.recipient_id))
        .where(col(Prompt.id).in_(prompt_ids))
    )
    return list(conn.execute(q).all())


def _latest(conn: Connection, cols: list[Any], table: Any, where: Any, pair_ids: list[int],
            n: int) -> dict[int, list[Any]]:
    """The ``n`` newest rows' ``cols`` per pair (newest first), for many pairs in one query."""
    rank = func.row_number().over(partition_by=table.c.pair_id, order_by=table.c.id.desc()).label("rank")
    sub = select(table.c.pair_id, *cols, rank).where(table.c.pair_id.in_(pair_ids), where).subquery()
    out: dict[int, list[Any]] = {}
    names = [c.name for c in cols]
    q = select(sub.c.pair_id, *(sub.c[nm] for nm in names)).where(sub.c.rank <= n).order_by(sub.c.pair_id, sub.c.rank)
    for row in conn.execute(q):
        out.setdefault(int(row[0]), []).append(tuple(row[1:]))
    return out


def digests_for(conn: Connection, rows: list[Any], now: datetime | None = None) -> dict[int, Digest]:
    """The sponsor digest of every nudge in ``rows`` (prompt id -> digest) in five queries:
    open goals, recent shared wins, the latest shared ask, momentum, meetings since the last digest."""
    nudges = [r for r in rows if r.kind == "nudge"]
    if not nudges:
        return {}
    pairs = sorted({int(r.pair_id) for r in nudges})
    goals = _latest(conn, [G.c.text, G.c.created_at], G, G.c.done.is_(False), pairs, 3)
    wins = _latest(conn, [Wi.c.text, Wi.c.created_at], Wi, Wi.c.shared.is_(True), pairs, 3)
    asks = _latest(conn, [A.c.ask, A.c.created_at], A, A.c.shared.is_(True) & (A.c.ask != ""), pairs, 1)
    trend = _latest(conn, [C.c.momentum], C, C.c.momentum.is_not(None), pairs, 4)
    meets = _latest(conn, [T.c.occurred_at], T, T.c.kind == "meeting", pairs, 6)
    P = Prompt.__table__  # type: ignore[attr-defined]
    asked = _latest(conn, [P.c.created_at, P.c.answered_at], P, P.c.kind == "ask_goal", pairs, 1)
    out: dict[int, Digest] = {}
    for r in nudges:
        when = now or r.due_at
        since = r.last_digest_at or r.pair_created
        fresh_wins = [(t, at) for t, at in wins.get(r.pair_id, []) if when - at <= WIN_SHELF_LIFE]
        out[r.id] = Digest(
            goals=tuple(t for t, _ in goals.get(r.pair_id, [])),
            new_goals=tuple(t for t, at in goals.get(r.pair_id, []) if at >= since),
            wins=tuple(t for t, _ in fresh_wins),
            new_wins=tuple(t for t, at in fresh_wins if at >= since),
            ask=next((t for t, at in asks.get(r.pair_id, []) if at >= since), None),
            meetings_since=sum(1 for (at,) in meets.get(r.pair_id, []) if at > since),
            last_contact=r.last_touch_at, since=since,
            trend=tuple(int(x) for (x,) in reversed(trend.get(r.pair_id, []))),
            ask_unanswered=any(at >= since and answered is None for at, answered in asked.get(r.pair_id, [])),
        )
    return out


def history_for(conn: Connection, pair_id: int) -> History:
    """What the pair did, for reviews and the wrap-up: meetings, shared wins, the sponsor's actions."""
    meetings = conn.execute(select(func.count()).select_from(T).where(T.c.pair_id == pair_id,
                                                                        T.c.kind == "meeting")).scalar_one()
    wins = conn.execute(select(func.count()).select_from(Wi).where(Wi.c.pair_id == pair_id,
                                                                     Wi.c.shared.is_(True))).scalar_one()
    rows = conn.execute(select(T.c.note, T.c.source_key).where(T.c.pair_id == pair_id, T.c.kind == "advocacy",
                                                                 T.c.note.is_not(None)).order_by(T.c.id)).all()
    # which digest action each was ("win-forward"): the digest prompt it answered keeps its action key
    pids = {k: int(k.split(":")[1]) for _, k in rows if k and k.startswith("prompt:") and k.split(":")[1].isdigit()}
    P = Prompt.__table__  # type: ignore[attr-defined]
    keys = {pid: str((pl or {}).get("action") or "") for pid, pl in conn.execute(
        select(P.c.id, P.c.payload).where(P.c.id.in_(set(pids.values()))))} if pids else {}
    return History(meetings=int(meetings), wins=int(wins), actions=tuple(n for n, _ in rows),
                   done=tuple(keys.get(pids.get(k or "", -1), "") for _, k in rows))


def effective_phase(j: Journey, week: int, length: int, ev: Evidence, reached: int) -> str:
    """The phase a message is written for: the furthest the pair has reached, by evidence or by time.
    Phases never move back: a pair that met and then went quiet stays where it was, and the quiet
    spell is named for what it is ("no contact since 30 Jun") instead."""
    computed = phase_for(j, week, length, ev)
    keys = [p.key for p in j.phases]
    return keys[max(keys.index(computed), min(reached, len(keys) - 1))]


def context_from_row(r: Any, now: datetime, dig: Digest | None = None, history: History | None = None
                     ) -> PromptContext:
    g = r._mapping
    sponsor = _view(g["sp_name"], g["sp_ext"], g["sp_tz"], g["default_tz"], g["sp_country"], g["sp_email"],
                    g.get("sp_given"))
    sponsoree = _view(g["se_name"], g["se_ext"], g["se_tz"], g["default_tz"], g["se_country"], g["se_email"],
                      g.get("se_given"))
    junior = g["recipient_id"] == g["sponsoree_id"]
    j = journey_for(g["program_kind"], g["journey_yaml"])
    quiet = facts.quiet_days(g["last_touch_at"], g["pair_created"], now)
    stalled = facts.is_stalled(g["last_touch_at"], g["pair_created"], now)
    length = int(g["length_weeks"] or j.default_weeks)
    ev = Evidence(meetings=int(g["meetings"] or 0), agreed=g["agreed_at"] is not None,
                  checkins=int(g["checkins_answered"] or 0), stalled=stalled)
    state = PairState(
        meetings=ev.meetings, agreed=ev.agreed, agreement=g["agreement_lead"], booked=g["booked_at"] is not None,
        rhythm=int(g["meet_every"] or 0), stalled_days=quiet if stalled else 0,
        quiet_days=quiet, length=length,
        junior_slowed=(g["unanswered_checkins"] or 0) >= facts.GHOST_AFTER,
        senior_slowed=facts.sponsor_slowed(int(g["ignored_digests"] or 0), g["last_touch_at"], g["pair_created"], now),
        junior_offers=int(g["junior_offers"] or 0), senior_offers=int(g["senior_offers"] or 0),
        checkins_sent=int(g["checkins_sent"] or 0),
    )
    return PromptContext(
        prompt_id=g["id"], kind=g["kind"], program_name=g["program_name"], program_kind=g["program_kind"],
        week=g["week"], stage=effective_phase(j, int(g["week"] or 0), length, ev, int(g["phase_index"] or 0)),
        strategy=g["strategy"] or 1,
        variant=g["variant"], role="junior" if junior else "senior",
        me=sponsoree if junior else sponsor, partner=sponsor if junior else sponsoree,
        sponsor=sponsor, sponsoree=sponsoree, now=now,
        slowed=state.junior_slowed if junior else state.senior_slowed, digest=dig, payload=dict(g["payload"] or {}),
        journey=j, pair=state, history=history, period=g["period"] or "", shown=_shown(g.get("shown")),
        reader_tz=g["rc_tz"] or g["default_tz"] or "UTC",
        last_contact=facts.last_contact(g["last_touch_at"], g["pair_created"]),
    )


def _shown(data: Any) -> Message | None:
    """The message as it was sent, or None (not sent yet, sent before 0010, or unreadable)."""
    if not isinstance(data, dict):
        return None
    try:
        return wire.load_message(data)
    except (TypeError, ValueError):
        return None


def load_context(conn: Connection, prompt_id: int, now: datetime) -> tuple[PromptContext, Any] | None:
    rows = load_rows(conn, [prompt_id])
    if not rows:
        return None
    r = rows[0]
    hist = history_for(conn, r.pair_id) if r.kind in ("review", "wrapup") else None
    return context_from_row(r, now, digests_for(conn, [r], now).get(r.id), hist), r
