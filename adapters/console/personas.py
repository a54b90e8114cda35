"""Simulated people for the demo: who answers, how fast, and which button they tap.

Taps are chosen by what a button *does* (its action-id prefix, the answer in its value,
its style), never by its label, so the demo keeps working while the words change.
A button that nobody here knows gets the primary-style button with some probability.
Danger-style buttons are only tapped by someone who is quitting.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.model.messages import Button, Buttons, Checkbox, Form, Message, TextInput
from bot.model.messages import Choice as ChoiceBlock
from bot.model.signing import answer_of as signed_answer

# Pair scenarios. The first pair is always "engaged"; the next five are a shuffled run of the
# others (so three pairs already show three behaviours); more pairs draw by weight.
SCENARIOS = ("engaged", "steady", "busy-sponsor", "slipping", "ghost", "fading")
WEIGHTS = (20, 35, 15, 15, 5, 10)


@dataclass(frozen=True)
class Theme:
    goal: str
    second_goal: str
    wins: tuple[str, ...]


THEMES: tuple[Theme, ...] = (
    Theme("Lead the Q3 platform migration", "Present the migration plan to the architecture board",
          ("Shipped the onboarding revamp early", "Got sign-off on the migration plan",
           "Ran my first cross-team design review")),
    Theme("Move into a product lead role by next year", "Own a customer-facing launch",
          ("Led the customer interviews for the pricing change", "My roadmap proposal was adopted",
           "Presented at the all-hands")),
    Theme("Build visibility with the leadership team", "Write a strategy memo the exec team reads",
          ("My memo on churn went to the exec team", "Chaired the quarterly business review",
           "Was asked to join the hiring panel for a director role")),
    Theme("Grow from engineer to engineering manager", "Mentor two new joiners",
          ("Ran the team retro for the first time", "Both new joiners shipped in their first month",
           "Took over the on-call rotation planning")),
    Theme("Get a regional sales territory", "Close a deal outside my home market",
          ("Closed the Lisbon pilot", "Beat the quarterly target by 12%", "Trained the new SDR cohort")),
    Theme("Lead a data science project end to end", "Publish our forecasting model internally",
          ("The forecast model went live", "Wrote the internal blog post on our model",
           "Got budget for a second analyst")),
    Theme("Speak at an industry conference", "Get a talk accepted at a regional meetup",
          ("My meetup talk is accepted", "Gave the talk: 120 people came", "Was invited to a panel")),
    Theme("Take on a cross-functional program", "Run the vendor selection",
          ("Vendor shortlist agreed in two weeks", "Kicked off the program with five teams",
           "Program stayed green for the whole quarter")),
)

EXTRA_WINS = ("Got a thank-you note from a customer", "Unblocked the release for two teams",
              "Hired a great new teammate", "Passed a tough certification", "Presented our results to the VP",
              "Fixed a long-standing production issue", "Ran a workshop for the wider team")

TEXTS: dict[str, tuple[str, ...]] = {
    "update": ("Draft plan is out for review", "Finished the first milestone", "Team agreed on the scope",
               "Customer pilot started on Monday"),
    "question": ("Who else should see this?", "How would you pitch it to the board?",
                 "What would you do differently?", "Which risk worries you most?"),
    "ask": ("An intro to the platform leads", "Feedback on my one-pager", "Ten minutes at your staff meeting",
            "A name for the steering group"),
    "note": ("Good chat, next step is the intro", "Short call, we agreed on a plan", "Talked about visibility",
             "Swapped notes on the reorg"),
    "working": ("Regular short calls", "Clear asks before each meeting", "Sharing wins as they happen"),
    "change": ("Meet every two weeks, not monthly", "Less status, more stretch", "Book the slots ahead"),
    "next": ("Intro to two directors", "Present the plan together", "Pick a stretch project"),
    "reflection": ("I learned to ask for what I need", "More confident in senior rooms",
                   "I now prepare every meeting"),
    "win": ("Finished the pilot ahead of time", "Got great feedback from the client", "Led my first workshop"),
}
GENERIC = ("Short and useful", "Will follow up this week", "Thanks, this helps")


@dataclass
class Persona:
    """One simulated person. ``silent_from``: the week they stop answering (0 = a ghost)."""

    user: str
    style: str  # engaged | steady | busy | ghost | fading | slipping
    rng: random.Random
    respond_p: float = 0.85
    delay_min: tuple[int, int] = (20, 240)  # minutes after delivery
    momentum: tuple[int, int] = (3, 4)
    met_p: float = 0.5
    light_p: float = 0.3
    note_p: float = 0.15
    share_p: float = 0.5
    form_p: float = 0.6
    win_every: tuple[int, int] | None = (6, 10)
    silent_from: int | None = None
    quitting: bool = False
    quit_done: bool = False
    busy_weeks: range = range(0)
    slip_weeks: range = range(0)
    last_status: str = ""
    tapped: set[str] = field(default_factory=set)

    def silent(self, week: int) -> bool:
        return self.silent_from is not None and week >= self.silent_from

    def delay_minutes(self) -> int:
        return self.rng.randint(*self.delay_min)

    def will_look(self, message: Message, week: int) -> bool:
        """Whether they react to a message at all (quitters react once, to leave)."""
        if self.silent(week):
            return self.quitting and not self.quit_done and bool(danger_buttons(message))
        ids = [b.action_id for b in all_buttons(message)]
        if week in self.busy_weeks and any(i.startswith(("nudge.", "digest.")) for i in ids):
            return False
        return self.rng.random() < self.respond_p

    # --- which button -------------------------------------------------------------------------

    def pick(self, message: Message, week: int, step: int, tapped: set[str]) -> Button | None:
        avail = [b for b in all_buttons(message) if b.action_id not in tapped]
        if self.silent(week):
            danger = [b for b in avail if b.style == "danger"]
            if self.quitting and danger and not self.quit_done:
                self.quit_done = True
                return danger[0]
            return None
        avail = [b for b in avail if b.style != "danger"]
        if not avail:
            return None
        return self.first(avail, week) if step == 0 else self.follow_up(avail, week)

    def first(self, avail: list[Button], week: int) -> Button | None:
        r = self.rng.random()
        status = with_prefix(avail, "checkin.status")
        if status:
            self.last_status = self.status(week)
            return by_answer(status, self.last_status, LABEL_WORDS[self.last_status]) or primary(status)
        mom = with_prefix(avail, "checkin.momentum")
        if mom:
            return self.momentum_button(mom)
        for prefix in ("kickoff.", "reframe."):
            if with_prefix(avail, prefix):
                return primary(with_prefix(avail, prefix))
        restart = with_prefix(avail, "restart.")
        if restart:  # the kind offer after a stall, or a silent spell: every path gets used
            wanted = "restart.keep" if r < 0.6 else ("restart.pause" if r < 0.85 else "restart.rematch")
            return next((b for b in restart if b.action_id == wanted), primary(restart))
        digest = with_prefix(avail, "nudge.", "digest.")
        if digest:
            if r < 0.7:
                return primary(digest)
            if r < 0.87:
                return secondary(digest)
            snooze = [b for b in digest if b.action_id.startswith("nudge.snooze")]
            return snooze[0] if snooze and r < 0.92 else None
        forms = with_prefix(avail, "prep.", "review.", "wrapup.")
        if forms:
            if r < self.form_p:
                return primary(forms)
            return secondary(forms) if r < self.form_p + 0.25 else None
        light = with_prefix(avail, "touch.", "holiday.", "shared.", "greeting.")
        if light:
            if r < 0.65:
                return primary(light)
            return secondary(light) if r < 0.8 else None
        if with_prefix(avail, "ghost."):
            return primary(with_prefix(avail, "ghost.")) if r < 0.3 else None
        return (primary(avail) if any(b.style == "primary" for b in avail) else None) if r < 0.5 else None

    def follow_up(self, avail: list[Button], week: int) -> Button | None:
        mom = with_prefix(avail, "checkin.momentum")
        if mom:
            return self.momentum_button(mom)
        reframe = with_prefix(avail, "reframe.")
        if reframe and self.last_status == "not_yet":
            return primary(reframe)
        note = with_prefix(avail, "checkin.note")
        if note and self.rng.random() < self.note_p:
            return note[0]
        return None

    def status(self, week: int) -> str:
        if week in self.slip_weeks:
            return "not_yet"
        r = self.rng.random()
        return "met" if r < self.met_p else ("light" if r < self.met_p + self.light_p else "not_yet")

    def momentum_button(self, buttons: list[Button]) -> Button:
        low, high = self.momentum
        n = self.rng.randint(low, high)
        found = by_answer(buttons, str(n), ())
        if found:
            return found
        numbered = sorted((b for b in buttons if answer_of(b).isdigit()), key=lambda b: int(answer_of(b)))
        pool = numbered or buttons
        return pool[min(len(pool) - 1, max(0, round((n - 1) / 4 * (len(pool) - 1))))]

    # --- forms ---------------------------------------------------------------------------------

    def fill(self, form: Form, errors: dict[str, str] | None = None) -> dict[str, str]:
        fields: dict[str, str] = {}
        for blk in form.blocks:
            if isinstance(blk, TextInput):
                fields[blk.field_id] = self.text_for(blk.field_id, blk.label)[:blk.max_length]
            elif isinstance(blk, Checkbox):
                fields[blk.field_id] = "true" if self.rng.random() < self.share_p else "false"
            elif isinstance(blk, ChoiceBlock) and blk.options:
                fields[blk.field_id] = blk.initial or blk.options[0].value
        for fid in errors or {}:
            fields.setdefault(fid, self.rng.choice(GENERIC))
            if not fields[fid]:
                fields[fid] = self.rng.choice(GENERIC)
        return fields

    def text_for(self, field_id: str, label: str) -> str:
        key = field_id.lower()
        for word, pool in TEXTS.items():
            if word in key or word in label.lower():
                return self.rng.choice(pool)
        return self.rng.choice(GENERIC)


LABEL_WORDS = {"met": ("met",), "light": ("light",), "not_yet": ("not", "yet")}


def all_buttons(message: Message) -> list[Button]:
    """Every tappable thing in a message; a ``Choice`` row counts as one button per option."""
    out: list[Button] = []
    for blk in message.blocks:
        if isinstance(blk, Buttons):
            out.extend(blk.buttons)
        elif isinstance(blk, ChoiceBlock):
            out.extend(Button(blk.field_id, o.label, o.value) for o in blk.options)
    return out


def danger_buttons(message: Message) -> list[Button]:
    return [b for b in all_buttons(message) if b.style == "danger"]


def with_prefix(buttons: Sequence[Button], *prefixes: str) -> list[Button]:
    return [b for b in buttons if b.action_id.startswith(prefixes)]


def answer_of(button: Button) -> str:
    """The answer part of a ``"<prompt id>:<answer>"`` value (the whole value otherwise)."""
    return signed_answer(button.value)


def by_answer(buttons: Sequence[Button], answer: str, words: Sequence[str]) -> Button | None:
    for b in buttons:
        if answer_of(b) == answer or b.action_id.endswith("." + answer):
            return b
    for b in buttons:  # labels only as a last resort, by meaning words
        if words and all(w in b.label.lower() for w in words):
            return b
    return None


def primary(buttons: Sequence[Button]) -> Button | None:
    safe = [b for b in buttons if b.style != "danger"]
    return next((b for b in safe if b.style == "primary"), safe[0] if safe else None)


def secondary(buttons: Sequence[Button]) -> Button | None:
    return next((b for b in buttons if b.style is None), None)


def draw_scenarios(n: int, rng: random.Random) -> list[str]:
    rest = list(SCENARIOS[1:])
    rng.shuffle(rest)
    out = ["engaged", *rest][:n]
    while len(out) < n:
        out.append(rng.choices(SCENARIOS, WEIGHTS)[0])
    return out


def make_pair(scenario: str, sponsor: str, sponsoree: str, weeks: int,
              rng: random.Random) -> tuple[Persona, Persona]:
    """The two personas of a pair, their traits drawn from ``rng``."""

    def person(user: str, style: str) -> Persona:
        p = Persona(user, style, random.Random(rng.getrandbits(64)))
        if style == "engaged":
            p.respond_p, p.delay_min, p.momentum, p.met_p, p.light_p = 0.95, (5, 90), (4, 5), 0.65, 0.25
            p.note_p, p.share_p, p.form_p, p.win_every = 0.35, 0.7, 0.85, (3, 5)
        elif style == "busy":
            p.respond_p, p.delay_min = 0.75, (120, 1200)
            start = rng.randint(2, max(2, min(6, weeks - 2)))
            p.busy_weeks = range(start, start + rng.randint(3, 4))
        return p

    sp, se = person(sponsor, "steady"), person(sponsoree, "steady")
    if scenario == "engaged":
        sp, se = person(sponsor, "engaged"), person(sponsoree, "engaged")
    elif scenario == "busy-sponsor":
        sp = person(sponsor, "busy")
    elif scenario == "slipping":
        start = rng.randint(2, max(2, min(5, weeks - 2)))
        slip = range(start, start + rng.randint(3, 4))
        for p in (sp, se):
            p.style, p.slip_weeks = "slipping", slip
    elif scenario == "ghost":
        ghost = se if rng.random() < 0.6 else sp
        ghost.style, ghost.silent_from, ghost.win_every = "ghost", 0, None
    elif scenario == "fading":
        fader = se if rng.random() < 0.5 else sp
        fader.style = "fading"
        fader.silent_from = max(1, round(weeks * rng.uniform(0.35, 0.6)))
        fader.quitting = rng.random() < 0.5
    sp.win_every = None  # wins are the sponsoree's to share
    return sp, se
