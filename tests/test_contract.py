"""One contract, run against every adapter: a prompt goes out, the answer comes back in through the
platform's own inbound path, the check-in is stored once and the original message is updated.

Console (in process), Slack (signed HTTP into the real Bolt app, fake Web API on loopback) and Teams
(activities into the real CloudAdapter, fake Bot Framework connector on loopback) all pass the same steps.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlmodel import select

from adapters.console.platform import ConsolePlatform
from adapters.teams.render import VALUE_KEY
from bot.app import Momentum
from bot.model.clock import FakeClock
from bot.model.interactions import Interaction, InteractionKind
from bot.model.signing import answer_of
from storage.models import CheckIn, Prompt
from tests.fakes import ADMIN, person
from tests.slack.conftest import SlackServer, fake_slack, signer, slack_server  # noqa: F401 (fixtures)
from tests.teams import activities as acts
from tests.teams.conftest import TeamsServer, no_internet, roster, teams_fake, teams_server, teams_settings  # noqa: F401
from tests.teams.test_e2e import install_everyone, say, submits


async def contract(
    m: Momentum,
    clock: FakeClock,
    command: Callable[[str], Awaitable[None]],
    received: Callable[[], list[Any]],
    answer_met: Callable[[Any], Awaitable[None]],
    updated: Callable[[], bool],
    sponsor: str,
    sponsoree: str,
) -> None:
    await command("program create Pilot")
    await command(f"pair {sponsor} {sponsoree} Pilot")
    prompt = None
    for _ in range(24 * 14):
        m.plan(clock.now())
        await m.deliver_due(clock.now())
        got = received()
        if got:
            prompt = got[0]
            break
        clock.advance(timedelta(hours=1))
    assert prompt is not None, "a check-in reached the sponsoree within two weeks"
    await answer_met(prompt)
    await answer_met(prompt)  # a double tap changes nothing
    with m.db.session() as s:
        checkins = s.exec(select(CheckIn)).all()
        answered = s.exec(select(Prompt).where(Prompt.kind == "checkin", Prompt.answer == "met")).all()
    assert [c.status for c in checkins] == ["met"]
    assert len(answered) == 1 and answered[0].answered_at is not None
    assert updated(), "the original message was replaced by the recorded answer"


async def test_contract_console(momentum: Momentum, clock: FakeClock) -> None:
    sam, aisha = person("USAM", "Sam"), person("UAISHA", "Aisha")
    people = {p.external_id: p for p in (ADMIN, sam, aisha)}
    shown: list[str] = []
    console = ConsolePlatform(clock=clock.now, people=people, out=shown.append)
    momentum.register_platform(console)
    updates: list[Any] = []

    async def command(text: str) -> None:
        await momentum.handle(Interaction("console", "demo", ADMIN.external_id, InteractionKind.COMMAND, text=text,
                                          profile=ADMIN))

    def received() -> list[Any]:
        return [x for x in console.sent if x.message.kind == "checkin" and x.to[0].external_id == "UAISHA"]

    async def answer(sent: Any) -> None:
        b = next(b for blk in sent.message.blocks for b in getattr(blk, "buttons", ()) if answer_of(b.value) == "met")
        r = await momentum.handle(Interaction("console", "demo", "UAISHA", InteractionKind.ACTION,
                                              action_id=b.action_id,
                                              value=b.value, profile=aisha))
        if r.update is not None:
            await console.update(None, {}, r.update)  # type: ignore[arg-type]
            updates.append(r.update)

    await contract(momentum, clock, command, received, answer,
                   lambda: bool(updates) and "Recorded" in shown[-1] + " ".join(shown), "<@USAM>", "<@UAISHA>")


async def test_contract_slack(slack_server: SlackServer, momentum: Momentum, clock: FakeClock) -> None:  # noqa: F811
    fake = slack_server.fake
    channel = fake.dm_channel("UKIM")

    async def command(text: str) -> None:
        status, _ = await slack_server.command(text, user="UADMIN")
        assert status == 200
        await slack_server.settle()

    def received() -> list[Any]:
        return [p for p in fake.of("chat.postMessage") if p["channel"] == channel and
                any(answer_of(e.get("value", "")) == "met" for b in p["blocks"] if b["type"] == "actions"
                    for e in b["elements"])]

    async def answer(post: Any) -> None:
        button = next(e for b in post["blocks"] if b["type"] == "actions" for e in b["elements"]
                      if answer_of(e.get("value", "")) == "met")
        status, _ = await slack_server.click({"ts": fake.ts_of(post), "blocks": post["blocks"]}, button,
                                             user="UKIM", channel=channel)
        assert status == 200
        await slack_server.settle()

    def updated() -> bool:  # replaced through the click's response_url (chat.update is the fallback)
        ups = fake.replaced()
        return bool(ups) and "recorded" in ups[-1]["text"].lower()

    await contract(momentum, clock, command, received, answer, updated, "<@USAM|sam>", "<@UKIM|kim>")


async def test_contract_teams(teams_server: TeamsServer, momentum: Momentum, clock: FakeClock,  # noqa: F811
                              roster: list[acts.User]) -> None:  # noqa: F811
    fake = teams_server.fake
    await install_everyone(teams_server)

    async def command(text: str) -> None:
        await say(teams_server, acts.ADMIN, text)

    def received() -> list[Any]:
        return [c for c in fake.sent() if c.status < 300 and c.conversation_id == acts.RIA.chat and
                any(answer_of(str(a["data"].get(VALUE_KEY, ""))) == "met" for a in submits(fake.card(c)))]

    async def answer(call: Any) -> None:
        data = next(a["data"] for a in submits(fake.card(call))
                    if answer_of(str(a["data"].get(VALUE_KEY, ""))) == "met")
        r = await teams_server.post(acts.card_submit(fake.url, acts.RIA, data, call.response_id))
        assert r.status in (200, 201)

    def updated() -> bool:
        ups = [u for u in fake.updates() if u.conversation_id == acts.RIA.chat]
        return bool(ups) and not any(answer_of(str(a["data"].get(VALUE_KEY, ""))) == "met"
                                     for a in submits(fake.card(ups[-1])))

    await contract(momentum, clock, command, received, answer, updated, "sam@example.com", "ria@example.com")
