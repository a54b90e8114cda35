"""The web server's own routes: ``/healthz`` answers within 2 s whatever the database does, and
never holds the event loop while it waits."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import event
from sqlalchemy.engine import make_url

from adapters import server as server_mod
from adapters.server import Edges, build_app
from bot.app import Momentum
from bot.model.config import Settings
from storage.db import Database

pytestmark = pytest.mark.usefixtures("no_sql_on_loop")


async def serve(m: Momentum) -> AsyncIterator[str]:
    runner = web.AppRunner(build_app(m, Edges(), scheduler=False), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    assert site._server is not None
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def lag_while(coro_fn, *args):  # type: ignore[no-untyped-def]
    """Run ``coro_fn(*args)`` while a ticker measures the event loop's worst lag; (result, lag s)."""
    worst = 0.0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            t = loop.time()
            await asyncio.sleep(0.01)
            worst = max(worst, loop.time() - t - 0.01)

    task = asyncio.create_task(ticker())
    try:
        return await coro_fn(*args), worst
    finally:
        stop.set()
        await task


async def get(url: str) -> tuple[int, dict[str, object], float]:
    started = time.monotonic()
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.json(), time.monotonic() - started


async def test_healthz_is_ok_when_the_database_answers(momentum: Momentum) -> None:
    async for url in serve(momentum):
        status, body, _ = await get(url + "/healthz")
        assert status == 200 and body["ok"] is True and body["database"] == "reachable"


