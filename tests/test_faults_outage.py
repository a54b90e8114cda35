"""`momentum worker` and `momentum serve` against a PostgreSQL that goes away. The worker starts while
the database is down and waits, delivers once it is up, rides out an outage mid-run, and delivers what
fell due meanwhile; `serve` answers /healthz 503 through an outage and 200 after it. Neither exits;
each outage is logged once when it starts and once when it ends, never per attempt.

PostgreSQL "goes away" behind a TCP proxy on loopback that the test stops (closing every open
connection, as a crashed or restarted server does, and refusing new ones) and starts again. The
worker is the real command in its own process, delivering to the fake Slack on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from bot.app import Momentum
from bot.model.clock import SystemClock
from bot.model.config import Settings
from bot.model.messages import Message
from bot.model.ports import Delivered, Recipient, WorkspaceRef
from storage.db import Database
from storage.faults import classify
from tests.fakes import RecordingPlatform
from tests.helpers.seed import count_by_status, seed_due_prompts, seed_pairs
from tests.slack.fake_slack import FakeSlack

ROOT = Path(__file__).resolve().parents[1]
PG_HOSTPORT = "127.0.0.1:5432"
PAIRS = 3
WAIT_S = 90.0  # generous: backoff doubles up to 30 s between attempts


class Proxy:
    """A TCP proxy on 127.0.0.1 to PostgreSQL that can be stopped (connections cut, new ones refused)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.outages = 0  # how many times ``stop`` ran
        self.up = False

    async def start(self) -> None:
        self.up = True
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port, reuse_address=True)

    async def stop(self) -> None:
        assert self.server is not None
        self.outages += 1
        self.up = False
        self.server.close()
        for w in list(self.writers):
            w.transport.abort()
        self.writers.clear()
        await self.server.wait_closed()
        self.server = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        outages = self.outages
        if not self.up:  # accepted, then stopped before this ran
            writer.transport.abort()
            return
        try:
            up_r, up_w = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        if not self.up or self.outages != outages:
            # Accepted just before ``stop``: the outage cuts it too (a connection that outlived the
            # outage would keep the worker's transaction, and its locks, alive through it).
            writer.transport.abort()
            up_w.transport.abort()
            return
        self.writers |= {writer, up_w}

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            w.transport.abort()

        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))
        self.writers -= {writer, up_w}


