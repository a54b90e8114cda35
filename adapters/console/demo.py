"""``momentum demo``: a program on a fast-forwarded clock, printed as people would see it.

Seeds pairs of people across time zones and countries on a fresh SQLite file, runs the
real planner, delivery worker and conversation core through the console platform, and
answers the prompts with simulated people (or, with ``--interactive``, you answer Aisha's).

The clock jumps from event to event: the daily planning run, the next prompt falling due,
and each simulated person's answer a persona-specific while after delivery. Everything is
drawn from ``--seed``, so one seed always prints (and journals) the same program.
"""

from __future__ import annotations

import asyncio
import heapq
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select

from adapters.console.journal import Journal, button_labels, message_record, visible_text
from adapters.console.people import ADMIN, MAX_PAIRS, draw_pairs
from adapters.console.personas import EXTRA_WINS, THEMES, Persona, all_buttons, draw_scenarios, make_pair
from adapters.console.platform import ConsolePlatform, Sent
from bot.app import Momentum
from bot.content.kinds import PROGRAM_KINDS
from bot.model.clock import FakeClock
from bot.model.config import given_settings
from bot.model.interactions import Interaction, InteractionKind, Profile, Response
from bot.model.messages import Button, Message
from bot.model.signing import SEP
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Pair, Person, Prompt

START = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)  # a Monday morning in London
WS = "demo"
DEFAULT_SEED = 7
PROGRAM = "Pilot 2026"
MAX_TAPS = 4  # taps on one message (an answer, then e.g. momentum and a note)

P = Prompt.__table__  # type: ignore[attr-defined]
# Built once: the loop asks these thousands of times in a long run.
NEXT_DUE = select(func.min(P.c.next_attempt_at)).where(P.c.status == "pending",
                                                       P.c.next_attempt_at > bindparam("now"))
ANY_DUE = select(P.c.id).where(P.c.status == "pending", P.c.next_attempt_at <= bindparam("now")).limit(1)
SENT_AT = select(P.c.kind, P.c.phase, P.c.week, P.c.pair_id, P.c.platform_ref).where(
    P.c.sent_at == bindparam("now"), P.c.status == "sent")


@dataclass(frozen=True)
class DemoOptions:
    weeks: int = 12
    pairs: int = 3
    kind: str = "sponsorship"
    seed: int = DEFAULT_SEED
    interactive: bool = False

    def check(self) -> str | None:
        """A one-line reason the options cannot run, or None."""
        if not 1 <= self.pairs <= MAX_PAIRS:
            return f"--pairs must be between 1 and {MAX_PAIRS} (got {self.pairs})."
        if self.kind not in PROGRAM_KINDS:
            return f"--kind must be one of {', '.join(PROGRAM_KINDS)} (got {self.kind!r})."
        if self.weeks < 1:
            return f"--weeks must be at least 1 (got {self.weeks})."
        return None


@dataclass
class PairInfo:
    label: str  # p1, p2, ...
    sponsor: Profile
    sponsoree: Profile
    scenario: str

    def seat(self, external_id: str) -> str:
        if external_id == self.sponsor.external_id:
            return "senior"
        return "junior" if external_id == self.sponsoree.external_id else "admin"  # an admin's alert


@dataclass
class Delivery:
    """One delivered message and where it came from (the prompt row)."""

    sent: Sent
    pair: PairInfo | None
    prompt_kind: str
    phase: str
    week: int
    current: Message = field(init=False)

    def __post_init__(self) -> None:
        self.current = self.sent.message


def local(at: datetime, tz: str | None) -> datetime:
    return at.astimezone(ZoneInfo(tz or "UTC"))


def first_name(profile: Profile) -> str:
    return (profile.name or profile.external_id).split()[0]


