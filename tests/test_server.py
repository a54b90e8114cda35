"""The web server's own routes: ``/healthz`` answers within 2 s whatever the database does, and
never holds the event loop while it waits."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

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

    def hung_ping() -> bool:
        release.wait(10)  # a database that accepts and never answers
        return True

    monkeypatch.setattr(momentum.db, "ping", hung_ping)
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
