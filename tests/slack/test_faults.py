"""Writes failing on SQLite, through the real server (Bolt behind aiohttp, /healthz) and the fake Slack:
a full database and a read-only file. While writes fail, /healthz answers 503 with the reason, what
only reads (`report`, `me`, App Home) answers as usual, and a check-in click is told, kindly, that it
can't be saved now, and nothing changes. Once writes work again: 200, and the same click is stored,
with no restart.

Disk full is simulated the way SQLite enforces it: ``PRAGMA max_page_count`` held at the file's
current size on every connection the product checks out, after the check-in table's last page has
been filled, so any write that needs a new page fails with "database or disk is full". The
read-only file is real: ``chmod 0444`` (and, as root, for whom modes do not bind, ``chattr +i``),
with the connections opened afresh while it is read-only, as a server started on it would.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import event, insert
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from adapters.server import Edges, build_app
from adapters.slack.web import SLACK_RUNTIME
from bot.app import Momentum
from bot.model.clock import FakeClock
from bot.model.config import Settings
from bot.outbox.faults import words
from storage.db import Database
from storage.models import CheckIn, Person, Prompt, Win
from tests.slack.conftest import Signer, SlackServer, slack_settings_for
from tests.slack.fake_slack import FakeSlack
from tests.slack.test_e2e_core import _pilot_pair

BIG = 4_294_967_294  # SQLite's largest max_page_count: no limit


@pytest.fixture
async def server(momentum: Momentum, fake_slack: FakeSlack, signer: Signer) -> AsyncIterator[SlackServer]:
    async for s in serving(momentum, fake_slack, signer):
        yield s


@pytest.fixture
def pg_momentum(pg_url: str, settings: Settings, clock: FakeClock) -> Iterator[Momentum]:
    db = Database(pg_url)
    yield Momentum(db, settings, clock)
    db.dispose()


@pytest.fixture
async def pg_server(pg_momentum: Momentum, fake_slack: FakeSlack, signer: Signer) -> AsyncIterator[SlackServer]:
    async for s in serving(pg_momentum, fake_slack, signer):
        yield s


async def serving(momentum: Momentum, fake_slack: FakeSlack, signer: Signer) -> AsyncIterator[SlackServer]:
    """``momentum serve``'s application (health, metrics, Slack) on 127.0.0.1:0, scheduler off."""
    app = build_app(momentum, Edges(slack=slack_settings_for(fake_slack)), scheduler=False)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    assert site._server is not None
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    runtime = app[SLACK_RUNTIME]

    async def no_sleep(seconds: float) -> None:
        return None

    runtime.api.sleep = no_sleep
    async with aiohttp.ClientSession() as session:
        yield SlackServer(f"http://127.0.0.1:{port}", runtime, fake_slack, signer, session, [])
        await runtime.drain()
    await runner.cleanup()


async def healthz(server: SlackServer) -> tuple[int, dict[str, Any]]:
    async with server.session.get(server.url + "/healthz") as r:
        return r.status, await r.json()


def said(server: SlackServer, since: int = 0) -> list[str]:
    """Everything shown to people since the ``since``-th call: replies, ephemeral and DM messages."""
    out = [str(r.get("text", "")) for r in server.fake.responses]
    out += [str(c.body.get("text", "")) for c in server.fake.calls[since:]
            if c.method in {"chat.postMessage", "chat.postEphemeral", "chat.update"}]
    return out


async def click(server: SlackServer, message: dict[str, Any], button: dict[str, Any], channel: str,
                n: int) -> int:
    """A block_actions payload as Slack sends it; ``n`` makes each click its own request (the server
    drops a replayed signed request)."""
    payload = {
        "type": "block_actions", "team": {"id": "T1", "domain": "acme"}, "user": {"id": "USAM", "team_id": "T1"},
        "api_app_id": "A1", "trigger_id": f"1337.43.click{n}",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel}, "message": {"ts": message["ts"], "blocks": message["blocks"]},
        "response_url": server.fake.response_url(f"act{n}"),
        "actions": [{**button, "block_id": "b1", "action_ts": f"{n}.2"}],
    }
    return (await server.interactive(payload))[0]


def db_file(momentum: Momentum) -> Path:
    path = momentum.db.engine.url.database
    assert path
    return Path(path)


# --- making writes fail ---------------------------------------------------------------------------------