class Demo:
    def __init__(self, opts: DemoOptions, db_path: Path, out: Callable[[str], None] = print,
                 journal: Journal | None = None) -> None:
        self.opts, self.weeks, self.interactive, self.out = opts, opts.weeks, opts.interactive, out
        self.journal = journal or Journal()
        self.clock = FakeClock(START)
        db = Database(f"sqlite:///{db_path}")
        upgrade(db.engine)
        mark_as_demo(db)
        self.db = db
        # the demo runs the same whatever this machine's environment configures
        settings = given_settings(MOMENTUM_ADMINS=ADMIN.email, MOMENTUM_SECRET_KEY="demo-only-key")
        rng = random.Random(opts.seed)
        drawn = draw_pairs(opts.pairs, rng)
        scenarios = draw_scenarios(opts.pairs, rng)
        self.pairs = [PairInfo(f"p{n}", a, b, s) for n, ((a, b), s) in enumerate(zip(drawn, scenarios, strict=True), 1)]
        self.personas: dict[str, Persona] = {}
        self.themes: dict[str, int] = {}
        for info in self.pairs:
            sp, se = make_pair(info.scenario, info.sponsor.external_id, info.sponsoree.external_id, opts.weeks, rng)
            self.personas[sp.user], self.personas[se.user] = sp, se
            self.themes[se.user] = rng.randrange(len(THEMES))
        self.by_person = {p.external_id: info for info in self.pairs for p in (info.sponsor, info.sponsoree)}
        people = {ADMIN.external_id: ADMIN, **{p.external_id: p for i in self.pairs for p in (i.sponsor, i.sponsoree)}}
        self.people = people
        self.console = ConsolePlatform(clock=self.clock.now, people=people, out=out)
        self.m = Momentum(db, settings, self.clock, {"console": self.console})
        self.rng = rng
        self.pair_by_db: dict[int, PairInfo] = {}
        self.events: list[tuple[datetime, int, Callable[[], Awaitable[None]]]] = []
        self._seq = 0
        self.taps = 0
        self.delivered = 0
        self.shown_week = -1

    # --- plumbing ---------------------------------------------------------------------------------

    def week_now(self) -> int:
        return (self.clock.now() - START).days // 7

    def at(self, when: datetime, job: Callable[[], Awaitable[None]]) -> None:
        self._seq += 1
        heapq.heappush(self.events, (when, self._seq, job))

    async def act(self, user: str, kind: InteractionKind, **kw: Any) -> Response:
        return await self.m.handle(Interaction("console", WS, user, kind, profile=self.people[user], **kw))

    async def command(self, user: str, text: str, echo: bool = True) -> Response:
        resp = await self.act(user, InteractionKind.COMMAND, text=text)
        info = self.by_person.get(user)
        prof = self.people.get(user)
        self.journal.write({"type": "command", "week": self.week_now(), "program_kind": self.opts.kind,
                            "pair": info.label if info else "", "person": user, "text": text,
                            "local_time": local(self.clock.now(), prof.tz if prof else None).isoformat()})
        if echo:
            who = self.people[user]
            self.out(f"{first_name(who)}{' (admin)' if user == ADMIN.external_id else ''} > /momentum {text}")
            if resp.reply:
                self.out("   " + resp.reply.text)
        return resp

    # --- setting up ------------------------------------------------------------------------------

    async def seed(self) -> None:
        zones = len({p.tz for i in self.pairs for p in (i.sponsor, i.sponsoree)})
        self.out(f"Momentum demo: one {self.opts.kind} program, {len(self.pairs)} pair(s) across {zones} time "
                 f"zone(s), {self.weeks} weeks on a fast-forwarded clock (seed {self.opts.seed}).\n")
        await self.command(ADMIN.external_id, f"program create {PROGRAM} {self.opts.kind} --weeks {max(4, self.weeks)}")
        await self.command(ADMIN.external_id, "digest on")  # the program manager reads the weekly admin digest
        for info in self.pairs:
            await self.command(ADMIN.external_id, f"pair <@{info.sponsor.external_id}> "
                                                  f"<@{info.sponsoree.external_id}> {PROGRAM}")
        with self.db.engine.connect() as conn:
            Pe = Person.__table__  # type: ignore[attr-defined]
            Pa = Pair.__table__  # type: ignore[attr-defined]
            ext: dict[int, str] = {int(i): str(e) for i, e in conn.execute(select(Pe.c.id, Pe.c.external_id))}
            for pid, sp, se in conn.execute(select(Pa.c.id, Pa.c.sponsor_id, Pa.c.sponsoree_id)):
                found = self.by_person.get(ext[se])
                if found is not None and found.sponsor.external_id == ext[sp]:
                    self.pair_by_db[int(pid)] = found
        for info in self.pairs:
            self.plan_commands(info)
        self.out("")

    def local_slot(self, profile: Profile, week: int, rng: random.Random) -> datetime:
        """A weekday working-hours moment for ``profile`` in program week ``week``."""
        tz = ZoneInfo(profile.tz or "UTC")
        monday = date(2026, 1, 5) + timedelta(weeks=week)
        day = monday + timedelta(days=rng.randint(0, 4))
        when = datetime(day.year, day.month, day.day, rng.randint(9, 16), rng.choice((0, 15, 30, 45)), tzinfo=tz)
        return max(when.astimezone(UTC), START + timedelta(hours=2))

    def plan_commands(self, info: PairInfo) -> None:
        """Goals and wins the sponsoree types, when the persona would."""
        se = self.personas[info.sponsoree.external_id]
        if se.silent(0):
            return
        theme = THEMES[self.themes[se.user]]
        rng = random.Random(self.rng.getrandbits(64))
        self.schedule_command(se, info.sponsoree, 0, f"goal {theme.goal}", rng)
        if se.style == "engaged" and self.weeks > 8:
            self.schedule_command(se, info.sponsoree, rng.randint(6, 9), f"goal {theme.second_goal}", rng)
        if se.win_every is None:
            return
        extra = list(EXTRA_WINS)
        rng.shuffle(extra)
        wins = [*theme.wins, *extra]
        week, n = rng.randint(2, 4), 0
        while week < self.weeks:
            self.schedule_command(se, info.sponsoree, week, f"win {wins[n % len(wins)]}", rng)
            week += rng.randint(*se.win_every)
            n += 1

    def schedule_command(self, persona: Persona, profile: Profile, week: int, text: str, rng: random.Random) -> None:
        when = self.local_slot(profile, week, rng)

        async def job() -> None:
            if not persona.silent(self.week_now()):
                await self.command(persona.user, text)

        self.at(when, job)

    # --- delivering -------------------------------------------------------------------------------

    def next_due_after(self, now: datetime) -> datetime | None:
        with self.db.engine.connect() as conn:
            found: datetime | None = conn.execute(NEXT_DUE, {"now": now}).scalar()
            return found

    def any_due(self, now: datetime) -> bool:
        with self.db.engine.connect() as conn:
            return conn.execute(ANY_DUE, {"now": now}).first() is not None

    async def deliver(self, now: datetime) -> None:
        before = len(self.console.sent)
        await self.m.deliver_due(now)
        new = self.console.sent[before:]
        if not new:
            return
        with self.db.engine.connect() as conn:
            rows = {(r.platform_ref or {}).get("id"): r for r in conn.execute(SENT_AT, {"now": now})}
        for sent in new:
            row = rows.get(sent.ref)
            d = Delivery(sent, self.pair_by_db.get(row.pair_id) if row else None,
                         row.kind if row else sent.message.kind, row.phase if row else "",
                         int(row.week) if row else self.week_now())
            self.delivered += 1
            for person in sent.to:
                self.record_message(d, person.external_id)
                self.schedule_answer(d, person.external_id)

    def record_message(self, d: Delivery, user: str) -> None:
        prof = self.people.get(user) or Profile(user)
        tz = prof.tz or "UTC"
        self.journal.write(message_record(
            d.sent.message, week=d.week, program_kind=self.opts.kind, pair=d.pair.label if d.pair else "",
            recipient=user, seat=d.pair.seat(user) if d.pair else ("admin" if user == ADMIN.external_id else ""),
            tz=tz,
            local_time=local(d.sent.at, tz).isoformat(), prompt_kind=d.prompt_kind, phase=d.phase))

    def schedule_answer(self, d: Delivery, user: str) -> None:
        persona = self.personas.get(user)
        if persona is None or not all_buttons(d.sent.message):
            return
        human = self.interactive and user == "U_AISHA"
        if not human and not persona.will_look(d.sent.message, d.week):
            return
        delay = timedelta(0) if human else timedelta(minutes=persona.delay_minutes())

        async def job() -> None:
            await self.answer(d, persona, human)

        self.at(d.sent.at + delay, job)

    # --- answering --------------------------------------------------------------------------------

    async def answer(self, d: Delivery, persona: Persona, human: bool) -> None:
        prof = self.people[persona.user]
        tapped: set[str] = set()
        for step in range(MAX_TAPS):
            message = d.current
            button = self.ask_human(message, tapped) if human else persona.pick(message, d.week, step, tapped)
            if button is None:
                return
            tapped.add(button.action_id)
            await self.tap(d, persona, prof, button)

    async def tap(self, d: Delivery, persona: Persona, prof: Profile, button: Button) -> None:
        first = first_name(prof)
        now_local = local(self.clock.now(), prof.tz)
        self.out(f"   \u270b {first} taps [{button.label}] ({now_local:%a %H:%M})")
        self.taps += 1
        self.journal.write({"type": "tap", "week": d.week, "program_kind": self.opts.kind,
                            "pair": d.pair.label if d.pair else "", "person": persona.user,
                            "seat": d.pair.seat(persona.user) if d.pair else "", "button": button.label,
                            "action_id": button.action_id, "prompt_kind": d.prompt_kind,
                            "answer": button.value.rpartition(SEP)[0].partition(":")[2],
                            "local_time": now_local.isoformat()})
        resp = await self.act(persona.user, InteractionKind.ACTION, action_id=button.action_id, value=button.value)
        if resp.form is not None:
            form = resp.form
            self.out(f"   \u270e {first} fills in \u201c{form.title}\u201d")
            fields = persona.fill(form)
            resp = await self.act(persona.user, InteractionKind.SUBMIT, action_id=form.form_id, value=form.state,
                                  fields=fields)
            if resp.errors:
                fields = persona.fill(form, resp.errors)
                resp = await self.act(persona.user, InteractionKind.SUBMIT, action_id=form.form_id, value=form.state,
                                      fields=fields)
            self.journal.write({"type": "submit", "week": d.week, "program_kind": self.opts.kind,
                                "pair": d.pair.label if d.pair else "", "person": persona.user,
                                "seat": d.pair.seat(persona.user) if d.pair else "", "form": form.form_id,
                                "ok": not resp.errors, "fields": {k: v for k, v in fields.items()
                                                                  if k in ("goal", "win", "share", "when")},
                                "local_time": local(self.clock.now(), prof.tz).isoformat()})
        if resp.update is not None:
            d.current = resp.update
            self.journal.write({"type": "update", "week": d.week, "program_kind": self.opts.kind,
                                "pair": d.pair.label if d.pair else "", "recipient": persona.user,
                                "prompt_kind": d.prompt_kind, "after": button.action_id,
                                "text": visible_text(resp.update), "buttons": button_labels(resp.update),
                                "local_time": now_local.isoformat()})
            await self.console.update(None, {}, resp.update)  # type: ignore[arg-type]
        if resp.reply is not None:
            self.out("   \U0001f4ac " + resp.reply.text)

    def ask_human(self, message: Message, tapped: set[str]) -> Button | None:
        buttons = [b for b in all_buttons(message) if b.action_id not in tapped]
        if not buttons or not self.interactive:
            return None
        self.out("   Your turn, Aisha: " + "  ".join(f"{n}) {b.label}" for n, b in enumerate(buttons, 1))
                 + "  (Enter to skip)")
        try:
            line = input("   > ").strip()
        except EOFError:
            self.interactive = False
            return None
        if not line.isdigit() or not 1 <= int(line) <= len(buttons):
            return None
        return buttons[int(line) - 1]

    # --- the loop ---------------------------------------------------------------------------------

    def show_week(self, now: datetime) -> None:
        w = (now - START).days // 7
        if w != self.shown_week:
            self.shown_week = w
            self.out(f"\n\u2550\u2550\u2550 Week {w} \u00b7 {now:%a %d %b %Y} " + "\u2550" * 30)

    async def run(self) -> int:
        await self.seed()
        end = START + timedelta(weeks=self.weeks, days=5)
        next_plan = START
        while True:
            now = self.clock.now()
            candidates = [next_plan]
            due = self.next_due_after(now)
            if due is not None:
                candidates.append(due)
            if self.events:
                candidates.append(self.events[0][0])
            t = max(now, min(candidates))
            if t >= end:
                break
            self.clock.set(t)
            self.show_week(t)
            deliver = due is not None and due <= t
            if next_plan <= t:
                deliver = self.m.plan(t).prompts > 0 or deliver
                next_plan += timedelta(days=1)
            if deliver:
                await self.deliver(t)
            ran = False
            while self.events and self.events[0][0] <= t:
                _, _, job = heapq.heappop(self.events)
                await job()
                ran = True
            if ran and self.any_due(t):
                await self.deliver(t)  # words shared with the partner go out at once
        self.clock.set(end)
        resp = await self.act(ADMIN.external_id, InteractionKind.COMMAND, text="report")
        self.out("\nPriya (admin) > /momentum report")
        if resp.reply:
            self.out(resp.reply.as_plain_text())
        self.out(f"\nDemo finished: {self.delivered} messages delivered, {self.taps} taps, {self.weeks} weeks.")
        return 0


