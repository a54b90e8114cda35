"""The conversation core driven as people would: commands, buttons, forms, privacy, admin rules."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import select

from bot.app import Momentum
from bot.model.clock import FakeClock
from bot.model.interactions import InteractionKind
from bot.model.signing import unsigned
from storage.models import AuditLog, CheckIn, Pair, Person, Program, Prompt, Touchpoint, Win
from tests.fakes import ADMIN, RecordingPlatform, act, button, click, command, deliver_within, person, setup_program

SAM = person("USAM", "Sam Rivera", "America/New_York", country="US")
AISHA = person("UAISHA", "Aisha Khan", "Europe/London", country="GB")
LEE = person("ULEE", "Lee Chen", "Asia/Singapore")
MIA = person("UMIA", "Mia Okafor", "Africa/Lagos")


async def first_checkin(m: Momentum, fake: RecordingPlatform, clock: FakeClock) -> object:
    for _ in range(14 * 24):
        m.plan()
        await m.deliver_due()
        found = [s for s in fake.to(AISHA.external_id) if s.message.kind == "checkin"]
        if found:
            return found[0].message
        clock.advance(timedelta(hours=1))
    raise AssertionError("no check-in within two weeks")


async def test_checkin_answer_records_once_and_updates_the_message(core: Momentum, fake: RecordingPlatform,
                                                                   clock: FakeClock) -> None:
    await setup_program(core, [(SAM, AISHA)])
    msg = await first_checkin(core, fake, clock)
    r = await click(core, AISHA, msg, "checkin.status", "met")  # type: ignore[arg-type]
    assert r.update is not None and "recorded: We met" in r.update.text
    assert not any(b.action_id == "checkin.status" for blk in r.update.blocks
                   for b in getattr(blk, "buttons", ())), "status buttons must be gone after answering"
    r2 = await click(core, AISHA, r.update, "checkin.momentum", "4")
    assert r2.update is not None and "momentum 4/5" in r2.update.text
    # Answering the same prompt again (a double tap, or "change answer") updates, never duplicates.
    await click(core, AISHA, msg, "checkin.status", "light")  # type: ignore[arg-type]
    with core.db.session() as s:
        checkins = s.exec(select(CheckIn)).all()
        touches = s.exec(select(Touchpoint).where(Touchpoint.source == "checkin")).all()
        pair = s.exec(select(Pair)).one()
    assert len(checkins) == 1 and checkins[0].status == "light" and checkins[0].momentum == 4
    assert len(touches) == 1 and touches[0].kind == "light"
    assert pair.checkins_answered == 1 and pair.unanswered_checkins == 0 and pair.last_touch_at is not None


async def test_momentum_first_then_status_counts_one_answered_checkin(lite: Momentum, fake: RecordingPlatform,
                                                                       clock: FakeClock) -> None:
    """The order of the two answers does not matter: one prompt answered is one check-in answered, in the
    pair's counters and in the admin's report."""
    await setup_program(lite, [(SAM, AISHA)])
    msg = await first_checkin(lite, fake, clock)
    # The momentum buttons follow the status answer in the message; a client that offers both at once (an
    # older message, a card with both inputs) can send momentum first, signed as the bot would sign it.
    status = button(msg, "checkin.status", "met")  # type: ignore[arg-type]
    pid = unsigned(status.value).split(":")[0]
    value = lite.signer.sign("checkin.momentum", f"{pid}:3", AISHA.external_id)
    r = await act(lite, AISHA, InteractionKind.ACTION, action_id="checkin.momentum", value=value)
    assert r.update is not None, r.reply
    await click(lite, AISHA, msg, "checkin.status", "met")  # type: ignore[arg-type]
    with lite.db.session() as s:
        pair = s.exec(select(Pair)).one()
        checkins = s.exec(select(CheckIn)).all()
    assert len(checkins) == 1 and checkins[0].status == "met" and checkins[0].momentum == 3
    assert pair.checkins_answered == 1 and pair.unanswered_checkins == 0
    report = (await command(lite, ADMIN, "report")).reply
    assert report is not None and "Check-ins answered (last 8 weeks): 100% (1 of 1)" in report.as_plain_text()


async def test_not_yet_gets_a_reframe_and_a_next_step_in_partners_time(lite: Momentum, fake: RecordingPlatform,
                                                                       clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    msg = await first_checkin(lite, fake, clock)
    r = await click(lite, AISHA, msg, "checkin.status", "not_yet")  # type: ignore[arg-type]
    text = r.update.as_plain_text() if r.update else ""
    assert "Sam" in text and "slot" in text and "(you)" in text and "(Sam)" in text  # both zones
    assert "sorry" not in text.lower() and "should have" not in text.lower()  # never guilt
    r2 = await click(lite, AISHA, r.update, "reframe.slot")  # type: ignore[arg-type]
    assert r2.update is not None


async def test_someone_else_cannot_answer_my_prompt(lite: Momentum, fake: RecordingPlatform,
                                                    clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    msg = await first_checkin(lite, fake, clock)
    r = await click(lite, LEE, msg, "checkin.status", "met")  # type: ignore[arg-type]
    assert r.reply and "someone else" in r.reply.text
    with lite.db.session() as s:
        assert s.exec(select(CheckIn)).all() == []


async def test_private_note_stays_private_unless_shared(lite: Momentum, fake: RecordingPlatform,
                                                        clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    msg = await first_checkin(lite, fake, clock)
    r = await click(lite, AISHA, msg, "checkin.status", "met")  # type: ignore[arg-type]
    r = await click(lite, AISHA, r.update, "checkin.note")  # type: ignore[arg-type]
    assert r.form is not None
    secret = "SECRET-NOTE: worried about my manager"
    r = await act(lite, AISHA, InteractionKind.SUBMIT, action_id=r.form.form_id, value=r.form.state,
                  fields={"note": secret, "share": "false"})
    assert r.reply and "private" in r.reply.text
    # Admin views never show it: report, export, audit.
    for text in ("report", "export", "audit 50", "program show Pilot"):
        out = await command(lite, ADMIN, text)
        blob = (out.reply.as_plain_text() if out.reply else "") + (out.attachment.content if out.attachment else "")
        assert "SECRET-NOTE" not in blob, text
    # Nothing went to Sam.
    await lite.deliver_due()
    assert not any("SECRET-NOTE" in s.message.as_plain_text() for s in fake.to(SAM.external_id))
    # Aisha's own data has it.
    mine = await command(lite, AISHA, "my-data")
    assert mine.attachment and "SECRET-NOTE" in mine.attachment.content
    assert json.loads(mine.attachment.content)["person"]["name"] == "Aisha Khan"


async def test_shared_note_reaches_the_partner(lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    msg = await first_checkin(lite, fake, clock)
    r = await click(lite, AISHA, msg, "checkin.status", "light")  # type: ignore[arg-type]
    r = await click(lite, AISHA, r.update, "checkin.note")  # type: ignore[arg-type]
    assert r.form is not None
    await act(lite, AISHA, InteractionKind.SUBMIT, action_id=r.form.form_id, value=r.form.state,
              fields={"note": "Great chat, deck by Friday", "share": "true"})
    await deliver_within(lite, clock)  # it waits for Sam's day
    shared = [s for s in fake.to(SAM.external_id) if s.message.kind == "shared_note"]
    assert len(shared) == 1 and "deck by Friday" in shared[0].message.as_plain_text()


async def test_empty_note_gets_an_inline_error_and_changes_nothing(lite: Momentum, fake: RecordingPlatform,
                                                                   clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    msg = await first_checkin(lite, fake, clock)
    r = await click(lite, AISHA, msg, "checkin.status", "met")  # type: ignore[arg-type]
    r = await click(lite, AISHA, r.update, "checkin.note")  # type: ignore[arg-type]
    assert r.form is not None
    r = await act(lite, AISHA, InteractionKind.SUBMIT, action_id=r.form.form_id, value=r.form.state,
                  fields={"note": "  "})
    assert r.errors == {"note": "Please fill this in."}
    with lite.db.session() as s:
        assert [c.note for c in s.exec(select(CheckIn)).all()] == [None]


async def test_non_admin_is_refused_nothing_changes_and_it_is_audited(lite: Momentum) -> None:
    r = await command(lite, AISHA, "program create Sneaky")
    assert r.reply and "Only Momentum admins" in r.reply.text and "Nothing was changed" in r.reply.text
    with lite.db.session() as s:
        assert s.exec(select(Program)).all() == []
        refused = s.exec(select(AuditLog).where(AuditLog.action == "refused.program")).all()
    assert len(refused) == 1 and refused[0].ok is False


async def test_audit_names_who_did_what_and_refusals(lite: Momentum) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    await command(lite, AISHA, "program create Sneaky")  # refused, and audited under Aisha's name
    r = await command(lite, ADMIN, "audit 5")
    shown = r.reply.as_plain_text() if r.reply else ""
    assert "Aisha Khan: refused.program" in shown and "(refused)" in shown.lower()
    assert f"{ADMIN.name}: pair" in shown or f"{ADMIN.name}: program" in shown, shown
    assert "Sam Rivera" not in shown  # only the people who acted are named


async def test_unknown_and_malformed_commands_get_short_help(lite: Momentum) -> None:
    for text in ("frobnicate", "time", "time blursday 25:00", "snooze forever", 'win "unbalanced', "log dance"):
        r = await command(lite, AISHA, text)
        assert r.reply is not None, text
        assert "Traceback" not in r.reply.as_plain_text()
    r = await command(lite, AISHA, "frobnicate")
    assert r.reply and "don't know" in r.reply.as_plain_text() and "help" in r.reply.as_plain_text()


async def test_time_command_refuses_quiet_hours_and_replans(lite: Momentum, fake: RecordingPlatform,
                                                            clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    r = await command(lite, AISHA, "time tue 22:30")
    assert r.reply and "quiet hours" in r.reply.text
    r = await command(lite, AISHA, "time thu 14:15")
    assert r.reply and "Thu" in r.reply.text
    clock.advance(timedelta(days=3))
    lite.plan()
    with lite.db.session() as s:
        me = s.exec(select(Person).where(Person.external_id == AISHA.external_id)).one()
        checkins = s.exec(select(Prompt).where(Prompt.recipient_id == me.id, Prompt.kind == "checkin")).all()
    assert checkins and all(p.due_at.weekday() == 3 for p in checkins)
    assert all(p.due_at.strftime("%H:%M") == "14:15" for p in checkins)  # London in winter = UTC


async def test_win_goal_and_sponsor_digest(lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    await command(lite, AISHA, "goal Lead the Q3 migration")
    r = await command(lite, AISHA, "win Shipped <!channel> & the revamp")
    assert r.reply and "shared with Sam" in r.reply.text
    await command(lite, AISHA, "win --private Kept this one")
    for _ in range(10 * 24):
        lite.plan()
        await lite.deliver_due()
        nudges = [s for s in fake.to(SAM.external_id) if s.message.kind == "nudge"]
        if nudges:
            break
        clock.advance(timedelta(hours=1))
    text = nudges[0].message.as_plain_text()
    assert "Lead the Q3 migration" in text and "Shipped <!channel> & the revamp" in text
    assert "Kept this one" not in text
    r = await click(lite, SAM, nudges[0].message, "nudge.done")
    assert r.update is not None
    with lite.db.session() as s:
        assert s.exec(select(Touchpoint).where(Touchpoint.kind == "advocacy")).one()
        assert len(s.exec(select(Win)).all()) == 2


async def test_snooze_pause_stop_resume(lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    r = await command(lite, AISHA, "snooze 2w")
    assert r.reply and "Snoozed until" in r.reply.text
    for _ in range(13 * 24):
        lite.plan()
        await lite.deliver_due()
        clock.advance(timedelta(hours=1))
    assert [s for s in fake.to(AISHA.external_id) if s.message.kind == "checkin"] == []
    assert [s for s in fake.to(SAM.external_id) if s.message.kind == "nudge"], "the partner is not affected"
    await command(lite, AISHA, "stop")
    await command(lite, AISHA, "resume")
    for _ in range(8 * 24):
        lite.plan()
        await lite.deliver_due()
        clock.advance(timedelta(hours=1))
    assert [s for s in fake.to(AISHA.external_id) if s.message.kind == "checkin"]


async def test_me_shows_pair_and_next_prompt(lite: Momentum, fake: RecordingPlatform) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    r = await command(lite, AISHA, "me")
    text = r.reply.as_plain_text() if r.reply else ""
    assert "Sam Rivera" in text and "Next prompt" in text and "sponsoree" in text


async def test_program_list_counts_each_programs_active_pairs(lite: Momentum) -> None:
    await setup_program(lite, [(SAM, AISHA)])  # "Pilot", one pair
    await command(lite, ADMIN, "program create Second")
    await command(lite, ADMIN, f"pair <@{LEE.external_id}> <@{MIA.external_id}> Second")

    async def listed() -> dict[str, str]:
        r = await command(lite, ADMIN, "program list")
        return dict(r.reply.blocks[1].items) if r.reply else {}  # type: ignore[attr-defined]

    lines = await listed()
    assert "1 active pairs" in lines["Pilot"] and "1 active pairs" in lines["Second"], lines
    await command(lite, ADMIN, f"end-pair <@{LEE.external_id}>")  # ended: no longer counted
    lines = await listed()
    assert "1 active pairs" in lines["Pilot"] and "0 active pairs" in lines["Second"], lines


async def test_admin_grant_and_remove(lite: Momentum) -> None:
    r = await command(lite, ADMIN, f"admin add <@{LEE.external_id}>")
    assert r.reply and "can now" in r.reply.text
    r = await command(lite, LEE, "program create Lee's")
    assert r.reply and "Created" in r.reply.text
    await command(lite, ADMIN, f"admin remove <@{LEE.external_id}>")
    r = await command(lite, LEE, "program list")
    assert r.reply and "Only Momentum admins" in r.reply.text


async def test_pair_rules_and_lifecycle(lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    r = await command(lite, ADMIN, f"pair <@{SAM.external_id}> <@{AISHA.external_id}> Pilot")
    assert r.reply and "already paired" in r.reply.text
    r = await command(lite, ADMIN, f"pair <@{LEE.external_id}> <@{AISHA.external_id}>")
    assert r.reply and "already paired with Sam" in r.reply.text
    r = await command(lite, ADMIN, f"pair <@{SAM.external_id}> <@{SAM.external_id}>")
    assert r.reply and "themselves" in r.reply.text
    r = await command(lite, ADMIN, f"pause-pair <@{AISHA.external_id}>")
    assert r.reply and "Paused" in r.reply.text
    lite.plan()
    with lite.db.session() as s:
        assert s.exec(select(Prompt).where(Prompt.status == "pending")).all() == []
    await command(lite, ADMIN, f"pause-pair <@{AISHA.external_id}> resume")
    r = await command(lite, ADMIN, f"end-pair <@{AISHA.external_id}>")
    assert r.reply and "wrap-up" in r.reply.text
    await lite.deliver_due()
    assert {s.to[0] for s in fake.sent if s.message.kind == "wrapup"} == {SAM.external_id, AISHA.external_id}


async def test_csv_import_validates_all_then_imports_atomically(lite: Momentum, fake: RecordingPlatform) -> None:
    people = [person(f"U{i}", f"Person {i}", email=f"p{i}@example.com") for i in range(6)]
    fake.people.update({p.external_id: p for p in people})
    await command(lite, ADMIN, "program create Pilot")
    bad = ("sponsor_email,sponsoree_email,program,unit\n"
           "p0@example.com,p1@example.com,Pilot,Sales\n"
           "not-an-email,p2@example.com,Pilot,\n"
           "p3@example.com,p3@example.com,Pilot,\n"
           "p4@example.com,nobody@example.com,Pilot,\n"
           "p4@example.com,p5@example.com,Nope,\n")
    r = await command(lite, ADMIN, "import")
    assert r.form is not None
    r = await act(lite, ADMIN, InteractionKind.SUBMIT, action_id=r.form.form_id, value="", fields={"csv": bad})
    assert r.errors and "csv" in r.errors
    # What can be checked without the platform is checked first, before any look-up.
    for line in ("Line 3", "Line 4", "Line 6"):
        assert line in r.errors["csv"], line
    assert "Line 2" not in r.errors["csv"] and "Line 5" not in r.errors["csv"]
    fixed = ("sponsor_email,sponsoree_email,program,unit\n"
             "p0@example.com,p1@example.com,Pilot,Sales\n"
             "p4@example.com,nobody@example.com,Pilot,\n")
    r = await act(lite, ADMIN, InteractionKind.SUBMIT, action_id="admin.import", value="", fields={"csv": fixed})
    assert r.errors and "Line 3: nobody with the email nobody@example.com" in r.errors["csv"]
    with lite.db.session() as s:
        assert s.exec(select(Pair)).all() == [], "all or nothing"
    good = ("sponsor_email,sponsoree_email,program,unit,sponsor_unit\n"
            "p0@example.com,p1@example.com,Pilot,Sales,Sales\n"
            "p2@example.com,p3@example.com,Pilot,Ops,Finance\n")
    r = await act(lite, ADMIN, InteractionKind.SUBMIT, action_id="admin.import", value="", fields={"csv": good})
    assert r.reply and "Imported 2 new pair(s)" in r.reply.as_plain_text()
    assert "same unit" in r.reply.as_plain_text()
    r = await act(lite, ADMIN, InteractionKind.SUBMIT, action_id="admin.import", value="", fields={"csv": good})
    assert r.reply and "Imported 0 new pair(s); 2 already existed" in r.reply.as_plain_text()
    with lite.db.session() as s:
        assert len(s.exec(select(Pair)).all()) == 2


async def test_forget_erases_personal_data(lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    await command(lite, AISHA, "win Something personal")
    await command(lite, AISHA, "log meeting we talked about my health")
    r = await command(lite, AISHA, f"forget <@{AISHA.external_id}>")
    assert r.reply and "Only Momentum admins" in r.reply.text
    r = await command(lite, ADMIN, f"forget <@{AISHA.external_id}>")
    assert r.reply and "Erased" in r.reply.text
    with lite.db.session() as s:
        p = s.exec(select(Person).where(Person.external_id == AISHA.external_id)).one()
        assert p.email is None and p.forgotten and "Aisha" not in p.name
        assert s.exec(select(Win)).all() == []
        assert all(t.note is None for t in s.exec(select(Touchpoint)).all())
        assert s.exec(select(AuditLog).where(AuditLog.action == "person.forget")).one()
    export = await command(lite, ADMIN, "export")
    assert export.attachment and "Aisha" not in export.attachment.content


async def test_retried_event_is_processed_once(lite: Momentum, fake: RecordingPlatform) -> None:
    await command(lite, ADMIN, "program create Pilot")
    r1 = await act(lite, AISHA, InteractionKind.MESSAGE, text="win first", event_id="Ev1")
    r2 = await act(lite, AISHA, InteractionKind.MESSAGE, text="win first", event_id="Ev1")
    assert r2.duplicate and not r1.duplicate


async def test_plain_message_gets_a_friendly_pointer(lite: Momentum) -> None:
    r = await act(lite, AISHA, InteractionKind.MESSAGE, text="hey there, how does this work?")
    assert r.reply and "help" in r.reply.text


async def test_report_shows_health_and_stalled_pairs(lite: Momentum, fake: RecordingPlatform,
                                                     clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA), (LEE, person("UBO", "Bo Park"))])
    await command(lite, AISHA, "log meeting")
    clock.advance(timedelta(days=25))
    await command(lite, AISHA, "log light")
    r = await command(lite, ADMIN, "report")
    text = r.reply.as_plain_text() if r.reply else ""
    assert "Active pairs: 2" in text and "In contact (last 14 days): 50% of active pairs" in text
    assert "Stalled pairs" in text and "Lee Chen" in text


async def test_unsharing_or_editing_a_note_before_delivery_sends_only_the_latest_choice(
        lite: Momentum, fake: RecordingPlatform, clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    msg = await first_checkin(lite, fake, clock)
    r = await click(lite, AISHA, msg, "checkin.status", "met")  # type: ignore[arg-type]
    form = (await click(lite, AISHA, r.update, "checkin.note")).form  # type: ignore[arg-type]
    assert form is not None

    async def save(text: str, share: str) -> None:
        await act(lite, AISHA, InteractionKind.SUBMIT, action_id=form.form_id, value=form.state,
                  fields={"note": text, "share": share})

    await save("first draft v1", "true")
    await save("oops keep private", "false")
    await lite.deliver_due()
    assert not [s for s in fake.to(SAM.external_id) if s.message.kind == "shared_note"], "withdrawn in time"
    await save("final words", "true")
    await save("final words, edited", "true")
    await deliver_within(lite, clock)
    got = [s.message.as_plain_text() for s in fake.to(SAM.external_id) if s.message.kind == "shared_note"]
    assert len(got) == 1 and "final words, edited" in got[0]
    await save("final words, edited", "true")  # saving the same words again sends nothing new
    await save("a later addition", "true")  # new words after delivery go out as a new copy
    await deliver_within(lite, clock)
    got = [s.message.as_plain_text() for s in fake.to(SAM.external_id) if s.message.kind == "shared_note"]
    assert len(got) == 2 and "a later addition" in got[1]


async def test_forget_also_erases_words_shared_with_the_partner(lite: Momentum, fake: RecordingPlatform,
                                                                clock: FakeClock) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    msg = await first_checkin(lite, fake, clock)
    form = (await click(lite, AISHA, msg, "checkin.status", "met")).update  # type: ignore[arg-type]
    form = (await click(lite, AISHA, form, "checkin.note")).form  # type: ignore[arg-type]
    assert form is not None
    await act(lite, AISHA, InteractionKind.SUBMIT, action_id=form.form_id, value=form.state,
              fields={"note": "SHARED-SECRET", "share": "true"})
    await command(lite, ADMIN, f"forget <@{AISHA.external_id}>")
    with lite.db.session() as s:
        blobs = [json.dumps(p.payload) for p in s.exec(select(Prompt)).all()]
    assert not any("SHARED-SECRET" in b for b in blobs)


async def test_export_defuses_spreadsheet_formulas_in_names(lite: Momentum) -> None:
    evil = person("UEVIL", "=HYPERLINK(\"http://x\",\"hi\")")
    await setup_program(lite, [(SAM, evil)])
    out = await command(lite, ADMIN, "export")
    assert out.attachment is not None
    assert "'=HYPERLINK" in out.attachment.content and ",=HYPERLINK" not in out.attachment.content
