"""``momentum demo``: a 12-week program on a fast-forwarded clock, printed as people would see it.

Seeds three pairs across time zones on a fresh SQLite file, runs the real planner,
delivery worker and conversation core through the console platform, and answers
the prompts with simulated people (or, with ``--interactive``, you answer Aisha's).
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.console.platform import ConsolePlatform, Sent
from bot.app import Momentum
from bot.clock import FakeClock
from bot.config import Settings
from bot.interactions import Interaction, Kind, Profile, Response
from bot.messages import Button, Buttons, Message
from bot.signing import answer_of
from storage.db import Database
from storage.migrate import upgrade

START = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)  # a Monday morning in London
WS = "demo"

PEOPLE = [
    Profile("U_PRIYA", "Priya Patel", "priya@example.com", "Europe/London", "en-GB", True, "GB"),
    Profile("U_SAM", "Sam Rivera", "sam@example.com", "America/New_York", "en-US", False, "US"),
    Profile("U_AISHA", "Aisha Khan", "aisha@example.com", "Europe/London", "en-GB", False, "GB"),
    Profile("U_KENJI", "Kenji Sato", "kenji@example.com", "Asia/Tokyo", "ja-JP", False, "JP"),
    Profile("U_LUCIA", "Luc\u00eda G\u00f3mez", "lucia@example.com", "America/Mexico_City", "es-MX", False, "MX"),
    Profile("U_OLIVIA", "Olivia Brown", "olivia@example.com", "Australia/Sydney", "en-AU", False, "AU"),
    Profile("U_TOM", "Tom M\u00fcller", "tom@example.com", "Europe/Berlin", "de-DE", False, "DE"),
]
PAIRS = [("U_SAM", "U_AISHA"), ("U_KENJI", "U_LUCIA"), ("U_OLIVIA", "U_TOM")]


@dataclass
class Choice:
    action_id: str
    answer: str | None = None  # the part after "<prompt id>:"; None = the first button with this action


def find_button(message: Message, choice: Choice) -> Button | None:
    for block in message.blocks:
        if isinstance(block, Buttons):
            for b in block.buttons:
                if b.action_id == choice.action_id and (
                        choice.answer is None or answer_of(b.value) == choice.answer):
                    return b
    return None


class Persona:
    """How a simulated person answers each kind of message."""

    def __init__(self, user: str, rng: random.Random) -> None:
        self.user, self.rng = user, rng
        self.weeks_seen = 0

    def choose(self, message: Message, week: int) -> list[Choice]:
        k, r = message.kind, self.rng.random()
        if self.user == "U_TOM":  # the "ghost": ignores prompts until the kind offer to pause
            if k == "checkin" and find_button(message, Choice("ghost.pause")):
                return [Choice("ghost.pause")]
            return []
        if k == "kickoff":
            return [Choice("kickoff.booked")] if self.user == "U_AISHA" else []
        if k == "checkin":
            if self.user == "U_LUCIA" and week in (2, 3):
                return [Choice("checkin.status", "not_yet"), Choice("reframe.slot")]
            status = "met" if r < 0.55 else ("light" if r < 0.85 else "not_yet")
            low, high = (3, 5) if self.user == "U_AISHA" else (2, 4)
            return [Choice("checkin.status", status), Choice("checkin.momentum", str(self.rng.randint(low, high)))]
        if k == "nudge":
            if self.user == "U_KENJI" and week == 4:
                return [Choice("nudge.snooze")]
            return [Choice("nudge.done" if r < 0.6 else "nudge.skip")]
        if k == "light_touch":
            return [Choice("touch.done")] if r < 0.7 else [Choice("touch.another")]
        if k == "shared":
            return [Choice("shared.plan")]
        if k == "holiday":
            return [Choice("touch.done")]
        if k == "prep":
            return [Choice("prep.open")] if self.user == "U_AISHA" else [Choice("prep.skip")]
        if k == "review":
            return [Choice("review.later")]
        if k == "wrapup":
            return [Choice("wrapup.forward")] if self.user == "U_AISHA" else []
        return []


FORM_ANSWERS = {
    "prep.agenda": {"update": "Draft migration plan is out for review", "question": "Who else should see it?",
                    "ask": "An intro to the platform leads", "share": "true"},
}


class Demo:
    def __init__(self, weeks: int, db_path: Path, interactive: bool, out: Callable[[str], None] = print) -> None:
        self.weeks, self.interactive, self.out = weeks, interactive, out
        self.clock = FakeClock(START)
        db = Database(f"sqlite:///{db_path}")
        upgrade(db.engine)
        settings = Settings(MOMENTUM_ADMINS="priya@example.com", MOMENTUM_SECRET_KEY="demo-only-key")
        self.console = ConsolePlatform(clock=self.clock.now, people={p.external_id: p for p in PEOPLE}, out=out)
        self.m = Momentum(db, settings, self.clock, {"console": self.console})
        self.rng = random.Random(7)
        self.personas = {p.external_id: Persona(p.external_id, self.rng) for p in PEOPLE}
        self.replies = 0

    async def act(self, user: str, kind: Kind, **kw: object) -> Response:
        prof = next(p for p in PEOPLE if p.external_id == user)
        return await self.m.handle(Interaction("console", WS, user, kind, profile=prof, **kw))  # type: ignore[arg-type]

    async def seed(self) -> None:
        self.out("Momentum demo: one program, three pairs across six time zones, a fast-forwarded clock.\n")
        for cmd in [f"program create Pilot 2026 sponsorship --weeks {max(4, self.weeks)}",
                    *[f"pair <@{a}> <@{b}> Pilot 2026" for a, b in PAIRS]]:
            resp = await self.act("U_PRIYA", Kind.COMMAND, text=cmd)
            self.out(f"Priya (admin) > /momentum {cmd}")
            if resp.reply:
                self.out("   " + resp.reply.text)
        await self.act("U_AISHA", Kind.COMMAND, text="goal Lead the Q3 platform migration")
        self.out("Aisha > /momentum goal Lead the Q3 platform migration\n")

    async def answer(self, sent: Sent, week: int) -> None:
        for person in sent.to:
            persona = self.personas[person.external_id]
            choices = (self.ask_human(sent.message) if self.interactive and person.external_id == "U_AISHA"
                       else persona.choose(sent.message, week))
            message = sent.message
            for choice in choices:
                button = find_button(message, choice)
                if button is None:
                    break
                first = person.name.split()[0]
                self.out(f"   \u270b {first} taps [{button.label}]")
                resp = await self.act(person.external_id, Kind.ACTION, action_id=button.action_id,
                                      value=button.value)
                self.replies += 1
                if resp.form is not None:
                    fields = FORM_ANSWERS.get(resp.form.form_id, {})
                    self.out(f"   \u270e {first} fills in \u201c{resp.form.title}\u201d")
                    resp = await self.act(person.external_id, Kind.SUBMIT, action_id=resp.form.form_id,
                                          value=resp.form.state, fields=fields)
                if resp.update is not None:
                    message = resp.update
                    await self.console.update(None, {}, resp.update)  # type: ignore[arg-type]
                if resp.reply is not None:
                    self.out("   \U0001f4ac " + resp.reply.text)

    def ask_human(self, message: Message) -> list[Choice]:
        buttons = [b for blk in message.blocks if isinstance(blk, Buttons) for b in blk.buttons]
        if not buttons:
            return []
        self.out("   Your turn, Aisha: " + "  ".join(f"{n}) {b.label}" for n, b in enumerate(buttons, 1))
                 + "  (Enter to skip)")
        try:
            line = input("   > ").strip()
        except EOFError:
            self.interactive = False
            return []
        if not line.isdigit() or not 1 <= int(line) <= len(buttons):
            return []
        b = buttons[int(line) - 1]
        picked = [Choice(b.action_id, answer_of(b.value))]
        if b.action_id == "checkin.status":
            try:
                n = input("   Momentum 1-5 > ").strip()
            except EOFError:
                n = ""
            if n in {"1", "2", "3", "4", "5"}:
                picked.append(Choice("checkin.momentum", n))
        return picked

    async def run(self) -> int:
        t0 = time.perf_counter()
        await self.seed()
        end = START + timedelta(weeks=self.weeks, days=5)
        week = -1
        while self.clock.now() < end:
            now = self.clock.now()
            w = (now - START).days // 7
            if w != week:
                week = w
                self.out(f"\n\u2550\u2550\u2550 Week {w} \u00b7 {now:%a %d %b %Y} " + "\u2550" * 30)
                if w == 3:
                    resp = await self.act("U_AISHA", Kind.COMMAND, text="win Shipped the onboarding revamp early")
                    self.out("Aisha > /momentum win Shipped the onboarding revamp early")
                    self.out("   " + (resp.reply.text if resp.reply else ""))
            if now.hour % 6 == 0:
                self.m.plan(now)
            before = len(self.console.sent)
            await self.m.deliver_due(now)
            for sent in self.console.sent[before:]:
                await self.answer(sent, w)
            self.clock.advance(timedelta(hours=1))
        resp = await self.act("U_PRIYA", Kind.COMMAND, text="report")
        self.out("\nPriya (admin) > /momentum report")
        if resp.reply:
            self.out(resp.reply.as_plain_text())
        self.out(f"\nDemo finished: {len(self.console.sent)} messages delivered, {self.replies} taps, "
                 f"{time.perf_counter() - t0:.1f} s of real time for {self.weeks} weeks.")
        return 0


def run_demo(weeks: int, db_path: Path, interactive: bool) -> int:
    if db_path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(str(db_path) + suffix).unlink(missing_ok=True)
    demo = Demo(weeks, db_path, (interactive and sys.stdin.isatty()) or interactive)
    return asyncio.run(demo.run())
