"""``momentum serve`` for real, in a subprocess, on SQLite and PostgreSQL: what it acknowledged is answered
after a SIGKILL and a restart (exactly once), and SIGTERM during a burst with Slack not answering ends
the process (the speed is measured by ``benchmarks/shutdown.py``; here a generous bound only guards
against a hang)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from storage import inbox
from storage.db import Database
from storage.migrate import upgrade
from tests.helpers.serve_proc import Serve, command_body, post_signed
from tests.slack.fake_slack import FakeSlack

N = 12
HANG_GUARD_S = 30.0
HOURS = 3600.0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgres":
        yield request.getfixturevalue("pg_url")
        return
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    db = Database(url)
    upgrade(db.engine)
    db.dispose()
    yield url


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack().start()
    for i in range(N * 4):
        fake.add_user(f"U{i:03d}", f"Person {i}", f"p{i}@example.com")
    yield fake
    fake.release_holds()
    await fake.stop()


async def _wait(what: str, check: object, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.mark.slow
async def test_commands_acknowledged_before_a_sigkill_are_answered_once_after_restart(
        database_url: str, slack: FakeSlack, tmp_path: Path) -> None:
    serve = Serve(database_url, slack, tmp_path)
    await serve.start()
    try:
        # Slack's users.info is slow for the first process, so the kill lands while every command is
        # acknowledged and none is answered yet (the state this test is about) - deterministically.
        slack.delays["users.info"] = HOURS
        async with aiohttp.ClientSession() as s:
            statuses = await asyncio.gather(*(
                post_signed(s, serve.url, command_body(slack, "help", user=f"U{i:03d}", key=f"cmd{i}"))
                for i in range(N)))
        assert statuses == [200] * N
        serve.kill()
        assert slack.responses == []  # acknowledged, not answered

        slack.delays.clear()
        second = Serve(database_url, slack, tmp_path)
        await second.start()
        try:
            await _wait(f"{N} answers", lambda: len(slack.responses) >= N, 60)
            await asyncio.sleep(1.5)  # time for a second answer to any of them, should there be one
            db = Database(database_url)
            try:
                await _wait("every row done", lambda: inbox.counts(db) == {"done": N}, 10)
            finally:
                db.dispose()
        finally:
            second.stop_quietly()
    finally:
        serve.stop_quietly()
    assert Counter(slack.response_keys) == {f"cmd{i}": 1 for i in range(N)}  # each answered, none twice
    assert all(r["response_type"] == "ephemeral" and r["text"] for r in slack.responses)


@pytest.mark.slow
async def test_sigterm_during_a_burst_with_slack_not_answering_stops_and_loses_nothing(
        database_url: str, slack: FakeSlack, tmp_path: Path) -> None:
    serve = Serve(database_url, slack, tmp_path)
    await serve.start()
    try:
        slack.delays["*"] = HOURS  # the Web API accepts connections and never answers
        slack.delays["response_url"] = HOURS
        async with aiohttp.ClientSession() as s:
            statuses = await asyncio.gather(*(
                post_signed(s, serve.url, command_body(slack, "help", user=f"U{i:03d}", key=f"t{i}"))
                for i in range(N * 3)))
        assert statuses == [200] * (N * 3), serve.output()
        await serve.terminate(HANG_GUARD_S)
        assert serve.proc is not None and serve.proc.returncode == 0, serve.output()
    finally:
        serve.stop_quietly()
    db = Database(database_url)
    try:
        counts = inbox.counts(db)
        # Nothing acknowledged is lost: every command is still in the inbox for the next process, ready.
        assert sum(counts.values()) == N * 3 and counts.get("pending", 0) == N * 3, counts
        assert inbox.ready(db) == N * 3
    finally:
        db.dispose()
