"""Authorization matrix: every button and form the bot sends, tried by everyone who could forge it.

Every prompt kind is delivered for real (planner rows, delivery worker, signed messages). For each
button the bot sends (and each one that appears after an answer, and each form a button opens),
the click is tried as the intended person (works), as the partner, as another pair's member and as
an admin (refused: nothing changes, the refusal is audited), with its value pointed at a prompt of
every other kind (refused, even when correctly signed), and with an edited or missing signature.
Runs on SQLite and PostgreSQL, for Slack and Teams interactions.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select

from bot.app import Momentum
from bot.chat import preview
from bot.chat.entry import ACTIONS, FORMS, HOME_ACTIONS
from bot.model.clock import FakeClock
from bot.model.config import Settings
from bot.model.interactions import Interaction, InteractionKind, Profile, Response
from bot.model.messages import Buttons, Choice, Form, Message
from bot.model.signing import SEP, unsigned
from storage.db import Database
from storage.models import AuditLog, Goal, Pair, Person, Prompt, Touchpoint
from tests.fakes import ADMIN, WS, RecordingPlatform, person, setup_program

SAM = person("USAM", "Sam Rivera", "America/New_York", country="US")
AISHA = person("UAISHA", "Aisha Khan", "Europe/London", country="GB")
LEE = person("ULEE", "Lee Chen", "Asia/Singapore")
KENJI = person("UKENJI", "Kenji Sato", "Asia/Tokyo")

# Who receives each prompt kind (the kickoff goes to both together).
RECIPIENTS: dict[str, tuple[str, ...]] = {
    "kickoff": ("pair",), "followup": ("pair",), "checkin": ("junior",), "prep": ("junior",),
    "ask_goal": ("junior",), "nudge": ("senior",), "review": ("junior", "senior"), "wrapup": ("junior", "senior"),
}
TABLES = ("checkin", "touchpoint", "agenda", "win", "goal", "pair")


@pytest.fixture(params=["slack", "teams"])
def platform_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def setup(db: Database, settings: Settings, clock: FakeClock, platform_name: str) -> Iterator[Any]:
    fake = RecordingPlatform(name=platform_name)
    m = Momentum(db, settings, clock, {platform_name: fake})
    yield m, fake, platform_name


def state(m: Momentum) -> dict[str, Any]:
    """Everything an answer could change (the audit log aside)."""
    out: dict[str, Any] = {}
    with m.db.engine.connect() as c:
        for t in TABLES:
            out[t] = sorted(tuple(map(str, r)) for r in c.execute(text(f"SELECT * FROM {t}")))
        out["prompt"] = sorted(tuple(map(str, r)) for r in c.execute(text(
            "SELECT id, status, answer, answered_at, payload FROM prompt")))
        out["person"] = sorted(tuple(map(str, r)) for r in c.execute(text(
            "SELECT id, opted_out, paused, snoozed_until, prompt_time, prompt_weekday FROM person")))
    return out


def refusals(m: Momentum) -> int:
    with m.db.session() as s:
        return len(s.exec(select(AuditLog).where(AuditLog.ok == False)).all())  # noqa: E712


async def act(m: Momentum, plat: str, who: Profile, kind: InteractionKind, action_id: str, value: str,
              fields: dict[str, str] | None = None) -> Response:
    return await m.handle(Interaction(plat, WS, who.external_id, kind, action_id=action_id, value=value,
                                      fields=fields or {}, profile=who))


def is_refusal(r: Response) -> bool:
    return r.reply is not None and r.update is None and r.form is None and any(
        w in r.reply.text for w in ("someone else", "expired", "no longer exists", "recognise"))


async def seed(m: Momentum, fake: RecordingPlatform, plat: str, clock: FakeClock) -> dict[str, list[Any]]:
    """Two pairs; one delivered prompt of every kind to Sam/Aisha's pair. Returns kind -> sent items."""
    for p in (SAM, AISHA, LEE, KENJI):
        fake.people[p.external_id] = p
    import tests.fakes as f
    orig = f.act

    async def act_on(m_: Momentum, who: Profile, kind: InteractionKind = InteractionKind.COMMAND,
                     platform: str = "test",
                     **kw: Any) -> Response:
        return await orig(m_, who, kind, plat, **kw)

    f.act = act_on  # type: ignore[assignment]
    try:
        await setup_program(m, [(SAM, AISHA), (LEE, KENJI)])
    finally:
        f.act = orig  # type: ignore[assignment]
    now = clock.now()
    with m.db.session() as s:
        s.exec(text("DELETE FROM prompt"))  # type: ignore[call-overload]
        pair = s.exec(select(Pair).order_by(Pair.id)).first()  # type: ignore[arg-type]
        assert pair is not None
        pair.unanswered_checkins = 3  # the check-in carries the kind "pause or stop" offer
        s.add(pair)
        # the pair met once, long ago: its wrap-up thanks them and offers "sponsor or mentor next time"
        s.add(Touchpoint(pair_id=pair.id, author_id=pair.sponsoree_id, kind="meeting", source="log",  # type: ignore[arg-type]
                         occurred_at=now - timedelta(days=60)))
        people = {"junior": pair.sponsoree_id, "senior": pair.sponsor_id, "pair": pair.sponsoree_id}
        ws_id = s.exec(select(Person.workspace_id)).first()
        for kind, seats in RECIPIENTS.items():
            for seat in seats:
                s.add(Prompt(pair_id=pair.id, recipient_id=people[seat], workspace_id=ws_id, kind=kind,  # type: ignore[arg-type]
                             strategy=1, phase="coach", period=f"t-{kind}-{seat}", week=1 if kind == "nudge" else 6,
                             audience="pair" if seat == "pair" else "one", due_at=now, next_attempt_at=now,
                             payload={"days": 16, "quarter": 1, "holiday": "Diwali", "date_label": "Thu 12 Nov"},
                             created_at=now))
    await m.deliver_due(now)
    # Round two: a stalled pair (the kind "keep going / pause / new match" offer on the check-in)
    # with a goal to ground the digest's action on (the "I did it" button).
    with m.db.session() as s:
        pair = s.exec(select(Pair).order_by(Pair.id)).first()  # type: ignore[arg-type]
        assert pair is not None
        pair.created_at = now - timedelta(days=40)
        s.add(pair)
        s.add(Goal(pair_id=pair.id, author_id=pair.sponsoree_id, text="Lead the Q3 migration",  # type: ignore[arg-type]
                   created_at=now))
        for kind, who in (("checkin", pair.sponsoree_id), ("nudge", pair.sponsor_id)):
            s.add(Prompt(pair_id=pair.id, recipient_id=who, workspace_id=ws_id, kind=kind, strategy=1,  # type: ignore[arg-type]
                         phase="coach", period=f"t2-{kind}", week=7, due_at=now, next_attempt_at=now,
                         created_at=now))
    await m.deliver_due(now)
    out: dict[str, list[Any]] = {}
    for sent in fake.sent:
        out.setdefault(str(sent.message.kind), []).append(sent)
    assert set(out) == set(RECIPIENTS), out.keys()
    return out


