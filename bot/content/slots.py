"""Meeting slots: proposing times inside both people's working hours, and labelling them in both zones."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.content._data import WEEKDAYS, date_label, words
from bot.content.holidays import is_public_holiday
from bot.content.timing import zone

QUARTER = timedelta(minutes=15)
LEAD = timedelta(hours=24)  # nobody is asked to meet today
EDGE = 30  # minutes at the start and end of a working day to avoid when possible
HUMANE = (10 * 60, 15 * 60)  # late morning to early afternoon, local minutes of the day
FALLBACK = (7 * 60, 21 * 60)  # a compromise never goes earlier or later than this, local
GOOD_ENOUGH = 30  # a day whose best slot is this much less humane than the best day waits its turn


@dataclass(frozen=True)
class Availability:
    tz: str  # IANA zone; invalid -> treat as UTC
    country: str | None = None  # for public holidays
    working_days: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    day_start: time = time(9, 0)
    day_end: time = time(18, 0)


@dataclass(frozen=True)
class Slot:
    start: datetime  # aware UTC
    end: datetime  # aware UTC
    inside_both: bool  # inside both people's working hours on a working, non-holiday day for both


@dataclass(frozen=True)
class _Local:
    """A slot as one person sees it: their local date and wall-clock minutes of the day."""

    day: date
    start: int
    end: int  # may exceed 1440 when the slot crosses local midnight
    working: bool  # a working day and not a public holiday for them

    @classmethod
    def of(cls, start: datetime, end: datetime, who: Availability) -> _Local:
        z = zone(who.tz)
        ls, le = start.astimezone(z), end.astimezone(z)
        d = ls.date()
        s = ls.hour * 60 + ls.minute
        e = le.hour * 60 + le.minute + 1440 * (le.date() - d).days
        working = d.weekday() in who.working_days and not is_public_holiday(who.country, d)
        return cls(d, s, e, working)


def _window(who: Availability) -> tuple[int, int]:
    return who.day_start.hour * 60 + who.day_start.minute, who.day_end.hour * 60 + who.day_end.minute


def _inside(loc: _Local, who: Availability) -> bool:
    lo, hi = _window(who)
    return loc.working and lo <= loc.start and loc.end <= hi


def within(slot: Slot, who: Availability) -> bool:
    """True when the slot lies fully inside the person's working hours on their working, non-holiday day."""
    return _inside(_Local.of(slot.start, slot.end, who), who)


def _discomfort(loc: _Local, who: Availability) -> int:
    """How far from a humane time (late morning / early afternoon, off the day's edges), in minutes."""
    lo, hi = _window(who)
    penalty = 0
    if loc.start < lo + EDGE or loc.end > hi - EDGE:
        penalty += 60
    band_lo, band_hi = max(lo, HUMANE[0]), min(hi, HUMANE[1])
    if band_hi - band_lo < loc.end - loc.start:  # unusual hours: aim for the middle of their day
        mid = (lo + hi) // 2
        band_lo, band_hi = mid - (loc.end - loc.start), mid + (loc.end - loc.start)
    return penalty + max(0, band_lo - loc.start) + max(0, loc.end - band_hi)


def _outside(loc: _Local, who: Availability) -> tuple[int, int]:
    """(minutes of the slot outside the person's window, how far past the window it reaches)."""
    length = loc.end - loc.start
    if not loc.working:
        return length, length
    lo, hi = _window(who)
    overlap = max(0, min(loc.end, hi) - max(loc.start, lo))
    return length - overlap, max(0, lo - loc.start, loc.end - hi)


def _in_fallback_hours(loc: _Local) -> bool:
    return FALLBACK[0] <= loc.start and loc.end <= FALLBACK[1]


def _candidates(after: datetime, a: Availability, minutes: int, search_days: int) -> list[datetime]:
    if after.tzinfo is None:
        after = after.replace(tzinfo=UTC)
    earliest = (after + LEAD).astimezone(UTC)
    step = int(QUARTER.total_seconds())
    first = datetime.fromtimestamp(math.ceil(earliest.timestamp() / step) * step, UTC)
    horizon = first + timedelta(days=search_days)
    za = zone(a.tz)
    out: list[datetime] = []
    t = first
    while t + timedelta(minutes=minutes) <= horizon:
        if t.astimezone(za).minute in (0, 30):
            out.append(t)
        t += QUARTER
    return out


