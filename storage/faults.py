"""Database faults by kind, a cheap write probe, and recovery from connections that went read-only.

``classify(exc)`` names what a database error means for the people waiting on it:

- ``unreachable``: the server cannot be reached or dropped the connection (PostgreSQL down, restarting,
  refusing connections, a network cut). Work waits and retries; nothing is wrong with the data.
- ``disk_full``: SQLite's "database or disk is full" (``SQLITE_FULL``), PostgreSQL's ``53100 disk_full``.
- ``read_only``: SQLite's "attempt to write a readonly database" (``SQLITE_READONLY``: the file or its
  directory is not writable, a ``?mode=ro`` URL, ``PRAGMA query_only``), PostgreSQL's ``25006``
  (``read_only_sql_transaction``: a standby, ``default_transaction_read_only``).

The last two are *write* faults: reads keep working. Everything else is ``None`` (a bug or bad input).

``probe_writes(engine)`` tries a write that is never kept: one page-sized row into the app secrets table
inside a transaction that is rolled back (SQLite takes the write lock with ``BEGIN IMMEDIATE`` first),
so a read-only file and a database that cannot grow by a page both show up.

``watch_engine(engine)`` invalidates a connection that hit a read-only error: SQLite opens a file it
may not write read-only and that connection stays read-only for its life, and a PostgreSQL session
keeps the ``default_transaction_read_only`` it started with; a fresh connection sees the file or
database as it is now, so writes come back by themselves once it is writable again.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from storage.models import AppSecret

_LOGGER = logging.getLogger(__name__)

FaultKind = Literal["unreachable", "disk_full", "read_only"]
WRITE_FAULTS: frozenset[str] = frozenset({"disk_full", "read_only"})

SQLITE_READONLY = 8
SQLITE_FULL = 13
# PostgreSQL SQLSTATEs (Appendix A): class 08 connection exceptions, 57P01-57P03 shutdown/starting,
# 53300 too many connections; 53100 disk full; 25006 read-only transaction.
PG_UNREACHABLE_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})
PG_DISK_FULL = "53100"
PG_READ_ONLY = "25006"
# Connection errors that are configuration, not an outage: waiting will not fix them.
PG_CONFIG_WORDS = ("password authentication failed", "does not exist", "no pg_hba.conf entry",
                   "invalid dsn", "invalid connection option", "role ", "certificate")
PROBE_NAME_PREFIX = "health-probe-"
PROBE_TABLE = str(AppSecret.__tablename__)  # small, no foreign keys; the probe's row is never committed


@dataclass(frozen=True)
class DbFault:
    kind: FaultKind
    reason: str  # one short line, safe to log (no parameters, no URLs with passwords)

    @property
    def writes_only(self) -> bool:
        return self.kind in WRITE_FAULTS

    def describe(self) -> str:
        if self.kind == "unreachable":
            return f"database unreachable: {self.reason}"
        return f"writes failing: {self.reason}"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen and len(seen) < 10:
        seen.append(cur)
        inner = cur.orig if isinstance(cur, DBAPIError) else None
        cur = inner if inner is not None else (cur.__cause__ or cur.__context__)
    return seen


def _one_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:200]


def _sqlite(exc: sqlite3.Error) -> DbFault | None:
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    msg = str(exc).lower()
    if primary == SQLITE_FULL or "database or disk is full" in msg:
        return DbFault("disk_full", "disk full")
    if primary == SQLITE_READONLY or "readonly database" in msg or "read-only" in msg:
        return DbFault("read_only", "read-only database")
    return None


def _postgres(exc: BaseException) -> DbFault | None:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return None
    if not isinstance(exc, psycopg.Error):
        return None
    state = getattr(exc, "sqlstate", None) or ""
    if state == PG_DISK_FULL:
        return DbFault("disk_full", "disk full")
    if state == PG_READ_ONLY:
        return DbFault("read_only", "read-only database")
    if state.startswith("08") or state in PG_UNREACHABLE_STATES:
        return DbFault("unreachable", _one_line(str(exc)) or state)
    if isinstance(exc, psycopg.OperationalError) and not state:
        text = _one_line(str(exc))
        if any(w in text.lower() for w in PG_CONFIG_WORDS):
            return None
        return DbFault("unreachable", text or type(exc).__name__)
    return None


def classify(exc: BaseException) -> DbFault | None:
    """What a database error means: unreachable, disk full, read-only; ``None`` for anything else."""
    for e in _chain(exc):
        if isinstance(e, sqlite3.Error):
            return _sqlite(e)
        found = _postgres(e)
        if found is not None:
            return found
        if isinstance(e, PoolTimeout):
            return DbFault("unreachable", "no connection free in time")
        if isinstance(e, DBAPIError) and e.connection_invalidated and e.orig is None:
            return DbFault("unreachable", "connection lost")
    return None


# --- recovery: connections that went read-only are replaced -------------------------------------------


def _on_error(ctx: Any) -> None:
    fault = classify(ctx.original_exception)
    if fault is not None and fault.kind == "read_only":
        # Treated as a disconnect: the connection (and the pool, which may hold more like it) is
        # discarded; the next checkout opens the file or session afresh.
        ctx.is_disconnect = True


def watch_engine(engine: Engine) -> None:
    """Replace connections that hit a read-only error (see the module's docstring)."""
    if not event.contains(engine, "handle_error", _on_error):
        event.listen(engine, "handle_error", _on_error)


# --- the write probe -----------------------------------------------------------------------------------

PROBE_BUSY_MS = 200  # another writer holding the lock means writes work: never wait long for it


def probe_writes(engine: Engine) -> DbFault | None:
    """Try a write that is never kept; the fault when it fails, ``None`` when writes work. A
    read-only answer is asked once more: the first may come from a connection opened while the file
    was read-only, which the error has just discarded (``watch_engine``)."""
    fault = _probe_once(engine)
    if fault is not None and fault.kind == "read_only":
        fault = _probe_once(engine)
    return fault


def _probe_once(engine: Engine) -> DbFault | None:
    name = PROBE_NAME_PREFIX + uuid.uuid4().hex[:12]
    try:
        if engine.dialect.name == "sqlite":
            return _probe_sqlite(engine, name)
        return _probe_postgres(engine, name)
    except Exception as exc:
        fault = classify(exc)
        if fault is None:
            _LOGGER.warning("write probe failed: %s", type(exc).__name__)
            return DbFault("unreachable", type(exc).__name__)
        return fault


def _probe_sqlite(engine: Engine, name: str) -> DbFault | None:
    with engine.connect() as conn:
        page = int(conn.exec_driver_sql("PRAGMA page_size").scalar_one())
        busy = int(conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one())
        conn.exec_driver_sql(f"PRAGMA busy_timeout={PROBE_BUSY_MS}")
        try:
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except OperationalError as exc:
                if "locked" in str(exc.orig).lower() or "busy" in str(exc.orig).lower():
                    return None  # someone else is writing right now: writes work
                raise
            try:
                # A row bigger than a page needs a fresh page: a database that cannot grow says so.
                conn.exec_driver_sql(f"INSERT INTO {PROBE_TABLE} (name, value, created_at) VALUES "
                                     "(?, zeroblob(?), CURRENT_TIMESTAMP)", (name, page))
            finally:
                conn.rollback()
        finally:
            if not conn.invalidated:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={busy}")
                conn.rollback()
    return None


def _probe_postgres(engine: Engine, name: str) -> DbFault | None:
    from sqlalchemy import text

    with engine.connect() as conn:
        try:
            conn.execute(text("SET LOCAL lock_timeout = '500ms'"))
            conn.execute(text("SET LOCAL statement_timeout = '1000ms'"))
            conn.execute(text(f"INSERT INTO {PROBE_TABLE} (name, value, created_at) VALUES "
                              "(:n, decode(repeat('00', 8192), 'hex'), now())"), {"n": name})
        finally:
            conn.rollback()
    return None


class WriteProbe:
    """``probe_writes`` with a short memory: a success is reused for ``ttl_s`` (health checks may come
    often and the probe takes SQLite's write lock for a moment); a failure never is, so recovery
    shows at the next check. Thread-safe."""

    def __init__(self, engine: Engine, ttl_s: float = 2.0) -> None:
        self.engine, self.ttl_s = engine, ttl_s
        self._lock = threading.Lock()
        self._ok_at: float | None = None

    def check(self, *, fresh: bool = False) -> DbFault | None:
        with self._lock:
            if not fresh and self._ok_at is not None and time.monotonic() - self._ok_at < self.ttl_s:
                return None
            fault = probe_writes(self.engine)
            self._ok_at = time.monotonic() if fault is None else None
            return fault