def prompt_ids(m: Momentum) -> dict[tuple[str, int], int]:
    with m.db.session() as s:
        return {(p.kind, p.recipient_id): p.id for p in s.exec(select(Prompt)).all()}  # type: ignore[misc]


def buttons_of(msg: Message) -> list[tuple[str, str]]:
    return [(b.action_id, b.value) for blk in msg.blocks if isinstance(blk, Buttons) for b in blk.buttons]


async def test_every_action_and_form_is_only_for_its_person_and_prompt_kind(setup: Any, clock: FakeClock) -> None:
    m, fake, plat = setup
    sent = await seed(m, fake, plat, clock)
    ids = prompt_ids(m)
    with m.db.session() as s:
        by_ext = {p.external_id: p.id for p in s.exec(select(Person)).all()}
    tried_actions: set[str] = set()
    tried_forms: set[str] = set()
    # queue of (message, prompt kind, intended person, partner)
    queue: list[tuple[Message, str, Profile, Profile]] = []
    for kind, items in sent.items():
        for it in items:
            if RECIPIENTS[kind] == ("pair",):
                queue.append((it.message, kind, AISHA, SAM))
                queue.append((it.message, kind, SAM, AISHA))
            else:
                me = AISHA if it.to == ["UAISHA"] else SAM
                queue.append((it.message, kind, me, SAM if me is AISHA else AISHA))
    seen: set[tuple[str, str, str, str]] = set()

    async def refused(who: Profile, kind_: InteractionKind, aid: str, value: str, fields: dict[str, str] | None = None,
                      why: str = "") -> None:
        before, n = state(m), refusals(m)
        r = await act(m, plat, who, kind_, aid, value, fields)
        assert is_refusal(r), (why, aid, who.external_id, r)
        assert state(m) == before, (why, aid, who.external_id)
        assert refusals(m) == n + 1, (why, aid, "refusal audited")

    while queue:
        msg, kind, me, partner = queue.pop(0)
        for aid, value in buttons_of(msg):
            raw = unsigned(value)
            answer = raw.partition(":")[2]
            key = (kind, aid, answer if not answer.isdigit() else "n", me.external_id)
            if key in seen or aid in HOME_ACTIONS:
                continue
            seen.add(key)
            tried_actions.add(aid)
            if RECIPIENTS[kind] != ("pair",):
                await refused(partner, InteractionKind.ACTION, aid, value, why="partner")
            await refused(LEE if me is SAM else KENJI, InteractionKind.ACTION, aid, value, why="another pair's member")
            await refused(ADMIN, InteractionKind.ACTION, aid, value, why="admin")
            await refused(me, InteractionKind.ACTION, aid, raw, why="signature removed")
            await refused(me, InteractionKind.ACTION, aid, raw + SEP + "AAAAAAAAAAAAAAAAAAAAAA", why="signature forged")
            for other in RECIPIENTS:
                if other in ACTIONS[aid].kinds:
                    continue
                pid = ids.get((other, by_ext[me.external_id]))
                if pid is None:
                    continue
                forged = f"{pid}:{answer}"
                await refused(me, InteractionKind.ACTION, aid, m.signer.sign(aid, forged, me.external_id),
                              why=f"correctly signed on a {other} prompt")
            # the intended person: works
            n = refusals(m)
            r = await act(m, plat, me, InteractionKind.ACTION, aid, value)
            assert not is_refusal(r), (aid, r)
            assert refusals(m) == n
            if r.update is not None:
                queue.append((r.update, kind, me, partner))
            if r.form is not None:
                await try_form(m, plat, r.form, kind, me, partner, refused, tried_forms)
    registered = set(ACTIONS)
    assert registered <= tried_actions, f"actions never tried: {registered - tried_actions}"
    assert set(FORMS) <= tried_forms, f"forms never tried: {set(FORMS) - tried_forms}"
    previewed = {aid for msg in preview.sample_messages().values() for aid, _ in buttons_of(msg)} - HOME_ACTIONS
    assert previewed <= tried_actions, f"previewed actions never tried: {previewed - tried_actions}"


