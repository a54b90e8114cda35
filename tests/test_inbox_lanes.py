"""No row and no key holds up the rest of the inbox, on SQLite and PostgreSQL.

- Slow rows step aside after ``slow_s`` and failed rows are retried with a backoff in a lane of their own:
  16 slow poison rows, and everyone else's rows are all done while every poison row is still stuck in its
  first attempt (counted, never timed), then the poison rows' retries never run on more than the retry
  lane's one worker, and they are parked after ``MAX_ATTEMPTS``.
- Rows that cannot be read (sealed with a key we no longer hold, corrupt JSON) are parked with their reason,
  counted in the metrics, in a handful of claims, and new commands behind them are answered.
- ``MOMENTUM_SECRET_KEY_PREVIOUS`` reads what the previous key sealed; only the current key seals.
- Finished rows past the dedupe window are pruned at start-up, then on schedule.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select, text, update

from adapters.inbox import InboxPool
from bot.app import Momentum
from bot.model.config import ConfigError, Settings, load_settings
from storage import inbox
from storage.crypto import DecryptionError, SecretBox
from storage.db import Database

T = inbox.T


async def until(cond: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Wait for ``cond`` (a guard against hanging, not a time threshold: what is asserted is the order)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.01)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels or None) or 0.0


async def test_sixteen_slow_poison_rows_never_hold_up_other_peoples_rows(
        core: Momentum, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inbox, "backoff_s", lambda attempts: 0.0)  # retries due at once: the lanes are under test
    pool = InboxPool(core, workers=4, lease_s=60, sweep_s=0.05, slow_s=0.05, retry_workers=1)
    stuck = asyncio.Event()  # the poison rows' first attempts hang until this is set, then fail
    first_attempts: list[int] = []
    retrying, retry_peak, poison_finished = 0, 0, 0
    answered: list[int] = []
    aside_before = metric("momentum_inbox_slow_total")
    retried_before = metric("momentum_inbox_retries_total")

    async def handler(item: inbox.Item) -> bool:
        nonlocal retrying, retry_peak, poison_finished
        if not item.payload.get("poison"):
            answered.append(item.payload["n"])
            return True
        if item.attempts == 1:
            first_attempts.append(item.id)
            await stuck.wait()
            poison_finished += 1
            raise RuntimeError("this row keeps failing, slowly")
        retrying += 1
        retry_peak = max(retry_peak, retrying)
        try:
            await asyncio.sleep(0.01)
            raise RuntimeError("this row keeps failing")
        finally:
            retrying -= 1

    pool.register("slack", handler)
    pool.start()
    try:
        poison = [await pool.accept(f"poison{n}", "slack", "action", {"poison": True}) for n in range(16)]
        for n in range(12):
            await pool.accept(f"person{n}", "slack", "command", {"n": n})
        await until(lambda: len(answered) == 12, "everyone else answered")
        # Every person was answered while all 16 poison rows were still in their first attempt.
        assert sorted(answered) == list(range(12))
        assert len(first_attempts) == 16 and poison_finished == 0
        # each poison row steps aside once it has run slow_s (they all hang until `stuck`, so all of them do)
        await until(lambda: metric("momentum_inbox_slow_total") - aside_before >= 16, "every poison row aside")

        stuck.set()  # now they fail, and are tried again in the retry lane until they are parked
        for n in range(12, 24):  # people keep coming while the retries go on
            await pool.accept(f"person{n}", "slack", "command", {"n": n})
        await until(lambda: inbox.parked(core.db)["attempts"] == 16, "the poison rows parked")
        await until(lambda: len(answered) == 24, "the later people answered")
    finally:
        await pool.stop(grace_s=0.5)
    assert retry_peak == 1  # retries ran one at a time on the retry lane's one worker, never on the main path
    assert metric("momentum_inbox_retries_total") - retried_before == 16 * (inbox.MAX_ATTEMPTS - 1)
    assert {inbox.state_of(core.db, r) for r in poison if r is not None} == {"failed"}
    assert inbox.counts(core.db) == {"done": 24, "failed": 16}


def test_a_failed_row_waits_out_its_backoff_in_the_retry_lane(core: Momentum) -> None:
    db, box = core.db, core.box
    row = inbox.accept(db, "k", "slack", "action", {"n": 1}, box)
    assert row is not None
    (item,) = inbox.claim(db, box, lease_s=60, limit=5)
    before = inbox.utcnow()
    assert inbox.retry_later(db, row, item.attempts) == "retry"
    with db.engine.connect() as c:
        state, lease_until = c.execute(select(T.c.state, T.c.lease_until).where(T.c.id == row)).one()
    lease_until = lease_until if lease_until.tzinfo else lease_until.replace(tzinfo=before.tzinfo)
    assert state == "retry" and lease_until >= before + timedelta(seconds=inbox.RETRY_INITIAL_S)
    assert inbox.claim(db, box, lease_s=60, limit=5) == []  # never on the main path
    assert inbox.claim(db, box, lease_s=60, limit=5, lane="retry") == []  # its backoff has not run out
    with db.engine.begin() as c:
        c.execute(update(T).where(T.c.id == row).values(lease_until=before - timedelta(seconds=1)))
    (again,) = inbox.claim(db, box, lease_s=60, limit=5, lane="retry")
    assert again.id == row and again.attempts == 2 and again.payload == {"n": 1}
    assert inbox.state_of(db, row) == "pending"  # taken: the core may mark it answered as usual
    assert inbox.retry_later(db, row, inbox.MAX_ATTEMPTS) == "failed"
    assert inbox.parked(db) == {"key": 0, "corrupt": 0, "attempts": 1}


def test_the_backoff_doubles_with_jitter_and_is_capped() -> None:
    for attempts, base in [(1, 1.0), (2, 2.0), (4, 8.0), (30, inbox.RETRY_MAX_S)]:
        waits = [inbox.backoff_s(attempts) for _ in range(50)]
        assert all(base <= w <= base * 1.25 for w in waits), (attempts, waits[:5])
        assert len(set(waits)) > 1  # jittered: replicas that failed together do not retry in step


UNREADABLE = 5_000  # five times what one claim parks: shows what 50,000 would (see the report's figures)
CORRUPT = 300


def seed_unreadable(db: Database, old: SecretBox) -> None:
    rows = [inbox.New(f"old{n}", "slack", "command", {"text": "help", "n": n}) for n in range(UNREADABLE)]
    for i in range(0, len(rows), 1000):
        inbox.accept_many(db, rows[i:i + 1000], old)
    junk = [inbox.New(f"junk{n}", "slack", "command", {}) for n in range(CORRUPT)]
    ids = inbox.accept_many(db, junk, None)
    with db.engine.begin() as c:
        c.execute(update(T).where(T.c.id.in_(ids)).values(payload=b"{not json"))


async def test_rows_nobody_can_read_are_parked_with_a_reason_and_new_commands_are_answered(
        core: Momentum, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_unreadable(core.db, SecretBox("a key rotated away"))
    claims: list[int] = []
    real = inbox.claim

    def counted(*a, **kw):  # type: ignore[no-untyped-def]
        got = real(*a, **kw)
        if kw.get("lane") == "main":
            claims.append(len(got))
        return got

    monkeypatch.setattr(inbox, "claim", counted)
    key_before = metric("momentum_inbox_parked_total", reason="key")
    corrupt_before = metric("momentum_inbox_parked_total", reason="corrupt")
    answered: list[int] = []

    async def handler(item: inbox.Item) -> bool:
        answered.append(item.payload["n"])
        return True

    # No sweeps: the pool must get past the unreadable rows on its own, not wait for a timer.
    pool = InboxPool(core, workers=4, lease_s=60, sweep_s=3600)
    pool.register("slack", handler)
    pool.start()
    try:
        for n in range(12):
            await pool.accept(f"new{n}", "slack", "command", {"n": n})
        await until(lambda: len(answered) == 12, "the 12 new commands answered")
    finally:
        await pool.stop(grace_s=0.5)
    assert sorted(answered) == list(range(12))
    assert inbox.parked(core.db) == {"key": UNREADABLE, "corrupt": CORRUPT, "attempts": 0}
    assert metric("momentum_inbox_parked_total", reason="key") - key_before == UNREADABLE
    assert metric("momentum_inbox_parked_total", reason="corrupt") - corrupt_before == CORRUPT
    # A claim reads past up to SCAN_MAX unreadable rows: a handful of claims, not one per 8 rows.
    assert len(claims) <= (UNREADABLE + CORRUPT) // inbox.SCAN_MAX + 12 + 5, len(claims)
    with core.db.engine.connect() as c:  # parked rows keep nothing of what they held
        assert c.execute(text("SELECT count(*) FROM inbox WHERE state = 'failed' AND length(payload) > 0")
                         ).scalar_one() == 0


def test_the_previous_key_reads_and_only_the_current_one_seals(db: Database) -> None:
    old = Momentum(db, Settings(MOMENTUM_SECRET_KEY="the old key"))
    sealed_before = inbox.accept(db, "before", "slack", "command", {"text": "win shipped it"}, old.box)
    rotated = Momentum(db, Settings(MOMENTUM_SECRET_KEY="the new key", MOMENTUM_SECRET_KEY_PREVIOUS="the old key"))
    sealed_after = inbox.accept(db, "after", "slack", "command", {"text": "me"}, rotated.box)
    got = {i.id: i.payload for i in inbox.claim(db, rotated.box, lease_s=60, limit=10)}
    assert got == {sealed_before: {"text": "win shipped it"}, sealed_after: {"text": "me"}}
    with db.engine.connect() as c:
        raw = bytes(c.execute(text("SELECT payload FROM inbox WHERE key = 'after'")).scalar_one())
    assert SecretBox("the new key").decrypt_json(raw) == {"text": "me"}
    with pytest.raises(DecryptionError):
        SecretBox("the old key").decrypt_json(raw)  # the previous key never seals
    # Without the previous key, what it sealed is parked as "key", and the rest goes on.
    inbox.release(db, [sealed_before, sealed_after])  # type: ignore[list-item]
    parked: dict[str, int] = {}
    only_new = Momentum(db, Settings(MOMENTUM_SECRET_KEY="the new key"))
    (item,) = inbox.claim(db, only_new.box, lease_s=60, limit=10, parked=parked)
    assert item.id == sealed_after and parked == {"key": 1}


@pytest.mark.parametrize(("env", "words"), [
    ({"MOMENTUM_SECRET_KEY_PREVIOUS": "old"}, "MOMENTUM_SECRET_KEY_PREVIOUS is set but MOMENTUM_SECRET_KEY is not"),
    ({"MOMENTUM_SECRET_KEY": "new", "MOMENTUM_SECRET_KEY_PREVIOUS": '"old"'},
     "MOMENTUM_SECRET_KEY_PREVIOUS: has quotes around it"),
    ({"MOMENTUM_SECRET_KEY": "new", "MOMENTUM_SECRET_KEY_PREVIOUS": "old\n"},
     "MOMENTUM_SECRET_KEY_PREVIOUS: has a space or line break"),
    ({"MOMENTUM_SECRET_KEY": "new ", "MOMENTUM_SECRET_KEY_PREVIOUS": "old"}, "MOMENTUM_SECRET_KEY: has a space"),
    ({"MOMENTUM_SECRET_KEY": "new", "MOMENTUM_SECRET_KEY_PREVIOUS": "a,,b"},
     "MOMENTUM_SECRET_KEY_PREVIOUS: has an empty key"),
])
def test_the_previous_key_is_checked_like_the_current_one(env: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(**env)
    assert words in str(err.value)
    assert "old" not in str(err.value).replace("MOMENTUM_SECRET_KEY_PREVIOUS", "").replace("the old one", "")


async def test_finished_rows_are_pruned_at_start_up_and_then_on_schedule(core: Momentum) -> None:
    db = core.db
    stale, fresh = (inbox.accept(db, k, "slack", "command", {}, core.box) for k in ("stale", "fresh"))
    for row in (stale, fresh):
        inbox.finish(db, row)  # type: ignore[arg-type]

    def age(row: int | None, days: float) -> None:
        with db.engine.begin() as c:
            c.execute(update(T).where(T.c.id == row).values(done_at=inbox.utcnow() - timedelta(days=days)))

    age(stale, 2)  # past the one-day dedupe window
    age(fresh, 0.5)
    pool = InboxPool(core, workers=1, prune_every_s=3600)  # the next scheduled run is an hour away
    pool.start()
    try:
        await until(lambda: pool.prunes >= 1, "the start-up prune")
        assert inbox.state_of(db, stale) is None and inbox.state_of(db, fresh) == "done"  # type: ignore[arg-type]
    finally:
        await pool.stop(grace_s=0.2)

    pool = InboxPool(core, workers=1, prune_every_s=0.02)
    pool.start()
    try:
        await until(lambda: pool.prunes >= 1, "the start-up prune")
        age(fresh, 1.5)  # it passes the window while the process runs
        seen = pool.prunes
        await until(lambda: pool.prunes >= seen + 2, "two scheduled prunes")
        assert inbox.state_of(db, fresh) is None  # type: ignore[arg-type]
    finally:
        await pool.stop(grace_s=0.2)


def test_buttons_signed_before_a_rotation_still_verify_with_the_previous_key(sqlite_db: Database) -> None:
    before = Momentum(sqlite_db, Settings(MOMENTUM_SECRET_KEY="the old key")).signer
    signed = before.sign("checkin.status", "42:met", "USAM")
    rotated = Momentum(sqlite_db, Settings(MOMENTUM_SECRET_KEY="the new key",
                                           MOMENTUM_SECRET_KEY_PREVIOUS="the old key")).signer
    assert rotated.verify("checkin.status", signed, "USAM") == "42:met"
    assert rotated.verify("checkin.status", signed, "UKIM") is None  # still bound to its person
    assert rotated.sign("checkin.status", "42:met", "USAM") != signed  # new buttons: the new key
    dropped = Momentum(sqlite_db, Settings(MOMENTUM_SECRET_KEY="the new key")).signer
    assert dropped.verify("checkin.status", signed, "USAM") is None