async def test_healthz_answers_503_in_time_when_the_database_hangs(
        momentum: Momentum, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def hung_ping() -> None:
        release.wait(10)  # a database that accepts and never answers
        return None

    monkeypatch.setattr(momentum.db, "ping_error", hung_ping)
    try:
        async for url in serve(momentum):
            (status, body, took), lag = await lag_while(get, url + "/healthz")
            assert status == 503 and body["ok"] is False
            assert "no answer" in str(body["database"])
            assert took < 3.0
            assert lag < 0.5, f"the event loop was held {lag:.2f} s"
    finally:
        release.set()


async def test_healthz_against_a_postgresql_that_accepts_tcp_but_never_answers(settings: Settings) -> None:
    """A real connection attempt: the server accepts TCP and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    db = Database(f"postgresql+psycopg://momentum@127.0.0.1:{port}/momentum", connect_timeout_s=1)
    try:
        async for url in serve(Momentum(db, settings)):
            (status, body, took), lag = await lag_while(get, url + "/healthz")
            assert status == 503 and body["ok"] is False
            assert took < 3.0
            assert lag < 0.5, f"the event loop was held {lag:.2f} s"
    finally:
        listener.close()
        db.dispose()


def test_database_settings_are_validated() -> None:
    from bot.model.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="MOMENTUM_DB_STATEMENT_TIMEOUT_MS"):
        load_settings(MOMENTUM_DB_STATEMENT_TIMEOUT_MS=-1)
    s = Settings()
    assert (s.db_connect_timeout_s, s.db_statement_timeout_ms, s.db_lock_timeout_ms) == (5, 15_000, 5_000)


async def test_the_executor_copies_context_and_is_bounded(sqlite_db: Database) -> None:
    import contextvars

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("request-42")
    seen = await sqlite_db.run(var.get)
    assert seen == "request-42"
    assert await sqlite_db.run(threading.get_ident) != threading.get_ident()
    assert sqlite_db.executor._max_workers == 2
    # the ack lane: its own threads, the caller's context too
    assert await sqlite_db.run_ack(var.get) == "request-42"
    assert (await sqlite_db.run_ack(threading.current_thread)).name.startswith("momentum-db-ack")
    assert sqlite_db.ack_executor is not sqlite_db.executor
    sqlite_db.dispose()
    assert sqlite_db._executor is None and sqlite_db._ack is None



def test_the_heap_is_settled_once_started() -> None:
    """``momentum serve`` and ``worker`` freeze what exists after start-up: full collections stop rescanning it."""
    import gc

    from adapters.server import settle_heap

    assert gc.get_freeze_count() == 0
    try:
        settle_heap()
        assert gc.get_freeze_count() > 50_000  # the modules, Bolt, SQLAlchemy: long-lived for good
        assert len(gc.get_objects(generation=2)) < gc.get_freeze_count() / 10  # no longer scanned
    finally:
        gc.unfreeze()


# --- health tells the truth about writes, and logs once per change of state ------------------------------


def fault_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name in {"bot.outbox.faults", "storage.db", "adapters.server"}]


async def probes(url: str, n: int) -> list[tuple[int, object]]:
    out = []
    for _ in range(n):
        status, body, _took = await get(url + "/healthz")
        out.append((status, body["database"]))
    return out


def sqlite_file(db: Database) -> str:
    path = db.engine.url.database
    assert path
    return path


async def test_healthz_says_writes_fail_on_a_read_only_sqlite_url(
        sqlite_db: Database, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """The file is fine; this process may only read it (``?mode=ro``): reads answer, writes cannot."""
    caplog.set_level(logging.WARNING)
    ro = Database(f"sqlite:///file:{sqlite_file(sqlite_db)}?mode=ro&uri=true")
    try:
        async for url in serve(Momentum(ro, settings)):
            assert await probes(url, 5) == [(503, "writes failing: read-only database")] * 5
    finally:
        ro.dispose()
    lines = fault_lines(caplog)
    assert lines == ["database writes failing: read-only database"], lines  # once, not once per probe


async def test_healthz_says_the_disk_is_full_once_and_when_it_has_room_again(
        momentum: Momentum, caplog: pytest.LogCaptureFixture) -> None:
    """SQLite's own limit: ``PRAGMA max_page_count`` held at the file's size on every connection."""
    caplog.set_level(logging.WARNING)
    engine = momentum.db.engine
    with engine.connect() as c:
        pages = int(c.exec_driver_sql("PRAGMA page_count").scalar_one())
    limit = {"pages": pages}

    def hold(dbapi, _record, _proxy) -> None:  # type: ignore[no-untyped-def]
        dbapi.execute(f"PRAGMA max_page_count={limit['pages']}")

    event.listen(engine, "checkout", hold)
    try:
        async for url in serve(momentum):
            assert await probes(url, 5) == [(503, "writes failing: disk full")] * 5
            limit["pages"] = 4_294_967_294  # room again
            assert await probes(url, 2) == [(200, "reachable")] * 2
    finally:
        event.remove(engine, "checkout", hold)
    lines = fault_lines(caplog)
    assert lines[0] == "database writes failing: disk full" and len(lines) == 2, lines
    assert lines[1].startswith("database writes working again after"), lines


@pytest.mark.postgres
async def test_healthz_says_writes_fail_on_a_read_only_postgresql(
        pg_url: str, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """Every session read-only (``default_transaction_read_only``, as on a standby or a database an
    operator froze): SQLSTATE 25006 on the probe's write."""
    caplog.set_level(logging.WARNING)
    url = make_url(pg_url)
    own = url.query.get("options", "")
    own = " ".join(own) if isinstance(own, tuple) else own
    ro_url = url.update_query_dict({"options": f"{own} -c default_transaction_read_only=on".strip()})
    ro = Database(ro_url.render_as_string(hide_password=False))
    try:
        async for base in serve(Momentum(ro, settings)):
            assert await probes(base, 4) == [(503, "writes failing: read-only database")] * 4
    finally:
        ro.dispose()
    assert fault_lines(caplog) == ["database writes failing: read-only database"]


class FreezingProxy:
    """A TCP proxy to PostgreSQL that can freeze: connections stay open and nothing is forwarded (a
    SIGSTOPped server, a network that drops packets), then thaw."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self.flowing.set()
        if self.server is not None:
            self.server.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.flowing.wait()
        up_r, up_w = await asyncio.open_connection(*self.target)

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            try:
                while data := await r.read(65536):
                    await self.flowing.wait()  # frozen: the bytes wait here
                    w.write(data)
                    await w.drain()
            except OSError:
                pass
            finally:
                w.transport.abort()

        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))


@pytest.mark.postgres
async def test_healthz_on_a_frozen_postgresql_answers_in_time_logs_once_and_probes_one_at_a_time(
        pg_url: str, settings: Settings, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.WARNING)
    url = make_url(pg_url)
    proxy = FreezingProxy((url.host or "127.0.0.1", url.port or 5432))
    await proxy.start()
    db = Database(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
    started: list[float] = []
    real = server_mod.database_health

    def counted(m: Momentum) -> tuple[bool, str]:
        started.append(time.monotonic())
        return real(m)

    monkeypatch.setattr(server_mod, "database_health", counted)
    try:
        async for base in serve(Momentum(db, settings)):
            assert await probes(base, 1) == [(200, "reachable")]
            proxy.flowing.clear()  # frozen
            before = len(started)
            for _ in range(4):
                (status, body, took), lag = await lag_while(get, base + "/healthz")
                assert (status, body["database"]) == (503, "no answer within 1.5 s")
                assert took < 3.0 and lag < 0.5
            assert len(started) - before == 1  # one probe stuck in the database, not one more per check
            proxy.flowing.set()  # thawed: the stuck probe gets its answer, the next check is healthy
            for _ in range(100):
                status, body, _took = await get(base + "/healthz")
                if status == 200:
                    break
                await asyncio.sleep(0.05)
            assert (status, body["database"]) == (200, "reachable")
    finally:
        await proxy.close()
        db.dispose()
    lines = fault_lines(caplog)
    assert lines[0] == "database unreachable: no answer within 1.5 s" and len(lines) == 2, lines
    assert lines[1].startswith("database reachable again after"), lines
