"""The inbox of accepted interactions on SQLite and PostgreSQL: dedupe, leases, encryption at rest, and the
core's work done once however often a row is processed."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace

import pytest
from sqlalchemy import event, text
from sqlmodel import select

from adapters.inbox import InboxPool
from bot.app import Momentum
from bot.model import wire
from bot.model.clock import FakeClock
from bot.model.interactions import Interaction, InteractionKind
from storage import inbox
from storage.models import CheckIn, Pair
from tests.fakes import WS, RecordingPlatform, button
from tests.test_conversation import AISHA, SAM, first_checkin, setup_program

NOTE = "private words about my sponsor"


def test_a_key_is_accepted_once_and_its_payload_is_sealed(core: Momentum) -> None:
    db = core.db
    first = inbox.accept(db, "slack:req:abc", "slack", "command", {"text": NOTE}, core.box)
    assert first is not None
    assert inbox.accept(db, "slack:req:abc", "slack", "command", {"text": NOTE}, core.box) is None  # a replay
    with db.engine.connect() as c:
        raw = c.execute(text("SELECT payload FROM inbox")).scalar_one()
    assert NOTE.encode() not in bytes(raw)  # MOMENTUM_SECRET_KEY is set: encrypted at rest
    (item,) = inbox.claim(db, core.box, lease_s=60, limit=10)
    assert item.payload == {"text": NOTE} and item.attempts == 1 and item.result is None
    assert inbox.claim(db, core.box, lease_s=60, limit=10) == []  # leased: nobody else takes it
    inbox.release(db, [item.id])
    assert inbox.claim(db, core.box, lease_s=60, limit=10, exclude=frozenset({item.id})) == []  # held here already
    (again,) = inbox.claim(db, core.box, lease_s=60, limit=10)  # handed back: taken at once
    assert again.id == item.id and again.attempts == 2
    inbox.finish(db, item.id)
    assert inbox.state_of(db, item.id) == "done" and inbox.claim(db, core.box, lease_s=0, limit=10) == []
    with db.engine.connect() as c:
        assert bytes(c.execute(text("SELECT payload FROM inbox")).scalar_one()) == b""  # forgotten once done


def test_a_row_that_keeps_failing_is_parked(core: Momentum) -> None:
    row = inbox.accept(core.db, "k", "slack", "action", {}, core.box)
    for _ in range(inbox.MAX_ATTEMPTS):
        (item,) = inbox.claim(core.db, core.box, lease_s=0, limit=1)
        assert item.id == row
    assert inbox.claim(core.db, core.box, lease_s=0, limit=1) == []
    assert inbox.state_of(core.db, row) == "failed"  # type: ignore[arg-type]


async def test_a_checkin_answered_twice_through_inbox_replay_is_stored_once(
        core: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    await setup_program(core, [(SAM, AISHA)])
    msg = await first_checkin(core, fake, clock)
    b = button(msg, "checkin.status", "met")  # type: ignore[arg-type]
    row = inbox.accept(core.db, "test:click", "test", "action", {}, core.box)
    ia = Interaction("test", WS, AISHA.external_id, InteractionKind.ACTION, action_id=b.action_id, value=b.value,
                     profile=AISHA, inbox_id=row)
    first = await core.handle(ia)
    assert first.update is not None and "recorded: We met" in first.update.text
    # The process died before showing the answer: the row is "answered" and keeps the answer.
    (kept,) = inbox.claim(core.db, core.box, lease_s=0, limit=1)
    assert kept.result is not None and wire.load(kept.result).update == first.update
    again = await core.handle(replace(ia))  # a second attempt (a replica, a restart) does nothing
    assert again.duplicate
    with core.db.session() as s:
        assert len(s.exec(select(CheckIn)).all()) == 1
        assert s.exec(select(Pair)).one().checkins_answered == 1


async def test_the_pool_processes_a_burst_with_bounded_workers_and_stops_in_time(core: Momentum) -> None:
    pool = InboxPool(core, workers=3, lease_s=60, sweep_s=0.05)
    running, peak, seen = 0, 0, []

    async def handler(item: inbox.Item) -> bool:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            if item.payload.get("hang"):
                await asyncio.sleep(3600)  # Slack does not answer
            seen.append(item.payload["n"])
            await asyncio.sleep(0.001)
            return True
        finally:
            running -= 1

    pool.register("slack", handler)
    pool.start()
    for n in range(40):
        assert await pool.accept(f"k{n}", "slack", "command", {"n": n}) is not None
    await pool.drain()
    assert sorted(seen) == list(range(40)) and peak <= 3
    assert inbox.counts(core.db) == {"done": 40}
    hung = await pool.accept("hang", "slack", "command", {"hang": True})
    while not pool._busy:
        await asyncio.sleep(0.01)
    await pool.stop(grace_s=0.2)  # cancelled, and handed back for the next process
    assert inbox.state_of(core.db, hung) == "pending"  # type: ignore[arg-type]
    assert inbox.ready(core.db) == 1


def test_a_batch_is_one_statement_with_replays_named_in_order(core: Momentum) -> None:
    db = core.db
    earlier = inbox.accept(db, "seen", "slack", "command", {"n": -1}, core.box)
    rows = [inbox.New(k, "slack", "command", {"n": n}, lease_s=60 if k == "mine" else 0)
            for n, k in enumerate(["a", "seen", "b", "a", "mine"])]
    inserts: list[str] = []

    def count(_conn, _cur, statement, *_a) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT"):
            inserts.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        ids = inbox.accept_many(db, rows, core.box)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    a, seen, b, a_again, mine = ids
    assert len(inserts) == 1  # one statement for the whole burst
    assert seen is None and a_again is None  # a key seen before, and a key twice in one batch
    assert None not in (a, b, mine) and len({a, b, mine, earlier}) == 4
    claimed = {i.id: i.payload["n"] for i in inbox.claim(db, core.box, lease_s=60, limit=10)}
    assert claimed == {earlier: -1, a: 0, b: 2}  # "mine" stays leased to the caller that wrote it
    assert inbox.accept_many(db, [], core.box) == []


async def test_requests_arriving_together_share_a_write_and_each_hears_a_failure(
        core: Momentum, monkeypatch: pytest.MonkeyPatch) -> None:
    pool = InboxPool(core, workers=1)
    batches: list[int] = []
    real = inbox.accept_many

    def recorded(db, rows, box):  # type: ignore[no-untyped-def]
        batches.append(len(rows))
        return real(db, rows, box)

    monkeypatch.setattr(inbox, "accept_many", recorded)
    ids = await asyncio.gather(*(pool.accept(f"k{n % 30}", "slack", "command", {"n": n}) for n in range(40)))
    assert len([i for i in ids if i is not None]) == 30 and ids[30:] == [None] * 10  # the 10 replays
    assert sum(batches) == 40 and len(batches) < 40  # written in batches, not one transaction each
    assert inbox.ready(core.db) == 30

    def away(db, rows, box):  # type: ignore[no-untyped-def]
        raise ConnectionError("database away")

    monkeypatch.setattr(inbox, "accept_many", away)
    outcomes = await asyncio.gather(*(pool.accept(f"x{n}", "slack", "command", {}) for n in range(5)),
                                    return_exceptions=True)
    assert all(isinstance(o, ConnectionError) for o in outcomes)  # each caller answers for itself
    monkeypatch.setattr(inbox, "accept_many", real)
    assert await pool.accept("x0", "slack", "command", {}) is not None  # and the writer goes on


async def test_requests_waiting_on_a_cancelled_writer_are_cancelled_not_left_hanging(
        core: Momentum, monkeypatch: pytest.MonkeyPatch) -> None:
    pool = InboxPool(core, workers=1)
    gate = threading.Event()
    real = inbox.accept_many

    def slow(db, rows, box):  # type: ignore[no-untyped-def]
        gate.wait(5)
        return real(db, rows, box)

    monkeypatch.setattr(inbox, "accept_many", slow)
    waiting = [asyncio.ensure_future(pool.accept("c0", "slack", "command", {}))]
    await asyncio.sleep(0.05)  # the first is being written; the next two wait for the next batch
    waiting += [asyncio.ensure_future(pool.accept(f"c{n}", "slack", "command", {})) for n in (1, 2)]
    await asyncio.sleep(0.01)
    assert pool._writer is not None
    pool._writer.cancel()
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    gate.set()
    assert all(isinstance(o, asyncio.CancelledError) for o in outcomes), outcomes
    monkeypatch.setattr(inbox, "accept_many", real)
    assert await pool.accept("after", "slack", "command", {}) is not None  # a new writer takes over
