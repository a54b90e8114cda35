"""The pair's facts, each defined once: every message, alert, report, page and chart reads them here.

- **Contact** is any touch both people can feel: a meeting, a light touch (the check-in's "Light touch",
  App Home's, a logged one: strategy 3, "use weak contact", is contact by the bot's own word) and words one
  shared with the other (a note or an agenda, counted when it reaches the partner). What a sponsor does
  *for* the sponsoree out of their sight (an intro, a mention) is advocacy, not contact.
- **Last contact** is the pair's one date of the latest contact (``pair.last_touch_at``), or the pair's
  start when there was none. Both people therefore see the same day count on the same day.
- **Quiet for N days**: whole days since the last contact. **Stalled**: quiet for ``STALLED_AFTER`` or more.
- **Engaged**: in contact within ``ENGAGED_WITHIN`` (an active pair).
- **Slowed summaries** (``sponsor_slowed``): the sponsor's digests slow down only when the pair is not
  in touch; the digest then says so in its own words.
- **Silence alerts**: the program team hears about a stalled pair as the silence grows, at each of
  ``ALERT_AT_DAYS``, once each.

Why here (``bot.model``) and not ``bot.domain``: the outbox composes messages and sits below the domain in
the core's layers, so the one definition must be importable by both; these are pure definitions over the
stored record, with no I/O.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import col

from storage.models import Pair

CONTACT = frozenset({"meeting", "light", "shared"})  # touchpoint kinds that are contact
STALLED_AFTER = timedelta(days=21)
ENGAGED_WITHIN = timedelta(days=14)
ALERT_AT_DAYS = (35, 60, 90)  # the program team is told again as the silence grows
SILENT_DAYS = 42  # about six weeks with no answer: the sponsor's digest says so, and slows to monthly


# Words written to the partner in the course of their work together (a check-in note, an agenda, the
# kickoff agreement) are contact when they arrive; a review or a closing reflection shared afterwards looks
# back, and is not. (The outbox period of a partner's copy starts with its source.)
CONTACT_WORDS = ("note-", "agenda-", "agreement-")


def words_are_contact(period: str) -> bool:
    return period.startswith(CONTACT_WORDS)


def last_contact_sql() -> Any:
    """The pair's last contact in SQL (the pair's start when there was none)."""
    return func.coalesce(col(Pair.last_touch_at), col(Pair.created_at))


def last_contact(last_touch_at: datetime | None, created_at: datetime) -> datetime:
    return last_touch_at or created_at


def quiet_days(last_touch_at: datetime | None, created_at: datetime, now: datetime) -> int:
    """Whole days since the pair's last contact."""
    return max(0, (now - last_contact(last_touch_at, created_at)).days)


def is_stalled(last_touch_at: datetime | None, created_at: datetime, now: datetime) -> bool:
    return now - last_contact(last_touch_at, created_at) >= STALLED_AFTER


def alert_level(days: int) -> int:
    """How many of the silence thresholds ``days`` of quiet have passed (0: no alert due)."""
    return sum(1 for d in ALERT_AT_DAYS if days >= d)


GHOST_AFTER = 3  # unanswered check-ins (or digests without a tap) in a row before that cadence slows


def sponsor_slowed(ignored_digests: int, last_touch_at: datetime | None, created_at: datetime,
                   now: datetime) -> bool:
    """The sponsor's summaries slow to every four weeks: three summaries in a row without a tap while the
    pair is not in touch, or about six silent weeks. A sponsor who meets but does not tap is in touch."""
    quiet = quiet_days(last_touch_at, created_at, now)
    return quiet >= SILENT_DAYS or (ignored_digests >= GHOST_AFTER and quiet >= STALLED_AFTER.days)
