"""Prompt kinds and the small stable helpers the planner needs (variants, strategy rotation).

The journeys themselves (phases, roles, words per program kind) are data: ``bot.content.journey``.
"""

from __future__ import annotations

import zlib
from enum import StrEnum

from bot.content.journey import builtin
from bot.model.facts import CONTACT


class PromptKind(StrEnum):
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
    ADMIN_DIGEST = "admin_digest"  # an admin who opted in, weekly: program health (no pair: bot.outbox.admin)


# Kinds the journey no longer sends on their own (folded into the weekly check-in's tip in v2);
# rows planned by an older release are cancelled at delivery.
RETIRED = frozenset({PromptKind.LIGHT_TOUCH.value, PromptKind.HOLIDAY.value, PromptKind.SHARED.value})


PROGRAM_KINDS = ("sponsorship", "mentoring", "reverse-mentoring")


def stage_for(kind: str, week: int) -> str:
    """The provisional phase of a planned prompt: its kind's first phase. The phase a message is
    written for is decided when it is sent, from what the pair did (``content.journey.phase_for``)."""
    return builtin(kind).phases[0].key


def checkin_strategy(week: int) -> int:
    """Which strategy the weekly check-in's tip carries: a steady rotation through all four."""
    return (1, 3, 2, 4)[week % 4]


def variant_for(pair_id: int, kind: str, period: str) -> int:
    """A stable pseudo-random variant: reruns choose the same words, weeks differ."""
    return zlib.crc32(f"{pair_id}:{kind}:{period}".encode()) & 0x7FFFFFFF  # fits a signed INTEGER


# Contact, as bot.model.facts defines it once (a light touch is contact: strategy 3).
TWO_WAY = CONTACT
