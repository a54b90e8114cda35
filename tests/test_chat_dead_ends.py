"""Admin commands that used to dead-end or guess, driven through ``Momentum.handle`` as an admin types
them: a pair named in two programs, a kind-like typo at the end of a program name, a re-import with new
units and attributes, roles the other way round, an admin or a sponsor paired, and ``forget``'s answer."""

from __future__ import annotations

from sqlmodel import select

from bot.app import Momentum
from storage.models import AuditLog, Pair, Person, PersonAttribute, Program
from tests.fakes import ADMIN, RecordingPlatform, command, person, setup_program

SAM = person("USAM", "Sam Rivera", "America/New_York", country="US")
AISHA = person("UAISHA", "Aisha Khan", "Europe/London", country="GB")
LEE = person("ULEE", "Lee Chen", "Asia/Singapore", country="SG")
KIM = person("UKIM", "Kim Park", "Asia/Seoul", country="KR")


def mention(p: object) -> str:
    return f"<@{p.external_id}>"  # type: ignore[attr-defined]


def pairs(m: Momentum) -> list[tuple[str, str, str, str]]:
    with m.db.session() as s:
        out = []
        for pair in s.exec(select(Pair).order_by(Pair.id)).all():  # type: ignore[arg-type]
            prog = s.get(Program, pair.program_id)
            sp, se = s.get(Person, pair.sponsor_id), s.get(Person, pair.sponsoree_id)
            assert prog and sp and se
            out.append((prog.name, sp.external_id, se.external_id, pair.status))
        return out


async def test_a_pair_in_two_programs_is_ended_or_paused_by_naming_the_program(lite: Momentum) -> None:
    await setup_program(lite, [(SAM, AISHA)], name="Pilot")
    await setup_program(lite, [(SAM, AISHA)], name="Autumn")
    before = pairs(lite)
    r = await command(lite, ADMIN, f"end-pair {mention(SAM)} {mention(AISHA)}")
    assert r.reply is not None
    text = r.reply.as_plain_text()
    assert "Sam Rivera and Aisha Khan are paired in 2 programs (Pilot, Autumn)" in text, text
    assert "`end-pair @sponsor @sponsoree Pilot`" in text and "Nothing was changed" in text
    assert pairs(lite) == before
    r = await command(lite, ADMIN, f"pause-pair {mention(SAM)} {mention(AISHA)} Autumn")
    assert r.reply and "Paused Sam Rivera and Aisha Khan" in r.reply.text, r.reply
    r = await command(lite, ADMIN, f"end-pair {mention(SAM)} {mention(AISHA)} Pilot")
    assert r.reply and "Ended Sam Rivera and Aisha Khan's pairing" in r.reply.text, r.reply
    assert pairs(lite) == [("Pilot", "USAM", "UAISHA", "ended"), ("Autumn", "USAM", "UAISHA", "paused")]
    r = await command(lite, ADMIN, f"pause-pair {mention(AISHA)} Autumn resume")
    assert r.reply and "Resumed" in r.reply.text
    # one person in two programs: the answer names the programs and the way to pick one
    await setup_program(lite, [(SAM, LEE)], name="Winter")
    r = await command(lite, ADMIN, f"unpair {mention(SAM)}")
    assert r.reply and "Sam Rivera is in 2 pairs (Autumn, Winter)" in r.reply.as_plain_text(), r.reply
    r = await command(lite, ADMIN, f"end-pair {mention(LEE)} Pilot")
    assert r.reply and "Lee Chen is not in an active pair in Pilot. Nothing was changed." in r.reply.text
    assert pairs(lite)[-1] == ("Winter", "USAM", "ULEE", "active")


async def test_a_kind_like_last_word_is_refused_and_a_quoted_name_is_kept(lite: Momentum) -> None:
    r = await command(lite, ADMIN, "program create Autumn 2027 mentorship")
    assert r.reply is not None
    text = r.reply.as_plain_text()
    assert "mentorship isn't a program kind; did you mean mentoring?" in text, text
    assert "`program create Autumn 2027 mentoring`" in text and "quote the name" in text
    assert "`program create \"Autumn 2027 mentorship\"`" in text and "Nothing was created" in text
    with lite.db.session() as s:
        assert s.exec(select(Program)).all() == []
    r = await command(lite, ADMIN, "program create Spring sponsorhip")
    assert r.reply and "did you mean sponsorship?" in r.reply.text
    r = await command(lite, ADMIN, 'program create "Autumn 2027 mentorship"')
    assert r.reply and "Created Autumn 2027 mentorship (sponsorship" in r.reply.text, r.reply
    r = await command(lite, ADMIN, "program create Autumn 2027 mentoring")
    assert r.reply and "Created Autumn 2027 (mentoring" in r.reply.text, r.reply
    r = await command(lite, ADMIN, "program create Leaders 2027")  # not kind-like: part of the name
    assert r.reply and "Created Leaders 2027 (sponsorship" in r.reply.text, r.reply


