"""Local-time arithmetic: a person's weekday and time in their own zone, working days, quiet hours.

All results are aware UTC datetimes.  DST is handled by ``zoneinfo``: a local time
that does not exist (spring forward) lands just after the gap; an ambiguous one
(fall back) takes the first occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Set
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=1024)
def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except Exception:
        return ZoneInfo("UTC")


@lru_cache(maxsize=4096)
def hhmm(value: str) -> time:
    h, m = value.split(":")
    return time(int(h), int(m))


def in_quiet_hours(t: time, quiet: tuple[time, time]) -> bool:
    start, end = quiet
    if start == end:
        return False
    if start > end:  # spans midnight, e.g. 20:00-08:00
        return t >= start or t < end
    return start <= t < end


def out_of_quiet(t: time, quiet: tuple[time, time]) -> tuple[time, int]:
    """Move a quiet time to the end of quiet hours; returns (time, days to add)."""
    if not in_quiet_hours(t, quiet):
        return t, 0
    start, end = quiet
    if start > end and t >= start:
        return end, 1  # evening -> next morning
    return end, 0


def next_working_day(d: date, working: Set[int]) -> date:
    for _ in range(7):
        if d.weekday() in working:
            return d
        d += timedelta(days=1)
    return d


def local_due(
    week_monday: date,
    weekday: int,
    at: time,
    tz: str | None,
    working: Set[int],
    quiet: tuple[time, time],
) -> datetime:
    """The UTC instant of ``weekday`` at ``at`` in the week starting ``week_monday``, in ``tz``.

    A non-working weekday moves forward to the next working day; a time in quiet
    hours moves to the end of quiet hours (the next working morning if need be).
    """
    d = week_monday + timedelta(days=weekday % 7)
    t, extra = out_of_quiet(at, quiet)
    d = next_working_day(d + timedelta(days=extra), working)
    return datetime.combine(d, t, tzinfo=zone(tz)).astimezone(UTC)


def next_allowed(now: datetime, tz: str | None, working: Set[int], quiet: tuple[time, time]) -> datetime:
    """The first moment at or after ``now`` that is a working day outside quiet hours, in ``tz``."""
    local = now.astimezone(zone(tz))
    d, t = local.date(), local.time().replace(second=0, microsecond=0)
    if d.weekday() in working and not in_quiet_hours(t, quiet):
        return now
    t2, extra = out_of_quiet(t, quiet)
    if t2 != t:
        d += timedelta(days=extra)
    else:
        t2 = quiet[1]
    if d.weekday() not in working:
        d = next_working_day(d, working)
        t2 = quiet[1]
    return datetime.combine(d, t2, tzinfo=zone(tz)).astimezone(UTC)


def monday_of(d: date) -> date:
    return d - timedelta(days=d.weekday())


def week_monday(start: date, week: int) -> date:
    return start + timedelta(days=7 * week)


def week_index(start: date, when: datetime) -> int:
    return (when.astimezone(UTC).date() - start).days // 7


def next_allowed_for_all(
    now: datetime, tzs: list[str | None], working: Set[int], quiet: tuple[time, time]
) -> datetime:
    """The first hour at or after ``now`` that suits everyone (a group message); falls back to
    the first person's next good moment when their days never overlap within a week."""
    candidate = now
    for _ in range(21):  # each step jumps to the earliest moment nobody objects to
        later = max(next_allowed(candidate, tz, working, quiet) for tz in tzs)
        if later == candidate:
            return candidate
        if later - now > timedelta(days=7):
            break
        candidate = later
    return next_allowed(now, tzs[0], working, quiet)


# --- "when we usually meet", as people write it ----------------------------------------------------

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"\b(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?(?![\d:])", re.IGNORECASE)
_PARTS = {"morning": "09:00", "mornings": "09:00", "lunch": "12:00", "lunchtime": "12:00", "noon": "12:00",
          "afternoon": "14:00", "afternoons": "14:00", "evening": "17:00", "evenings": "17:00"}
_EVERY = (("every other", 2), ("every second", 2), ("alternate", 2), ("biweekly", 2), ("fortnight", 2),
          ("every two weeks", 2), ("every 2 weeks", 2), ("monthly", 4), ("once a month", 4),
          ("every month", 4), ("weekly", 1), ("every week", 1))


@dataclass(frozen=True)
class When:
    weekday: int | None = None  # 0 = Monday
    at: str | None = None  # HH:MM
    every: int | None = None  # weeks between meetings, when the text says


def parse_when(text: str) -> When:
    """The usual meeting day, time and rhythm in what people naturally write: "Thursday mornings",
    "every other Tuesday 3pm", "tue 15:00", "Mondays at 9.30". Whatever is not recognised is left out;
    nothing is refused (the form keeps the words, and the pair progresses on meetings anyway)."""
    low = " ".join(text.lower().split())
    weekday = next((i for i, d in enumerate(_DAYS) if re.search(rf"\b{d}", low)), None)
    at = None
    for m in _TIME.finditer(low):
        hour, minute, half = int(m.group(1)), int(m.group(2) or 0), (m.group(3) or "").replace(".", "")
        if half == "pm" and hour < 12:
            hour += 12
        elif half == "am" and hour == 12:
            hour = 0
        if not half and m.group(2) is None and hour < 7:  # "3" alone reads as the afternoon, not 03:00
            hour += 12
        if 0 <= hour < 24 and 0 <= minute < 60:
            at = f"{hour:02d}:{minute:02d}"
            break
    if at is None:
        at = next((v for k, v in _PARTS.items() if re.search(rf"\b{k}\b", low)), None)
    every = next((n for k, n in _EVERY if k in low), None)
    return When(weekday, at, every)
