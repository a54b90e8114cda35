"""Multi-replica delivery: three worker processes on PostgreSQL, one killed with SIGKILL mid-run; leases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot.app import Momentum
from bot.model.clock import FakeClock
from bot.model.config import Settings
from bot.outbox.delivery import DeliveryWorker
from storage.db import Database
from storage.models import Prompt
from tests.fakes import RecordingPlatform
from tests.helpers.seed import seed_due_prompts, seed_pairs

WORKER = Path(__file__).resolve().parent / "helpers" / "worker_proc.py"
PAIRS = 1_100  # a check-in and a nudge each: 2,200 due prompts
BATCH = 20
LEASE_S = 5  # the smallest lease Settings allows; the survivors take over the victim's rows after it
KILL_AFTER = 50  # sends the victim must have recorded before it is killed
DEADLINE_S = 45.0
P = Prompt.__table__  # type: ignore[attr-defined]


def _records(path: Path) -> list[int]:
    """Prompt ids a worker recorded; a line cut short by the kill (no newline) does not count."""
    if not path.exists():
        return []
    data = path.read_text(encoding="utf-8")
    return [int(line) for line in data.split("\n")[:-1] if line.strip()]


def _start(url: str, worker: str, record: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        str(WORKER),
        "--url",
        f"{url}&application_name={worker}",
        "--worker",
        worker,
        "--record",
        str(record),
        "--lease",
        str(LEASE_S),
        "--batch",
        str(BATCH),
        "--concurrency",
        "4",
        "--delay-ms",
        "3",
        "--timeout",
        str(DEADLINE_S),
    ]
    return subprocess.Popen(
        cmd, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _wait_for(what: str, check: Callable[[], bool], timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.005)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.mark.postgres
@pytest.mark.slow
def test_three_workers_one_killed_deliver_everything_once(pg_url: str, tmp_path: Path) -> None:
    assert "?" in pg_url  # the fixture's URL carries the schema as a connection option
    db = Database(pg_url)
    now = datetime.now(UTC)
    seeded = seed_pairs(db.engine, PAIRS, now)
    ids = set(seed_due_prompts(db.engine, seeded, now - timedelta(hours=1)))
    assert len(ids) >= 2_000

    names = ["w1", "w2", "w3"]
    victim = names[0]
    procs = {n: _start(pg_url, n, tmp_path) for n in names}
    try:
        _wait_for(
            f"{victim} to record {KILL_AFTER} sends",
            lambda: len(_records(tmp_path / f"{victim}.log")) >= KILL_AFTER or procs[victim].poll() is not None,
            DEADLINE_S,
        )
        assert procs[victim].poll() is None, "the victim finished before it could be killed"
        os.kill(procs[victim].pid, signal.SIGKILL)
        procs[victim].wait(timeout=10)

        # Once PostgreSQL has noticed the dead client (its transaction, if any, rolled back),
        # the rows still leased to it are exactly what it had in flight.
        def victim_gone() -> bool:
            with db.engine.connect() as c:
                n = c.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :a"), {"a": victim}
                ).scalar_one()
            return int(n) == 0

        _wait_for("PostgreSQL to drop the killed worker's connections", victim_gone, 10)
        with db.engine.connect() as c:
            in_flight = set(
                c.execute(select(P.c.id).where(P.c.lease_owner == victim, P.c.status == "sending")).scalars()
            )
        recorded_at_kill = len(_records(tmp_path / f"{victim}.log"))

        for n in names[1:]:
            code = procs[n].wait(timeout=DEADLINE_S)
            stderr = procs[n].stderr
            err = stderr.read().decode(errors="replace")[-2000:] if stderr is not None else ""
            assert code == 0, f"worker {n} exited with {code}: {err}"
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)
            if p.stderr:
                p.stderr.close()

    per_worker = {n: _records(tmp_path / f"{n}.log") for n in names}
    counts = Counter(pid for recs in per_worker.values() for pid in recs)
    duplicates = {pid for pid, c in counts.items() if c > 1}
    with db.engine.connect() as c:
        statuses: dict[str, int] = dict(c.execute(select(P.c.status, func.count()).group_by(P.c.status)).all())
    db.dispose()

    sends = {n: len(r) for n, r in per_worker.items()}
    summary = (
        f"{len(ids)} prompts; sends per worker {sends}; "
        f"{victim} killed after {recorded_at_kill} sends with {len(in_flight)} prompts in flight; "
        f"duplicates: {len(duplicates)} {sorted(duplicates)}"
    )
    print("\nmulti-replica:", summary)
    assert set(counts) == ids, f"lost or unknown prompts: {sorted(ids ^ set(counts))[:20]} ({summary})"
    assert statuses == {"sent": len(ids)}, f"outbox not all sent: {statuses} ({summary})"
    assert len(in_flight) <= BATCH, summary
    assert duplicates <= in_flight, f"sent twice outside the killed worker's batch ({summary})"
    assert duplicates <= set(per_worker[victim]), summary
    assert all(counts[pid] == 2 for pid in duplicates), f"sent more than twice ({summary})"
    assert len(duplicates) <= len(in_flight) <= BATCH, summary


class _Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


async def test_a_worker_whose_lease_ran_short_releases_instead_of_sending(
    sqlite_db: Database, settings: Settings, clock: FakeClock
) -> None:
    fake = RecordingPlatform()
    m = Momentum(sqlite_db, settings, clock, {"test": fake})
    ids = seed_due_prompts(sqlite_db.engine, seed_pairs(sqlite_db.engine, 3, clock.now()), clock.now())
    worker, ticks = DeliveryWorker(m, worker_id="slow"), _Ticks()
    worker._clock = ticks
    claimed = worker.claim(clock.now(), 10)
    assert claimed == ids
    ticks.t = settings.lease_s * 0.9  # stalled: another replica may take these over any moment now
    stats = await worker.deliver_batch(claimed, clock.now())
    assert (stats.released, stats.sent, fake.sent) == (len(ids), 0, [])
    with sqlite_db.engine.connect() as c:
        rows = c.execute(select(P.c.status, P.c.attempts, P.c.lease_owner)).all()
    assert {tuple(r) for r in rows} == {("pending", 0, None)}
    stats = await m.deliver_due(clock.now())
    assert stats.sent == len(ids) and len(fake.sent) == len(ids)


async def test_a_long_delivery_run_leases_each_batch_from_the_present(
    sqlite_db: Database, settings: Settings, clock: FakeClock
) -> None:
    m = Momentum(sqlite_db, settings, clock, {"test": RecordingPlatform()})
    ids = seed_due_prompts(sqlite_db.engine, seed_pairs(sqlite_db.engine, 2, clock.now()), clock.now())
    worker, ticks = DeliveryWorker(m, worker_id="long"), _Ticks()
    worker._clock, worker._started = ticks, 0.0
    ticks.t = 600.0  # ten minutes into one deliver_due(now) call
    first = worker.claim(clock.now(), 2)
    with sqlite_db.engine.connect() as c:
        leases = set(c.execute(select(P.c.lease_until).where(P.c.id.in_(first))).scalars())
    assert leases == {clock.now() + timedelta(seconds=600 + settings.lease_s)}
    # Another replica, called at the real present, leaves them alone and takes the rest.
    other = DeliveryWorker(m, worker_id="other").claim(clock.now() + timedelta(seconds=601), 10)
    assert sorted(other) == sorted(set(ids) - set(first))
