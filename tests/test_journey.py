"""Journey v2, driven the way people meet it: the words as data, rotation, truth, holidays, load."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlmodel import select
from typer.testing import CliRunner

from adapters.cli import app
from adapters.console.journal import visible_text
from bot.app import Momentum
from bot.chat import preview
from bot.content import prompts
from bot.content.journey import KINDS, JourneyError, builtin, check_text, rotate
from bot.content.kinds import PromptKind
from bot.model.clock import FakeClock
from bot.model.interactions import InteractionKind as IK
from bot.model.messages import Buttons, Link, Message, Paragraph
from storage.models import AuditLog, CheckIn, Goal, Pair, Person, Program, Prompt
from tests.fakes import ADMIN, RecordingPlatform, act, click, command, deliver_within, person, setup_program

SAM = person("USAM", "Sam Rivera", "America/New_York", country="US")
AISHA = person("UAISHA", "Aisha Khan", "Europe/London", country="GB")
ADVOCACY = re.compile(r"\b(sponsor\w*|advoca\w*|nominat\w*|put (?:\w+ )?name forward|speak up for|talent discussion"
                      r"|succession|promotion case|back(?:ing)? them)\b", re.I)


def visible(m: Message) -> str:
    return visible_text(m)


# --- the words as data ---------------------------------------------------------------------------

def test_every_builtin_journey_validates_with_enough_variety() -> None:
    for kind in KINDS:
        j = builtin(kind)
        assert j.kind == kind and len(j.phases) == 3
        last = j.phases[-1].key
        assert len(j.lines(f"digest.action.{last}")) >= (12 if kind == "sponsorship" else 8)
        for ph in j.phases:
            assert len(j.lines(f"checkin.tip.{ph.key}")) >= 8
            assert len(j.lines(f"digest.action.{ph.key}")) >= 8
    assert builtin("reverse-mentoring").default_weeks == 12


def test_no_prompt_wording_in_python() -> None:
    """The prompt words live in the journey files: the composer module quotes none of them."""
    source = Path(prompts.__file__).read_text()
    for kind in KINDS:
        for slot, lines in builtin(kind).words.items():
            if slot.startswith(("checkin.tip", "digest.action", "checkin.opener", "kickoff.")):
                for ln in lines:
                    assert ln.text[:40] not in source, (slot, ln.text)


def test_mentoring_has_no_advocacy_vocabulary_and_reverse_mentoring_puts_the_leader_in_learning() -> None:
    j = builtin("mentoring")
    for slot, lines in j.words.items():
        for ln in lines:
            assert not ADVOCACY.search(re.sub(r"\{\w+\}", "", ln.text)), (slot, ln.text)  # placeholders are names
            assert not ADVOCACY.search(ln.done), (slot, ln.done)
    mentoring = {k: v for k, v in preview.all_kinds().items() if k.startswith("mentoring-")}
    assert mentoring
    for name, msg in mentoring.items():
        assert not ADVOCACY.search(visible(msg)), (name, visible(msg))
    rev = builtin("reverse-mentoring")
    kickoff = rev.text("kickoff.welcome")
    assert "learns from" in kickoff and "{sponsor}" in kickoff
    assert "aims to help" not in " ".join(ln.text for lines in rev.words.values() for ln in lines)


def test_every_message_of_every_kind_fits_sixty_words() -> None:
    for name, msg in preview.all_kinds().items():
        if name in ("help", "report"):
            continue
        n = len(visible(msg).split())
        assert n <= 60, (name, n, visible(msg))


def test_journey_check_reports_problems_with_line_numbers(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("kind: sponsorship\ntitle: Ours\ndefault_weeks: 2\nroles: {senior: a, junior: b}\n"
                   "phases:\n  - key: Know\n    name: k\nwords:\n  checkin.opener: [hi]\n")
    run = CliRunner().invoke(app, ["journey", "check", str(bad)])
    assert run.exit_code == 1
    assert "line 3: default_weeks" in run.output and "line 6: phases.0.key" in run.output
    good = tmp_path / "ours.yml"
    shown = CliRunner().invoke(app, ["journey", "show", "mentoring"])
    good.write_text(shown.output)
    ok = CliRunner().invoke(app, ["journey", "check", str(good)])
    assert ok.exit_code == 0 and "ok: a mentoring journey" in ok.output
    with pytest.raises(JourneyError, match="line 2: not valid YAML"):
        check_text("kind: [unclosed\n")


async def test_an_admin_attaches_a_program_journey_and_bad_files_change_nothing(
        lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)], extra="--weeks 12")
    r = await command(lite, ADMIN, "program journey Pilot\nkind: sponsorship\ntitle: [broken")
    assert r.reply and "problems" in r.reply.text and "nothing was changed" in r.reply.text
    with lite.db.session() as s:
        assert s.exec(select(Program)).one().journey_yaml is None
    r = await command(lite, AISHA, "program journey Pilot\nkind: sponsorship")
    assert r.reply and "Only Momentum admins" in r.reply.text
    data = yaml.safe_load(builtin_text("sponsorship"))
    data["words"]["checkin.opener"] = [f"{{me}}, OUR OWN WORDS {i}: any contact with {{partner}}?" for i in range(8)]
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    r = await command(lite, ADMIN, "program journey Pilot\n" + text)
    assert r.reply and "now uses its own journey" in r.reply.text, r.reply
    for _ in range(14):
        lite.plan()
        await lite.deliver_due()
        clock.advance(timedelta(days=1))
    checkins = [s.message for s in fake.to("UAISHA") if s.message.kind == "checkin"]
    assert checkins and all("OUR OWN WORDS" in visible(m) for m in checkins)
    with lite.db.session() as s:
        assert s.exec(select(AuditLog).where(AuditLog.action == "program.journey")).first()


def builtin_text(kind: str) -> str:
    from importlib import resources
    return resources.files("bot.content").joinpath("journeys", f"{kind}.yml").read_text()


# --- rotation ------------------------------------------------------------------------------------

def test_rotation_never_repeats_within_a_turn_nor_more_than_three_times_a_year() -> None:
    lines = builtin("sponsorship").lines("digest.action.advocate")
    for person_ in ("U1", "U2", "U3"):
        picks = [rotate(lines, person_, "digest.action.advocate", k).key for k in range(52)]
        for i in range(len(picks) - 8):
            window = picks[i:i + 8]
            assert len(set(window)) == len(window), "never twice within 8 picks"
        assert max(picks.count(k) for k in set(picks)) <= 3
        every_other = picks[::2]
        assert all(a != b for a, b in itertools.pairwise(every_other)), "no text two runs running"
    a = [rotate(lines, "U1", "s", k).key for k in range(6)]
    b = [rotate(lines, "U2", "s", k).key for k in range(6)]
    assert a != b, "each person has their own order"


# --- the digest and the truth of the footer -----------------------------------------------------

async def _deliver_days(m: Momentum, clock: FakeClock, days: int) -> None:
    for _ in range(days * 4):
        m.plan()
        await m.deliver_due()
        clock.advance(timedelta(hours=6))


async def test_the_digest_leads_with_news_quotes_it_and_says_only_what_the_footer_promises(
        lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    await command(lite, AISHA, "goal Lead the Q3 migration of the billing platform for the whole EMEA region "
                               "and then some more words that run long")
    msg = None
    for _ in range(30 * 4):
        lite.plan()
        await lite.deliver_due()
        checkins = [s.message for s in fake.to("UAISHA") if s.message.kind == "checkin"]
        if checkins and msg is None:
            msg = checkins[0]
            r = await click(lite, AISHA, msg, "checkin.status", "met")
            await click(lite, AISHA, r.update, "checkin.momentum", "4")  # type: ignore[arg-type]
            r = await click(lite, AISHA, r.update, "checkin.note")  # type: ignore[arg-type]
            assert r.form is not None
            await act(lite, AISHA, IK.SUBMIT, action_id=r.form.form_id, value=r.form.state,
                      fields={"note": "SECRET-NOTE", "share": "false"})
        clock.advance(timedelta(hours=6))
    digests = [s.message for s in fake.to("USAM") if s.message.kind == "nudge"]
    assert digests
    first = digests[0]
    text = visible(first)
    assert "\u201cLead the Q3 migration" in text and "\u2026" in text, "the goal is quoted and cut"
    assert first.meta["grounded"] is True and "Lead the Q3" in first.text, "the notification carries the action"
    assert len(text.split()) <= 60
    later = [visible(m) for m in digests[1:]]
    assert all("SECRET-NOTE" not in t for t in [text, *later])
    # The privacy promise is said once, in the kickoff, not under every check-in; the digest keeps it.
    assert msg is not None and "one word" not in visible(msg)
    kickoff = next(s.message for s in fake.to("UAISHA") if s.message.kind == "kickoff")
    assert "Your notes stay private unless you choose to share them." in visible(kickoff)
    assert all(not re.search(r"\b[1-5]/5\b|\b[1-5] [1-5]\b", t) for t in [text, *later]), "no raw momentum numbers"
    assert any(re.search(r"Momentum: (rising|steady|dipping)", t) for t in later)
    # the sponsor's tap becomes part of the pair's story
    done = next(b for blk in first.blocks if isinstance(blk, Buttons) for b in blk.buttons if b.style == "primary")
    r = await act(lite, SAM, IK.ACTION, action_id=done.action_id, value=done.value)
    assert r.update is not None and done.label in r.update.text


async def test_my_data_help_and_me_say_the_same_as_the_footer(lite: Momentum) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    promise = "sees your momentum as one word, never your notes unless you share one"
    assert promise in builtin("sponsorship").text("privacy.checkin")
    r = await command(lite, AISHA, "help")
    assert r.reply is not None and promise in r.reply.as_plain_text()
    r = await command(lite, AISHA, "me")
    assert r.reply is not None and "Sam " + promise in r.reply.as_plain_text()
    r = await command(lite, AISHA, "my-data")
    assert r.attachment is not None and promise in r.attachment.content


# --- nothing dropped ----------------------------------------------------------------------------

async def test_a_snoozed_sponsor_still_gets_the_agenda_after_the_break(
        lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    await command(lite, AISHA, "meet thu 15:00 weekly")
    r = await command(lite, SAM, "snooze 3w")
    assert r.reply and "Snoozed" in r.reply.text
    prep = None
    for _ in range(20 * 4):
        lite.plan()
        await lite.deliver_due()
        preps = [s.message for s in fake.to("UAISHA") if s.message.kind == "prep"]
        if preps:
            prep = preps[0]
            break
        clock.advance(timedelta(hours=6))
    assert prep is not None
    r = await click(lite, AISHA, prep, "prep.open")
    assert r.form is not None
    sent = await act(lite, AISHA, IK.SUBMIT, action_id=r.form.form_id, value=r.form.state,
                     fields={"update": "Draft out", "ask": "Intro to Priya?", "share": "true"})
    assert sent.reply is not None
    with lite.db.session() as s:
        sam = s.exec(select(Person).where(Person.external_id == "USAM")).one()
        away = sam.snoozed_until is not None and sam.snoozed_until > clock.now()
    assert away and "break" in sent.reply.text, "the sender is told the truth"
    for _ in range(12 * 4):
        lite.plan()
        await lite.deliver_due()
        clock.advance(timedelta(hours=6))
    agendas = [s for s in fake.to("USAM") if s.message.kind == "agenda"]
    assert len(agendas) == 1, "delayed by the snooze, delivered once, never cancelled"
    with lite.db.session() as s:
        assert not s.exec(select(Prompt).where(Prompt.kind == "agenda", Prompt.status == "cancelled")).all()


async def test_a_digest_snooze_snoozes_the_digest_only(lite: Momentum, fake: RecordingPlatform,
                                                         clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    await _deliver_days(lite, clock, 10)
    digest = next(s.message for s in fake.to("USAM") if s.message.kind == "nudge")
    r = await click(lite, SAM, digest, "nudge.snooze")
    assert r.update is not None and "Nothing" in r.update.text
    with lite.db.session() as s:
        sam = s.exec(select(Person).where(Person.external_id == "USAM")).one()
        pair = s.exec(select(Pair)).one()
        assert sam.snoozed_until is None and pair.digest_snoozed_until is not None
    before = len([x for x in fake.to("USAM") if x.message.kind == "nudge"])
    await command(lite, AISHA, "win Shipped the deck")
    await _deliver_days(lite, clock, 6)
    assert len([x for x in fake.to("USAM") if x.message.kind == "nudge"]) == before, "no digest for a week"
    await _deliver_days(lite, clock, 10)
    assert len([x for x in fake.to("USAM") if x.message.kind == "nudge"]) > before, "then they come back"


async def test_later_sets_a_reminder_and_paying_it_forward_reaches_the_admins(
        lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)], extra="--weeks 6")
    await command(lite, AISHA, "log meeting")  # a pair that met is invited to sponsor or mentor next time
    await _deliver_days(lite, clock, 5 * 7)
    review = next(s.message for s in fake.to("UAISHA") if s.message.kind == "review")
    r = await click(lite, AISHA, review, "review.later")
    assert r.update is not None and "remind" in r.update.text
    with lite.db.session() as s:
        reminder = s.exec(select(Prompt).where(Prompt.kind == "review", Prompt.period.endswith("-later"))).one()  # type: ignore[union-attr]
        assert reminder.due_at > clock.now() + timedelta(days=2)
    await _deliver_days(lite, clock, 10)
    wrap = next(s.message for s in fake.to("UAISHA") if s.message.kind == "wrapup")
    r = await click(lite, AISHA, wrap, "wrapup.forward")
    assert r.update is not None
    await lite.deliver_due()
    alerts = [s for s in fake.to("UADMIN") if s.message.kind == "forward_alert"]
    assert alerts and "Aisha" in visible(alerts[0].message)
    with lite.db.session() as s:
        assert s.exec(select(AuditLog).where(AuditLog.action == "pay_it_forward")).one()


async def test_prep_only_with_a_rhythm_and_book_a_chat_without(lite: Momentum, fake: RecordingPlatform,
                                                               clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    await _deliver_days(lite, clock, 21)
    assert not [s for s in fake.to("UAISHA") if s.message.kind == "prep"], "no meeting, no prep"
    books = [s.message for s in fake.to("UAISHA") if s.message.kind == "checkin" and s.message.meta.get("slots")]
    assert books, "without a rhythm the check-in offers to book a chat, with times for both"
    r = await command(lite, AISHA, "meet thu 15:00 2w")
    assert r.reply and "every 2 weeks" in r.reply.text
    await _deliver_days(lite, clock, 21)
    assert [s for s in fake.to("UAISHA") if s.message.kind == "prep"]


async def test_proposed_slots_fall_inside_both_working_days_and_show_both_zones(
        lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    await _deliver_days(lite, clock, 10)
    checkin = next(s.message for s in fake.to("UAISHA") if s.message.kind == "checkin")
    r = await click(lite, AISHA, checkin, "checkin.status", "not_yet")
    assert r.update is not None
    starts = r.update.meta["slots"]
    assert len(starts) == 2
    for iso in starts:
        t = datetime.fromisoformat(iso)
        for tz in ("Europe/London", "America/New_York"):
            local = t.astimezone(ZoneInfo(tz))
            assert local.weekday() < 5 and 9 <= local.hour < 18, (tz, local)
    text = visible(r.update)
    assert "(you)" in text and "(Sam)" in text and "Teams" in text and "Google" in text
    links = [s.url for b in r.update.blocks if isinstance(b, Paragraph) for s in b.spans if isinstance(s, Link)]
    assert any("teams.microsoft.com" in u for u in links) and any("sam@example.com" in u for u in links)


# --- holidays and quiet times -----------------------------------------------------------------------

async def test_nobody_is_prompted_on_their_own_public_holiday_nor_between_christmas_and_new_year(
        lite: Momentum, fake: RecordingPlatform) -> None:
    clock = lite.clock
    assert isinstance(clock, FakeClock)
    clock.set(datetime(2026, 12, 7, 6, tzinfo=UTC))
    await setup_program(lite, [(SAM, AISHA)], extra="--weeks 20")
    for _ in range(6 * 7 * 2):
        lite.plan()
        await lite.deliver_due()
        clock.advance(timedelta(hours=12))
    with lite.db.session() as s:
        people = {p.id: p for p in s.exec(select(Person)).all()}
        sent = s.exec(select(Prompt).where(Prompt.status == "sent")).all()
    from bot.content.holidays import is_public_holiday
    assert sent
    for p in sent:
        who = people[p.recipient_id]
        local = p.sent_at.astimezone(ZoneInfo(who.tz or "UTC")).date()  # type: ignore[union-attr]
        if p.kind in ("agenda", "shared_note", "stall_alert", "forward_alert"):
            continue
        assert not is_public_holiday(who.country, local), (p.kind, who.name, local)
        assert not ((local.month == 12 and local.day >= 24) or (local.month == 1 and local.day == 1)), (p.kind, local)


async def test_holiday_greetings_are_celebratory_and_at_most_four_a_year(
        lite: Momentum, fake: RecordingPlatform) -> None:
    clock = lite.clock
    assert isinstance(clock, FakeClock)
    await setup_program(lite, [(SAM, AISHA)], extra="--weeks 52")
    for _ in range(53 * 7):
        lite.plan()
        await lite.deliver_due()
        clock.advance(timedelta(days=1))
    greetings = [s.message for s in fake.sent if s.message.meta.get("holiday")]
    for who in ("UAISHA", "USAM"):
        mine = [s.message for s in fake.to(who) if s.message.meta.get("holiday")]
        assert len(mine) <= 4
    texts = " ".join(visible(m) for m in greetings)
    assert greetings, "a celebratory day of the partner gets a greeting idea"
    assert not re.search(r"Good Friday|Memorial|Remembrance|observed|estimated", texts)
    # named as the partner's country's public holiday, never as their faith, and one greeting per holiday
    assert not re.search(r"celebrat", texts, re.I)
    from bot.content.holidays import catalogue
    for who, partner_country, country in (("UAISHA", "US", "the United States"), ("USAM", "GB", "the United Kingdom")):
        mine = [visible(s.message) for s in fake.to(who) if s.message.meta.get("holiday")]
        assert all(f"public holiday in {country}" in t for t in mine), mine
        for name in {d.name for d in catalogue().countries[partner_country].days}:
            said = [t for t in mine if re.search(rf"\b{re.escape(name)}\b", t)]
            assert len(said) <= 1, (who, name, said)


async def test_momentum_word_in_the_digest_never_numbers(lite: Momentum) -> None:
    ctx = preview._ctx(PromptKind.NUDGE, "coach", 8, "senior", digest=prompts.Digest(trend=(2, 2, 4, 5)))
    text = visible(prompts.nudge(ctx))
    assert "Momentum: rising" in text and "5" not in text.split("Momentum:")[1].split("\n")[0]
    with pytest.raises(KeyError):
        builtin("sponsorship").lines("no.such.slot")
    assert CheckIn  # the table the footer speaks about


async def test_the_kickoff_agreement_sets_the_rhythm_the_first_goal_and_reaches_the_partner(
        lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    await _deliver_days(lite, clock, 2)
    kickoff = next(s.message for s in fake.sent if s.message.kind == "kickoff")
    assert len(visible(kickoff).split()) <= 60 and "outside your reporting line" in visible(kickoff)
    r = await click(lite, AISHA, kickoff, "kickoff.agree")
    assert r.form is not None
    missing = await act(lite, AISHA, IK.SUBMIT, action_id=r.form.form_id, value=r.form.state,
                        fields={"want": "", "lead": "A team lead role by Q4", "rhythm": "1", "when": "noon"})
    assert missing.errors and "want" in missing.errors, "a kind inline error; nothing saved"
    with lite.db.session() as s:
        assert s.exec(select(Pair)).one().agreed_at is None
    # what people naturally write is accepted ("Thursday afternoons at 3")
    ok = await act(lite, AISHA, IK.SUBMIT, action_id=r.form.form_id, value=r.form.state,
                   fields={"want": "Honest feedback", "lead": "A team lead role by Q4", "rhythm": "1",
                           "when": "Thursday afternoons at 3pm"})
    assert ok.reply and "shared with Sam" in ok.reply.text
    with lite.db.session() as s:
        pair = s.exec(select(Pair)).one()
        assert pair.agreed_at is not None and pair.meet_every == 1 and pair.meet_weekday == 3
        assert pair.meet_time == "15:00" and pair.agreement_lead == "A team lead role by Q4"
        goals = s.exec(select(Goal)).all()
        assert [g.text for g in goals] == ["A team lead role by Q4"]
    await deliver_within(lite, clock)  # shared words wait for Sam's day
    shared = [s.message for s in fake.to("USAM") if s.message.kind == "shared_note"]
    assert shared and "A team lead role by Q4" in visible(shared[0])
