"""The admin digest's outbox rows on SQLite and PostgreSQL: one per admin and week, in the admin's
morning out of quiet hours, never twice; and the report's trend charts from the console's series."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlmodel import select

from adapters.console.platform import ConsolePlatform
from bot.app import Momentum
from bot.chat.changes import TWO_WAY
from bot.domain import analytics, trends
from bot.model.charts import chart
from bot.model.clock import FakeClock
from bot.model.config import Settings
from bot.model.interactions import Profile
from bot.model.messages import Chart, Heading, Message
from bot.model.ports import Recipient, WorkspaceRef
from bot.outbox.admin import plan_admin_digests
from storage.db import Database
from storage.models import Person, Program, Prompt
from tests.conftest import START
from tests.fakes import RecordingPlatform


def _admin(core: Momentum, tz: str = "America/New_York") -> int:
    info = core.units.upsert_person("test", "W1", Profile("UADA", "Ada", "admin@example.com", tz=tz))
    with core.db.session() as s:
        p = s.get(Person, info.id)
        assert p is not None
        p.admin_digest_since = core.now()
        s.add(p)
    return info.id


def _digests(db: Database) -> list[Prompt]:
    with db.session() as s:
        return list(s.exec(select(Prompt).where(Prompt.kind == "admin_digest").order_by(Prompt.due_at)).all())


def test_one_digest_per_admin_and_week_in_the_admins_morning(core: Momentum, clock: FakeClock) -> None:
    _admin(core)  # on at Monday 5 January, 06:00 UTC (01:00 in New York)
    for _ in range(3):
        core.plan(clock.now())
    rows = _digests(core.db)
    # this Monday 09:00 in New York (after it was turned on) and next Monday's; planning again adds nothing
    assert [r.due_at for r in rows] == [datetime(2026, 1, 5, 14, 0, tzinfo=UTC),
                                        datetime(2026, 1, 12, 14, 0, tzinfo=UTC)]
    assert {r.pair_id for r in rows} == {None}
    assert [r.period for r in rows] == ["digest-2026-01-05", "digest-2026-01-12"]
    with core.db.engine.begin() as conn:  # the unique index holds even when the planner races itself
        assert plan_admin_digests(conn, core.settings, clock.now()) == 0
    clock.advance(timedelta(days=7))
    core.plan(clock.now())
    assert len(_digests(core.db)) == 3


def test_the_digest_respects_quiet_hours_and_working_days(db: Database, clock: FakeClock,
                                                          fake: RecordingPlatform) -> None:
    settings = Settings(MOMENTUM_SECRET_KEY="test-secret", MOMENTUM_ADMINS="admin@example.com",
                        MOMENTUM_QUIET_HOURS="20:00-10:30", MOMENTUM_WORKING_DAYS="tue-fri")
    core = Momentum(db, settings, clock, {"test": fake})
    _admin(core, tz="Europe/Berlin")
    core.plan(clock.now())
    # Monday is not a working day here and 09:00 is quiet: Tuesday 10:30 in Berlin
    assert _digests(core.db)[0].due_at == datetime(2026, 1, 6, 9, 30, tzinfo=UTC)


def test_only_admins_who_opted_in_and_were_not_forgotten(core: Momentum, clock: FakeClock) -> None:
    ada = _admin(core)
    core.units.upsert_person("test", "W1", Profile("USAM", "Sam", "sam@example.com"))
    with core.db.session() as s:  # Sam has the flag but no admin rights
        sam = s.exec(select(Person).where(Person.external_id == "USAM")).one()
        sam.admin_digest_since = clock.now()
        s.add(sam)
    core.plan(clock.now())
    assert {r.recipient_id for r in _digests(core.db)} == {ada}
    with core.db.session() as s:
        s.get(Person, ada).forgotten = True  # type: ignore[union-attr]
    clock.advance(timedelta(days=14))
    core.plan(clock.now())
    assert len(_digests(core.db)) == 2  # nothing new after the admin was forgotten


def test_report_trend_charts_come_from_the_console_series(core: Momentum, clock: FakeClock) -> None:
    assert TWO_WAY == analytics.TWO_WAY  # chat's rule for two-way contact and the series' are one
    with core.db.session() as s:
        s.add(Program(workspace_id=core.units.upsert_workspace("test", "W1"), name="Pilot", kind="sponsorship",
                      start_date=START.date(), length_weeks=26, default_tz="UTC", created_at=START))
    clock.advance(timedelta(weeks=3))
    with core.db.session() as s:
        msg = trends.report(s, 1, clock.now(), "pilot")
        charts = [b for b in msg.blocks if isinstance(b, Chart)]
        assert [c.kind for c in charts] == ["line", "bar"]
        assert [label for label, _ in charts[0].series[0].points] == ["Jan 5", "Jan 12", "Jan 19", "Jan 26"]
        assert all(v is None for _, v in charts[0].series[0].points)  # no pairs yet: no data, no crash
        assert charts[0].fallback.splitlines()[1].strip() == "In contact that week  ····"
        assert int(s.exec(select(func.count()).select_from(Program)).one()) == 1


def test_the_console_and_text_platform_show_charts_as_sparklines() -> None:
    out: list[str] = []
    console = ConsolePlatform(clock=lambda: START, out=out.append)
    trend = chart("line", "Pilot: weekly engagement (%)", (
        ("Engagement", (("Jan 5", 20), ("Jan 12", None), ("Jan 19", 60))),
        ("Check-ins answered", (("Jan 5", 90), ("Jan 12", 80), ("Jan 19", 70))),
    ), unit="%")
    msg = Message(text="Program health", blocks=(Heading("Program health: Pilot"), trend))
    asyncio.run(console.send(WorkspaceRef(1, "console", "W1"), Recipient(1, "UADA", "Ada"), msg))
    printed = "\n".join(out).splitlines()
    assert printed[1:] == ["   *Program health: Pilot*", "   Pilot: weekly engagement (%)",
                           "     Engagement          ▁·█  60%  ↑40", "     Check-ins answered  █▅▁  70%  ↓10"]
