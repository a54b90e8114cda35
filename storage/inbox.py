"""The inbox of accepted interactions: rows written before a platform is told "OK", processed at least
once and deduplicated by a unique key (a replay, a platform retry or a second replica finds the key taken).

Every function here is one short synchronous unit of work (call it through ``db.run``). Leases use the
wall clock (``datetime.now(UTC)``), never an injected business clock: they are about processes, not
about the program's calendar. ``mark_done`` is the exception: it takes the caller's session so the core
can mark a row done in the same transaction as the work it did for it (a retry after a crash then finds
it done and applies nothing twice).

Two lanes, so one row never holds up the rest: fresh rows (``pending``/``answered``) are claimed by
``claim``; a row whose processing failed goes to ``retry`` with a backoff (``retry_later``: 1 s doubling
to ``RETRY_MAX_S``, with jitter) and is claimed only by ``claim(..., lane="retry")``, which the pool runs
beside the main path. Rows that cannot be read (sealed with a key we do not hold, JSON that does not
parse) and rows that failed ``MAX_ATTEMPTS`` times are *parked*: ``failed``, with the reason (one of
``PARK_REASONS``) kept in ``result``, and never looked at again; a claim parks at most ``SCAN_MAX`` of
them and goes on to the rows it can read, so thousands of unreadable rows cost a few short transactions.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from storage.crypto import DecryptionError, SecretBox
from storage.db import Database
from storage.models import InboxItem

_LOGGER = logging.getLogger(__name__)

T = InboxItem.__table__  # type: ignore[attr-defined]
MAX_ATTEMPTS = 5  # a row that failed this often is parked as "failed" (a bug, not a blip)
KEEP_DONE = timedelta(days=1)  # done rows are the dedupe memory: longer than any platform retries
OPEN = ("pending", "answered")  # rows still to be shown (the main lane)
RETRY = "retry"  # failed once or more; waiting out its backoff (the retry lane)
RETRY_INITIAL_S = 1.0
RETRY_MAX_S = 60.0
SCAN_MAX = 1000  # unreadable rows one claim parks at most before it returns what it found
SCAN_WINDOW = 250  # rows read at once once a claim has met unreadable ones
# Why a row was parked (a closed set: these are metric labels). ``key``: sealed with a key that is not
# configured (a rotated MOMENTUM_SECRET_KEY, or none set); ``corrupt``: the payload is not a JSON object;
# ``attempts``: its processing failed MAX_ATTEMPTS times.
PARK_REASONS = ("key", "corrupt", "attempts")


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


class Unreadable(Exception):
    """A row that no attempt will ever read; ``reason`` is one of ``PARK_REASONS``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _open(raw: bytes, encrypted: bool, box: SecretBox | None) -> dict[str, Any]:
    if encrypted:
        if box is None:
            raise Unreadable("key")  # encrypted, and no MOMENTUM_SECRET_KEY is set
        try:
            plain = box.decrypt(bytes(raw))
        except DecryptionError as exc:
            raise Unreadable("key") from exc
    else:
        plain = bytes(raw)
    try:
        data = json.loads(plain.decode())
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Unreadable("corrupt") from exc
    if not isinstance(data, dict):
        raise Unreadable("corrupt")
    return data


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
          ids: list[int] | None = None, exclude: frozenset[int] = frozenset(), lane: str = "main",
          parked: dict[str, int] | None = None) -> list[Item]:
    """Take up to ``limit`` rows of ``lane`` whose lease (or backoff) has run out (or exactly ``ids``,
    when leased to us), oldest first, and lease them for ``lease_s``. ``lane="main"``: fresh rows;
    ``lane="retry"``: rows waiting to be tried again (taken back to ``pending``, or ``answered`` when
    an earlier attempt kept its answer). PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so replicas never
    take the same row at once.

    Rows that cannot be read, or that failed ``MAX_ATTEMPTS`` times, are parked with their reason
    (counted into ``parked``); the claim then reads further, up to ``SCAN_MAX`` parked rows, so a
    heap of unreadable rows never stands in the way of the readable ones behind it."""
    now = utcnow()
    out: list[Item] = []
    park: dict[str, list[int]] = {}
    after = 0
    with Session(db.engine) as s:
        while len(out) < limit and sum(len(v) for v in park.values()) < SCAN_MAX:
            q = select(T.c.id, T.c.key, T.c.platform, T.c.kind, T.c.payload, T.c.encrypted, T.c.attempts,
                       T.c.result)
            q = q.where(T.c.state == RETRY) if lane == "retry" else q.where(T.c.state.in_(OPEN))
            q = q.where(T.c.id.in_(ids)) if ids is not None else q.where(T.c.lease_until <= now)
            if exclude:  # rows the caller holds already (their lease may have run out while they waited)
                q = q.where(T.c.id.not_in(sorted(exclude)))
            if after:
                q = q.where(T.c.id > after)
            # First what was asked for; past unreadable rows, wider windows (fewer round trips).
            want = limit - len(out) if not park else max(limit - len(out), SCAN_WINDOW)
            rows = s.execute(q.order_by(T.c.id).limit(want).with_for_update(skip_locked=True)).all()
            for rid, key, platform, kind, raw, encrypted, attempts, result in rows:
                if len(out) == limit:  # the rest of a wide window stays for the next claim
                    break
                after = rid
                if attempts >= MAX_ATTEMPTS:
                    park.setdefault("attempts", []).append(rid)
                    continue
                try:
                    payload = _open(raw, encrypted, box)
                    answer = _open(result, encrypted, box) if result else None
                except Unreadable as exc:  # a key rotated away, a corrupt row: parked, never retried
                    park.setdefault(exc.reason, []).append(rid)
                    continue
                out.append(Item(rid, key, platform, kind, payload, attempts + 1, answer))
            if len(rows) < want or ids is not None:  # nothing more to read
                break
        for reason, rids in park.items():
            _park(s, rids, reason, now)
            _LOGGER.warning("inbox: %d row(s) parked: %s", len(rids), reason,
                            extra={"parked": len(rids), "reason": reason})
            if parked is not None:
                parked[reason] = parked.get(reason, 0) + len(rids)
        if out:
            values: dict[str, Any] = {"attempts": T.c.attempts + 1, "lease_until": now + timedelta(seconds=lease_s)}
            if lane == "retry":
                values["state"] = case((T.c.result.is_(None), "pending"), else_="answered")
            s.execute(update(T).where(T.c.id.in_([i.id for i in out])).values(**values))
        s.commit()
    return out