class FullDisk:
    """Hold the database at its current size on every checkout; ``fill`` the check-in table first."""

    def __init__(self, momentum: Momentum) -> None:
        self.engine = momentum.db.engine
        self.limit = BIG
        event.listen(self.engine, "checkout", self._on_checkout)

    def _on_checkout(self, dbapi: Any, _record: Any, _proxy: Any) -> None:
        dbapi.execute(f"PRAGMA max_page_count={self.limit}")

    def fill(self, pair_id: int, author_id: int) -> None:
        """Check-ins (no prompt, nothing sensitive) until the table's last page has no room left."""
        with self.engine.connect() as c:
            self.limit = int(c.exec_driver_sql("PRAGMA page_count").scalar_one())
            assert int(c.exec_driver_sql("PRAGMA freelist_count").scalar_one()) == 0
        now = datetime.now(UTC)
        for note in ("x" * 200, None):  # big rows first, then rows as small as a click's
            for _ in range(10_000):
                try:
                    with self.engine.begin() as c:
                        c.execute(insert(CheckIn.__table__).values(  # type: ignore[attr-defined]
                            pair_id=pair_id, author_id=author_id, note=note, created_at=now, updated_at=now))
                except OperationalError as exc:
                    assert "database or disk is full" in str(exc)
                    break
            else:
                raise AssertionError("the database never filled up")

    def mend(self) -> None:
        self.limit = BIG

    def close(self) -> None:
        event.remove(self.engine, "checkout", self._on_checkout)


def set_read_only(path: Path, read_only: bool) -> None:
    """The file's mode (0444 / 0644); as root, whom modes do not stop, also the immutable flag."""

    def chattr(flag: str) -> None:
        run = subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True)
        assert run.returncode == 0, f"chattr is needed to make a file read-only for root: {run.stderr}"

    if not read_only and os.geteuid() == 0:
        chattr("-i")
    path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH if read_only else 0o644)
    if read_only:
        if os.geteuid() == 0:
            chattr("+i")
        with pytest.raises(PermissionError):
            path.open("r+b").close()


# --- the scenario -----------------------------------------------------------------------------------------


def met_button(post: dict[str, Any]) -> dict[str, Any] | None:
    return next((e for b in post["blocks"] if b["type"] == "actions" for e in b["elements"]
                 if e["action_id"].startswith("checkin.status") and "met" in e["value"]), None)


