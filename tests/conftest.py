"""Shared fixtures: clock, databases (SQLite and PostgreSQL), the core facade.

PostgreSQL: each test gets a fresh schema in the database named by
``MOMENTUM_TEST_PG_URL`` (default: database ``test`` on 127.0.0.1:5432), so
parallel runs never see each other's rows.  When PostgreSQL is unreachable the
tests fail under CI (``CI=true`` or ``MOMENTUM_REQUIRE_POSTGRES=1``) and skip
with the reason elsewhere.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bot.app import Momentum
from bot.model.clock import FakeClock
from bot.model.config import Settings
from storage.db import Database
from storage.migrate import upgrade
from tests.helpers.pg import Unreachable, migrated_schema

PG_URL = os.environ.get("MOMENTUM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("CI", "").lower() in {"1", "true", "yes"} or os.environ.get(
    "MOMENTUM_REQUIRE_POSTGRES", ""
) in {"1", "true"}
SCHEMAS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "schemas"
START = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)  # a Monday, before anyone's working day


def require_schema(name: str) -> Path:
    """Official JSON schemas live in ../shared/schemas; CI must have them."""
    path = SCHEMAS_DIR / name
    if not path.exists():
        if REQUIRE_PG:  # the same switch: in CI nothing may skip
            pytest.fail(f"schema {path} is missing (expected ../shared/schemas beside the project)")
        pytest.skip(f"schema {path} not found (outside the Momentum workspace)")
    return path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def settings() -> Settings:
    return Settings(MOMENTUM_SECRET_KEY="test-secret", MOMENTUM_ADMINS="admin@example.com")


def _sqlite_db(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'momentum.db'}")
    upgrade(db.engine)
    return db


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A migrated, empty PostgreSQL schema of its own; yields its URL."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(migrated_schema(PG_URL, "t"))
        except Unreachable as exc:
            if REQUIRE_PG:
                pytest.fail(str(exc))
            pytest.skip(str(exc))
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The storage under test, on SQLite and on PostgreSQL."""
    d = _sqlite_db(tmp_path) if request.param == "sqlite" else Database(request.getfixturevalue("pg_url"))
    yield d
    d.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    d = _sqlite_db(tmp_path)
    yield d
    d.dispose()


@pytest.fixture
def momentum(sqlite_db: Database, settings: Settings, clock: FakeClock) -> Momentum:
    return Momentum(sqlite_db, settings, clock)


@pytest.fixture
def fake():  # type: ignore[no-untyped-def]
    """A recording platform named "test"."""
    from tests.fakes import RecordingPlatform

    return RecordingPlatform()


@pytest.fixture
def core(db: Database, settings: Settings, clock: FakeClock, fake) -> Momentum:  # type: ignore[no-untyped-def]
    """The core on SQLite and PostgreSQL, with the recording platform registered."""
    return Momentum(db, settings, clock, {"test": fake})


@pytest.fixture
def lite(sqlite_db: Database, settings: Settings, clock: FakeClock, fake) -> Momentum:  # type: ignore[no-untyped-def]
    """The core on SQLite only (behaviour that does not depend on the backend)."""
    return Momentum(sqlite_db, settings, clock, {"test": fake})


# --- the event loop never waits on the database -------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
PRODUCT_DIRS = tuple(str(ROOT / d) + os.sep for d in ("bot", "adapters"))
# Tests that run under ``no_sql_on_loop`` without asking: the Slack and Teams end-to-end suites and
# the platform contract.
NO_SQL_ON_LOOP_PATHS = (ROOT / "tests" / "slack", ROOT / "tests" / "teams", ROOT / "tests" / "test_contract.py")


def _async_product_frame(frame: Any) -> str | None:
    """The innermost coroutine of the product (``bot/``, ``adapters/``) on this stack, if any."""
    while frame is not None:
        code = frame.f_code
        if code.co_flags & inspect.CO_COROUTINE and code.co_filename.startswith(PRODUCT_DIRS):
            return f"{os.path.relpath(code.co_filename, ROOT)}:{frame.f_lineno} in {code.co_name}"
        frame = frame.f_back
    return None


@contextmanager
def sql_on_loop() -> Iterator[list[str]]:
    """Collect, while open, every statement the product runs on the event loop's thread (the rule
    is ``no_sql_on_loop``'s)."""
    found: list[str] = []

    def check(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # not the loop's thread
        where = _async_product_frame(sys._getframe(1))
        if where is not None:
            found.append(f"{where}: {statement.split(chr(10))[0][:80]}")

    event.listen(Engine, "before_cursor_execute", check)
    try:
        yield found
    finally:
        event.remove(Engine, "before_cursor_execute", check)


@pytest.fixture
def no_sql_on_loop() -> Iterator[list[str]]:
    """Fail the test when the product runs SQL on the event loop's thread.

    A ``before_cursor_execute`` listener on every engine notes each statement executed on a thread
    that is running an asyncio event loop (``asyncio.get_running_loop()`` answers there, and only
    there) *while a coroutine of the product* (``async def`` code in ``bot/`` or ``adapters/``) *is
    on the stack*: that is async product code holding the loop while the database works. SQL the
    test itself runs from its own async body (``momentum.plan(...)``, ``momentum.db.session()``,
    seeding through the synchronous facade) has no product coroutine on its stack and is not the
    product's doing, so it is allowed. SQL on the database executor or any other thread never is
    flagged. Violations are collected (raising inside the product could be swallowed by its own
    error handling) and fail the test at teardown with where they came from.
    """
    with sql_on_loop() as found:
        yield found
    if found:
        shown = "\n  ".join(dict.fromkeys(found))
        pytest.fail(f"SQL ran on the event loop's thread ({len(found)} statement(s)):\n  {shown}")


@pytest.fixture(autouse=True)
def _no_sql_on_loop_here(request: pytest.FixtureRequest) -> None:
    """Apply ``no_sql_on_loop`` to the Slack and Teams end-to-end tests and the contract test."""
    path = Path(str(request.node.path))
    if any(path == p or p in path.parents for p in NO_SQL_ON_LOOP_PATHS):
        request.getfixturevalue("no_sql_on_loop")
