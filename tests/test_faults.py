"""Database faults in the core: kinds, the write probe on PostgreSQL, state logged once per change,
backoff that retries only faults, and what people are told (never "something went wrong")."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import Momentum
from bot.model.clock import FakeClock
from bot.model.config import Settings
from bot.outbox.faults import FaultWatch, ride_out, watch_for, words
from bot.outbox.scheduler import _shielded
from storage.db import Database
from storage.faults import classify, probe_writes
from tests.fakes import ADMIN, RecordingPlatform, command, person, setup_program

DOWN_URL = "postgresql+psycopg://postgres@127.0.0.1:1/test"  # nothing listens on port 1
SAM = person("USAM", "Sam Rivera", "America/New_York", country="US")
AISHA = person("UAISHA", "Aisha Khan", "Europe/London", country="GB")


def outage_error() -> BaseException:
    """The real error a pooled unit of work meets when PostgreSQL is down."""
    db = Database(DOWN_URL, connect_timeout_s=1)
    try:
        db.ping()
        with db.engine.connect() as c:
            c.execute(text("SELECT 1"))
    except Exception as exc:
        return exc
    finally:
        db.dispose()
    raise AssertionError("port 1 answered")


@pytest.fixture
def down() -> BaseException:
    return outage_error()


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.outbox.faults"]


async def test_ride_out_retries_faults_with_backoff_and_logs_each_change_once(
        down: BaseException, sqlite_db: Database, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.outbox.faults")
    watch = FaultWatch(sqlite_db)
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls <= 4:
            raise down
        return "delivered"

    assert await ride_out(watch, flaky, initial_s=0.001, max_s=0.004) == "delivered"
    assert calls == 5
    said = messages(caplog)
    assert len(said) == 2 and said[0].startswith("database unreachable: ") and "Connection refused" in said[0]
    assert said[1].startswith("database reachable again after ")
    assert watch.ok

    async def bug() -> None:
        nonlocal calls
        calls += 1
        raise KeyError("not a database fault")

    calls = 0
    with pytest.raises(KeyError):
        await ride_out(watch, bug, initial_s=0.001)
    assert calls == 1 and len(messages(caplog)) == 2  # not retried, not logged as a fault

    async def down_for_good() -> None:
        nonlocal calls
        calls += 1
        raise down

    calls = 0
    with pytest.raises(type(down)):  # a bounded ride gives up with the fault itself
        await ride_out(watch, down_for_good, initial_s=0.001, max_s=0.002, give_up_after_s=0.05)
    assert calls >= 2 and len(messages(caplog)) == 3 and not watch.ok


async def test_a_scheduled_job_logs_an_outage_once_not_per_run(
        down: BaseException, sqlite_db: Database, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    watch = FaultWatch(sqlite_db)
    fail = True
    recovered: list[bool] = []

    async def deliver() -> None:
        if fail:
            raise down

    job = _shielded("deliver", deliver, watch, lambda: recovered.append(True))
    for _ in range(5):
        await job()  # APScheduler runs it at every interval; none of these raises
    fail = False
    await job()
    await job()
    assert [m.split(":")[0] for m in messages(caplog)] == ["database unreachable", "database reachable again after 0 s"]
    assert recovered == [True]
    assert not any(r.exc_info for r in caplog.records), "a fault is one line, not a traceback per run"


async def test_people_are_told_kindly_when_the_database_is_down(settings: Settings, clock: FakeClock) -> None:
    db = Database(DOWN_URL, connect_timeout_s=1)
    try:
        m = Momentum(db, settings, clock, {"test": RecordingPlatform()})
        r = await command(m, ADMIN, "report")
        assert r.reply is not None and r.reply.text == words()["unavailable"]
        assert not watch_for(db).ok
    finally:
        db.dispose()


@pytest.fixture
def pg_read_only(pg_url: str) -> Iterator[str]:
    """The same schema, through sessions that PostgreSQL keeps read-only (as on a standby)."""
    assert "options=-csearch_path" in pg_url
    yield pg_url.replace("options=-csearch_path", "options=-cdefault_transaction_read_only%3Don%20-csearch_path")


@pytest.mark.postgres
async def test_postgresql_read_only_reads_answer_and_writes_say_so(
        pg_url: str, pg_read_only: str, settings: Settings, clock: FakeClock, tmp_path: Path) -> None:
    writable = Database(pg_url)
    ro = Database(pg_read_only)
    try:
        fake = RecordingPlatform()
        await setup_program(Momentum(writable, settings, clock, {"test": fake}), [(SAM, AISHA)])
        assert probe_writes(writable.engine) is None
        fault = probe_writes(ro.engine)
        assert fault is not None and fault.kind == "read_only"
        assert fault.describe() == "writes failing: read-only database"

        m = Momentum(ro, settings, clock, {"test": fake})
        report = await command(m, ADMIN, "report")
        assert report.reply is not None and "Program health" in report.reply.text
        me = await command(m, AISHA, "me")
        assert me.reply is not None and "Your Momentum" in me.reply.text
        win = await command(m, AISHA, "win Shipped the deck")
        assert win.reply is not None and win.reply.text == words()["cant_save"]
        with writable.engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM win")).scalar_one() == 0
        try:
            with ro.engine.begin() as c:
                c.execute(text("DELETE FROM win"))
        except Exception as exc:
            found = classify(exc)
            assert found is not None and found.kind == "read_only"
        else:
            raise AssertionError("a read-only session took a write")
    finally:
        ro.dispose()
        writable.dispose()
