"""APScheduler wiring: it only *triggers* work; what is due lives in the database.

Every job goes through one shielded wrapper (in the spirit of python-telegram-bot's
JobQueue): errors are logged and counted, never allowed to kill the scheduler.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client import Counter
from sqlalchemy import delete

from bot.model.deps import Deps
from bot.outbox import planner
from bot.outbox.delivery import DeliveryWorker
from storage.models import ProcessedEvent

_LOGGER = logging.getLogger(__name__)
JOB_ERRORS = Counter("momentum_job_errors_total", "Scheduler job runs that raised", ["job"])
EVENT_TTL = timedelta(days=7)  # Slack and Teams retry for minutes, not days


def _shielded(name: str, fn: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            await fn()
        except Exception:
            JOB_ERRORS.labels(name).inc()
            _LOGGER.exception("scheduled job %s failed", name)

    return run


def prune_events(deps: Deps) -> int:
    with deps.db.session() as s:
        res = s.connection().execute(
            delete(ProcessedEvent.__table__).where(  # type: ignore[attr-defined]
                ProcessedEvent.__table__.c.at < deps.now() - EVENT_TTL)  # type: ignore[attr-defined]
        )
        return int(res.rowcount or 0)


def build_scheduler(deps: Deps) -> AsyncIOScheduler:
    """Plan every MOMENTUM_PLAN_INTERVAL seconds, deliver every MOMENTUM_DELIVER_INTERVAL, prune daily."""
    st = deps.settings
    sched = AsyncIOScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1,
                                                            "misfire_grace_time": 60})

    async def plan() -> None:
        # seconds for a large tenant: never on the event loop
        await asyncio.to_thread(lambda: planner.plan(deps.db, deps.settings, deps.now()))

    async def deliver() -> None:
        await DeliveryWorker(deps).deliver_due(deps.now())

    async def prune() -> None:
        await deps.db.run(prune_events, deps)  # a unit of work like any other: on the database executor

    sched.add_job(_shielded("plan", plan), "interval", seconds=st.plan_interval_s, id="plan",
                  next_run_time=datetime.now(UTC))  # plan once at start-up, then on the interval
    sched.add_job(_shielded("deliver", deliver), "interval", seconds=st.deliver_interval_s, id="deliver")
    sched.add_job(_shielded("prune", prune), "interval", hours=24, id="prune")
    return sched
