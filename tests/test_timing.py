"""Local-time rules: each person's own zone, working days, quiet hours, DST, zone changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import select

from bot.app import Momentum
from bot.content.timing import in_quiet_hours, local_due, next_allowed, next_allowed_for_all
from bot.model.clock import FakeClock
from storage.models import Person, Prompt
from tests.fakes import command, person, setup_program

WORK = frozenset({0, 1, 2, 3, 4})
QUIET = (time(20), time(8))


def test_dst_spring_forward_keeps_local_wall_time() -> None:
    # Berlin moves to summer time on Sunday 29 March 2026: Tuesday 10:00 stays 10:00 local.
    before = local_due(date(2026, 3, 23), 1, time(10), "Europe/Berlin", WORK, QUIET)
    after = local_due(date(2026, 3, 30), 1, time(10), "Europe/Berlin", WORK, QUIET)
    assert before == datetime(2026, 3, 24, 9, 0, tzinfo=UTC)
    assert after == datetime(2026, 3, 31, 8, 0, tzinfo=UTC)


def test_dst_fall_back_in_new_york() -> None:
    before = local_due(date(2026, 10, 26), 0, time(9), "America/New_York", WORK, QUIET)
    after = local_due(date(2026, 11, 2), 0, time(9), "America/New_York", WORK, QUIET)
    assert before.hour == 13 and after.hour == 14


def test_local_weekday_differs_from_utc() -> None:
    # Tuesday 08:30 in Auckland is still Monday in UTC.
    due = local_due(date(2026, 6, 1), 1, time(8, 30), "Pacific/Auckland", WORK, QUIET)
    assert due.weekday() == 0 and due == datetime(2026, 6, 1, 20, 30, tzinfo=UTC)


def test_weekends_and_quiet_hours_move_forward() -> None:
    sat = local_due(date(2026, 6, 1), 5, time(10), "Europe/London", WORK, QUIET)
    assert sat.astimezone().weekday() in WORK or sat.weekday() == 0
    late = local_due(date(2026, 6, 1), 1, time(21, 30), "UTC", WORK, QUIET)
    assert late == datetime(2026, 6, 3, 8, 0, tzinfo=UTC)
    assert in_quiet_hours(time(23), QUIET) and in_quiet_hours(time(7, 59), QUIET)
    assert not in_quiet_hours(time(8), QUIET) and not in_quiet_hours(time(19, 59), QUIET)


def test_next_allowed_for_a_group_suits_both() -> None:
    now = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    both = next_allowed_for_all(now, ["America/Mexico_City", "Asia/Tokyo"], WORK, QUIET)
    for tz in ("America/Mexico_City", "Asia/Tokyo"):
        assert next_allowed(both, tz, WORK, QUIET) == both


async def test_time_zone_change_mid_program_moves_future_prompts(lite: Momentum, clock: FakeClock) -> None:
    sam, lee = person("USAM", "Sam", "America/New_York"), person("ULEE", "Lee", "Europe/London")
    await setup_program(lite, [(sam, lee)])
    clock.advance(timedelta(days=3))
    lite.plan()
    moved = person("ULEE", "Lee", "Asia/Singapore")  # Lee moves to Singapore; the platform tells us
    await command(lite, moved, "me")
    with lite.db.session() as s:
        lee_id = s.exec(select(Person.id).where(Person.external_id == "ULEE")).one()
    lite.plan()
    with lite.db.session() as s:
        due = [p.due_at for p in s.exec(select(Prompt).where(Prompt.recipient_id == lee_id,
                                                             Prompt.kind == "checkin")).all()]
    assert due and all(d.astimezone(UTC).hour == 2 for d in due)  # 10:00 in Singapore is 02:00 UTC


def test_country_for_holidays_comes_from_the_locale_when_unknown() -> None:
    from bot.domain.people import country_from_locale

    assert country_from_locale("en-GB") == "GB" and country_from_locale("pt_BR") == "BR"
    assert country_from_locale("en") is None and country_from_locale(None) is None


async def test_default_time_zone_setting_applies_to_new_workspaces(sqlite_db, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    from bot.model.config import Settings
    from tests.fakes import ADMIN

    m = Momentum(sqlite_db, Settings(MOMENTUM_ADMINS="admin@example.com", MOMENTUM_DEFAULT_TZ="Asia/Tokyo"), clock)
    await command(m, ADMIN, "program create Pilot")
    with m.db.session() as s:
        from storage.models import Program, Workspace

        assert s.exec(select(Workspace)).one().default_tz == "Asia/Tokyo"
        assert s.exec(select(Program)).one().default_tz == "Asia/Tokyo"