def fill(form: Form) -> dict[str, str]:
    out: dict[str, str] = {}
    for b in form.blocks:
        fid = getattr(b, "field_id", None)
        if isinstance(b, Choice):
            out[b.field_id] = b.options[0].value
        elif fid == "when":
            out[fid] = "Thu 15:00"
        elif fid:
            out[fid] = "true" if type(b).__name__ == "Checkbox" else "PLANTED words for the form"
    return out


async def try_form(m: Momentum, plat: str, form: Form, kind: str, me: Profile, partner: Profile,
                   refused: Any, tried: set[str]) -> None:
    tried.add(form.form_id)
    fields = fill(form)
    if RECIPIENTS[kind] != ("pair",):
        await refused(partner, InteractionKind.SUBMIT, form.form_id, form.state, fields, why="partner submits")
    await refused(ADMIN, InteractionKind.SUBMIT, form.form_id, form.state, fields, why="admin submits")
    await refused(me, InteractionKind.SUBMIT, form.form_id, unsigned(form.state), fields, why="form state unsigned")
    r = await act(m, plat, me, InteractionKind.SUBMIT, form.form_id, form.state, fields)
    assert not is_refusal(r) and not r.errors, (form.form_id, r)


async def test_the_reported_attacks_are_refused(setup: Any, clock: FakeClock) -> None:
    """The attacks from the privacy report: a sponsor reading or overwriting the sponsoree's note
    through the shared kickoff, and a check-in answer on the sponsor's digest."""
    m, fake, plat = setup
    sent = await seed(m, fake, plat, clock)
    ids = prompt_ids(m)
    with m.db.session() as s:
        pair = s.exec(select(Pair).order_by(Pair.id)).first()  # type: ignore[arg-type]
        assert pair is not None
    # Aisha writes a private note on her check-in.
    checkin = sent["checkin"][0].message
    status = next(v for a, v in buttons_of(checkin) if a == "checkin.status" and unsigned(v).endswith(":met"))
    r = await act(m, plat, AISHA, InteractionKind.ACTION, "checkin.status", status)
    note_btn = next(v for a, v in buttons_of(r.update) if a == "checkin.note")  # type: ignore[arg-type]
    r = await act(m, plat, AISHA, InteractionKind.ACTION, "checkin.note", note_btn)
    assert r.form is not None
    await act(m, plat, AISHA, InteractionKind.SUBMIT, r.form.form_id, r.form.state, {"note": "MY-PRIVATE-NOTE",
                                                                                     "share": "false"})
    kickoff_id = ids[("kickoff", pair.sponsoree_id)]
    before = state(m)
    # Sam forges "add a note" on the kickoff both of them can see, signed for the pair as the kickoff is.
    for value in (f"{kickoff_id}:note", m.signer.sign("checkin.note", f"{kickoff_id}:note", f"pair:{pair.id}")):
        r = await act(m, plat, SAM, InteractionKind.ACTION, "checkin.note", value)
        assert r.form is None and is_refusal(r)
        assert "MY-PRIVATE-NOTE" not in repr(r)
    # ... and submits the note form on it.
    forged_state = m.signer.sign("checkin.note", str(kickoff_id), SAM.external_id)
    r = await act(m, plat, SAM, InteractionKind.SUBMIT, "checkin.note", forged_state, {"note": "WRITTEN-BY-SAM"})
    assert is_refusal(r)
    # A check-in answer on Sam's digest.
    nudge_id = ids[("nudge", pair.sponsor_id)]
    r = await act(m, plat, SAM, InteractionKind.ACTION, "checkin.status",
                  m.signer.sign("checkin.status", f"{nudge_id}:met", SAM.external_id))
    assert is_refusal(r)
    assert state(m) == before
    with m.db.session() as s:
        p = s.get(Pair, pair.id)
        assert p is not None and p.checkins_answered == pair.checkins_answered + 1  # Aisha's only


