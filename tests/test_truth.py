"""One truth, driven the way people meet it: every sentence Momentum says matches what happened.

A tap keeps the message it answers and adds one receipt; a light touch is contact; silence gets an
honest path (one line, the program team told as it grows, the choices as buttons, monthly summaries);
a pair that met and then went quiet keeps its phase; an unanswered goal request is said; a reminder
promises no second reminder; words one partner sends wait for the reader's day."""

from __future__ import annotations

import itertools
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from adapters.console.journal import button_labels, visible_text
from bot.app import Momentum
from bot.model import facts
from bot.model.clock import FakeClock
from bot.model.interactions import InteractionKind as IK
from bot.model.messages import Buttons, Message
from storage.models import Pair, Prompt
from tests.fakes import ADMIN, RecordingPlatform, act, click, command, person, setup_program

SAM = person("USAM", "Sam Rivera", "America/New_York", country="US")
AISHA = person("UAISHA", "Aisha Khan", "Europe/London", country="GB")


async def run_days(m: Momentum, clock: FakeClock, days: float, answer: str | None = None,
                   fake: RecordingPlatform | None = None) -> None:
    """Plan and deliver every 6 hours for ``days``; with ``answer``, Aisha answers each new check-in."""
    seen: set[int] = set()
    for _ in range(int(days * 4)):
        m.plan()
        await m.deliver_due()
        if answer is not None and fake is not None:
            for i, s in enumerate(fake.sent):
                if i not in seen and s.message.kind == "checkin" and "UAISHA" in s.to:
                    seen.add(i)
                    await click(m, AISHA, s.message, "checkin.status", answer)
            seen.update(range(len(fake.sent)))
        clock.advance(timedelta(hours=6))


def kinds(fake: RecordingPlatform, user: str, kind: str) -> list[Message]:
    return [s.message for s in fake.to(user) if s.message.kind == kind]


def lines(msg: Message) -> list[str]:
    return [x for x in visible_text(msg).split("\n") if x]


