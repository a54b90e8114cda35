"""The journey: program kinds, phases by week, role names and prompt kinds.

Strategy 1 of the four momentum strategies ("slow to go fast") is the shape of
the journey itself: getting to know each other first, then coaching, then
sponsorship.  Each program kind names its phases and roles in its own words.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    KICKOFF = "kickoff"  # week 0, to the pair together: meet and define the relationship
    CHECKIN = "checkin"  # sponsoree, weekly: met / light touch / not yet; momentum 1-5
    PREP = "prep"  # sponsoree, before the usual meeting: update, question, ask (strategy 2)
    LIGHT_TOUCH = "light_touch"  # sponsoree, after silence: one concrete light touch (strategy 3)
    HOLIDAY = "holiday"  # either, before the partner's public holiday (strategy 3)
    SHARED = "shared"  # both, about monthly: a shared experience (strategy 4)
    NUDGE = "nudge"  # sponsor, weekly digest + one advocacy/shared action
    REVIEW = "review"  # both, quarterly: what works, what to change
    WRAPUP = "wrapup"  # both, at the end: reflect and pay it forward
    AGENDA = "agenda"  # sponsor: the sponsoree's prep agenda, when they chose to pass it on
    SHARED_NOTE = "shared_note"  # partner: a note its author chose to share
    FOLLOWUP = "followup"  # both, a week after the kickoff when no first chat is booked
    ASK_GOAL = "ask_goal"  # sponsoree: the sponsor asked for their current goal
    STALL_ALERT = "stall_alert"  # program admins: a pair stalled and two restarts didn't take
    FORWARD_ALERT = "forward_alert"  # program admins: someone wants to pay it forward


# Kinds the journey no longer sends on their own (folded into the weekly check-in's tip in v2);
# rows planned by an older release are cancelled at delivery.
RETIRED = frozenset({Kind.LIGHT_TOUCH.value, Kind.HOLIDAY.value, Kind.SHARED.value})


PROGRAM_KINDS = ("sponsorship", "mentoring", "reverse-mentoring")

# Stages are the core's neutral phase keys; each program kind names them.
KNOW, COACH, ADVOCATE = "know", "coach", "advocate"
STAGES = (KNOW, COACH, ADVOCATE)


@dataclass(frozen=True)
class JourneyShape:
    """When each stage starts (week index) and what this kind calls things."""

    coach_from: int
    advocate_from: int
    stage_names: dict[str, str]
    senior: str  # pair.sponsor_id plays this role
    junior: str  # pair.sponsoree_id plays this role


JOURNEYS: dict[str, JourneyShape] = {
    "sponsorship": JourneyShape(
        5, 13,
        {KNOW: "Getting to know each other", COACH: "Coaching", ADVOCATE: "Sponsorship"},
        "sponsor", "sponsoree",
    ),
    "mentoring": JourneyShape(
        5, 13,
        {KNOW: "Getting to know each other", COACH: "Learning together", ADVOCATE: "Stretch and visibility"},
        "mentor", "mentee",
    ),
    # In reverse mentoring the junior person teaches: pair.sponsor_id is still the senior
    # leader (the one who opens doors), pair.sponsoree_id the junior mentor.
    "reverse-mentoring": JourneyShape(
        5, 13,
        {KNOW: "Getting to know each other", COACH: "Exploring new perspectives", ADVOCATE: "Applying and advocating"},
        "mentee (leader)", "reverse mentor",
    ),
}


def journey(kind: str) -> JourneyShape:
    return JOURNEYS.get(kind, JOURNEYS["sponsorship"])


def stage_for(kind: str, week: int) -> str:
    j = journey(kind)
    if week >= j.advocate_from:
        return ADVOCATE
    if week >= j.coach_from:
        return COACH
    return KNOW


def stage_name(kind: str, stage: str) -> str:
    return journey(kind).stage_names.get(stage, stage)


def checkin_strategy(week: int) -> int:
    """Which strategy the weekly check-in's tip carries: a steady rotation through all four."""
    return (1, 3, 2, 4)[week % 4]


def variant_for(pair_id: int, kind: str, period: str) -> int:
    """A stable pseudo-random variant: reruns choose the same words, weeks differ."""
    return zlib.crc32(f"{pair_id}:{kind}:{period}".encode()) & 0x7FFFFFFF  # fits a signed INTEGER


def pick(options: tuple[str, ...] | list[str], variant: int) -> str:
    return options[variant % len(options)]