@pytest.mark.parametrize("value", ["-1:met", "99999999999999999999999:met", "abc:met", "\u00b2:met", "", ":", "~",
                                   "1:met~", "0:met~x", "2147483648:met~abcdefabcdefabcdefabcd", "1" * 5000])
async def test_malformed_values_get_a_kind_refusal_without_traceback(
        setup: Any, clock: FakeClock, value: str, caplog: pytest.LogCaptureFixture) -> None:
    m, fake, plat = setup
    await seed(m, fake, plat, clock)
    before = state(m)
    for kind, aid in ((InteractionKind.ACTION, "checkin.status"), (InteractionKind.SUBMIT, "checkin.note"),
                      (InteractionKind.ACTION, "nope")):
        r = await act(m, plat, AISHA, kind, aid, value, {"note": "x"})
        assert is_refusal(r), r
    assert state(m) == before
    assert not [r for r in caplog.records if r.levelno >= 40 or r.exc_info], caplog.text


async def test_shared_prompts_keep_one_answer_per_person(setup: Any, clock: FakeClock) -> None:
    """On the kickoff both people may answer; each answer is their own and never shown to the other."""
    m, fake, plat = setup
    sent = await seed(m, fake, plat, clock)
    kick = sent["kickoff"][0].message
    for who in (AISHA, SAM):
        aid, value = buttons_of(kick)[0]
        r = await act(m, plat, who, InteractionKind.ACTION, aid, value)
        assert not is_refusal(r)
    with m.db.engine.connect() as c:
        keys = [row[0] for row in c.execute(text("SELECT source_key FROM touchpoint"))]
    assert len(keys) == len(set(keys))


async def test_a_new_match_request_alerts_every_admin_and_nobody_else(setup: Any, clock: FakeClock) -> None:
    m, fake, plat = setup
    sent = await seed(m, fake, plat, clock)
    with m.db.session() as s:  # a second admin by grant, one by the platform; Lee stays a plain member
        granted, platform_admin = (s.exec(select(Person).where(Person.external_id == x)).one()
                                   for x in (KENJI.external_id, SAM.external_id))
        granted.is_granted_admin, platform_admin.is_platform_admin = True, True
        s.add_all([granted, platform_admin])
    (offer,) = [it.message for it in sent["checkin"] if "restart.rematch" in dict(buttons_of(it.message))]
    r = await act(m, plat, AISHA, InteractionKind.ACTION, "restart.rematch", dict(buttons_of(offer))["restart.rematch"])
    assert r.update is not None and not is_refusal(r)
    with m.db.session() as s:
        alerted = {p.external_id for p in s.exec(select(Person).join(Prompt, Prompt.recipient_id == Person.id)  # type: ignore[arg-type]
                                                  .where(Prompt.kind == "stall_alert")).all()}
    # the admin by email (ADMIN), by grant (Kenji) and by the platform (Sam, who is also in the pair)
    assert alerted == {ADMIN.external_id, KENJI.external_id, SAM.external_id}
