"""The inbox of accepted interactions: rows written before a platform is told "OK", processed at least
once and deduplicated by a unique key (a replay, a platform retry or a second replica finds the key taken).

Every function here is one short synchronous unit of work (call it through ``db.run``). Leases use the
wall clock (``datetime.now(UTC)``), never an injected business clock: they are about processes, not
about the program's calendar. ``mark_done`` is the exception: it takes the caller's session so the core
can mark a row done in the same transaction as the work it did for it (a retry after a crash then finds
it done and applies nothing twice).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from storage.crypto import SecretBox
from storage.db import Database
from storage.models import InboxItem

_LOGGER = logging.getLogger(__name__)

T = InboxItem.__table__  # type: ignore[attr-defined]
MAX_ATTEMPTS = 5  # a row that failed this often is parked as "failed" (a bug, not a blip)
KEEP_DONE = timedelta(days=1)  # done rows are the dedupe memory: longer than any platform retries
OPEN = ("pending", "answered")  # rows still to be shown


@dataclass(frozen=True)
class Item:
    id: int
    key: str
    platform: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    result: dict[str, Any] | None = None  # the core's answer, when an earlier attempt got that far


def utcnow() -> datetime:
    return datetime.now(UTC)


def _seal(payload: dict[str, Any], box: SecretBox | None) -> tuple[bytes, bool]:
    if box is not None:
        return box.encrypt_json(payload), True
    return json.dumps(payload, separators=(",", ":")).encode(), False


def _open(raw: bytes, encrypted: bool, box: SecretBox | None) -> dict[str, Any]:
    if encrypted:
        if box is None:
            raise ValueError("inbox row is encrypted and no MOMENTUM_SECRET_KEY is set")
        return box.decrypt_json(raw)
    data = json.loads(raw.decode())
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class New:
    """An interaction to accept. ``lease_s`` > 0 reserves the row for the caller that long (it will
    process it itself)."""

    key: str
    platform: str
    kind: str
    payload: dict[str, Any]
    lease_s: float = 0.0


def accept(db: Database, key: str, platform: str, kind: str, payload: dict[str, Any],
           box: SecretBox | None, *, lease_s: float = 0.0) -> int | None:
    """Store an accepted interaction; its id, or ``None`` when ``key`` was seen before (a replay)."""
    return accept_many(db, [New(key, platform, kind, payload, lease_s)], box)[0]


def accept_many(db: Database, rows: Sequence[New], box: SecretBox | None) -> list[int | None]:
    """Store accepted interactions in one transaction and one statement (``INSERT ... ON CONFLICT (key)
    DO NOTHING RETURNING``, on SQLite and PostgreSQL alike): each one's id, in order, or ``None`` for a
    key seen before (a replay), or seen earlier in the same batch. No savepoints, no ORM objects: a
    burst of acknowledgements costs one short write."""
    if not rows:
        return []
    now = utcnow()
    values = []
    for r in rows:
        raw, encrypted = _seal(r.payload, box)
        values.append({"key": r.key[:128], "platform": r.platform, "kind": r.kind, "payload": raw,
                       "encrypted": encrypted, "state": "pending", "result": None, "attempts": 0,
                       "lease_until": now + timedelta(seconds=r.lease_s), "created_at": now, "done_at": None})
    insert = postgresql_insert if db.is_postgres else sqlite_insert
    stmt = insert(T).values(values).on_conflict_do_nothing(index_elements=[T.c.key]).returning(T.c.id, T.c.key)
    with db.engine.begin() as c:
        got = {key: rid for rid, key in c.execute(stmt)}
    return [got.pop(v["key"], None) for v in values]  # a key twice in one batch: the first one has it


def claim(db: Database, box: SecretBox | None, *, lease_s: float, limit: int,
          ids: list[int] | None = None, exclude: frozenset[int] = frozenset()) -> list[Item]:
    """Take up to ``limit`` pending rows whose lease has run out (or exactly ``ids``, when leased to us),
    oldest first, and lease them for ``lease_s``. PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so replicas
    never take the same row at once. Rows that failed ``MAX_ATTEMPTS`` times are parked as failed."""
    now = utcnow()
    out: list[Item] = []
    with Session(db.engine) as s:
        q = select(T.c.id, T.c.key, T.c.platform, T.c.kind, T.c.payload, T.c.encrypted, T.c.attempts,
                   T.c.result).where(T.c.state.in_(OPEN))
        q = q.where(T.c.id.in_(ids)) if ids is not None else q.where(T.c.lease_until <= now)
        if exclude:  # rows the caller holds already (their lease may have run out while they waited)
            q = q.where(T.c.id.not_in(sorted(exclude)))
        rows = s.execute(q.order_by(T.c.id).limit(limit).with_for_update(skip_locked=True)).all()
        parked: list[int] = []
        for rid, key, platform, kind, raw, encrypted, attempts, result in rows:
            if attempts >= MAX_ATTEMPTS:
                parked.append(rid)
                continue
            try:
                payload = _open(raw, encrypted, box)
                answer = _open(result, encrypted, box) if result else None
            except Exception as exc:  # a key rotated away, a corrupt row: parked, never retried forever
                _LOGGER.warning("inbox row %s cannot be read (%s); parked", rid, type(exc).__name__)
                parked.append(rid)
                continue
            out.append(Item(rid, key, platform, kind, payload, attempts + 1, answer))
        if parked:
            _LOGGER.warning("inbox: %d row(s) failed %d times; parked as failed", len(parked), MAX_ATTEMPTS)
            s.execute(update(T).where(T.c.id.in_(parked)).values(state="failed", payload=b"", result=None,
                                                                   done_at=now))
        if out:
            s.execute(update(T).where(T.c.id.in_([i.id for i in out])).values(
                attempts=T.c.attempts + 1, lease_until=now + timedelta(seconds=lease_s)))
        s.commit()
    return out


def mark_answered(s: Session, row_id: int, answer: dict[str, Any], box: SecretBox | None) -> bool:
    """In the caller's transaction: the core did the row's work; keep its answer (sealed like the
    payload) until it is shown. ``False`` when an earlier attempt or another replica got there first:
    the caller must roll back its work."""
    raw, _ = _seal(answer, box)
    res = s.execute(update(T).where(T.c.id == row_id, T.c.state == "pending").values(
        state="answered", result=raw))
    return bool(res.rowcount)  # type: ignore[attr-defined]


def finish(db: Database, row_id: int, state: str = "done") -> None:
    """Mark a row finished once its answer was shown (or the core failed and said sorry); its payload
    and answer are forgotten."""
    with Session(db.engine) as s:
        s.execute(update(T).where(T.c.id == row_id, T.c.state.in_(OPEN)).values(
            state=state, payload=b"", result=None, done_at=utcnow()))
        s.commit()


def release(db: Database, ids: list[int]) -> None:
    """Give rows back (shutdown): the next process may take them at once."""
    if not ids:
        return
    with Session(db.engine) as s:
        s.execute(update(T).where(T.c.id.in_(ids), T.c.state.in_(OPEN)).values(lease_until=utcnow()))
        s.commit()


def state_of(db: Database, row_id: int) -> str | None:
    with Session(db.engine) as s:
        return s.execute(select(T.c.state).where(T.c.id == row_id)).scalar_one_or_none()


def counts(db: Database) -> dict[str, int]:
    with Session(db.engine) as s:
        return {str(st): int(n) for st, n in s.execute(select(T.c.state, func.count()).group_by(T.c.state)).all()}


def prune(db: Database, keep: timedelta = KEEP_DONE) -> int:
    """Forget finished rows older than ``keep`` (their keys no longer need to stop replays)."""
    with Session(db.engine) as s:
        res = s.execute(delete(T).where(T.c.state.in_(("done", "failed")), T.c.done_at < utcnow() - keep))
        s.commit()
        return int(res.rowcount or 0)  # type: ignore[attr-defined]


def ready(db: Database) -> int:
    """Rows waiting to be taken now (open, lease run out)."""
    with Session(db.engine) as s:
        return int(s.execute(select(func.count()).select_from(T).where(
            T.c.state.in_(OPEN), T.c.lease_until <= utcnow())).scalar_one())
