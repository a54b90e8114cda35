"""The web server (composition root for ``momentum serve``): health, metrics, Slack and Teams routes,
and the scheduler that triggers planning and delivery.

Shutdown (SIGTERM) ends within ``STOP_BUDGET_S`` whatever Slack, Teams or the database do: the
scheduler stops first, the inbox pool gives rows under way a grace period and hands the rest back
(``adapters.inbox``), aiohttp waits ``HTTP_GRACE_S`` for requests in flight, and ``exit_when_stuck``
ends the process if a thread is still blocked in a call that does not return (a database that never
answers): what was acknowledged but not finished is in the inbox for the next process.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import threading
import time
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

from bot.app import Momentum
from bot.outbox.faults import FaultWatch, watch_for
from bot.outbox.scheduler import build_scheduler
from storage import inbox
from storage.faults import DbFault

_LOGGER = logging.getLogger(__name__)

MOMENTUM_KEY: web.AppKey[Momentum] = web.AppKey("momentum", Momentum)
OUTBOX = Gauge("momentum_outbox_prompts", "Prompts in the outbox by status", ["status"])
INBOX_PARKED = Gauge("momentum_inbox_parked_rows", "Parked inbox rows still kept (all replicas), by reason",
                     ["reason"])


@dataclass
class Edges:
    """Which chat platforms to mount; each is ``None`` when not configured."""

    slack: object | None = None  # adapters.slack.settings.SlackSettings
    teams: object | None = None  # adapters.teams.settings.TeamsSettings


def teams_wanted() -> bool:
    """Teams is mounted with MICROSOFT_APP_ID, or in local development mode with MOMENTUM_TEAMS_DEV=1."""
    return bool(os.environ.get("MICROSOFT_APP_ID", "").strip()) or os.environ.get(
        "MOMENTUM_TEAMS_DEV", "").strip().lower() in {"1", "true", "yes"}


HEALTH_TIMEOUT_S = 1.5  # /healthz answers within 2 s whatever the database does
HEALTH_PROBE: web.AppKey[dict[str, asyncio.Future[tuple[bool, str]]]] = web.AppKey("health_probe", dict)


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers a ping in time and takes writes; 503 with the reason otherwise
    ("writes failing: disk full", "no answer within 1.5 s"). Both run on the database executor, so a
    database that hangs never holds the event loop, and one probe at a time: while a probe is stuck (a
    frozen PostgreSQL), the next health checks wait for that one instead of stacking up more threads
    behind it. What the probe finds is reported to the database's ``FaultWatch``, which logs once per
    change of state (``database unreachable: ...`` / ``database reachable again after N s``), never
    once per probe."""
    m = request.app[MOMENTUM_KEY]
    probes = request.app[HEALTH_PROBE]
    probe = probes.get("current")
    if probe is None or probe.done():
        probe = probes["current"] = asyncio.ensure_future(m.db.run(database_health, m))
    try:
        ok, state = await asyncio.wait_for(asyncio.shield(probe), HEALTH_TIMEOUT_S)
    except TimeoutError:
        ok, state = False, f"no answer within {HEALTH_TIMEOUT_S:g} s"
        _watch(m).saw(DbFault("unreachable", state))
    except Exception as exc:  # the executor itself refused (shutting down): still an answer, never a 500
        ok, state = False, f"unhealthy: {type(exc).__name__}"
    return web.json_response({"ok": ok, "database": state, "platforms": sorted(m.platforms)},
                             status=200 if ok else 503)


def _watch(m: Momentum) -> FaultWatch:
    return watch_for(m.db)


def database_health(m: Momentum) -> tuple[bool, str]:
    """(ok, state): the ping, then the write probe (at most one every 2 s while writes work; see
    ``bot.outbox.faults.FaultWatch.check_writes``). Both report to the watch, which logs a change of
    state once."""
    watch = _watch(m)
    exc = m.db.ping_error()
    if exc is not None:
        if watch.failed(exc) is None:  # not a fault the watch knows (a bad password): still unreachable here
            watch.saw(DbFault("unreachable", type(exc).__name__))
        return False, "unreachable"
    fault = watch.check_writes()
    return (True, "reachable") if fault is None else (False, fault.describe())


