"""Shared fixtures: clock, databases (SQLite and PostgreSQL), the core facade.

PostgreSQL: each test gets a fresh schema in the database named by
``MOMENTUM_TEST_PG_URL`` (default: database ``test`` on 127.0.0.1:5432), so
parallel runs never see each other's rows.  When PostgreSQL is unreachable the
tests fail under CI (``CI=true`` or ``MOMENTUM_REQUIRE_POSTGRES=1``) and skip
with the reason elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import Momentum
from bot.clock import FakeClock
from bot.config import Settings
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