# SQLite's header field for "which application made this file" (PRAGMA application_id): the demo marks its
# databases with it, so that `demo --db FILE` only ever replaces a file an earlier demo made.
DEMO_APPLICATION_ID = 0x4D6D4431  # "MmD1"


def mark_as_demo(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"PRAGMA application_id = {DEMO_APPLICATION_ID}")
    with db.engine.connect() as conn:  # the header page into the file itself now, not only in the WAL
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def made_by_demo(path: Path) -> bool:
    """Whether ``path`` is a SQLite database an earlier demo made: its header's application id, read from the
    file's first 100 bytes (opening it with SQLite would create -wal and -shm files beside it)."""
    try:
        with path.open("rb") as f:
            head = f.read(100)
    except OSError:
        return False
    return head[:16] == b"SQLite format 3\x00" and int.from_bytes(head[68:72], "big") == DEMO_APPLICATION_ID


def configured_sqlite_file(database_url: str | None) -> Path | None:
    """The SQLite file ``DATABASE_URL`` (default ./momentum.db) points to, if it points to one."""
    from sqlalchemy.engine import make_url

    from storage.db import normalise_url

    try:
        url = make_url(normalise_url(database_url))
    except ValueError:  # ArgumentError included: not a URL, so not this file either
        return None
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).resolve()