async def test_a_tap_on_a_digest_keeps_what_it_said_and_adds_one_receipt(
        lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    await run_days(lite, clock, 16, answer="met", fake=fake)
    digest = next(d for d in kinds(fake, "USAM", "nudge") if "You met" in visible_text(d))
    r = await click(lite, SAM, digest, "nudge.done")
    assert r.update is not None
    after = lines(r.update)
    assert after[:-1] == lines(digest), "every line as sent, in order"
    assert after[-1].startswith("\u2713 ") and button_labels(r.update) == []
    assert "Nothing new" not in visible_text(r.update)  # the tap is not news, and the news stays
    # a check-in: "Change" shows the question exactly as it was sent (the same tip)
    checkin = kinds(fake, "UAISHA", "checkin")[-1]
    answered = await click(lite, AISHA, checkin, "checkin.status", "light")
    assert answered.update is not None and lines(checkin)[0] in lines(answered.update)
    again = await click(lite, AISHA, answered.update, "checkin.change")
    assert again.update is not None and visible_text(again.update) == visible_text(checkin)
    assert button_labels(again.update) == button_labels(checkin)


async def test_a_light_touch_is_contact_for_every_reader(
        lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    await run_days(lite, clock, 10 * 7, answer="light", fake=fake)
    said = [visible_text(d) for d in kinds(fake, "USAM", "nudge")]
    assert len(said) >= 4  # Sam never taps, so they slow to every four weeks (and say so)
    assert not any("No contact since" in t or "No answer from" in t for t in said)
    assert kinds(fake, "UADMIN", "stall_alert") == []
    with lite.db.session() as s:
        pair = s.exec(select(Pair)).one()
        assert facts.quiet_days(pair.last_touch_at, pair.created_at, clock.now()) < 8  # both read this one count
        assert not facts.is_stalled(pair.last_touch_at, pair.created_at, clock.now())


async def test_six_silent_weeks_get_an_honest_path_and_the_team_hears_as_silence_grows(
        lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    await run_days(lite, clock, 95)  # nobody answers anything
    digests = kinds(fake, "USAM", "nudge")
    silent = [d for d in digests if d.meta.get("silent")]
    assert silent, [visible_text(d) for d in digests[-3:]]
    first = silent[0]
    text = visible_text(first)
    assert "No answer from Aisha since" in text and "The program team knows" in text
    assert "Momentum:" not in text and "This week:" not in text  # no "steady", no getting-to-know action
    assert button_labels(first) == ["We'll keep going", "Pause our pair", "Ask the program team"]
    # monthly from then on
    with lite.db.session() as s:
        sent = sorted(p.sent_at for p in s.exec(select(Prompt).where(Prompt.kind == "nudge",
                                                                      Prompt.status == "sent")).all() if p.sent_at)
    silent_since = [t for t in sent if t >= sent[-1] - timedelta(days=40)]
    assert all(b - a >= timedelta(days=27) for a, b in itertools.pairwise(silent_since)), silent_since
    # the program team hears at 35, 60 and 90 days, with full names and what was tried
    alerts = [visible_text(a) for a in kinds(fake, "UADMIN", "stall_alert")]
    assert len(alerts) == 3, alerts
    assert all("Sam Rivera and Aisha Khan" in a and "Since then Momentum sent" in a for a in alerts)
    days = [int(a.split("(")[1].split(" days")[0]) for a in alerts]
    assert days == sorted(days) and days[0] >= 35 and days[1] >= 60 and days[2] >= 90
    # the sponsor asks the program team: the admins hear it, with one sentence saying why
    r = await click(lite, SAM, first, "restart.rematch")
    assert r.update is not None and "program team now knows" in visible_text(r.update)
    await lite.deliver_due()
    asked = [visible_text(a) for a in kinds(fake, "UADMIN", "stall_alert") if "asked the program team" in
             visible_text(a)]
    assert asked and "Sam Rivera asked the program team for help" in asked[0] and "no contact since" in asked[0]


async def test_a_pair_that_met_and_then_went_quiet_keeps_its_phase(
        lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    await run_days(lite, clock, 14 * 7, answer="met", fake=fake)  # they met every week
    order = ["know", "coach", "advocate"]
    before = len(kinds(fake, "USAM", "nudge"))
    reached = kinds(fake, "USAM", "nudge")[-1].meta["phase"]
    assert reached != "know"
    await run_days(lite, clock, 8 * 7)  # then quiet
    later = kinds(fake, "USAM", "nudge")[before:]
    assert later and all(order.index(d.meta["phase"]) >= order.index(reached) for d in later)
    assert any("No contact since" in visible_text(d) or "No answer from Aisha since" in visible_text(d) for d in later)
    assert not any("Getting to know each other" in visible_text(d) for d in later)


async def test_a_goal_request_nobody_answers_is_said_in_the_next_summary(
        lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    await run_days(lite, clock, 2 * 7, answer="met", fake=fake)
    asking = next(d for d in kinds(fake, "USAM", "nudge") for blk in d.blocks if isinstance(blk, Buttons)
                  for b in blk.buttons if b.action_id == "nudge.ask_goal")
    r = await click(lite, SAM, asking, "nudge.ask_goal")
    assert r.update is not None and "say that they have not answered" in visible_text(r.update)
    before = len(kinds(fake, "USAM", "nudge"))
    await run_days(lite, clock, 15, answer="met", fake=fake)
    nxt = kinds(fake, "USAM", "nudge")[before]
    assert "Aisha has not answered your question about their current goal yet." in visible_text(nxt)


async def test_a_review_reminder_promises_no_second_reminder(
        lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)], extra="--weeks 8")
    await run_days(lite, clock, 5 * 7, answer="met", fake=fake)
    review = kinds(fake, "USAM", "review")[0]
    r = await click(lite, SAM, review, "review.later")
    assert r.update is not None and "remind you in 3 days" in visible_text(r.update)
    await run_days(lite, clock, 4)
    reminders = kinds(fake, "USAM", "review")[1:]
    assert len(reminders) == 1, "the promised reminder came, once"
    assert "Remind me in 3 days" not in button_labels(reminders[0])


async def test_a_note_written_at_night_reaches_the_reader_in_their_day(
        lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    while not kinds(fake, "UAISHA", "checkin"):
        await run_days(lite, clock, 1)
    checkin = kinds(fake, "UAISHA", "checkin")[0]
    ny = ZoneInfo("America/New_York")
    while clock.now().astimezone(ny).hour != 23:  # it is 23:00 for Sam in New York
        clock.advance(timedelta(hours=1))
    answered = await click(lite, AISHA, checkin, "checkin.status", "met")
    assert answered.update is not None
    form = await click(lite, AISHA, answered.update, "checkin.note")
    assert form.form is not None
    await act(lite, AISHA, IK.SUBMIT, action_id=form.form.form_id, value=form.form.state,
              fields={"note": "We agreed the demo plan", "share": "true"})
    written = clock.now()
    await lite.deliver_due()
    assert not [s for s in fake.to("USAM") if s.message.kind == "shared_note"], "not at 23:00"
    for _ in range(72):
        clock.advance(timedelta(hours=1))
        await lite.deliver_due()
    assert len([s for s in fake.to("USAM") if s.message.kind == "shared_note"]) == 1
    with lite.db.session() as s:
        (row,) = s.exec(select(Prompt).where(Prompt.kind == "shared_note")).all()
        assert row.sent_at is not None and row.sent_at > written
        local = row.sent_at.astimezone(ny)
    assert 8 <= local.hour < 20 and local.weekday() < 5, local


async def test_after_the_program_ends_the_report_is_a_closing_summary(
        lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)], extra="--weeks 4")
    live = await command(lite, ADMIN, "report")
    assert live.reply is not None and "In contact (last 14 days)" in live.reply.as_plain_text()
    await run_days(lite, clock, 6 * 7, answer="met", fake=fake)
    closed = await command(lite, ADMIN, "report")
    assert closed.reply is not None
    text = closed.reply.as_plain_text()
    assert "Pilot ended on" in text and "Pairs that met: 1 of 1" in text and "Meetings: " in text
    assert "In contact (last" not in text and "Active pairs" not in text and "Stalled" not in text


async def test_people_are_addressed_by_their_given_name_or_in_full(
        lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    """Never a guessed first word: "Li Na" for Li Na Wang (her profile's given name), "Liu Yang" in full when
    the platform gives no given name ("Liu" is her family name)."""
    from bot.model.interactions import Profile

    li = Profile("ULI", "Li Na Wang", "li@example.com", "Asia/Shanghai", "zh-CN", False, "CN", given_name="Li Na")
    liu = Profile("ULIU", "Liu Yang", "liu@example.com", "Asia/Shanghai", "zh-CN", False, "CN")
    await setup_program(lite, [(li, liu)])
    await run_days(lite, clock, 3)
    (kick_li,) = kinds(fake, "ULI", "kickoff")
    text = visible_text(kick_li)
    assert "Li Na and Liu Yang, welcome" in text and "For 52 weeks Li Na is Liu Yang's sponsor" in text
    assert "Li and" not in text and "Liu is" not in text


async def test_after_the_program_ends_the_admin_digest_and_home_say_what_happened(
        lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    from bot.domain import digest

    await setup_program(lite, [(SAM, AISHA)], extra="--weeks 4")
    await run_days(lite, clock, 6 * 7, answer="met", fake=fake)
    with lite.db.session() as s:
        msg = digest.build(s, 1, clock.now())
    assert msg is not None
    text = visible_text(msg)
    assert "Pilot ended on" in text and "1 of 1 pairs met" in text and "Active pairs" not in text


async def test_the_console_names_an_ended_program_instead_of_its_live_health(
        lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    from bot.domain import analytics

    await setup_program(lite, [(SAM, AISHA)], extra="--weeks 4")
    with lite.db.session() as s:
        (live,) = analytics.overview(s, 1, clock.now())
    assert live.ended_on is None and live.health != "ended"
    await run_days(lite, clock, 6 * 7, answer="met", fake=fake)
    with lite.db.session() as s:
        (done,) = analytics.overview(s, 1, clock.now())
    assert done.health == "ended" and done.ended_on == done.start_date + timedelta(weeks=4)
