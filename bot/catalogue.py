"""The words: several variants per (strategy, stage, role), chosen deterministically per pair.

Templates use ``{placeholders}`` for names and facts; ``fill`` turns them into
spans so a person's name can never be read as markup by a renderer.
Every line aims at one small, concrete action and fits on a phone screen.
"""

from __future__ import annotations

import re

from bot.journey import ADVOCATE, COACH, KNOW
from bot.messages import Inline, Span, Text

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill(template: str, **values: str | Span) -> Inline:
    """``"Hi {me}"`` + ``me="Sam"`` -> spans; unknown placeholders are left visible."""
    out: list[Span] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(template):
        if m.start() > pos:
            out.append(Text(template[pos : m.start()]))
        v = values.get(m.group(1))
        if v is None:
            out.append(Text(m.group(0)))
        elif isinstance(v, str):
            out.append(Text(v))
        else:
            out.append(v)
        pos = m.end()
    if pos < len(template):
        out.append(Text(template[pos:]))
    return tuple(out)


# --- weekly check-in (the sponsoree) ----------------------------------------------------------------

CHECKIN_OPENERS = (
    "Hi {me}, quick check-in: how are things with {partner} this week?",
    "{me}, a ten-second check-in on you and {partner}.",
    "Hello {me}! Did you and {partner} connect this week?",
)

CHECKIN_SLOWED = (
    "No pressure: I'll check in every other week for now. Would a break suit you better?"
)

# The tip under each check-in: (strategy, stage) -> variants. {partner} is the sponsor.
TIPS: dict[tuple[int, str], tuple[str, ...]] = {
    (1, KNOW): (
        "Slow is fast right now: ask {partner} one story question, like their first big break, and share one of yours.",
        "Swap how you each like to work: best times, channels, how {partner} likes to get updates.",
        "Trust comes before asks. This week, tell {partner} one thing you value at work and why.",
    ),
    (1, COACH): (
        "Bring {partner} one goal and ask: what would you do in my place?",
        "Ask {partner} for one piece of direct feedback on something you delivered recently.",
        "Pick a skill you're building and ask {partner} how they learned it.",
    ),
    (1, ADVOCATE): (
        "Tell {partner} about one opportunity you'd like to be considered for, and why you're ready.",
        "Ask {partner}: who else should know about my work, and how could I reach them?",
        "Put a recent result into one line {partner} could repeat in a talent discussion.",
    ),
    (2, KNOW): (
        "{partner} signed up for this too. Twenty minutes with a short agenda is a gift, not a burden.",
        "If a meeting slips, it's the calendar, not you. Propose a new slot and keep going.",
        "Come with an update, a question and an ask: it makes every minute count for you both.",
    ),
    (2, COACH): (
        "Sponsors learn from you too. Tell {partner} something about your team they can't see from where they sit.",
        "Three prepared lines (update, question, ask) beat worrying about taking up time.",
        "Busy isn't a no. If {partner} hasn't replied, a friendly note with two slot options is fair.",
    ),
    (2, ADVOCATE): (
        "Asking {partner} to advocate for you is what this program is for. Make the ask specific.",
        "A clear ask helps {partner} help you: name the role, the person and the moment.",
        "If a door didn't open yet, ask {partner} what would make the case stronger next time.",
    ),
    (3, KNOW): (
        "A light touch counts: send {partner} an article or podcast that made you think of them, with one line on why.",
        "React to something {partner} posted or shipped this week. Small signals keep the thread warm.",
        "Share a quick note from your week with {partner}. No agenda needed.",
    ),
    (3, COACH): (
        "Send {partner} a two-line update on the goal you discussed. No reply needed.",
        "Spotted something relevant to {partner}'s world? Forward it with one line on why it matters.",
        "Congratulate {partner} on a team win you noticed. It keeps contact two-way.",
    ),
    (3, ADVOCATE): (
        "Send {partner} a one-line win from this week that they could mention in the right room.",
        "Share something useful for {partner}'s goals: light touches work both ways.",
        "Drop {partner} a quick thank-you for an intro or a tip, and say what came of it.",
    ),
    (4, KNOW): (
        "Is there a talk, demo or all-hands you could attend together? Shared moments build trust fast.",
        "Suggest a virtual coffee with {partner} and someone from your team, so they see your world.",
        "Invite {partner} to a demo or showcase your team runs.",
    ),
    (4, COACH): (
        "Ask {partner} whether you could sit in on one of their reviews or planning sessions.",
        "Offer to help {partner} with something real: a brainstorm, a review, a pilot.",
        "Suggest a joint brainstorm with {partner} on a problem you both care about.",
    ),
    (4, ADVOCATE): (
        "Ask {partner} to bring you into a brainstorm with their leads, so they see your work first-hand.",
        "Co-present something with {partner}: it gives them evidence to advocate with.",
        "Work on one small thing together with {partner}'s peers in the room.",
    ),
}

STRATEGY_NAMES = {
    1: "Slow to go fast",
    2: "Don't assume the worst",
    3: "Use weak contact",
    4: "Find shared experiences",
}

# --- after "not yet": reframe and a concrete next step (strategy 2) ----------------------------------

