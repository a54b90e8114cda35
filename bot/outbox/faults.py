"""Riding out database faults: one state per database, logged once per change, retried with backoff.

The kinds come from ``storage.faults.classify``: ``unreachable`` (PostgreSQL down or cut off) and the
write faults ``disk_full`` and ``read_only`` (reads keep working). Work that hits one reports it to the
database's ``FaultWatch``, which logs a line only when the state changes:

    database unreachable: <reason>          database reachable again after 12 s
    database writes failing: disk full      database writes working again after 40 s

``ride_out`` retries a unit of work with exponential backoff and jitter until the fault passes
(tenacity's ``AsyncRetrying``, a well-kept library; its ``before_sleep`` hook is where each failed
attempt is reported to the watch, which stays quiet unless the state changed). It retries only
database faults; any other error is raised at once. Writes failing end only when the watch's write
probe gets through (``FaultWatch.check_writes``, also what ``/healthz`` runs).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_delay,
    stop_never,
    wait_exponential,
    wait_random,
)
from tenacity.wait import wait_base

from bot.content._data import load_yaml
from storage.db import Database
from storage.faults import DbFault, WriteProbe, classify

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

BACKOFF_INITIAL_S = 1.0
BACKOFF_MAX_S = 30.0


@cache
def words() -> dict[str, str]:
    raw = load_yaml("faults.yml")
    return {"cant_save": str(raw["cant_save"]), "unavailable": str(raw["unavailable"])}


def answer_for(fault: DbFault) -> str:
    """What a person is told when their request met ``fault`` (nothing was changed)."""
    return words()["unavailable" if fault.kind == "unreachable" else "cant_save"]


class FaultWatch:
    """The database's state as work sees it: ``ok``, ``unreachable`` or ``writes failing``. Every
    caller reports; a line is logged only when the state changes. Thread-safe.

    An outage ends with the first piece of work that reaches the database. Writes failing end only
    when the write probe (``storage.faults.WriteProbe``) gets through: a full disk still takes some
    writes (a row that fits in a page already there), and those must not read as a recovery."""

    def __init__(self, db: Database, log: logging.Logger | None = None) -> None:
        self.log = log or _LOGGER
        self.probe = WriteProbe(db.engine)
        self._db = weakref.ref(db)
        self._lock = threading.Lock()
        self.fault: DbFault | None = None
        self.since = 0.0

    @property
    def ok(self) -> bool:
        return self.fault is None

    def failed(self, exc: BaseException) -> DbFault | None:
        """Report an error; returns its fault (``None``: not a database fault, nothing recorded)."""
        fault = classify(exc)
        if fault is not None:
            self.saw(fault)
        return fault

    def saw(self, fault: DbFault) -> None:
        with self._lock:
            before = self.fault
            if before is not None and before.kind == fault.kind:
                return
            if before is None:
                self.since = time.monotonic()
            self.fault = fault
        self.log.warning("database %s", fault.describe().removeprefix("database "),
                         extra={"db_state": fault.kind, "reason": fault.reason})

    def succeeded(self, *, probed: bool = False) -> bool:
        """Report work that reached the database (``probed``: the write probe got through). True
        when that ends the fault."""
        with self._lock:
            before = self.fault
            if before is None or (before.writes_only and not probed):
                return False
            self.fault = None
            took = time.monotonic() - self.since
        what = "reachable again" if before.kind == "unreachable" else "writes working again"
        self.log.warning("database %s after %.0f s", what, took, extra={"db_state": "ok", "after_s": round(took, 1)})
        return True

    def check_writes(self) -> DbFault | None:
        """Run the write probe (on the database executor: it is SQL) and record what it finds."""
        fault = self.probe.check(fresh=not self.ok)  # work saw a fault: look again now
        if fault is None:
            self.succeeded(probed=True)
        else:
            self.saw(fault)
        return fault

    async def settle(self) -> bool:
        """After work that got through: end an outage, or, while writes were failing, probe them
        again. True when the fault ended."""
        fault, db = self.fault, self._db()
        if fault is None:
            return False
        if not fault.writes_only or db is None:
            return self.succeeded()
        return await db.run(self.check_writes) is None and self.ok


_WATCHES: weakref.WeakKeyDictionary[Database, FaultWatch] = weakref.WeakKeyDictionary()
_WATCHES_LOCK = threading.Lock()


def watch_for(db: Database) -> FaultWatch:
    """The one ``FaultWatch`` of a database (per process)."""
    with _WATCHES_LOCK:
        w = _WATCHES.get(db)
        if w is None:
            w = _WATCHES[db] = FaultWatch(db)
        return w


def backoff(initial_s: float = BACKOFF_INITIAL_S, max_s: float = BACKOFF_MAX_S) -> wait_base:
    """Exponential backoff (``initial_s``, doubling, at most ``max_s``) plus up to ``initial_s`` of
    jitter, so replicas that lost the database together do not come back in step."""
    return wait_exponential(multiplier=initial_s, max=max_s) + wait_random(0, initial_s)


def is_fault(exc: BaseException) -> bool:
    return classify(exc) is not None


async def ride_out(watch: FaultWatch, fn: Callable[[], Awaitable[T]], *,
                   initial_s: float = BACKOFF_INITIAL_S, max_s: float = BACKOFF_MAX_S,
                   give_up_after_s: float | None = None) -> T:
    """``await fn()`` until it gets through a database fault: retried with exponential backoff and
    jitter (``initial_s`` doubling up to ``max_s``), the state logged once when it starts and once
    when it ends. Errors that are not database faults are raised at once; with ``give_up_after_s``
    the last fault is raised once that long has passed."""

    def note(state: RetryCallState) -> None:
        if state.outcome is not None and (exc := state.outcome.exception()) is not None:
            watch.failed(exc)

    retrying = AsyncRetrying(retry=retry_if_exception(is_fault), wait=backoff(initial_s, max_s), before_sleep=note,
                             stop=stop_never if give_up_after_s is None else stop_after_delay(give_up_after_s),
                             reraise=True)
    result: Any = None
    async for attempt in retrying:
        with attempt:
            result = await fn()
    await watch.settle()
    return result  # type: ignore[no-any-return]