async def deliver_until_checkin(server: SlackServer, momentum: Momentum, clock: FakeClock,
                                user: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Move the fake clock on until a check-in (with its "We met" button) reaches ``user`` (the kickoff
    comes first); the recorded chat.postMessage and the button."""
    channel = server.fake.dm_channel(user)
    for _ in range(24 * 28):
        clock.advance(timedelta(hours=1))
        momentum.plan(clock.now())
        await momentum.deliver_due(clock.now())
        for post in server.fake.of("chat.postMessage"):
            if post["channel"] == channel and (button := met_button(post)) is not None:
                return post, button
    raise AssertionError("no check-in reached " + user)


def checkins_for(momentum: Momentum, prompt_id: int) -> list[CheckIn]:
    with momentum.db.session() as s:
        return list(s.exec(select(CheckIn).where(CheckIn.prompt_id == prompt_id)).all())  # type: ignore[call-overload]


async def refused_kindly(server: SlackServer, momentum: Momentum, mark: int) -> None:
    """A command and a DM that must write are answered with the read-only words; nothing is stored."""
    server.fake.responses.clear()
    assert (await server.command("win Shipped the pilot", user="USAM"))[0] == 200
    await server.event({"type": "message", "channel_type": "im", "channel": server.fake.dm_channel("USAM"),
                        "user": "USAM", "text": "win Closed the first deal", "ts": "1700000000.000100"},
                       event_id="EvDmFault")
    await server.settle()
    shown = said(server, mark)
    assert shown.count(words()["cant_save"]) == 2, shown
    assert not any("went wrong" in x.lower() for x in shown), shown
    with momentum.db.session() as s:
        assert s.exec(select(Win)).all() == []


async def writes_fail_then_recover(server: SlackServer, momentum: Momentum, clock: FakeClock,
                                   caplog: pytest.LogCaptureFixture, reason: str,
                                   break_writes: Callable[[int, int], None], mend_writes: Callable[[], None],
                                   *, nothing_fits: bool = False) -> None:
    """``nothing_fits``: no write at all gets through (read-only), so a new win cannot be saved either
    (a full disk still takes a row that fits in a page it has)."""
    caplog.set_level(logging.WARNING)
    await _pilot_pair(server)
    post, button = await deliver_until_checkin(server, momentum, clock, "USAM")
    message = {"ts": server.fake.ts_of(post), "blocks": post["blocks"]}
    with momentum.db.session() as s:
        prompt = s.exec(select(Prompt).where(Prompt.kind == "checkin", Prompt.status == "sent")).one()
        sam = s.exec(select(Person).where(Person.external_id == "USAM")).one()
    assert prompt.id is not None and sam.id is not None

    break_writes(prompt.pair_id, sam.id)

    status, body = await healthz(server)
    assert (status, body["ok"], body["database"]) == (503, False, f"writes failing: {reason}")

    mark = len(server.fake.calls)
    server.fake.responses.clear()
    assert (await server.command("report", user="UADMIN"))[0] == 200
    assert (await server.command("me", user="USAM"))[0] == 200
    await server.settle()
    shown = " | ".join(said(server, mark))
    assert "Program health" in shown and "Your Momentum" in shown, shown
    assert "something went wrong" not in shown.lower()

    await server.event({"type": "app_home_opened", "user": "USAM", "channel": "DX", "tab": "home"},
                       event_id="EvHomeFault")
    await server.settle()
    assert any(c.method == "views.publish" for c in server.fake.calls[mark:])

    # What must write is told, kindly, that nothing can be saved now: a command and a DM.
    mark = len(server.fake.calls)
    if nothing_fits:
        await refused_kindly(server, momentum, mark)

    mark = len(server.fake.calls)

    mark = len(server.fake.calls)
    server.fake.responses.clear()
    assert await click(server, message, button, post["channel"], 1) == 200
    await server.settle()
    assert words()["cant_save"] in said(server, mark), said(server, mark)
    assert not any(c.method == "chat.update" for c in server.fake.calls[mark:])
    assert server.fake.replaced() == []  # the clicked message stays as it was
    assert checkins_for(momentum, prompt.id) == []
    with momentum.db.session() as s:
        again = s.get(Prompt, prompt.id)
        assert again is not None and again.answer is None and again.answered_at is None

    mend_writes()

    status, body = await healthz(server)
    assert (status, body["ok"], body["database"]) == (200, True, "reachable")
    mark = len(server.fake.calls)
    assert await click(server, message, button, post["channel"], 2) == 200
    await server.settle()
    stored = checkins_for(momentum, prompt.id)
    assert [c.status for c in stored] == ["met"]
    # the clicked message is replaced (through its response_url; chat.update is the fallback)
    assert server.fake.replaced() or any(c.method == "chat.update" for c in server.fake.calls[mark:])

    lines = [r.getMessage() for r in caplog.records if r.name == "bot.outbox.faults"]
    assert lines.count(f"database writes failing: {reason}") == 1, lines
    assert len([x for x in lines if x.startswith("database writes working again after")]) == 1, lines
    tracebacks = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info or r.exc_text]
    assert tracebacks == [], tracebacks
    # The outage is the database's state, logged once each way: no line per request that met it.
    assert not [r for r in caplog.records if "inbox write failed" in r.getMessage()]


async def test_a_full_database(server: SlackServer, momentum: Momentum, clock: FakeClock,
                               caplog: pytest.LogCaptureFixture) -> None:
    disk = FullDisk(momentum)
    try:
        await writes_fail_then_recover(server, momentum, clock, caplog, "disk full", disk.fill, disk.mend)
    finally:
        disk.close()


async def test_a_read_only_database_file(server: SlackServer, momentum: Momentum, clock: FakeClock,
                                         caplog: pytest.LogCaptureFixture) -> None:
    path = db_file(momentum)

    def break_writes(_pair: int, _author: int) -> None:
        momentum.db.engine.dispose()  # every connection is opened anew while the file is read-only
        set_read_only(path, True)
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as probe:  # the file itself still reads
            assert probe.execute("SELECT count(*) FROM person").fetchone()[0] >= 3

    try:
        await writes_fail_then_recover(server, momentum, clock, caplog, "read-only database", break_writes,
                                       lambda: set_read_only(path, False), nothing_fits=True)
    finally:
        set_read_only(path, False)


class ReadOnlySessions:
    """PostgreSQL made read-only the way a standby or an operator's ``ALTER DATABASE ... SET
    default_transaction_read_only`` makes it: every session the product checks out starts read-only
    (SQLSTATE 25006 on any write), until it is set back."""

    def __init__(self, momentum: Momentum) -> None:
        self.engine = momentum.db.engine
        self.on = False
        event.listen(self.engine, "checkout", self._on_checkout)

    def _on_checkout(self, dbapi: Any, _record: Any, _proxy: Any) -> None:
        with dbapi.cursor() as cur:
            cur.execute(f"SET SESSION default_transaction_read_only = {'on' if self.on else 'off'}")
        dbapi.commit()

    def close(self) -> None:
        event.remove(self.engine, "checkout", self._on_checkout)


@pytest.mark.postgres
async def test_a_read_only_postgresql(pg_server: SlackServer, pg_momentum: Momentum, clock: FakeClock,
                                      caplog: pytest.LogCaptureFixture) -> None:
    ro = ReadOnlySessions(pg_momentum)

    def break_writes(_pair: int, _author: int) -> None:
        ro.on = True

    def mend() -> None:
        ro.on = False

    try:
        await writes_fail_then_recover(pg_server, pg_momentum, clock, caplog, "read-only database", break_writes,
                                       mend, nothing_fits=True)
    finally:
        ro.close()
