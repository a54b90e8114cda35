"""End to end: Teams activities in through the real endpoint and core, cards out to the fake connector."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from adapters.teams import render
from bot.model.clock import FakeClock
from storage.models import CheckIn, Person, Prompt, Workspace
from tests.teams import activities as acts
from tests.teams.conftest import TeamsServer
from tests.teams.fake_connector import Call


def person(momentum: Any, user: acts.User) -> Person | None:
    with momentum.db.session() as s:
        return s.exec(select(Person).where(Person.external_id == user.aad)).first()


def card_text(card: dict[str, Any]) -> str:
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("text", "title", "value") and isinstance(v, str):
                    out.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for x in node:
                walk(x)

    walk(card)
    return " ".join(out)


def submits(card: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Submit":
                found.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for x in node:
                walk(x)

    walk(card)
    return found


async def say(server: TeamsServer, user: acts.User, text: str, **kw: Any) -> Call:
    before = len(server.fake.sent())
    r = await server.post(acts.message(server.fake.url, user, text, **kw))
    assert r.status in (200, 201)
    new = server.fake.sent()[before:]
    assert new, f"no reply to {text!r}"
    return new[-1]


async def install_everyone(server: TeamsServer) -> None:
    url = server.fake.url
    assert (await server.post(acts.team_install(url, acts.ADMIN))).status == 201
    for u in (acts.ADMIN, acts.SAM, acts.RIA):
        assert (await server.post(acts.personal_install(url, u))).status == 201


async def test_personal_install_stores_person_reference_and_sends_welcome(
    teams_server: TeamsServer, momentum: Any, roster: list[acts.User]
) -> None:
    r = await teams_server.post(acts.personal_install(teams_server.fake.url, acts.SAM))
    assert r.status == 201
    p = person(momentum, acts.SAM)
    assert p is not None and p.email == acts.SAM.email and p.name == acts.SAM.name
    assert p.address and p.address["conversation"]["id"] == acts.SAM.chat
    assert p.address["serviceUrl"] == teams_server.fake.url and "activityId" not in p.address
    with momentum.db.session() as s:
        ws = s.exec(select(Workspace).where(Workspace.platform == "teams")).one()
    assert ws.external_id == acts.TENANT
    (welcome,) = teams_server.fake.sent()
    assert welcome.conversation_id == acts.SAM.chat
    assert welcome.body["attachments"][0]["contentType"] == render.CARD_CONTENT_TYPE
    # The installationUpdate Teams sends alongside is idempotent and silent.
    r = await teams_server.post(acts.personal_installation_update(teams_server.fake.url, acts.SAM))
    assert r.status == 201 and len(teams_server.fake.sent()) == 1


async def test_team_install_reads_the_paged_roster(
    teams_server: TeamsServer, momentum: Any, roster: list[acts.User]
) -> None:
    r = await teams_server.post(acts.team_install(teams_server.fake.url, acts.ADMIN))
    assert r.status == 201
    pages = [c for c in teams_server.fake.calls if c.path.endswith("/pagedmembers")]
    assert len(pages) == 2 and pages[0].conversation_id == acts.TEAM_ID  # 3 people, pages of 2
    for u in roster:
        p = person(momentum, u)
        assert p is not None and p.email == u.email
        assert p.address and p.address["user"]["id"] == u.teams_id and not p.address.get("conversation")


async def test_commands_pair_by_email_and_mention_and_help(
    teams_server: TeamsServer, momentum: Any, roster: list[acts.User]
) -> None:
    await install_everyone(teams_server)
    reply = await say(teams_server, acts.ADMIN, "program create Pilot")
    assert "Pilot" in card_text(teams_server.fake.card(reply))
    reply = await say(teams_server, acts.ADMIN, "pair sam@example.com ria@example.com Pilot")
    text = card_text(teams_server.fake.card(reply))
    assert "Sam" in text and "Ria" in text
    reply = await say(teams_server, acts.ADMIN, "help")
    assert "snooze" in card_text(teams_server.fake.card(reply)).lower()
    # Time zone and locale come from the activity when the person writes.
    await say(teams_server, acts.RIA, "me", tz="Asia/Tokyo", locale="ja-JP")
    p = person(momentum, acts.RIA)
    assert p is not None and p.tz == "Asia/Tokyo" and p.locale == "ja-JP"


async def test_pair_by_mention_in_a_channel_strips_the_bot_mention(
    teams_server: TeamsServer, momentum: Any, roster: list[acts.User]
) -> None:
    await install_everyone(teams_server)
    await say(teams_server, acts.ADMIN, "program create Pilot")
    before = len(teams_server.fake.sent())
    r = await teams_server.post(
        acts.channel_message(
            teams_server.fake.url,
            acts.ADMIN,
            "pair <at>Sam Sponsor</at> <at>Ria Sponsoree</at> Pilot",
            mentions=[acts.SAM, acts.RIA],
        )
    )
    assert r.status == 201
    new = teams_server.fake.sent()[before:]
    # The answer is private: it goes to the admin's 1:1 chat; the channel only gets a pointer.
    private = [c for c in new if c.conversation_id == acts.ADMIN.chat]
    channel = [c for c in new if c.conversation_id.startswith(acts.TEAM_ID)]
    assert len(private) == 1 and len(channel) == 1
    text = card_text(teams_server.fake.card(private[0]))
    assert "Sam" in text and "Ria" in text and "<@" not in text
    assert "1:1 chat" in card_text(teams_server.fake.card(channel[0]))
    assert "Sam" not in card_text(teams_server.fake.card(channel[0]))


async def test_channel_command_from_someone_without_a_chat_opens_one(
    teams_server: TeamsServer, momentum: Any, roster: list[acts.User]
) -> None:
    assert (await teams_server.post(acts.team_install(teams_server.fake.url, acts.ADMIN))).status == 201
    before = len(teams_server.fake.sent())
    r = await teams_server.post(acts.channel_message(teams_server.fake.url, acts.RIA, "help"))
    assert r.status == 201
    (created,) = teams_server.fake.created()
    assert created.body["members"] == [{"id": acts.RIA.teams_id}]
    new = teams_server.fake.sent()[before:]
    assert any(c.conversation_id.startswith("a:created-") for c in new)
    p = person(momentum, acts.RIA)
    assert p is not None and p.address and p.address["conversation"]["id"].startswith("a:created-")


async def _paired(teams_server: TeamsServer) -> None:
    await install_everyone(teams_server)
    await say(teams_server, acts.ADMIN, "program create Pilot")
    await say(teams_server, acts.ADMIN, "pair sam@example.com ria@example.com Pilot")


async def deliver_until_buttons(server: TeamsServer, momentum: Any, clock: FakeClock) -> Call:
    """Step the fake clock through the week, delivering, until a card with buttons arrives."""
    for _ in range(24 * 14):
        before = len(server.fake.sent())
        momentum.plan(clock.now())
        await momentum.deliver_due(clock.now())
        for call in server.fake.sent()[before:]:
            if call.status < 300 and submits(server.fake.card(call)):
                return call
        clock.advance(timedelta(hours=1))
    raise AssertionError("no prompt with buttons was delivered in two weeks")


async def test_prompt_delivered_answered_and_card_replaced(
    teams_server: TeamsServer, momentum: Any, roster: list[acts.User], clock: FakeClock
) -> None:
    await _paired(teams_server)
    prompt = await deliver_until_buttons(teams_server, momentum, clock)
    assert prompt.activity_id is None  # proactive: a new message in the person's 1:1 chat
    user = next(u for u in roster if u.chat == prompt.conversation_id)
    card = teams_server.fake.card(prompt)
    # the first button that answers in place (the kickoff's "fill in our agreement" opens a form)
    first = next(a for a in submits(card) if a["data"].get(render.ACTION_KEY) != "kickoff.agree")
    reply_to = prompt.response_id
    assert reply_to
    r = await teams_server.post(acts.card_submit(teams_server.fake.url, user, first["data"], reply_to))
    assert r.status == 201
    updates = teams_server.fake.updates()
    assert updates and updates[-1].activity_id == reply_to and updates[-1].conversation_id == user.chat
    assert not any(a["data"] == first["data"] for a in submits(teams_server.fake.card(updates[-1])))
    with momentum.db.session() as s:
        answered = s.exec(select(Prompt).where(Prompt.answered_at.is_not(None))).all()  # type: ignore[union-attr]
        checkins = s.exec(select(CheckIn)).all()
    assert answered or checkins
    # Teams retries a post it did not see acknowledged: the same activity again changes nothing.
    before = (len(teams_server.fake.updates()), len(teams_server.fake.sent()))
    again = acts.card_submit(teams_server.fake.url, user, first["data"], reply_to)
    again["id"] = "dup-1"
    await teams_server.post(again)
    await teams_server.post(again)
    assert len(teams_server.fake.updates()) + len(teams_server.fake.sent()) <= sum(before) + 2


async def test_uninstall_and_blocked_bot_stop_delivery_with_reason(
    teams_server: TeamsServer, momentum: Any, roster: list[acts.User], clock: FakeClock
) -> None:
    await _paired(teams_server)
    r = await teams_server.post(acts.personal_uninstall(teams_server.fake.url, acts.SAM))
    assert r.status == 201
    sam = person(momentum, acts.SAM)
    assert sam is not None and sam.unreachable_reason == "app_uninstalled"
    teams_server.fake.fail_next(403, "ConversationBlockedByUser", times=100, match=acts.RIA.chat)
    for _ in range(24 * 10):
        momentum.plan(clock.now())
        await momentum.deliver_due(clock.now())
        ria = person(momentum, acts.RIA)
        if ria is not None and ria.unreachable_reason:
            break
        clock.advance(timedelta(hours=1))
    ria = person(momentum, acts.RIA)
    assert ria is not None and ria.unreachable_reason == "ConversationBlockedByUser"
    report = await say(teams_server, acts.ADMIN, "report")
    text = card_text(teams_server.fake.card(report))
    assert "ConversationBlockedByUser" in text or "unreachable" in text.lower() or "app_uninstalled" in text


async def test_team_uninstall_keeps_people(teams_server: TeamsServer, momentum: Any, roster: list[acts.User]) -> None:
    await install_everyone(teams_server)
    r = await teams_server.post(acts.team_uninstall(teams_server.fake.url, acts.ADMIN))
    assert r.status == 201
    p = person(momentum, acts.RIA)
    assert p is not None and p.unreachable_reason is None
