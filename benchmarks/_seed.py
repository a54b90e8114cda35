"""Shared benchmark plumbing: the machine's description, throwaway databases, bulk seeding."""

from __future__ import annotations

import os
import platform
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from storage.db import Database
from storage.migrate import upgrade
from tests.helpers.pg import migrated_schema
from tests.helpers.seed import Seeded, count_by_status, seed_due_prompts, seed_pairs

__all__ = ["Seeded", "count_by_status", "database", "machine", "seed_due_prompts", "seed_pairs"]

PG_URL = os.environ.get("MOMENTUM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    """A fresh, migrated database; yields its URL. PostgreSQL: a schema of its own in ``PG_URL``,
    dropped afterwards (as tests/conftest.py does)."""
    if backend == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.db"
        url = f"sqlite:///{path}"
        db = Database(url)
        upgrade(db.engine)
        db.dispose()
        try:
            yield url
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    with migrated_schema(PG_URL, "bench") as url:
        yield url


def week_at_once(db: Database, start: datetime, target: int) -> tuple[set[int], datetime]:
    """Turn the first ``target`` prompts planned for the week after ``start`` into one batch due on
    Monday 09:00 (the worst case for a weekly send); cancel the rest. Returns their ids and the time."""
    from sqlmodel import select

    from storage.models import Prompt

    end, batch_at = start + timedelta(days=7), start + timedelta(hours=3)
    with db.session() as s:
        week = sorted(s.exec(select(Prompt).where(Prompt.due_at < end)).all(), key=lambda p: p.id or 0)
        for p in week[target:]:
            p.status = "cancelled"
        for p in week[:target]:
            p.due_at = p.next_attempt_at = batch_at
        return {p.id for p in week[:target] if p.id is not None}, batch_at


def seed_platform_pairs(
    momentum: Any,
    platform: str,
    workspace: str,
    pairs: int,
    start: datetime,
    external_id: Callable[[int], str],
    address: Callable[[int], dict[str, object]] | None = None,
) -> None:
    """People (through the core, as an install would store them) and pairs that started weeks ago."""
    from datetime import date

    from bot.model.interactions import Profile
    from storage.models import Pair, Program

    momentum.units.upsert_workspace(platform, workspace, name="Bench")
    ids = [
        momentum.units.upsert_person(
            platform, workspace,
            Profile(external_id=external_id(n), name=f"Person {n}", email=f"p{n}@example.com", tz="UTC"),
            address=address(n) if address else None,
        ).id
        for n in range(pairs * 2)
    ]
    began = date(2025, 12, 1)
    with momentum.db.session() as s:
        program = Program(workspace_id=momentum.units.workspace_ref(platform, workspace).id, name="Pilot",
                          start_date=began, created_at=start - timedelta(days=40))
        s.add(program)
        s.flush()
        s.add_all(Pair(program_id=program.id, sponsor_id=ids[2 * k], sponsoree_id=ids[2 * k + 1],
                       start_date=began, created_at=start - timedelta(days=40)) for k in range(pairs))
