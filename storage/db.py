"""Engine and session setup for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

_LOGGER = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///momentum.db"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def normalise_url(url: str | None) -> str:
    """Default to the SQLite file; accept ``postgres://`` and ``postgresql://`` as psycopg 3."""
    if not url:
        return DEFAULT_URL
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the server's request handlers read while the scheduler writes; the busy
    # timeout makes a writer wait for the lock instead of failing with "database is locked".
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    # Deleted and overwritten content is zeroed on disk, so an erased person's words do not
    # linger in free pages (``forget``); the WAL is emptied by ``Database.scrub``.
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def make_engine(url: str | None = None, *, echo: bool = False) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,  # error messages must never carry notes, emails or tokens into logs
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, echo=echo, hide_parameters=True, pool_pre_ping=True, pool_size=10, max_overflow=10)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


class Database:
    """The engine plus a session helper; one per process."""

    def __init__(self, url: str | None = None, *, echo: bool = False) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, echo=echo)

    @property
    def is_postgres(self) -> bool:
        return is_postgres(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with Session(self.engine, expire_on_commit=False) as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def ping(self) -> bool:
        try:
            with self.engine.connect() as c:
                c.execute(text("SELECT 1"))
            return True
        except Exception as exc:  # health checks report, never raise
            _LOGGER.warning("database ping failed: %s", type(exc).__name__)
            return False

    def scrub(self) -> None:
        """Make erased data unrecoverable from the files right away.

        SQLite: ``secure_delete`` zeroes what a commit frees, but the WAL keeps old page images
        until a checkpoint: a TRUNCATE checkpoint copies them home and empties the WAL file.
        PostgreSQL keeps dead row versions until VACUUM; autovacuum reclaims them (run
        ``VACUUM`` after a ``forget`` where a regulator needs the bytes gone at once).
        """
        if self.engine.dialect.name != "sqlite":
            return
        with self.engine.connect() as c:
            busy, _log, _done = c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
            if busy:
                _LOGGER.warning("WAL checkpoint after an erase was blocked by a reader; it completes later")

    def dispose(self) -> None:
        self.engine.dispose()
