"""Engine and session setup for SQLite (embedded default) and PostgreSQL, and the one bounded
database executor every unit of work runs in (the event loop never waits on the database)."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session, create_engine

from storage.faults import watch_engine

_LOGGER = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///momentum.db"
SQLITE_BUSY_TIMEOUT_MS = 10_000
# SQLite has one writer at a time and its units are mostly Python work under the GIL: two threads
# let a short unit pass a long one (a `report`), and leave the event loop its share of the GIL (with
# four, acks in the admin mix waited up to 2-3x longer for no more answers per second).
SQLITE_WORKERS = 2
# The background lane: long admin jobs (a CSV import's write, an export) run here, never in the
# interactive slots above, and at most this many at once (more wait their turn in this lane).
BACKGROUND_WORKERS = 1
# The ack lane: the short reads and writes that stand between a request and its acknowledgement
# (inbox rows, quick answers), so an ack never queues behind a report's unit of work.
ACK_WORKERS = 2
PG_POOL_SIZE = 10
PG_MAX_OVERFLOW = 10
DEFAULT_CONNECT_TIMEOUT_S = 5
DEFAULT_STATEMENT_TIMEOUT_MS = 15_000
DEFAULT_LOCK_TIMEOUT_MS = 5_000

P = ParamSpec("P")
T = TypeVar("T")


def normalise_url(url: str | None) -> str:
    """Default to the SQLite file; accept ``postgres://`` and ``postgresql://`` as psycopg 3."""
    if not url:
        return DEFAULT_URL
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class BadDatabaseURL(ValueError):
    """DATABASE_URL cannot work; the message says what to fix and shows the URL with its password masked."""


# scheme://user:password@rest. The password runs to the LAST "@" (an unescaped "@" in it is the commonest
# mistake), so it is masked whole; rest (host, port, path) holds no "@".
_PARTS = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?:(?P<user>[^:/@]*)(?P<pw>:.*)?@)?(?P<rest>[^@]*)$",
                    re.DOTALL)
# host:port at the start of rest; a "port" that is not a number is probably a password in the wrong place
_HOST_PORT = re.compile(r"^(?P<host>\[[^\]]*\]|[^:/?#]*):(?P<port>[^/?#]*)")
_URL_SHAPE = "postgresql://user:password@host:5432/dbname"


def mask_url(url: str) -> str:
    """``url`` fit to print: the password (and anything in the port's place that is not a number) as ***.
    SQLAlchemy renders what it parses cleanly; anything else is masked by pattern."""
    try:
        parsed = make_url(url)
        if "@" not in (parsed.host or "") and "@" not in (parsed.username or ""):
            return parsed.render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        pass
    m = _PARTS.match(url.strip())
    if m is None:
        return "***"  # it does not read as a URL: it may be a password pasted in the wrong place
    rest = _HOST_PORT.sub(lambda hp: hp[0] if hp["port"].isdigit() or not hp["port"] else f"{hp['host']}:***",
                          m["rest"], count=1)
    who = "" if m["user"] is None else m["user"] + (":***" if m["pw"] is not None else "") + "@"
    return f"{m['scheme']}{who}{rest}"


def parse_url(url: str | None) -> URL:
    """DATABASE_URL parsed (``normalise_url`` applied), or ``BadDatabaseURL`` saying what to fix in one line
    (never the password)."""
    raw = (url or DEFAULT_URL).strip()
    shown = mask_url(raw)
    try:
        parsed = make_url(normalise_url(raw))
    except ArgumentError:
        # not shown at all: what does not read as a URL may be a password pasted in the wrong place
        raise BadDatabaseURL(f"not a database URL; use sqlite:///path/to/momentum.db or {_URL_SHAPE}") from None
    except ValueError:  # SQLAlchemy's int(port)
        raise BadDatabaseURL(
            f"the port must be a number ({shown}); the shape is {_URL_SHAPE}, with any @ : / in the password "
            "written %40 %3A %2F") from None
    if "@" in (parsed.host or ""):
        raise BadDatabaseURL(f"the password or user name has an @ in it ({shown}): write it as %40")
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        raise BadDatabaseURL(f"the port must be between 1 and 65535 ({shown})")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BadDatabaseURL(f"unsupported database {backend!r} ({shown}); use sqlite:/// or postgresql://")
    return parsed


