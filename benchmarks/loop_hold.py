"""Benchmark: how long one interaction holds the event loop, per kind of interaction, through Slack.

Loop hold is the longest time the event loop spent in one callback while handling an interaction:
the longest stretch between two awaits (a task step), or one I/O or timer callback. It is measured
by timing every callback the loop runs, at the point where asyncio's own debug mode times "slow
callbacks" (``asyncio.events.Handle._run``, called by ``BaseEventLoop._run_once`` for every ready
callback), with ``time.perf_counter`` around each call and without debug mode's other overheads; the
longest callback in an interaction's window and what it was are kept.

Every interaction goes through the real aiohttp server with ``mount()`` (Bolt, the core, the database
executor) against ``--pairs`` seeded pairs with 8 weeks of history, on SQLite or PostgreSQL
(``--backend``). Slack (signed requests, the fake Web API, the ``response_url``s) is played by another
process (benchmarks/_slackload.py), so nothing but Momentum runs on the measured loop. Interactions run
one at a time; an interaction's window runs from the request until its answer was delivered and every
background task it started has finished. Kinds: every command in the command list (each round by other
people), every kind of button on the prompts the core delivers (the first ``--rounds`` of each), every
form those buttons open (submitted with what the form offers), App Home open, a direct message and a
``user_change`` event. Printed per kind: loop hold p50 / p99 / max (nearest rank) and the callback
that held it longest. Target: p99 <= 5 ms for every kind. ``--inline`` runs units of work on the loop
(what the core did before the database executor), for comparison.

Run: ``.venv/bin/python benchmarks/loop_hold.py [--pairs 20000] [--rounds 20] [--backend sqlite]``
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from resource import RUSAGE_THREAD, getrusage
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text, update

from adapters.slack.render import FORM_CALLBACK_ID, core_action_id
from benchmarks._seed import database, machine, seed_pairs
from benchmarks._slackload import Job, SlackLoad
from benchmarks.slack_ack import start_ours
from storage.db import Database
from storage.models import Person
from tests.helpers.seed import seed_history

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TARGET_MS = 5.0


def ext(n: int) -> str:
    return f"U{n:07d}"


def mention(n: int) -> str:
    return f"<@{ext(n)}|person{n}>"


@dataclass
class Hold:
    longest: float = 0.0  # wall clock: how long the loop could not run anything else
    what: str = ""
    longest_cpu: float = 0.0  # the loop thread's own CPU time in its costliest callback
    what_cpu: str = ""
    longest_own: float = 0.0  # wall clock, over callbacks the OS did not preempt (see _run)


class LoopHoldMeter:
    """Times every callback the event loop of this thread runs (see the module docstring)."""

    def __init__(self) -> None:
        self.current: Hold | None = None
        self._orig: Callable[[Any], None] | None = None

    def install(self) -> None:
        orig = self._orig = asyncio.events.Handle._run
        loop_thread = threading.get_ident()
        meter = self

        def _run(handle: asyncio.events.Handle) -> None:
            hold = meter.current
            if hold is None or threading.get_ident() != loop_thread:
                return orig(handle)
            # the thread's involuntary context switches tell whether the OS took the CPU away during the
            # callback (the machine busy with other work): its wall time is then partly someone else's
            t, c, iv = time.perf_counter(), time.thread_time(), getrusage(RUSAGE_THREAD).ru_nivcsw
            try:
                return orig(handle)
            finally:
                d, dc = time.perf_counter() - t, time.thread_time() - c
                if d > hold.longest:
                    hold.longest, hold.what = d, _describe(handle)
                if dc > hold.longest_cpu:
                    hold.longest_cpu, hold.what_cpu = dc, _describe(handle)
                if d > hold.longest_own and getrusage(RUSAGE_THREAD).ru_nivcsw == iv:
                    hold.longest_own = d

        asyncio.events.Handle._run = _run  # type: ignore[method-assign]

    def uninstall(self) -> None:
        if self._orig is not None:
            asyncio.events.Handle._run = self._orig  # type: ignore[method-assign]


def _describe(handle: asyncio.events.Handle) -> str:
    cb = getattr(handle, "_callback", None)
    task = getattr(cb, "__self__", None)
    if isinstance(task, asyncio.Task):
        coro = task.get_coro()
        name = getattr(coro, "__qualname__", repr(coro))
        frame = getattr(coro, "cr_frame", None)
        return f"task {name}" + (f" (now at line {frame.f_lineno})" if frame else "")
    return getattr(cb, "__qualname__", repr(cb))


@dataclass
class Kind:
    holds: list[Hold] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)


def q(values: list[float], p: float) -> float:
    xs = sorted(values)
    return xs[min(len(xs) - 1, max(0, round(p * (len(xs) - 1))))] if xs else float("nan")


class Bench:
    def __init__(self, load: SlackLoad, url: str, runtime: Any, meter: LoopHoldMeter) -> None:
        self.load, self.url, self.runtime, self.meter = load, url, runtime, meter
        self.kinds: dict[str, Kind] = {}
        self.forms: dict[str, list[tuple[str, dict[str, Any]]]] = {}  # forms opened, by what opened them
        self.n = 0
        self.new_people = 0

    async def one(self, kind: str, item: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """Send one interaction and wait until it is fully handled; the Web API calls it made."""
        self.n += 1
        if item["type"] == "command":
            item["key"] = f"k{self.n}"
        hold = Hold()
        self.meter.current = hold
        try:
            res = await self.load.run(Job(self.url, [item], 1))
            await self.runtime.drain()
        finally:
            self.meter.current = None
        if set(res.statuses) != {200}:
            raise RuntimeError(f"{kind}: HTTP {res.statuses}")
        k = self.kinds.setdefault(kind, Kind())
        k.holds.append(hold)
        k.acks.append(res.ack_s[0])
        calls = await self.load.calls()
        if item["type"] == "command" and not calls and not res.in_ack:
            raise RuntimeError(f"{kind}: no answer")
        user = item.get("user") or item.get("payload", {}).get("user", {}).get("id")
        self.forms.setdefault(kind, []).extend((user, b["view"]) for meth, b in calls if meth == "views.open")
        return calls

    def filler(self, field_id: str) -> str:
        """What a person types into a form's text field."""
        if field_id == "csv":  # two people the fake Slack knows by email, paired in the bench program
            self.new_people += 2
            n = 1000 + self.new_people
            return f"sponsor_email,sponsoree_email,program\nnew{n - 1}@example.com,new{n}@example.com,Bench"
        if field_id == "when":
            return "Thu 15:00"
        return "Went well, more next week"