class Logs:
    """The worker's JSON log lines (stderr), read as they come."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.lines: list[str] = []
        self.messages: list[str] = []
        self.task = asyncio.create_task(self._read(proc))

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        while line := await proc.stderr.readline():
            text = line.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(text)
            try:
                self.messages.append(str(json.loads(text).get("message", "")))
            except ValueError:
                self.messages.append(text)

    def count(self, prefix: str) -> int:
        return sum(1 for m in self.messages if m.startswith(prefix))


async def until(what: str, check: Callable[[], bool], proc: asyncio.subprocess.Process, logs: Logs) -> None:
    end = time.monotonic() + WAIT_S
    while time.monotonic() < end:
        if check():
            return
        assert proc.returncode is None, f"the worker exited ({proc.returncode}):\n" + "\n".join(logs.lines[-20:])
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}:\n" + "\n".join(logs.lines[-20:]))


@pytest.mark.postgres
@pytest.mark.slow
async def test_the_worker_rides_out_postgresql_going_away(pg_url: str, tmp_path: Path) -> None:
    engine = create_engine(pg_url)
    now = datetime.now(UTC)
    seeded = seed_pairs(engine, PAIRS, now, platform="slack", workspace="T1")
    seed_due_prompts(engine, seeded, now, week=4)  # a check-in and a nudge each
    fake = await FakeSlack().start()
    host, port = PG_HOSTPORT.split(":")
    proxy = Proxy((host, int(port)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "DATABASE_URL"))}
    env.update({
        "DATABASE_URL": pg_url.replace(PG_HOSTPORT, f"127.0.0.1:{proxy.port}"),
        "MOMENTUM_DB_CONNECT_TIMEOUT": "1", "MOMENTUM_DELIVER_INTERVAL": "0.2", "LOG_LEVEL": "INFO",
        "SLACK_SIGNING_SECRET": "5" * 32, "SLACK_BOT_TOKEN": "xoxb-1-2-worker", "SLACK_API_URL": fake.api_url,
        **{f"SLACK_RATE_{f}_PER_MIN": "60000" for f in ("POST", "OPEN", "UPDATE", "USERS", "VIEWS", "FILES")},
    })
    assert PG_HOSTPORT in pg_url
    exe = Path(sys.executable).with_name("momentum")
    proc = await asyncio.create_subprocess_exec(str(exe), "worker", cwd=tmp_path, env=env,
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    logs = Logs(proc)
    posts = lambda: len(fake.of("chat.postMessage"))  # noqa: E731
    try:
        # 1. Started while PostgreSQL is down: it waits (no exit, no traceback), and says so once.
        await until("the start-up outage line", lambda: logs.count("database unreachable: ") == 1, proc, logs)
        await asyncio.sleep(4)  # several attempts go by (1 s, 2 s, ...): still one line
        assert logs.count("database unreachable: ") == 1 and proc.returncode is None
        await proxy.start()
        await until("the first deliveries", lambda: posts() == 2 * PAIRS, proc, logs)
        assert logs.count("database reachable again after ") == 1

        # 2. PostgreSQL goes away mid-run; prompts fall due meanwhile; it comes back.
        await proxy.stop()
        # Off the loop: this INSERT checks its pairs' foreign keys, so it waits for any lock the worker
        # still holds on them until PostgreSQL notices the cut connection; on the loop, it would stop
        # the proxy that carries that connection, and wait forever.
        await asyncio.to_thread(seed_due_prompts, engine, seeded, datetime.now(UTC), week=5)
        await until("the mid-run outage line", lambda: logs.count("database unreachable: ") == 2, proc, logs)
        await asyncio.sleep(4)
        assert logs.count("database unreachable: ") == 2 and posts() == 2 * PAIRS
        await proxy.start()
        await until("deliveries after the outage", lambda: posts() == 4 * PAIRS, proc, logs)
        await until("the recovery line", lambda: logs.count("database reachable again after ") == 2, proc, logs)

        assert proc.returncode is None, "the worker must not exit during or after an outage"
        await until("every prompt recorded as sent", lambda: count_by_status(engine) == {"sent": 4 * PAIRS},
                    proc, logs)
        channels = [p["channel"] for p in fake.of("chat.postMessage")]
        assert len(channels) == 4 * PAIRS
        assert not any("Traceback" in line for line in logs.lines), "\n".join(logs.lines)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 10)
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await logs.task
        if proxy.server is not None:
            await proxy.stop()
        await fake.stop()
        engine.dispose()
    assert proc.returncode != 1


@pytest.mark.postgres
@pytest.mark.slow
async def test_serve_rides_out_postgresql_going_away(pg_url: str, tmp_path: Path) -> None:
    import aiohttp

    host, pg_port = PG_HOSTPORT.split(":")
    proxy = Proxy((host, int(pg_port)))
    await proxy.start()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": pg_url.replace(PG_HOSTPORT, f"127.0.0.1:{proxy.port}"), "HOST": "127.0.0.1",
                "MOMENTUM_DB_CONNECT_TIMEOUT": "1", "MOMENTUM_DELIVER_INTERVAL": "0.2", "LOG_LEVEL": "INFO"})
    exe = Path(sys.executable).with_name("momentum")
    proc = await asyncio.create_subprocess_exec(str(exe), "serve", "--port", str(port), cwd=tmp_path, env=env,
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    logs = Logs(proc)

    async def health_is(status: int) -> str:
        """Poll /healthz until it answers ``status``; its ``database`` field."""
        end = time.monotonic() + WAIT_S
        while time.monotonic() < end:
            assert proc.returncode is None, "\n".join(logs.lines[-20:])
            try:
                async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/healthz") as r:
                    if r.status == status:
                        return str((await r.json())["database"])
            except aiohttp.ClientConnectionError:
                pass  # not listening yet
            await asyncio.sleep(0.1)
        raise AssertionError(f"/healthz never answered {status}:\n" + "\n".join(logs.lines[-20:]))

    try:
        assert await health_is(200) == "reachable"
        await proxy.stop()
        assert await health_is(503) == "unreachable"
        await until("the outage line", lambda: logs.count("database unreachable: ") == 1, proc, logs)
        await asyncio.sleep(3)  # the deliver job runs every 0.2 s: many failed runs, still one line
        assert logs.count("database unreachable: ") == 1
        await proxy.start()
        assert await health_is(200) == "reachable"
        await until("the recovery line", lambda: logs.count("database reachable again after ") == 1, proc, logs)
        assert logs.count("database unreachable: ") == 1 and proc.returncode is None
        assert not any("Traceback" in line for line in logs.lines), "\n".join(logs.lines)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 10)
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await logs.task
        if proxy.server is not None:
            await proxy.stop()
    assert proc.returncode != 1


def test_unreachable_is_told_apart_from_configuration() -> None:
    """Connection refused is an outage (wait); a database that does not exist is configuration (exit 2)."""
    from sqlalchemy import text

    def error(url: str) -> BaseException:
        e = create_engine(url, connect_args={"connect_timeout": 2})
        try:
            with e.connect() as c:
                c.execute(text("SELECT 1"))
        except Exception as exc:
            return exc
        finally:
            e.dispose()
        raise AssertionError(f"{url} answered")

    refused = classify(error("postgresql+psycopg://postgres@127.0.0.1:1/test"))
    assert refused is not None and refused.kind == "unreachable"
    assert classify(error(f"postgresql+psycopg://postgres@{PG_HOSTPORT}/no_such_database_here")) is None


@pytest.mark.postgres
async def test_what_was_sent_as_postgresql_went_away_is_recorded_when_it_is_back(
        pg_url: str, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """The outage starts while a batch is being sent: the sends stand, the record waits for the
    database (backoff) instead of being dropped, so nothing is sent twice when it comes back."""
    caplog.set_level(logging.WARNING, logger="bot.outbox.faults")
    engine = create_engine(pg_url)
    seeded = seed_pairs(engine, PAIRS, datetime.now(UTC))
    seed_due_prompts(engine, seeded, datetime.now(UTC))
    host, port = PG_HOSTPORT.split(":")
    proxy = Proxy((host, int(port)))
    await proxy.start()
    restarted: list[asyncio.Task[None]] = []

    class CutAfterFirstSend(RecordingPlatform):
        async def send(self, workspace: WorkspaceRef, to: Recipient, message: Message) -> Delivered:
            delivered = self._send([to], message)
            if len(self.sent) == 1:  # PostgreSQL goes away mid-batch and is back two seconds later
                await proxy.stop()
                restarted.append(asyncio.create_task(asyncio.sleep(2)))
                restarted[0].add_done_callback(lambda _: asyncio.ensure_future(proxy.start()))
            return delivered

    platform = CutAfterFirstSend()
    db = Database(pg_url.replace(PG_HOSTPORT, f"127.0.0.1:{proxy.port}"), connect_timeout_s=1)
    try:
        m = Momentum(db, settings, SystemClock(), {"test": platform})
        stats = await m.deliver_due()
        assert stats.sent == 2 * PAIRS and len(platform.sent) == 2 * PAIRS
        assert count_by_status(engine) == {"sent": 2 * PAIRS}
        again = await m.deliver_due()
        assert again.claimed == 0 and len(platform.sent) == 2 * PAIRS
        said = [r.getMessage() for r in caplog.records if r.name == "bot.outbox.faults"]
        assert [x.split(":")[0].split(" after")[0] for x in said] == [
            "database unreachable", "database reachable again"], said
    finally:
        db.dispose()
        if proxy.server is not None:
            await proxy.stop()
        engine.dispose()
