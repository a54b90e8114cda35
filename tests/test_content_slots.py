"""Meeting slots: inside both people's working hours, humane, on different days, DST- and holiday-aware."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.content.slots import Availability, Slot, both_zones_label, propose_slots, slot_label, within

LONDON = Availability("Europe/London", "GB")
NEW_YORK = Availability("America/New_York", "US")
TOKYO = Availability("Asia/Tokyo", "JP")
SYDNEY = Availability("Australia/Sydney", "AU")
MON_12_JAN = datetime(2026, 1, 12, 8, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(slot: Slot, who: Availability) -> datetime:
    return slot.start.astimezone(ZoneInfo(who.tz))


def check_common(slots: list[Slot], after: datetime, a: Availability, minutes: int = 30) -> None:
    days = [local(s, a).date() for s in slots]
    assert len(set(days)) == len(days), "slots must fall on different days"
    for s in slots:
        assert s.start.tzinfo is not None and s.start.utcoffset() == timedelta(0)
        assert s.end - s.start == timedelta(minutes=minutes)
        assert s.start >= after + timedelta(hours=24)
        assert local(s, a).minute in (0, 30)
    assert slots == sorted(slots, key=lambda s: s.start)


def test_london_new_york() -> None:
    slots = propose_slots(MON_12_JAN, LONDON, NEW_YORK)
    check_common(slots, MON_12_JAN, LONDON)
    assert len(slots) == 2
    assert all(s.inside_both and within(s, LONDON) and within(s, NEW_YORK) for s in slots)
    # humane for both: London mid-afternoon, New York past its first half hour
    assert slots[0].start == utc(2026, 1, 13, 14, 30)
    assert both_zones_label(slots[0], LONDON, NEW_YORK, "Sam") == "Tue 13 Jan, 14:30 (you), 09:30 (Sam)"
    assert both_zones_label(slots[0], NEW_YORK, LONDON, "Priya") == "Tue 13 Jan, 09:30 (you), 14:30 (Priya)"
    # different and not adjacent days
    d0, d1 = (local(s, LONDON).date() for s in slots)
    assert (d1 - d0).days >= 2


def test_same_zone_prefers_late_morning_and_three_different_days() -> None:
    slots = propose_slots(MON_12_JAN, LONDON, LONDON, count=3)
    assert [s.start for s in slots] == [utc(2026, 1, 13, 10), utc(2026, 1, 15, 10), utc(2026, 1, 19, 10)]
    assert both_zones_label(slots[0], LONDON, LONDON, "Sam") == "Tue 13 Jan, 10:00"
    check_common(slots, MON_12_JAN, LONDON)


def test_tokyo_london_summer_overlap() -> None:
    after = utc(2026, 6, 8, 8)
    slots = propose_slots(after, TOKYO, LONDON)
    check_common(slots, after, TOKYO)
    assert all(s.inside_both and within(s, TOKYO) and within(s, LONDON) for s in slots)
    assert slots[0].start == utc(2026, 6, 9, 8)  # Tokyo 17:00, London 09:00 (BST)
    assert both_zones_label(slots[0], TOKYO, LONDON, "Ana") == "Tue 9 Jun, 17:00 (you), 09:00 (Ana)"


def test_tokyo_london_winter_has_no_overlap_and_compromises() -> None:
    slots = propose_slots(MON_12_JAN, TOKYO, LONDON)
    check_common(slots, MON_12_JAN, TOKYO)
    assert len(slots) == 2
    for s in slots:
        assert not s.inside_both
        assert within(s, TOKYO) != within(s, LONDON)  # one of them is inside; 30 minutes outside in total


def test_new_york_sydney_no_overlap_fallback() -> None:
    after = utc(2026, 6, 8, 12)  # June: New York UTC-4, Sydney UTC+10, no shared working hour
    slots = propose_slots(after, NEW_YORK, SYDNEY)
    check_common(slots, after, NEW_YORK)
    assert len(slots) == 2
    for s in slots:
        assert s.inside_both is False
        ny, syd = local(s, NEW_YORK), local(s, SYDNEY)
        for t in (ny, syd):
            assert time(7) <= t.time() and (t + timedelta(minutes=30)).time() <= time(21)
        assert within(s, NEW_YORK) or within(s, SYDNEY)  # the best compromise: 30 minutes outside, not 60
    assert slots[0].start == utc(2026, 6, 9, 21, 30)  # Tue 17:30 New York = Wed 07:30 Sydney
    assert both_zones_label(slots[0], NEW_YORK, SYDNEY, "Kenji") == "Tue 9 Jun, 17:30 (you), Wed 07:30 (Kenji)"


def test_new_york_sydney_do_overlap_in_january() -> None:
    slots = propose_slots(MON_12_JAN, NEW_YORK, SYDNEY)
    assert slots and all(s.inside_both for s in slots)
    assert slots[0].start == utc(2026, 1, 13, 22)  # Tue 17:00 New York = Wed 09:00 Sydney (AEDT)


def test_public_holiday_in_one_country_is_skipped() -> None:
    after = utc(2026, 1, 18, 8)  # Sunday; Monday 19 January is Martin Luther King Jr. Day in the US
    with_holiday = propose_slots(after, LONDON, NEW_YORK, count=1)
    without = propose_slots(after, LONDON, Availability("America/New_York"), count=1)
    assert without[0].start.date().isoformat() == "2026-01-19"
    assert with_holiday[0].start == utc(2026, 1, 20, 14, 30)
    assert within(without[0], NEW_YORK) is False  # the same slot is on the US person's day off


def test_other_weekend_sunday_to_thursday() -> None:
    tel_aviv = Availability("Asia/Jerusalem", None, frozenset({6, 0, 1, 2, 3}))
    after = utc(2026, 1, 14, 8)  # Wednesday
    slots = propose_slots(after, LONDON, tel_aviv, count=3)
    check_common(slots, after, LONDON)
    weekdays = [local(s, LONDON).weekday() for s in slots]
    assert 4 not in weekdays and 5 not in weekdays and 6 not in weekdays  # not Fri (IL), nor the UK weekend
    assert all(s.inside_both and within(s, tel_aviv) for s in slots)
    assert local(slots[0], LONDON).date().isoformat() == "2026-01-15"  # Thursday works for both


def test_sunday_worker_never_gets_sunday_with_a_monday_to_friday_partner() -> None:
    sun_thu = Availability("Asia/Jerusalem", None, frozenset({6, 0, 1, 2, 3}))
    after = utc(2026, 1, 16, 8)  # Friday: next candidate days are Sat (nobody), Sun (IL only), Mon (both)
    slots = propose_slots(after, sun_thu, LONDON, count=1)
    assert local(slots[0], sun_thu).date().isoformat() == "2026-01-19"


def test_dst_change_week() -> None:
    # The US springs forward on 8 March 2026, the UK on 29 March: for three weeks the gap is 4 hours.
    after = utc(2026, 3, 5, 12)
    slots = propose_slots(after, LONDON, NEW_YORK)
    assert [s.start for s in slots] == [utc(2026, 3, 6, 14, 30), utc(2026, 3, 9, 14)]
    assert both_zones_label(slots[0], LONDON, NEW_YORK, "Sam") == "Fri 6 Mar, 14:30 (you), 09:30 (Sam)"
    assert both_zones_label(slots[1], LONDON, NEW_YORK, "Sam") == "Mon 9 Mar, 14:00 (you), 10:00 (Sam)"
    assert all(within(s, LONDON) and within(s, NEW_YORK) for s in slots)


def test_first_slot_at_least_24_hours_later_on_a_quarter_hour() -> None:
    narrow = Availability("Europe/London", None, day_start=time(9), day_end=time(9, 30))
    exact = propose_slots(utc(2026, 1, 12, 9), narrow, narrow, count=1)
    assert exact[0].start == utc(2026, 1, 13, 9)
    late = propose_slots(utc(2026, 1, 12, 9, 7), narrow, narrow, count=1)
    assert late[0].start == utc(2026, 1, 14, 9)  # Tuesday 09:00 is less than 24 hours away


def test_naive_after_is_utc_and_invalid_zone_is_utc() -> None:
    nowhere = Availability("Not/AZone")
    slots = propose_slots(datetime(2026, 1, 12, 8), nowhere, Availability("UTC"), count=1)
    assert slots[0].start == utc(2026, 1, 13, 10)
    assert slot_label(slots[0], "Not/AZone") == "Tue 13 Jan, 10:00"


def test_deterministic_and_counts() -> None:
    assert propose_slots(MON_12_JAN, LONDON, NEW_YORK) == propose_slots(MON_12_JAN, LONDON, NEW_YORK)
    assert propose_slots(MON_12_JAN, LONDON, NEW_YORK, count=0) == []
    assert len(propose_slots(MON_12_JAN, LONDON, NEW_YORK, count=5)) == 5
    hour = propose_slots(MON_12_JAN, LONDON, NEW_YORK, minutes=60)
    assert all(s.end - s.start == timedelta(hours=1) and s.inside_both for s in hour)


def test_few_overlapping_days_are_topped_up_with_compromises() -> None:
    only_tuesday = Availability("Europe/London", None, frozenset({1}))
    slots = propose_slots(MON_12_JAN, only_tuesday, LONDON, count=2, search_days=7)
    assert [s.inside_both for s in slots] == [True, False]
    assert local(slots[0], LONDON).date().isoformat() == "2026-01-13"


def test_slot_label_in_each_zone() -> None:
    slot = Slot(utc(2026, 1, 13, 23, 30), utc(2026, 1, 14), True)
    assert slot_label(slot, "Europe/London") == "Tue 13 Jan, 23:30"
    assert slot_label(slot, "Asia/Tokyo") == "Wed 14 Jan, 08:30"
    assert slot_label(slot, "America/Los_Angeles") == "Tue 13 Jan, 15:30"
