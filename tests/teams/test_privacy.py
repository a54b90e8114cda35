"""Privacy through the real Teams edge: a card submit forged by the partner or with edited data is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from adapters.teams.render import VALUE_KEY
from bot.app import Momentum
from bot.model.clock import FakeClock
from bot.model.signing import SEP, answer_of, unsigned
from storage.models import AuditLog, CheckIn
from tests.teams import activities as acts
from tests.teams.conftest import TeamsServer
from tests.teams.test_e2e import install_everyone, say, submits


async def test_forged_card_submits_change_nothing(teams_server: TeamsServer, momentum: Momentum, clock: FakeClock,
                                                  roster: list[acts.User]) -> None:
    fake = teams_server.fake
    await install_everyone(teams_server)
    await say(teams_server, acts.ADMIN, "program create Pilot")
    await say(teams_server, acts.ADMIN, "pair sam@example.com ria@example.com Pilot")
    call: Any = None
    for _ in range(24 * 14):
        clock.advance(timedelta(hours=1))
        momentum.plan(clock.now())
        await momentum.deliver_due(clock.now())
        calls = [c for c in fake.sent() if c.status < 300 and c.conversation_id == acts.RIA.chat and
                 any(answer_of(str(a["data"].get(VALUE_KEY, ""))) == "met" for a in submits(fake.card(c)))]
        if calls:
            call = calls[0]
            break
    assert call is not None
    data = next(a["data"] for a in submits(fake.card(call)) if answer_of(str(a["data"].get(VALUE_KEY, ""))) == "met")
    value = str(data[VALUE_KEY])
    pid = int(unsigned(value).split(":")[0])
    forged = [
        (acts.SAM, data),  # the sponsor submits the sponsoree's card
        (acts.RIA, {**data, VALUE_KEY: f"{pid + 1}:met"}),
        (acts.RIA, {**data, VALUE_KEY: f"{pid + 1}:met{SEP}{value.rpartition(SEP)[2]}"}),
        (acts.RIA, {**data, VALUE_KEY: "-1:met"}),
        (acts.RIA, {**data, VALUE_KEY: 12345}),
    ]
    for who, d in forged:
        r = await teams_server.post(acts.card_submit(fake.url, who, d, call.response_id))
        assert r.status < 500
    with momentum.db.session() as s:
        assert not s.exec(select(CheckIn)).all()
        assert len(s.exec(select(AuditLog).where(AuditLog.ok == False)).all()) == len(forged)  # noqa: E712
    r = await teams_server.post(acts.card_submit(fake.url, acts.RIA, data, call.response_id))
    assert r.status in (200, 201)
    with momentum.db.session() as s:
        assert [c.status for c in s.exec(select(CheckIn)).all()] == ["met"]