def scrub_password(text: str, url: URL) -> str:
    """``text`` (a driver's error message) without the URL's password, should a driver ever repeat it."""
    return text.replace(url.password, "***") if isinstance(url.password, str) and url.password else text


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


def make_engine(
    url: str | None = None,
    *,
    echo: bool = False,
    connect_timeout_s: int = DEFAULT_CONNECT_TIMEOUT_S,
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
    lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS,
) -> Engine:
    """The engine; PostgreSQL connections carry a connect timeout and statement and lock timeouts
    (0 turns a timeout off), so a database that hangs surfaces as an error, never as a stuck thread."""
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
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = connect_timeout_s
        # connect_args win over the URL's query: keep its own options (e.g. a search_path) too
        own = parsed.query.get("options", "")
        own = " ".join(own) if isinstance(own, tuple) else own
        connect_args["options"] = " ".join(filter(None, (
            own, f"-c statement_timeout={statement_timeout_ms} -c lock_timeout={lock_timeout_ms}")))
    return create_engine(url, echo=echo, hide_parameters=True, pool_pre_ping=True, pool_size=PG_POOL_SIZE,
                         max_overflow=PG_MAX_OVERFLOW, pool_timeout=max(1, connect_timeout_s),
                         connect_args=connect_args)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


class Database:
    """The engine, a session helper and the database executor; one per process.

    ``await db.run(fn, *args)`` runs one synchronous unit of work on the executor: a thread pool
    no larger than the connection pool (so a unit never queues for a connection while holding a
    thread), each call in a copy of the caller's context variables. It is created on first use
    and shut down by ``dispose``.

    ``await db.run_background(fn, *args)`` is the background lane: a second, small pool for long
    admin jobs, so they never take the slots interactive answers use. ``await db.run_ack(fn, *args)``
    is the ack lane: a second small pool for the short units that stand between a request and its
    acknowledgement (writing the inbox row), so an ack never waits behind a report. PostgreSQL's
    connection pool has room for all three (``PG_POOL_SIZE`` + ``PG_MAX_OVERFLOW`` >= the pools together).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        echo: bool = False,
        connect_timeout_s: int = DEFAULT_CONNECT_TIMEOUT_S,
        statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
        lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS,
    ) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, echo=echo, connect_timeout_s=connect_timeout_s,
                                  statement_timeout_ms=statement_timeout_ms, lock_timeout_ms=lock_timeout_ms)
        watch_engine(self.engine)  # connections that went read-only are replaced (storage.faults)
        self.workers = SQLITE_WORKERS if self.engine.dialect.name == "sqlite" else PG_POOL_SIZE
        self.background_workers = BACKGROUND_WORKERS
        self._executor: ThreadPoolExecutor | None = None
        self._background: ThreadPoolExecutor | None = None
        self._ack: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _pool(self, attr: str, workers: int, prefix: str) -> ThreadPoolExecutor:
        with self._lock:
            pool: ThreadPoolExecutor | None = getattr(self, attr)
            if pool is None:
                pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=prefix)
                setattr(self, attr, pool)
            return pool

    @property
    def executor(self) -> ThreadPoolExecutor:
        return self._pool("_executor", self.workers, "momentum-db")

    @property
    def background_executor(self) -> ThreadPoolExecutor:
        return self._pool("_background", self.background_workers, "momentum-db-bg")

    @property
    def ack_executor(self) -> ThreadPoolExecutor:
        return self._pool("_ack", ACK_WORKERS, "momentum-db-ack")

    @staticmethod
    async def _run_in(pool: ThreadPoolExecutor, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        ctx = contextvars.copy_context()  # the caller's context variables go with the call
        call = functools.partial(ctx.run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(pool, call)

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(*args, **kwargs)`` (synchronous, may use the database) on the database executor."""
        return await self._run_in(self.executor, fn, *args, **kwargs)

    async def run_background(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Like ``run``, on the background lane (long admin jobs: imports, exports)."""
        return await self._run_in(self.background_executor, fn, *args, **kwargs)

    async def run_ack(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Like ``run``, on the ack lane (short units a request's acknowledgement waits for)."""
        return await self._run_in(self.ack_executor, fn, *args, **kwargs)

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
        with self._lock:
            executors = (self._executor, self._background, self._ack)
            self._executor = self._background = self._ack = None
        for executor in executors:
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)
        self.engine.dispose()
