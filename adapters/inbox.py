"""The bounded pool that processes the inbox of accepted interactions (``storage.inbox``).

Edges write a row before they acknowledge (``InboxPool.accept``: one writer, rows that arrive together
are written together) and wake the pool. One feeder claims rows in small batches (leased, so a replica
that dies lets another take them over) into a queue no longer than twice the number of workers; a fixed
set of workers takes them from there. The backlog of a burst therefore lives in the database, not in
memory: no task per request. At start-up and every ``sweep_s`` the feeder also takes rows whose lease ran
out (a process that crashed or was stopped).

No row holds up the rest:

- A row still running after ``slow_s`` (1 s, under the 2 s ack budget) stops counting against the
  workers: it goes on beside them (at most ``4 x workers`` such rows) and the worker takes the next
  row, so one slow row delays another person by at most ``slow_s``.
- A row whose processing fails is not tried again on the main path: ``storage.inbox.retry_later``
  gives it a backoff and a small lane of its own (``retry_workers``, its own feeder) tries it again;
  after ``MAX_ATTEMPTS`` it is parked.
- Rows that cannot be read (a key rotated away, corrupt JSON) are parked by the claim itself, which
  reads past them (``SCAN_MAX`` at a time) to the rows behind; ``momentum_inbox_parked_total{reason}``
  counts them.
- Finished rows past the dedupe window are pruned at start-up and every ``PRUNE_EVERY_S`` after.

``stop`` is the shutdown path: no new rows are started, the ones under way get ``grace_s`` to finish,
what is left is cancelled and its rows handed back (their lease set to now) for the next process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import Counter

from bot.app import Momentum
from bot.outbox.faults import watch_for
from storage import inbox

_LOGGER = logging.getLogger(__name__)

# A handler processes one row; True: mark it finished; False: leave it (another attempt owns it).
Handler = Callable[[inbox.Item], Awaitable[bool]]

WORKERS = int(os.environ.get("MOMENTUM_INBOX_WORKERS", "8"))
LEASE_S = float(os.environ.get("MOMENTUM_INBOX_LEASE_S", "60"))  # longer than any row takes
SWEEP_S = float(os.environ.get("MOMENTUM_INBOX_SWEEP_S", "15"))
SLOW_S = float(os.environ.get("MOMENTUM_INBOX_SLOW_S", "1"))  # a row running longer steps aside
PRUNE_EVERY_S = 3600.0
GRACE_S = 5.0  # after SIGTERM: rows under way get this long; everything stops within 10 s
DB_STEP_S = 1.0  # a database step during shutdown may take this long, then we move on
MAX_BATCH = 200  # inbox rows written in one statement
RETRY_POLL_S = 1.0  # the retry lane looks for rows whose backoff ran out at least this often

PARKED = Counter("momentum_inbox_parked", "Inbox rows parked (never tried again), by reason", ["reason"])
RETRIED = Counter("momentum_inbox_retries", "Inbox rows whose processing failed and that wait for a retry")
STEPPED_ASIDE = Counter("momentum_inbox_slow", "Inbox rows still running after the slow threshold")
for _reason in inbox.PARK_REASONS:
    PARKED.labels(_reason)


class InboxPool:
    def __init__(self, m: Momentum, *, workers: int = WORKERS, lease_s: float = LEASE_S,
                 sweep_s: float = SWEEP_S, slow_s: float = SLOW_S, retry_workers: int | None = None,
                 prune_every_s: float = PRUNE_EVERY_S) -> None:
        self.m = m
        self.workers = max(1, workers)
        self.retry_workers = max(1, retry_workers if retry_workers is not None else self.workers // 4)
        self.lease_s = lease_s
        self.sweep_s = sweep_s
        self.slow_s = slow_s
        self.max_aside = 4 * self.workers  # slow rows running beside the workers, at most
        self.prune_every_s = prune_every_s
        self.handlers: dict[str, Handler] = {}
        self._queue: asyncio.Queue[inbox.Item] | None = None
        self._retries: asyncio.Queue[inbox.Item] | None = None
        self._wake: asyncio.Event | None = None
        self._retry_wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._busy: dict[int, asyncio.Task[None]] = {}  # row id -> its attempt, under way here
        self._aside: set[int] = set()  # rows under way that stepped aside (slow)
        self._inflight: set[int] = set()  # row ids queued or under way here
        self._stopping = False
        self._orphans: list[int] = []  # rows claimed but never started because we are stopping
        self.processed = 0
        self.prunes = 0
        self._accepting: list[tuple[inbox.New, asyncio.Future[int | None]]] = []  # waiting to be written
        self._writer: asyncio.Task[None] | None = None

    def register(self, platform: str, handler: Handler) -> None:
        self.handlers[platform] = handler

    # --- in ------------------------------------------------------------------------------------

    async def accept(self, key: str, platform: str, kind: str, payload: dict[str, Any],
                     *, lease_s: float = 0.0) -> int | None:
        """Write the row before the platform is told "OK"; its id, or ``None`` for a key seen before (a
        replay: acknowledge and do nothing). ``lease_s`` keeps it for the caller.

        Rows are written by one writer on the database's ack lane: whatever arrived while it wrote the
        last batch goes in the next one, in one statement (``inbox.accept_many``). A lone request is
        written at once; in a burst, fifty acknowledgements cost one short transaction instead of fifty."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int | None] = loop.create_future()
        self._accepting.append((inbox.New(key, platform, kind, payload, lease_s), done))
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write(), name="inbox-writer")
        row = await done
        if row is not None and lease_s <= 0:
            self.wake()
        return row

    async def _write(self) -> None:
        while self._accepting:
            batch, self._accepting = self._accepting[:MAX_BATCH], self._accepting[MAX_BATCH:]
            try:
                ids = await self.m.db.run_ack(inbox.accept_many, self.m.db, [new for new, _ in batch], self.m.box)
            except asyncio.CancelledError:  # shutting down: the requests waiting are cancelled with us
                for _, done in batch + self._accepting:
                    done.cancel()
                self._accepting = []
                raise
            except Exception as exc:  # every request of the batch hears it (they answer for themselves)
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, done), row in zip(batch, ids, strict=True):
                if not done.done():
                    done.set_result(row)

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _db_failed(self, what: str, exc: BaseException) -> None:
        if watch_for(self.m.db).failed(exc) is not None:
            _LOGGER.debug("%s: %s", what, type(exc).__name__)
        else:
            _LOGGER.warning("%s: %s", what, type(exc).__name__)

    def write_failed(self, exc: BaseException, log: logging.Logger) -> None:
        """An edge could not write its row and will do the work in memory. A database fault (full,
        read-only, away) is the database's state: its watch logs it once per change, not once per
        request; anything else is worth a line each time."""
        if watch_for(self.m.db).failed(exc) is not None:
            log.debug("inbox write failed (%s); processing in memory", type(exc).__name__)
        else:
            log.warning("inbox write failed (%s); processing in memory", type(exc).__name__)

    # --- running -------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def start(self) -> None:
        if self._tasks:
            return
        self._stopping = False
        self._queue = asyncio.Queue(maxsize=2 * self.workers)
        self._retries = asyncio.Queue(maxsize=self.retry_workers)
        self._wake = asyncio.Event()
        self._retry_wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._feed(), name="inbox-feeder"),
                       loop.create_task(self._feed_retries(), name="inbox-retry-feeder"),
                       loop.create_task(self._prune(), name="inbox-pruner")]
        self._tasks += [loop.create_task(self._work(i), name=f"inbox-worker-{i}") for i in range(self.workers)]
        self._tasks += [loop.create_task(self._retry(i), name=f"inbox-retry-{i}") for i in range(self.retry_workers)]

    async def _claim(self, lane: str, limit: int) -> list[inbox.Item]:
        parked: dict[str, int] = {}
        try:
            return await self.m.db.run(inbox.claim, self.m.db, self.m.box, lease_s=self.lease_s, limit=limit,
                                       exclude=frozenset(self._inflight), lane=lane, parked=parked)
        except Exception as exc:  # the database is away: try again on the next sweep (logged once, by its watch)
            self._db_failed("inbox claim failed", exc)
            return []
        finally:
            for reason, n in parked.items():
                PARKED.labels(reason).inc(n)
            if parked:  # progress was made past rows nobody can read: look again at once
                self.wake()

    async def _feed(self) -> None:
        assert self._queue is not None and self._wake is not None
        while not self._stopping:
            self._wake.clear()
            free = self._queue.maxsize - self._queue.qsize()
            items: list[inbox.Item] = []
            if free >= self.workers:
                items = await self._claim("main", free)
            if self._stopping:  # claimed while shutting down: handed back in ``stop``
                self._orphans += [i.id for i in items]
                return
            for item in items:
                self._inflight.add(item.id)
                self._queue.put_nowait(item)  # never more than the room there was
            if (len(items) == free and free > 0) or self._wake.is_set():
                continue  # there may be more: claim again as soon as the queue has room
            if free < self.workers:  # workers are busy; claim again once there is room for a batch of
                await asyncio.sleep(0.005)  # ``workers`` rows (fewer, larger claim transactions)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.sweep_s)

    async def _feed_retries(self) -> None:
        """The retry lane's feeder: rows whose backoff ran out, one worker's worth at a time."""
        assert self._retries is not None and self._retry_wake is not None
        while not self._stopping:
            self._retry_wake.clear()
            free = self._retries.maxsize - self._retries.qsize()
            items = await self._claim("retry", free) if free > 0 else []
            if self._stopping:
                self._orphans += [i.id for i in items]
                return
            for item in items:
                self._inflight.add(item.id)
                self._retries.put_nowait(item)
            if items and len(items) == free:
                await asyncio.sleep(0.005)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._retry_wake.wait(), min(self.sweep_s, RETRY_POLL_S))

    async def _prune(self) -> None:
        """Finished rows past the dedupe window: at start-up, then every ``prune_every_s`` (on the
        background lane: never in the way of an acknowledgement or a row)."""
        while not self._stopping:
            try:
                gone = await self.m.db.run_background(inbox.prune, self.m.db)
                self.prunes += 1
                if gone:
                    _LOGGER.info("inbox: %d finished row(s) pruned", gone)
            except Exception as exc:  # the database is away: the next round prunes
                self._db_failed("inbox prune failed", exc)
            await asyncio.sleep(self.prune_every_s)

    async def _attempt(self, item: inbox.Item) -> None:
        """One attempt at a row: its handler, then done, or the retry lane (after ``MAX_ATTEMPTS``: parked)."""
        try:
            handler = self.handlers.get(item.platform)
            if handler is None:
                _LOGGER.warning("inbox row %s: no handler for %s; left for another process", item.id,
                                item.platform)
                return
            if await handler(item):
                await self.m.db.run(inbox.finish, self.m.db, item.id)
            self.processed += 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # tried again in the retry lane, after a backoff (at least once)
            await self._failed(item, exc)
        finally:
            self._busy.pop(item.id, None)
            self._aside.discard(item.id)
            self._inflight.discard(item.id)

    async def _failed(self, item: inbox.Item, exc: Exception) -> None:
        try:
            state = await self.m.db.run(inbox.retry_later, self.m.db, item.id, item.attempts)
        except Exception as again:  # the database is away: the row's lease runs out and it is claimed again
            _LOGGER.warning("inbox row %s failed (%s) and could not be put back (%s)", item.id,
                            type(exc).__name__, type(again).__name__)
            return
        if state == "failed":  # a bug, not a blip: the traceback, once
            PARKED.labels("attempts").inc()
            _LOGGER.error("inbox row %s (%s %s) failed %d times; parked", item.id, item.platform, item.kind,
                          item.attempts, exc_info=exc)
            return
        RETRIED.inc()
        _LOGGER.warning("inbox row %s (%s %s) failed (%s, attempt %d); tried again later", item.id, item.platform,
                        item.kind, type(exc).__name__, item.attempts)
        if self._retry_wake is not None:
            self._retry_wake.set()

    def _begin(self, item: inbox.Item) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self._attempt(item), name=f"inbox-row-{item.id}")
        self._busy[item.id] = task
        return task

    async def _work(self, index: int) -> None:
        assert self._queue is not None
        while True:
            item = await self._queue.get()
            try:
                if self._stopping:
                    self._orphans.append(item.id)
                    self._inflight.discard(item.id)
                    continue
                task = self._begin(item)
                done, _ = await asyncio.wait({task}, timeout=self.slow_s)
                if not done:  # slow: it goes on beside the workers, and this one takes the next row
                    STEPPED_ASIDE.inc()
                    self._aside.add(item.id)
                    while len(self._aside) > self.max_aside and not task.done():  # too many: wait for room
                        await asyncio.wait({task, *(t for r, t in self._busy.items() if r in self._aside)},
                                           return_when=asyncio.FIRST_COMPLETED)
            finally:
                self._queue.task_done()

    async def _retry(self, index: int) -> None:
        assert self._retries is not None
        while True:
            item = await self._retries.get()
            try:
                if self._stopping:
                    self._orphans.append(item.id)
                    self._inflight.discard(item.id)
                    continue
                await self._begin(item)
            finally:
                self._retries.task_done()

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until every row is finished (none open, none waiting to be retried) and no worker is busy
        (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            idle = not self._busy and (self._queue is None or self._queue.empty()) and (
                self._retries is None or self._retries.empty())
            # not just the rows ready now: a row waiting out a retry's backoff is not processed yet either
            if idle and await self.m.db.run(inbox.unfinished, self.m.db) == 0:
                await asyncio.sleep(0.01)
                if not self._busy and (self._queue is None or self._queue.empty()):
                    return
            self.wake()
            await asyncio.sleep(0.01)
        raise TimeoutError("the inbox did not drain")

    async def stop(self, grace_s: float = GRACE_S) -> None:
        """Shutdown: finish what is under way within ``grace_s``, cancel the rest, hand rows back."""
        if not self._tasks:
            return
        self._stopping = True
        self.wake()
        deadline = time.monotonic() + grace_s
        # The feeders end by themselves (a claim under way finishes, so its rows are known and handed back).
        await asyncio.wait(self._tasks[:2], timeout=min(DB_STEP_S, grace_s))
        while self._busy and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        attempts = list(self._busy.values())
        unfinished = list(self._busy) + self._orphans
        for q in (self._queue, self._retries):
            while q is not None and not q.empty():
                unfinished.append(q.get_nowait().id)
        for t in self._tasks + attempts:
            t.cancel()
        await asyncio.gather(*self._tasks, *attempts, return_exceptions=True)
        self._tasks = []
        if unfinished:
            _LOGGER.warning("inbox: %d row(s) not finished at shutdown; left for the next process", len(unfinished))
            try:
                await asyncio.wait_for(self.m.db.run(inbox.release, self.m.db, unfinished), DB_STEP_S)
            except Exception as exc:  # their leases run out on their own
                _LOGGER.warning("inbox release failed: %s", type(exc).__name__)


INBOX_POOL: web.AppKey[InboxPool] = web.AppKey("inbox_pool", InboxPool)


def pool_for(app: web.Application, m: Momentum) -> InboxPool:
    """The application's one pool (created, started and stopped with the app on first use)."""
    if INBOX_POOL in app:
        return app[INBOX_POOL]
    pool = InboxPool(m)
    app[INBOX_POOL] = pool

    async def start(_: web.Application) -> None:
        pool.start()

    async def stop(_: web.Application) -> None:
        await pool.stop()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
    return pool