async def test_a_reimport_takes_new_units_and_attributes_and_says_so(lite: Momentum, fake: RecordingPlatform) -> None:
    people = [person(f"U{i}", f"Person {i}", email=f"p{i}@example.com") for i in range(4)]
    fake.people.update({p.external_id: p for p in people})
    await command(lite, ADMIN, "program create Pilot")
    first = ("sponsor_email,sponsoree_email,program,unit,sponsor_unit,level\n"
             "p0@example.com,p1@example.com,Pilot,Sales,Ops,L3\n"
             "p2@example.com,p3@example.com,Pilot,Ops,Finance,L4\n")
    r = await command(lite, ADMIN, "import\n" + first)
    assert r.reply and "Imported 2 new pair(s)" in r.reply.as_plain_text()
    assert "Kept each sponsoree's level (2 value(s))" in r.reply.as_plain_text()
    again = ("sponsor_email,sponsoree_email,program,unit,sponsor_unit,level\n"
             "p0@example.com,p1@example.com,Pilot,Marketing,Ops,L4\n"
             "p2@example.com,p3@example.com,Pilot,Ops,Ops,L4\n")
    r = await command(lite, ADMIN, "import\n" + again)
    assert r.reply is not None
    text = r.reply.as_plain_text()
    assert "Imported 0 new pair(s); 2 already existed" in text
    assert "Updated the unit of 2 person(s) already paired: Person 1 (Sales \u2192 Marketing), " \
           "Person 2 (Finance \u2192 Ops)." in text, text
    assert "Note, same unit" not in text  # the same-unit heads-up is for new pairs
    with lite.db.session() as s:
        units = {p.email: p.unit for p in s.exec(select(Person)).all()}
        assert units["p1@example.com"] == "Marketing" and units["p2@example.com"] == "Ops"
        same = {s.get(Person, p.sponsoree_id).email: p.same_unit for p in s.exec(select(Pair)).all()}  # type: ignore[union-attr]
        assert same == {"p1@example.com": False, "p3@example.com": True}
        levels = {(a.person_id, a.value) for a in s.exec(select(PersonAttribute)).all()}
        assert {v for _, v in levels} == {"L4"} and len(levels) == 2
        audit = s.exec(select(AuditLog).where(AuditLog.action == "pairs.import").order_by(AuditLog.id.desc())).first()  # type: ignore[union-attr]
        assert audit is not None and audit.detail and audit.detail["units"] == 2
    # the same file a third time changes nothing and says nothing about units
    r = await command(lite, ADMIN, "import\n" + again)
    assert r.reply and "Updated the unit" not in r.reply.as_plain_text()


async def test_roles_the_other_way_round_warn_in_chat_and_in_an_import(lite: Momentum,
                                                                        fake: RecordingPlatform) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    r = await command(lite, ADMIN, f"pair {mention(AISHA)} {mention(SAM)} Pilot")
    assert r.reply is not None
    text = r.reply.as_plain_text()
    assert "Paired Aisha Khan" in text
    assert ("Note: in Pilot, Sam Rivera is already a sponsor and Aisha Khan a sponsoree, the other way round."
            in text), text
    people = [person(f"U{i}", f"Person {i}", email=f"p{i}@example.com") for i in range(2)]
    fake.people.update({p.external_id: p for p in people})
    head = "import\nsponsor_email,sponsoree_email,program\n"
    await command(lite, ADMIN, head + "p0@example.com,p1@example.com,Pilot\n")
    r = await command(lite, ADMIN, head + "p1@example.com,p0@example.com,Pilot\n")
    assert r.reply is not None
    assert ("Line 2: Person 1 and Person 0 are already paired the other way round in Pilot "
            "(Person 0 sponsors Person 1)") in r.reply.as_plain_text(), r.reply.as_plain_text()


async def test_pairing_two_sponsors_or_an_admin_warns(lite: Momentum) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    await command(lite, LEE, "help")  # Lee introduces themselves (profile stored)
    r = await command(lite, ADMIN, f"pair {mention(LEE)} {mention(SAM)} Pilot")
    assert r.reply is not None
    text = r.reply.as_plain_text()
    assert "Paired Lee Chen" in text
    assert "Note: Sam Rivera is already a sponsor in Pilot, so this pairs two sponsors." in text, text
    await command(lite, KIM, "help")
    r = await command(lite, ADMIN, f"pair {mention(ADMIN)} {mention(KIM)} Pilot")
    assert r.reply is not None
    text = r.reply.as_plain_text()
    assert "Paired Ada Admin" in text
    assert "Note: Ada Admin is a Momentum admin, so they see Pilot's reports and audit log" in text, text
    assert "two sponsors" not in text
    r = await command(lite, ADMIN, f"pair {mention(SAM)} {mention(AISHA)} Pilot")  # the same pair again
    assert r.reply and "already paired" in r.reply.text and "Note:" not in r.reply.text


async def test_forget_names_the_person_not_their_platform_id(lite: Momentum) -> None:
    await setup_program(lite, [(SAM, AISHA)])
    r = await command(lite, ADMIN, f"forget {mention(AISHA)}")
    assert r.reply is not None
    assert r.reply.text.startswith("Erased Aisha Khan's personal data"), r.reply.text
    assert "UAISHA" not in r.reply.text
    with lite.db.session() as s:
        p = s.exec(select(Person).where(Person.external_id == "UAISHA")).one()
        assert p.forgotten and "Aisha" not in p.name
