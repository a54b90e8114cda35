"""Admin prompts in the outbox: the weekly admin digest, planned for each admin who opted in.

An admin prompt belongs to no pair (``prompt.pair_id`` is NULL); it is unique per recipient, kind and
period (the partial index ``uq_prompt_admin_key``), so planning it again never adds a row and an admin
gets one digest a week. It is due on Monday at ``DIGEST_AT`` in the admin's own time zone, moved like
every prompt past non-working days and quiet hours (``content.timing.local_due``).

What the digest says is composed when it is sent, by the composer the facade registers in
``Deps.composers`` (program health lives in ``bot.domain``, above this layer).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from bot.content.kinds import PromptKind
from bot.content.timing import local_due, zone
from bot.model.config import Settings
from storage.models import Person, Prompt, Workspace

ADMIN_KINDS = frozenset({PromptKind.ADMIN_DIGEST.value})
DIGEST_WEEKDAY = 0  # Monday
DIGEST_AT = time(9, 0)  # local: the admin's morning

_P = Prompt.__table__  # type: ignore[attr-defined]
_PE = Person.__table__  # type: ignore[attr-defined]
_W = Workspace.__table__  # type: ignore[attr-defined]


def period(monday: date) -> str:
    return f"digest-{monday.isoformat()}"


def is_admin(settings: Settings) -> Any:
    """The chat rule for admin rights (``Turn.is_admin``), as SQL on ``person``."""
    emails = sorted(settings.admin_emails)
    return or_(_PE.c.is_granted_admin.is_(True), _PE.c.is_platform_admin.is_(True),
               func.lower(_PE.c.email).in_(emails))


def digest_due(settings: Settings, monday: date, tz: str | None) -> datetime:
    return local_due(monday, DIGEST_WEEKDAY, DIGEST_AT, tz, settings.working_weekdays, settings.quiet)


def plan_admin_digests(conn: Connection, settings: Settings, now: datetime) -> int:
    """This week's digest (when it is due after the admin opted in) and next week's, for every admin
    who opted in; rows already planned are skipped. Returns how many were new."""
    admins = conn.execute(
        select(_PE.c.id, _PE.c.workspace_id, _PE.c.tz, _PE.c.admin_digest_since, _W.c.default_tz)
        .join(_W, _W.c.id == _PE.c.workspace_id)
        .where(_PE.c.admin_digest_since.is_not(None), _PE.c.forgotten.is_(False), _PE.c.opted_out.is_(False),
               _W.c.status == "active", is_admin(settings))
    ).all()
    rows: list[dict[str, Any]] = []
    for person_id, ws_id, tz, since, ws_tz in admins:
        local_today = now.astimezone(zone(tz or ws_tz)).date()
        this_monday = local_today - timedelta(days=local_today.weekday())
        for monday in (this_monday, this_monday + timedelta(weeks=1)):
            due = digest_due(settings, monday, tz or ws_tz)
            if due < since:
                continue
            rows.append({"pair_id": None, "recipient_id": person_id, "workspace_id": ws_id,
                         "kind": PromptKind.ADMIN_DIGEST.value, "period": period(monday), "week": 0,
                         "due_at": due, "next_attempt_at": due, "status": "pending", "created_at": now})
    if not rows:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(_P).values(rows).on_conflict_do_nothing()
    return max(conn.execute(stmt).rowcount, 0)


def cancel_admin_digests(conn: Connection, person_id: int) -> int:
    """``digest off``: the digests already planned for this admin are not sent."""
    res = conn.execute(update(_P).where(
        _P.c.recipient_id == person_id, _P.c.pair_id.is_(None), _P.c.kind.in_(sorted(ADMIN_KINDS)),
        _P.c.status == "pending").values(status="cancelled", last_error="digest turned off"))
    return max(res.rowcount, 0)


def load_admin_rows(conn: Connection, prompt_ids: list[int]) -> list[Any]:
    """The claimed admin prompts among ``prompt_ids``, with their workspace and recipient."""
    if not prompt_ids:
        return []
    return list(conn.execute(
        select(_P.c.id, _P.c.kind, _P.c.period, _P.c.recipient_id, _P.c.due_at, _P.c.attempts,
               _P.c.workspace_id.label("ws_id"), _W.c.platform, _W.c.external_id.label("ws_ext"),
               _W.c.status.label("ws_status"), _W.c.credentials_enc,
               _PE.c.name.label("rc_name"), _PE.c.external_id.label("rc_ext"), _PE.c.address.label("rc_address"),
               _PE.c.opted_out, _PE.c.paused, _PE.c.snoozed_until, _PE.c.unreachable_reason, _PE.c.forgotten,
               _PE.c.admin_digest_since)
        .join(_W, _W.c.id == _P.c.workspace_id)
        .join(_PE, _PE.c.id == _P.c.recipient_id)
        .where(_P.c.id.in_(prompt_ids), _P.c.pair_id.is_(None))
    ).all())
