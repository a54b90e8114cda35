"""The planner: idempotent, honours pause/snooze/opt-out, slows down for silence, follows the journey."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlmodel import select

from bot.app import Momentum
from bot.model.clock import FakeClock
from storage.models import Pair, Person, Prompt
from tests.fakes import ADMIN, RecordingPlatform, command, person, setup_program

SAM = person("USAM", "Sam", "America/New_York", country="US")
AISHA = person("UAISHA", "Aisha", "Europe/London", country="GB")


def prompts(m: Momentum) -> list[Prompt]:
    with m.db.session() as s:
        return list(s.exec(select(Prompt).order_by(Prompt.id)).all())


async def test_planning_twice_creates_nothing_new(core: Momentum, clock: FakeClock) -> None:
    await setup_program(core, [(SAM, AISHA)])
    clock.advance(timedelta(days=7, hours=12))  # the pair's first horizon (8 days) is running out
    before = len(prompts(core))
    first = core.plan()
    planned = len(prompts(core))
    again = core.plan()
    with core.db.engine.begin() as conn:  # even when every pair is forced to re-plan
        conn.execute(Pair.__table__.update().values(planned_until=None))  # type: ignore[attr-defined]
    forced = core.plan()
    keys = [(p.pair_id, p.recipient_id, p.kind, p.period) for p in prompts(core)]
    assert first.pairs == 1 and planned > before
    assert again.pairs == 0 and len(prompts(core)) == planned
    assert forced.pairs == 1 and len(prompts(core)) == planned
    assert len(keys) == len(set(keys))


async def test_twelve_weeks_follow_the_journey(lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    """A 12-week program that meets: every phase is reached (on evidence), a mid-point and a final
    review, a wrap-up; one message a week each at most; prep before meetings once a rhythm is set."""
    await setup_program(lite, [(SAM, AISHA)], extra="--weeks 12")
    await command(lite, AISHA, "meet thu 15:00 2w")
    for day in range(13 * 7):
        lite.plan()
        await lite.deliver_due()
        if day % 7 == 3:
            await command(lite, AISHA, "log meeting")  # the pair meets every week
        if day == 2:
            with lite.db.session() as s:
                pair = s.exec(select(Pair)).one()
                pair.agreed_at = clock.now()  # the kickoff agreement (the form has its own test)
                s.add(pair)
        clock.advance(timedelta(days=1))
    kinds = Counter(s.message.kind for s in fake.sent)
    assert kinds["kickoff"] == 1 and fake.sent[0].message.kind == "kickoff"
    assert set(fake.sent[0].to) == {"USAM", "UAISHA"}, "the kickoff goes to the pair together"
    assert kinds["review"] == 4, "a mid-point and a final review, to both"
    assert kinds["wrapup"] == 2 and kinds["prep"] >= 3 and kinds["checkin"] >= 3 and kinds["nudge"] >= 5
    assert not kinds["light_touch"] and not kinds["holiday"] and not kinds["shared"], "folded into the weekly tip"
    phases = {p.phase for p in prompts(lite) if p.kind in ("checkin", "nudge", "prep") and p.status == "sent"}
    assert {"know", "coach", "advocate"} <= phases
    with lite.db.session() as s:
        ids = {p.external_id: p.id for p in s.exec(select(Person)).all()}
    for who in ("UAISHA", "USAM"):
        weeks = Counter(p.week for p in prompts(lite) if p.status == "sent" and p.kind not in ("kickoff", "followup")
                        and p.recipient_id == ids[who])
        assert weeks and max(weeks.values()) <= 1, f"{who}: one message a week at most {weeks}"


async def test_a_pair_that_never_meets_stays_in_the_first_phase(lite: Momentum, fake: RecordingPlatform,
                                                                clock: FakeClock) -> None:
    """Phases follow evidence: no advocacy actions and no thanks for backing for a pair that never met."""
    await setup_program(lite, [(SAM, AISHA)], extra="--weeks 20")
    for _ in range(15 * 7):
        lite.plan()
        await lite.deliver_due()
        clock.advance(timedelta(days=1))
    phases = {p.phase for p in prompts(lite) if p.kind in ("checkin", "nudge") and p.status == "sent"}
    assert phases == {"know"}
    digests = [s.message for s in fake.to("USAM") if s.message.kind == "nudge"]
    assert digests and all(not str(m.meta.get("action", "")).startswith("adv-") for m in digests)
    late = [m for m in digests if m.meta.get("action", "").startswith("restart")]
    assert late, "a stalled pair's sponsor gets the restart path"
    with lite.db.session() as s:
        alerts = s.exec(select(Prompt).where(Prompt.kind == "stall_alert")).all()
    assert alerts, "the program's admins are told once two restarts did not take"


async def test_ghost_rule_slows_the_cadence_and_offers_a_break(lite: Momentum, fake: RecordingPlatform,
                                                               clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    for _ in range(10 * 7):
        lite.plan()
        await lite.deliver_due()
        clock.advance(timedelta(days=1))
    checkins = [s for s in fake.to("UAISHA") if s.message.kind == "checkin"]
    weeks = [p.week for p in prompts(lite) if p.kind == "checkin" and p.status == "sent"]
    assert len(checkins) < 9, "after three ignored check-ins the cadence halves"
    assert any(w % 2 == 1 for w in weeks[:3]) and all(w % 2 == 0 for w in weeks[5:])
    offers = [s for s in checkins if any(b.action_id == "ghost.pause" for blk in s.message.blocks
                                         for b in getattr(blk, "buttons", ()))]
    assert 1 <= len(offers) <= 2, "the kind offer of a break comes, at most twice"
    digests = [s for s in fake.to("USAM") if s.message.kind == "nudge"]
    offers = [s for s in digests if any(b.action_id == "ghost.pause" for blk in s.message.blocks
                                        for b in getattr(blk, "buttons", ()))]
    assert 1 <= len(offers) <= 2, "the sponsor's ignored digests slow down the same way"


async def test_opted_out_paused_and_unreachable_people_get_nothing(core: Momentum, fake: RecordingPlatform,
                                                                   clock: FakeClock) -> None:
    lee, bo = person("ULEE", "Lee"), person("UBO", "Bo")
    await setup_program(core, [(SAM, AISHA), (lee, bo)])
    await command(core, AISHA, "stop")
    await command(core, bo, "pause")
    for _ in range(21):
        core.plan()
        await core.deliver_due()
        clock.advance(timedelta(days=1))
    assert not [s for s in fake.to("UAISHA") if s.message.kind != "kickoff"]
    assert not [s for s in fake.to("UBO") if s.message.kind != "kickoff"]
    assert [s for s in fake.to("USAM") if s.message.kind == "nudge"], "the partner still gets their nudge"


async def test_paused_pair_and_ended_program_plan_nothing(core: Momentum, clock: FakeClock) -> None:
    await setup_program(core, [(SAM, AISHA)])
    await command(core, ADMIN, "pause-pair <@UAISHA>")
    clock.advance(timedelta(days=10))
    assert core.plan().prompts == 0
    with core.db.session() as s:
        assert s.exec(select(Prompt).where(Prompt.status == "pending")).all() == []


async def test_changing_my_time_replans_only_me(lite: Momentum, clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    clock.advance(timedelta(days=3))
    lite.plan()
    with lite.db.session() as s:
        sam_id = s.exec(select(Person.id).where(Person.external_id == "USAM")).one()
    before = {p.id for p in prompts(lite) if p.recipient_id == sam_id}
    await command(lite, AISHA, "time wed 11:00")
    lite.plan()
    after = {p.id for p in prompts(lite) if p.recipient_id == sam_id}
    assert before == after