Key = tuple[int, ...]


def _pick_days(best: dict[date, tuple[Key, Slot]], count: int, good: Callable[[Key], bool],
               taken: set[date]) -> list[tuple[date, Slot]]:
    """Up to ``count`` days: humane days first, not adjacent to one another, earliest first."""
    chosen: list[tuple[date, Slot]] = []
    days = sorted(best)

    def free(d: date, spaced: bool) -> bool:
        if d in taken:
            return False
        return not spaced or all(abs((d - t).days) > 1 for t in taken)

    for only_good, spaced in ((True, True), (False, True), (True, False), (False, False)):
        for d in days:
            if len(chosen) >= count:
                return chosen
            if free(d, spaced) and (not only_good or good(best[d][0])):
                chosen.append((d, best[d][1]))
                taken.add(d)
    return chosen


def propose_slots(after: datetime, a: Availability, b: Availability, count: int = 2, minutes: int = 30,
                  search_days: int = 14) -> list[Slot]:
    """Up to ``count`` meeting slots on different days (in ``a``'s zone), earliest 24 hours after ``after``.

    A slot lies inside both people's working hours on a working, non-holiday day for each, preferring
    late morning / early afternoon for both.  When the two never overlap, the best compromises
    (fewest minutes outside the two windows, never before 07:00 or after 21:00 local) are marked
    ``inside_both=False``.  Deterministic; DST-correct.
    """
    if count <= 0 or minutes <= 0:
        return []
    length = timedelta(minutes=minutes)
    inside: dict[date, tuple[Key, Slot]] = {}
    compromise: dict[date, tuple[Key, Slot]] = {}
    for start in _candidates(after, a, minutes, search_days):
        end = start + length
        la, lb = _Local.of(start, end, a), _Local.of(start, end, b)
        if _inside(la, a) and _inside(lb, b):
            key: Key = (_discomfort(la, a) + _discomfort(lb, b),)
            table, slot = inside, Slot(start, end, True)
        elif _in_fallback_hours(la) and _in_fallback_hours(lb):
            (out_a, far_a), (out_b, far_b) = _outside(la, a), _outside(lb, b)
            idle = (not la.working) + (not lb.working)
            key = (idle, out_a + out_b, far_a + far_b)
            table, slot = compromise, Slot(start, end, False)
        else:
            continue
        if la.day not in table or key < table[la.day][0]:  # earliest wins a tie
            table[la.day] = (key, slot)

    taken: set[date] = set()
    picked: list[tuple[date, Slot]] = []
    if inside:
        floor = min(k for k, _ in inside.values())[0]
        picked += _pick_days(inside, count, lambda k: k[0] <= floor + GOOD_ENOUGH, taken)
    if len(picked) < count and compromise:
        floor_c = min(k for k, _ in compromise.values())[:2]
        picked += _pick_days(compromise, count - len(picked), lambda k: k[:2] <= floor_c, taken)
    return sorted((s for _, s in picked), key=lambda s: s.start)


def _hm(dt: datetime) -> str:
    return f"{dt.hour:02d}:{dt.minute:02d}"


def slot_label(slot: Slot, tz: str) -> str:
    """ "Tue 13 Jan, 10:00" in that zone."""
    local = slot.start.astimezone(zone(tz))
    return f"{date_label(local.date())}, {_hm(local)}"


def both_zones_label(slot: Slot, me: Availability, partner: Availability, partner_name: str) -> str:
    """ "Tue 13 Jan, 16:00 your time (10:00 for Sam)"; one time when both zones agree; the partner's
    weekday when their date differs: "(Wed 09:00 for Kenji)"."""
    mine = slot.start.astimezone(zone(me.tz))
    theirs = slot.start.astimezone(zone(partner.tz))
    if mine.replace(tzinfo=None) == theirs.replace(tzinfo=None):
        return slot_label(slot, me.tz)
    their_time = _hm(theirs) if theirs.date() == mine.date() else f"{WEEKDAYS[theirs.weekday()]} {_hm(theirs)}"
    return words().both_zones.format(mine=slot_label(slot, me.tz), theirs=their_time, name=partner_name)
