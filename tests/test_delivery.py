"""The delivery worker: leases, retries with Retry-After, dead letters with reasons, cancellations."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import event
from sqlmodel import select

from bot.app import Momentum
from bot.content.kinds import PromptKind
from bot.model.clock import FakeClock
from bot.model.ports import FailureScope
from bot.outbox.delivery import DeliveryWorker, Outcome
from storage.models import Pair, Person, Prompt, Workspace
from tests.fakes import ADMIN, RecordingPlatform, command, gone, person, rate_limited, setup_program

SAM = person("USAM", "Sam", "America/New_York")
AISHA = person("UAISHA", "Aisha", "Europe/London")


def by_status(m: Momentum) -> dict[str, int]:
    out: dict[str, int] = {}
    with m.db.session() as s:
        for p in s.exec(select(Prompt)).all():
            out[p.status] = out.get(p.status, 0) + 1
    return out


async def kickoff_due(m: Momentum, clock: FakeClock) -> None:
    await setup_program(m, [(SAM, AISHA)])
    clock.advance(timedelta(hours=8))  # into both people's working day


async def test_sent_prompts_record_the_platform_reference_and_address(core: Momentum, fake: RecordingPlatform,
                                                                      clock: FakeClock) -> None:
    await kickoff_due(core, clock)
    stats = await core.deliver_due()
    assert stats.sent == 1 and len(fake.sent) == 1
    with core.db.session() as s:
        p = s.exec(select(Prompt).where(Prompt.kind == "kickoff")).one()
        aisha = s.exec(select(Person).where(Person.external_id == "UAISHA")).one()
    assert p.status == "sent" and p.platform_ref == {"ts": "ts1"} and p.sent_at is not None
    assert aisha.address == {"dm": "DUAISHA"}
    assert (await core.deliver_due()).claimed == 0, "nothing is sent twice"


async def test_rate_limit_is_retried_after_retry_after(core: Momentum, fake: RecordingPlatform,
                                                       clock: FakeClock) -> None:
    await kickoff_due(core, clock)
    fake.fail_with.append(rate_limited(120))
    stats = await core.deliver_due()
    assert stats.retried == 1 and fake.sent == []
    with core.db.session() as s:
        p = s.exec(select(Prompt).where(Prompt.kind == "kickoff")).one()
    assert p.status == "pending" and p.attempts == 1 and p.last_error == "ratelimited"
    assert p.next_attempt_at >= clock.now() + timedelta(seconds=120)
    clock.advance(timedelta(seconds=60))
    assert (await core.deliver_due()).claimed == 0, "not before Retry-After"
    clock.advance(timedelta(seconds=3600))
    assert (await core.deliver_due()).sent == 1 and len(fake.sent) == 1


async def test_permanent_failure_parks_the_prompt_and_the_person(core: Momentum, fake: RecordingPlatform,
                                                                 clock: FakeClock) -> None:
    await kickoff_due(core, clock)
    fake.fail_with.append(gone("account_inactive"))
    stats = await core.deliver_due()
    assert stats.dead == 1
    with core.db.session() as s:
        p = s.exec(select(Prompt).where(Prompt.kind == "kickoff")).one()
        assert p.status == "dead" and p.last_error == "account_inactive"
        unreachable = [x for x in s.exec(select(Person)).all() if x.unreachable_reason]
    assert [x.unreachable_reason for x in unreachable] == ["account_inactive"]
    report = await command(core, ADMIN, "report")
    text = report.reply.as_plain_text() if report.reply else ""
    assert "account_inactive" in text


async def test_workspace_failure_stops_the_whole_install(lite: Momentum, fake: RecordingPlatform,
                                                         clock: FakeClock) -> None:
    await kickoff_due(lite, clock)
    fake.fail_with.append(gone("token_revoked", FailureScope.WORKSPACE))
    await lite.deliver_due()
    with lite.db.session() as s:
        ws = s.exec(select(Workspace)).one()
    assert ws.status == "uninstalled" and ws.status_reason == "token_revoked"
    clock.advance(timedelta(days=8))
    lite.plan()
    assert (await lite.deliver_due()).claimed == 0


async def test_gives_up_after_max_attempts(lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    lite.settings.max_attempts = 3
    await kickoff_due(lite, clock)
    for _ in range(3):
        fake.fail_with.append(rate_limited(1))
        await lite.deliver_due()
        clock.advance(timedelta(hours=6))
    with lite.db.session() as s:
        p = s.exec(select(Prompt).where(Prompt.kind == "kickoff")).one()
    assert p.status == "dead" and p.attempts == 3 and "gave up after 3 attempts" in (p.last_error or "")


async def test_expired_lease_is_taken_over_by_another_worker(core: Momentum, fake: RecordingPlatform,
                                                             clock: FakeClock) -> None:
    await kickoff_due(core, clock)
    dead_worker = DeliveryWorker(core, worker_id="crashed")
    assert len(dead_worker.claim(clock.now(), 10)) == 1  # claims, then "dies" before sending
    assert (await core.deliver_due(worker_id="w2")).claimed == 0, "the lease protects the claim"
    clock.advance(timedelta(seconds=core.settings.lease_s + 1))
    assert (await core.deliver_due(worker_id="w2")).sent == 1
    assert by_status(core).get("sent") == 1 and by_status(core).get("sending") is None and len(fake.sent) == 1


async def test_paused_after_planning_is_cancelled_not_sent(lite: Momentum, fake: RecordingPlatform,
                                                           clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    with lite.db.engine.begin() as conn:  # paused by someone after the planner ran (bypassing re-planning)
        conn.execute(Person.__table__.update().where(  # type: ignore[attr-defined]
            Person.__table__.c.external_id == "UAISHA").values(paused=True))  # type: ignore[attr-defined]
    clock.advance(timedelta(hours=8))
    stats = await lite.deliver_due()
    assert stats.cancelled == 1 and stats.reasons.get("paused") == 1 and fake.sent == []


async def test_a_send_that_outlives_its_lease_is_cut_off_and_requeued(lite: Momentum, fake: RecordingPlatform,
                                                                     clock: FakeClock) -> None:
    import asyncio

    await kickoff_due(lite, clock)
    stuck = asyncio.Event()

    async def never_returns(*_: object) -> None:
        await stuck.wait()

    fake.send_group = never_returns  # type: ignore[method-assign,assignment]
    worker = DeliveryWorker(lite, worker_id="slow")
    worker.lease = timedelta(seconds=0.2)  # the send is abandoned after 80% of this, not sent late
    stats = await worker.deliver_due(clock.now())
    assert stats.sent == 0 and stats.released == 1
    with lite.db.session() as s:
        p = s.exec(select(Prompt).where(Prompt.kind == "kickoff")).one()
    assert p.status == "pending" and p.lease_owner is None and p.sent_at is None


async def test_two_workers_recording_crossed_pairs_at_once_do_not_deadlock(core: Momentum) -> None:
    """Worker A records pair X's check-in and pair Y's digest while worker B records Y's check-in and X's
    digest (the two prompts of a pair may be claimed by different workers). Each pauses at its first pair
    update until the other gets there too: without one lock order, PostgreSQL detects a deadlock."""
    await setup_program(core, [(SAM, AISHA), (person("ULEE", "Lee Chen"), person("UKIM", "Kim Park"))])
    with core.db.session() as s:
        x, y = (p.id for p in s.exec(select(Pair).order_by(Pair.id)).all())  # type: ignore[arg-type]
    meet = threading.Barrier(2)
    waited: set[int] = set()

    def pause_at_first_pair_update(_c, _cur, statement, *_a) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("UPDATE pair") and threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            with contextlib.suppress(threading.BrokenBarrierError):
                meet.wait(timeout=1.0)

    def record(worker: str, checkin: int, digest: int) -> None:
        DeliveryWorker(core, worker_id=worker)._record([
            Outcome(prompt_id=0, status="sent", kind=PromptKind.CHECKIN, pair_id=checkin),
            Outcome(prompt_id=0, status="sent", kind=PromptKind.NUDGE, pair_id=digest)], core.now())

    event.listen(core.db.engine, "before_cursor_execute", pause_at_first_pair_update)
    try:
        with ThreadPoolExecutor(2) as pool:
            results = [pool.submit(record, "A", x, y), pool.submit(record, "B", y, x)]
            errors = [f.exception(timeout=30) for f in results]
    finally:
        event.remove(core.db.engine, "before_cursor_execute", pause_at_first_pair_update)
    assert errors == [None, None], errors
    with core.db.session() as s:
        for pair in s.exec(select(Pair)).all():
            assert (pair.checkins_sent, pair.ignored_digests) == (1, 1)  # both workers' changes, once each