def command(user: int, words: str, channel: str = "C1") -> dict[str, Any]:
    return {"type": "command", "user": ext(user), "text": words, "channel": channel}


def click_payload(user: str, channel: str, blocks: list[dict[str, Any]], button: dict[str, Any],
                  on_home: bool = False) -> dict[str, Any]:
    container: dict[str, Any] = ({"type": "view", "view_id": "VHOME"} if on_home else
                                 {"type": "message", "message_ts": "1700000000.000100", "channel_id": channel,
                                  "is_ephemeral": False})
    payload: dict[str, Any] = {
        "type": "block_actions", "team": {"id": "T1", "domain": "acme"}, "user": {"id": user, "team_id": "T1"},
        "api_app_id": "A1", "trigger_id": "1337.43.efgh", "container": container,
        "actions": [{**button, "block_id": "b1", "action_ts": "1.2"}],
    }
    if on_home:
        payload["view"] = {"id": "VHOME", "type": "home", "blocks": blocks}
    else:
        payload["channel"] = {"id": channel}
        payload["message"] = {"ts": "1700000000.000100", "blocks": blocks}
    return payload


def submit_payload(user: str, view: dict[str, Any], filler: Callable[[str], str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        el = block["element"]
        t = el["type"]
        if t == "plain_text_input":
            v: dict[str, Any] = {"type": t, "value": el.get("initial_value") or filler(el["action_id"])}
        elif t in ("radio_buttons", "static_select"):
            v = {"type": t, "selected_option": el.get("initial_option") or el["options"][0]}
        elif t == "checkboxes":
            v = {"type": t, "selected_options": el.get("initial_options") or []}
        else:
            continue
        values[block["block_id"]] = {el["action_id"]: v}
    return {"type": "view_submission", "team": {"id": "T1", "domain": "acme"},
            "user": {"id": user, "team_id": "T1"}, "api_app_id": "A1", "trigger_id": "1337.44.ijkl",
            "view": {"id": "VFORM", "type": "modal", "callback_id": view.get("callback_id", FORM_CALLBACK_ID),
                     "private_metadata": view.get("private_metadata", ""), "blocks": view.get("blocks", []),
                     "state": {"values": values}}}


def buttons_of(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [el for b in blocks if b.get("type") == "actions" for el in b.get("elements", [])
            if el.get("type") == "button" and "url" not in el and el.get("value")]


async def run(args: argparse.Namespace) -> bool:
    rounds = args.rounds
    print(machine())
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{args.backend}, {args.pairs:,} pairs, {rounds} rounds per kind, units of work "
          f"{'ON THE LOOP (--inline)' if args.inline else 'on the database executor'}")
    if args.inline:
        async def inline(self: Database, fn: Callable[..., Any], *a: Any, **kw: Any) -> Any:
            return fn(*a, **kw)

        Database.run = inline  # type: ignore[method-assign,assignment]
    # who does what: admins are sponsors 0..rounds-1; command senders, targets and the pairs whose
    # prompts are clicked are each their own range of pairs, so no round sees another's state
    n_cmds = 32
    senders = lambda i, r: 2 * (1000 + i * rounds + r) + 1  # noqa: E731
    targets = lambda i, r: 2 * (3000 + i * rounds + r) + 1  # noqa: E731
    prompted = list(range(200, 200 + rounds))
    admin = lambda r: 2 * r  # noqa: E731
    people = {admin(r) for r in range(rounds)} | {senders(i, r) for i in range(n_cmds) for r in range(rounds)}
    people |= {targets(i, r) for i in range(8) for r in range(rounds)}
    people |= {n for k in prompted for n in (2 * k, 2 * k + 1)}
    users = [(ext(n), f"Person {n}", f"p{n}@example.com") for n in sorted(people)]
    users += [(f"UNEW{n:04d}", f"New {n}", f"new{n}@example.com") for n in range(2 * rounds)]
    users += [(f"UNEW{n:04d}", f"New {n}", f"new{n}@example.com") for n in range(1001, 1001 + 4 * rounds)]
    assert max(people) < 2 * args.pairs
    with tempfile.TemporaryDirectory() as tmp, database(args.backend, Path(tmp)) as url:
        seed_db = Database(url)
        t = time.perf_counter()
        seeded = seed_pairs(seed_db.engine, args.pairs, NOW, platform="slack", workspace="T1", weeks_in=8)
        seed_history(seed_db.engine, seeded, NOW, weeks=8)
        with seed_db.engine.begin() as c:
            c.execute(update(Person.__table__).where(  # type: ignore[attr-defined]
                Person.__table__.c.id.in_([seeded.sponsors[r] for r in range(rounds)]))  # type: ignore[attr-defined]
                .values(is_granted_admin=True))
        if args.backend == "postgres":
            with seed_db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM ANALYZE"))
        else:
            with seed_db.engine.begin() as c:
                c.execute(text("ANALYZE"))
        seed_db.dispose()
        print(f"seeded in {time.perf_counter() - t:.1f} s")
        load = SlackLoad(users).start()
        runner, events_url, runtime, db = await start_ours(url, load.api_url)
        m = runtime.momentum
        meter = LoopHoldMeter()
        meter.install()
        bench = Bench(load, events_url, runtime, meter)
        try:
            # warm-up (first queries, caches), not counted
            await bench.one("warm-up", command(senders(0, 0), "help"))
            await bench.one("warm-up", command(admin(0), "report"))
            bench.kinds.pop("warm-up", None)
            # --- every command ----------------------------------------------------------------------
            for r in range(rounds):
                personal = ["help", "me", "checkin", "log meeting We met and planned", "win shipped the thing",
                            "goal Ship the launch plan", "goal list", "meet thu 15:00 2w", "time tue 10:00",
                            "snooze 1w", "pause", "resume", "stop", "my-data"]
                for i, words in enumerate(personal):
                    await bench.one(f"cmd {words.split()[0]}" + (" list" if words == "goal list" else ""),
                                    command(senders(i, r), words))
                adm = admin(r)
                admin_cmds = [
                    ("program list", "program list"), ("program show", "program show Bench"),
                    ("program create", f"program create Bench{r}"),
                    ("pair", f"pair <@UNEW{2 * r:04d}|a> <@UNEW{2 * r + 1:04d}|b> Bench"),
                    ("unpair", f"unpair {mention(targets(0, r))}"),
                    ("pause-pair", f"pause-pair {mention(targets(1, r))}"),
                    ("end-pair", f"end-pair {mention(targets(2, r))}"),
                    ("import", "import"), ("export", "export"), ("report", "report"), ("audit", "audit"),
                    ("admin add", f"admin add {mention(targets(3, r))}"),
                    ("forget", f"forget {mention(targets(4, r))}"),
                    ("unknown words", "frobnicate the widgets"),
                ]
                for name, words in admin_cmds:
                    await bench.one(f"cmd {name}", command(adm, words))
            # --- App Home, a direct message, user_change ---------------------------------------------
            for r in range(rounds):
                who = ext(senders(20, r))
                await bench.one("app home open", {"type": "event", "event_id": f"EvHome{r}", "event": {
                    "type": "app_home_opened", "user": who, "channel": "DX", "tab": "home"}})
                await bench.one("app home open (admin)", {"type": "event", "event_id": f"EvHomeA{r}", "event": {
                    "type": "app_home_opened", "user": ext(admin(r)), "channel": "DX", "tab": "home"}})
                await bench.one("message (DM)", {"type": "event", "event_id": f"EvMsg{r}", "event": {
                    "type": "message", "channel_type": "im", "channel": f"D{r:04d}", "user": who,
                    "text": "win closed the deal", "ts": f"1700000{r:03d}.000100"}})
                await bench.one("event user_change", {"type": "event", "event_id": f"EvUc{r}", "event": {
                    "type": "user_change", "user": {"id": who, "team_id": "T1", "name": "p", "real_name": "Renamed",
                                                    "tz": "Europe/Paris", "profile": {"email": f"x{r}@example.com",
                                                                                      "real_name": "Renamed"}}}})
            # --- buttons on delivered prompts, and the forms they open --------------------------------
            pair_ids = [seeded.pair_ids[k] for k in prompted]
            channel_user = {f"D{ext(n)[-4:].upper()}": ext(n) for k in prompted for n in (2 * k, 2 * k + 1)}
            clock = m.clock
            posts: list[dict[str, Any]] = []
            meter.current = None
            for _ in range(24 * 14):
                clock.advance(timedelta(hours=1))
                await asyncio.to_thread(m.plan, clock.now(), pair_ids=pair_ids)
                await m.deliver_due(clock.now())
                posts += [b for meth, b in await load.calls() if meth == "chat.postMessage"]
            clicks: dict[str, list[tuple[str, str, list[dict[str, Any]], dict[str, Any]]]] = {}
            for post in posts:
                user = channel_user.get(str(post.get("channel")))
                if user is None:
                    continue
                for button in buttons_of(post.get("blocks") or []):
                    clicks.setdefault(core_action_id(button["action_id"]), []).append(
                        (user, post["channel"], post["blocks"], button))
            print(f"{len(posts)} prompts delivered to {len(pair_ids)} pairs over 14 days; "
                  f"button kinds: {', '.join(sorted(clicks))}")
            for action, found in sorted(clicks.items()):
                for user, channel, blocks, button in found[:rounds]:
                    await bench.one(f"button {action}", {"type": "interactive", "payload": click_payload(
                        user, channel, blocks, button)})
            # a button on App Home
            for r in range(rounds):
                who = ext(senders(21, r))
                calls = await bench.one("warm-up", {"type": "event", "event_id": f"EvHomeB{r}", "event": {
                    "type": "app_home_opened", "user": who, "channel": "DX", "tab": "home"}})
                home = next((b["view"] for meth, b in calls if meth == "views.publish"), None)
                buttons = buttons_of(home.get("blocks", [])) if home else []
                if buttons:
                    await bench.one(f"button on App Home {core_action_id(buttons[0]['action_id'])}",
                                    {"type": "interactive", "payload": click_payload(
                                        who, "", home["blocks"], buttons[0], on_home=True)})  # type: ignore[index]
            bench.kinds.pop("warm-up", None)
            # --- every form those commands and buttons opened, submitted ---------------------------------
            for source, opened in sorted(bench.forms.items()):
                if source == "warm-up":
                    continue
                for user, view in opened[:rounds]:
                    await bench.one(f"form from {source}", {"type": "interactive",
                                                            "payload": submit_payload(user, view, bench.filler)})
        finally:
            meter.uninstall()
            await runtime.drain()
            await runner.cleanup()
            load.stop()
            db.dispose()
    print("\nloop hold in ms, p99 and max per kind: wall = the longest callback by the clock (what the loop lived "
          "through, waits for the GIL and for a CPU included); own = the same over callbacks the OS did not "
          "preempt (no involuntary context switch: the machine's other work left out, GIL waits kept); "
          "cpu = the loop thread's own CPU time in its costliest callback")
    print(f"{'kind':<34} {'n':>3} {'wall p99':>9} {'wall max':>9} {'own p99':>8} {'own max':>8} {'cpu p99':>8} "
          f"{'cpu max':>8} {'ack p99':>8}  costliest callback (cpu)")
    ok = ok_own = ok_cpu = True
    for name, k in bench.kinds.items():
        holds = [h.longest * 1000 for h in k.holds]
        owns = [h.longest_own * 1000 for h in k.holds]
        cpus = [h.longest_cpu * 1000 for h in k.holds]
        worst = max(k.holds, key=lambda h: h.longest_cpu)
        p99, p99o, p99c = q(holds, .99), q(owns, .99), q(cpus, .99)
        ok, ok_own, ok_cpu = ok and p99 <= TARGET_MS, ok_own and p99o <= TARGET_MS, ok_cpu and p99c <= TARGET_MS
        print(f"{name:<34} {len(holds):>3} {p99:9.2f} {max(holds):9.2f} {p99o:8.2f} {max(owns):8.2f} {p99c:8.2f} "
              f"{max(cpus):8.2f} {q(k.acks, .99) * 1000:8.1f}  {'' if p99o <= TARGET_MS else 'MISS '}{worst.what_cpu}")
    print(f"every kind p99 <= {TARGET_MS:.0f} ms: wall {'yes' if ok else 'NO'}, own {'yes' if ok_own else 'NO'}, "
          f"cpu {'yes' if ok_cpu else 'NO'}")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--inline", action="store_true", help="run units of work on the loop (the old way)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    raise SystemExit(0 if asyncio.run(run(args)) else 1)


if __name__ == "__main__":
    main()