def _note_fault(m: Momentum, exc: BaseException) -> bool:
    return _watch(m).failed(exc) is not None


def _gauges(m: Momentum) -> tuple[list[tuple[str, int]], dict[str, int]]:
    return _outbox_counts(m), inbox.parked(m.db)


def _outbox_counts(m: Momentum) -> list[tuple[str, int]]:
    from sqlalchemy import func, select

    from storage.models import Prompt

    with m.db.session() as s:
        return [(str(st), int(n)) for st, n in s.exec(
            select(Prompt.status, func.count()).group_by(Prompt.status)).all()]  # type: ignore[call-overload]


async def metrics(request: web.Request) -> web.Response:
    m = request.app[MOMENTUM_KEY]
    try:
        outbox, parked = await asyncio.wait_for(m.db.run(_gauges, m), HEALTH_TIMEOUT_S)
        for status, n in outbox:
            OUTBOX.labels(status).set(n)
        for reason, n in parked.items():
            INBOX_PARKED.labels(reason).set(n)
    except Exception as exc:  # metrics must answer even when the database does not
        # A database fault is logged once per change of state (bot.outbox.faults), not once per scrape.
        if isinstance(exc, TimeoutError) or not _note_fault(m, exc):
            _LOGGER.warning("outbox gauge failed: %s", type(exc).__name__)
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def build_app(m: Momentum, edges: Edges, *, scheduler: bool = True) -> web.Application:
    app = web.Application(client_max_size=1024**2)
    app[MOMENTUM_KEY] = m
    app[HEALTH_PROBE] = {}
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    from adapters.admin import build_console

    app.add_subapp("/admin", build_console(m))  # the web console (sign-in links from the chat `console` command)
    if edges.slack is not None:
        from adapters.slack.web import mount as mount_slack

        mount_slack(app, m, edges.slack)  # type: ignore[arg-type]
    if edges.teams is not None:
        from adapters.teams.web import mount as mount_teams

        mount_teams(app, m, edges.teams)  # type: ignore[arg-type]
    if scheduler:
        sched = build_scheduler(m)

        async def start(_: web.Application) -> None:
            sched.start()
            _LOGGER.info("scheduler started", extra={"jobs": [j.id for j in sched.get_jobs()]})

        async def stop(_: web.Application) -> None:
            if sched.running:
                sched.shutdown(wait=False)  # no new plan or delivery starts; running ones are cancelled

        app.on_startup.append(start)
        app.on_shutdown.insert(0, stop)  # before the inbox pool's grace period
    return app


def settle_heap() -> None:
    """Once started: what exists now (modules, the Bolt app, SQLAlchemy's and pydantic's caches, about
    200,000 objects) lives as long as the process, so the garbage collector stops scanning it
    (``gc.freeze``). A full collection then costs what the requests left behind, not every start-up object
    again: before, full collections paused 150-370 ms in a database thread, holding the GIL, and with it
    the event loop and every acknowledgement (benchmarks/loop_hold.py, 20,000 pairs: 90 of them)."""
    gc.collect()
    gc.freeze()
    _LOGGER.debug("heap settled: %d objects frozen", gc.get_freeze_count())


STOP_BUDGET_S = 10.0  # after SIGTERM, the process is gone within this
HTTP_GRACE_S = 1.0  # requests in flight are acknowledgements: they take milliseconds
THREAD_GRACE_S = 0.5


def exit_when_stuck() -> None:
    """After the event loop has stopped: threads of ours still running (a database call that hangs, a
    planner run) get ``THREAD_GRACE_S``; then the process ends without waiting for them (the interpreter
    would join them forever). Their units of work roll back with the connection."""
    deadline = time.monotonic() + THREAD_GRACE_S
    for t in threading.enumerate():
        if t is threading.main_thread() or t.daemon:
            continue
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon
             and t.is_alive()]
    if stuck:
        _LOGGER.warning("stopping with %d thread(s) still busy: %s", len(stuck), ", ".join(sorted(stuck))[:200])
        logging.shutdown()
        os._exit(0)