REFRAMES = (
    "No worries, calendars win sometimes. A missed slot means \u201cfind a new one\u201d, not \u201cback off\u201d.",
    "That's fine: a slipped meeting says nothing about you. {partner} is busy, not uninterested.",
    "Weeks like this happen. The pairs that do well simply propose a new time.",
)
REFRAME_NEXT = (
    "Try sending: \u201cHi {partner}, our slot slipped. Would 20 minutes on {slots} work?\u201d "
    "(those times are {partner}'s local time)"
)

# --- sponsor's weekly nudge: one advocacy or shared-experience action ---------------------------------

SPONSOR_ACTIONS: dict[str, tuple[str, ...]] = {
    KNOW: (
        "Ask {partner} what they want to be known for. Listening first makes later advocacy credible.",
        "Share a setback from early in your career: it gives {partner} permission to be candid.",
        "Tell {partner} how you like to work (best times, channel), so they don't have to guess.",
    ),
    COACH: (
        "Give {partner} one piece of specific feedback on work you've seen.",
        "Invite {partner} to a meeting they'd learn from, then debrief for five minutes.",
        "Ask {partner} which goal is stuck, and offer one contact who could help.",
    ),
    ADVOCATE: (
        "Mention one of {partner}'s wins to a peer or in a talent discussion this week.",
        "Introduce {partner} to one leader who should know their work.",
        "Put {partner}'s name forward for one stretch opportunity.",
        "Invite {partner} into a brainstorm with your leads, framed so your peers welcome them.",
    ),
}

NUDGE_OPENERS = (
    "Your weekly look at {partner}",
    "{partner} this week",
    "Five seconds on {partner}",
)

# --- strategy 3: light touches ------------------------------------------------------------------------

LIGHT_TOUCH_OPENER = (
    "It's been {days} days since you and {partner} were in touch. One light touch keeps the thread warm:"
)
LIGHT_TOUCHES = (
    "Send {partner} an article or podcast you enjoyed, with one line on why it made you think of them.",
    "React to or comment on something {partner} shared recently.",
    "Send {partner} a two-line update on what you're working on. No reply expected.",
    "Congratulate {partner} on something their team shipped or announced.",
    "Share a book, talk or tool that helped you this month, and ask what {partner} is reading.",
    "Thank {partner} for a past tip and tell them what came of it.",
)
HOLIDAY_TOUCH = (
    "{holiday} is coming up where {partner} lives ({date}). A short greeting is a warm, easy light touch.",
    "It's {holiday} for {partner} on {date}. Why not send a quick note wishing them a good one?",
)

# --- strategy 4: shared experiences -------------------------------------------------------------------

SHARED_OPENERS = {
    "junior": (
        "Find one thing to do together with {partner} this month:",
        "Shared experiences build trust faster than status updates. An idea for you and {partner}:",
    ),
    "senior": (
        "A shared experience gives you first-hand evidence to advocate with. This month, with {partner}:",
        "Do one thing together with {partner} this month, beyond catching up:",
    ),
}
SHARED_IDEAS: dict[str, tuple[str, ...]] = {
    KNOW: (
        "a virtual coffee with one person from each of your teams.",
        "attend the same internal talk or all-hands, then swap takeaways.",
        "a walk-and-talk call: both out for a walk, cameras off.",
    ),
    COACH: (
        "a joint brainstorm on a problem you both care about.",
        "{sponsoree} sits in on one of {sponsor}'s planning or review meetings.",
        "review a real draft together: a proposal, a deck or a plan.",
    ),
    ADVOCATE: (
        "{sponsor} invites {sponsoree} into a brainstorm with their designers, PMs or leads.",
        "co-present a small piece of work to {sponsor}'s peers.",
        "go to a customer, partner or community event together.",
    ),
}

# --- kickoff, prep, review, wrap-up -------------------------------------------------------------------

KICKOFF_OPENERS = (
    "Welcome to {program}, {sponsor} and {sponsoree}! I'll help you keep momentum between meetings.",
    "{sponsor}, {sponsoree}: you're paired in {program}. I'll keep things light and useful.",
)
KICKOFF_AGENDA = (
    "Start slow to go fast. In your first chat, get to know each other and agree on three things:"
)
KICKOFF_POINTS = (
    ("What each of you wants", "from this relationship"),
    ("Where it leads", "where {sponsor} aims to help {sponsoree} get to"),
    ("How you'll work", "cadence, channel, and how to reschedule"),
)

PREP_OPENERS = (
    "Your next chat with {partner} is coming up. Three lines make it count: an update, a question, an ask.",
    "Before you meet {partner}: what's your update, your question and your ask? Two minutes now saves ten later.",
    "A short agenda makes the meeting easy for {partner} to say yes to: an update, a question, an ask.",
)

REVIEW_OPENERS = (
    "Quarter {quarter} with {partner}: time for a quick review. "
    "What's working, what isn't, and what's your next waypoint?",
    "{quarter} quarter(s) in. Take five minutes with {partner} to look back and course-correct.",
)

WRAPUP = {
    "junior": (
        "{program} is wrapping up. Thank you for the work you and {partner} put in. "
        "Take two minutes to reflect, then think of someone you could back in turn: pay it forward."
    ),
    "senior": (
        "{program} is wrapping up. Thank you for backing {partner}. What did advocating for them teach you? "
        "Consider keeping in touch, and sponsoring again."
    ),
}