def db_problem(db_path: Path, *, force: bool = False, database_url: str | None = None) -> str | None:
    """A one-line reason the demo must not use ``db_path`` (it wipes the file), or None.

    The demo replaces only what an earlier demo made (or an empty file), never the database ``DATABASE_URL``
    names, unless ``force``; and the folder must be one it can write in."""
    where = db_path.resolve()
    if where.is_dir():
        return f"--db {db_path}: that is a folder; give a file name, e.g. --db {db_path / 'demo.db'}"
    if not where.parent.is_dir():
        return f"--db {db_path}: the folder {where.parent} does not exist; create it or pick another file"
    if not os.access(where.parent, os.W_OK) or (where.exists() and not os.access(where, os.W_OK)):
        return f"--db {db_path}: cannot write there (permission denied); pick a file in a folder you can write to"
    if force:
        return None
    if where == configured_sqlite_file(database_url):
        return (f"--db {db_path}: that is the database DATABASE_URL names (by default ./momentum.db), and the demo "
                "wipes what it uses; pick another file, or add --force to replace it")
    if where.exists() and where.stat().st_size > 0 and not made_by_demo(where):
        return (f"--db {db_path}: this file was not made by `momentum demo` and the demo wipes what it uses; "
                "pick a new file, or add --force to replace it")
    return None


def fresh(db_path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)


def run_demo(weeks: int, db_path: Path, interactive: bool = False, *, pairs: int = 3, kind: str = "sponsorship",
             seed: int = DEFAULT_SEED, jsonl: IO[str] | None = None, out: Callable[[str], None] = print,
             journal: Journal | None = None) -> int:
    """Run the demo; returns the exit code. Real time taken goes to stderr (stdout stays reproducible)."""
    opts = DemoOptions(weeks=weeks, pairs=pairs, kind=kind, seed=seed, interactive=interactive)
    problem = opts.check()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    fresh(db_path)
    t0 = time.perf_counter()
    demo = Demo(opts, db_path, out=out, journal=journal or Journal(jsonl))
    code = asyncio.run(demo.run())
    print(f"demo: {time.perf_counter() - t0:.1f} s of real time for {weeks} weeks x {pairs} pairs",
          file=sys.stderr)
    return code