def _park(s: Session, ids: list[int], reason: str, now: datetime) -> None:
    assert reason in PARK_REASONS
    for chunk in range(0, len(ids), 500):
        s.execute(update(T).where(T.c.id.in_(ids[chunk:chunk + 500])).values(
            state="failed", payload=b"", result=reason.encode(), done_at=now))


def backoff_s(attempts: int) -> float:
    """How long a row waits after its ``attempts``-th failed attempt: 1 s doubling to ``RETRY_MAX_S``,
    plus up to a quarter of that at random (replicas that failed together do not retry in step)."""
    base = min(RETRY_MAX_S, RETRY_INITIAL_S * 2 ** max(0, attempts - 1))
    return base + random.uniform(0, base / 4)


def retry_later(db: Database, row_id: int, attempts: int) -> str:
    """A row's processing failed: it waits out its backoff in the retry lane, or, after
    ``MAX_ATTEMPTS``, is parked as failed. Returns the row's new state (``retry`` or ``failed``)."""
    now = utcnow()
    with Session(db.engine) as s:
        if attempts >= MAX_ATTEMPTS:
            s.execute(update(T).where(T.c.id == row_id, T.c.state.in_(OPEN)).values(
                state="failed", payload=b"", result=b"attempts", done_at=now))
            s.commit()
            return "failed"
        s.execute(update(T).where(T.c.id == row_id, T.c.state.in_(OPEN)).values(
            state=RETRY, lease_until=now + timedelta(seconds=backoff_s(attempts))))
        s.commit()
        return RETRY


def parked(db: Database) -> dict[str, int]:
    """Parked rows still kept (they are pruned with the finished ones), by reason."""
    with Session(db.engine) as s:
        got = s.execute(select(T.c.result, func.count()).where(T.c.state == "failed").group_by(T.c.result)).all()
    out = dict.fromkeys(PARK_REASONS, 0)
    for raw, n in got:
        reason = bytes(raw).decode(errors="replace") if raw else ""
        out[reason if reason in out else "attempts"] += int(n)  # rows parked before reasons were kept
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


def unfinished(db: Database) -> int:
    """Rows not yet finished, whatever their lease: open, or waiting out a retry's backoff."""
    with Session(db.engine) as s:
        return int(s.execute(select(func.count()).select_from(T).where(
            T.c.state.in_((*OPEN, RETRY)))).scalar_one())


def ready(db: Database) -> int:
    """Rows waiting to be taken now (open or due for a retry, lease run out)."""
    with Session(db.engine) as s:
        return int(s.execute(select(func.count()).select_from(T).where(
            T.c.state.in_((*OPEN, RETRY)), T.c.lease_until <= utcnow())).scalar_one())
