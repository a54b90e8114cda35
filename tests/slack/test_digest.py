"""The weekly admin digest, driven the way people do: `/momentum digest on|off` through the real
Slack server, the fake clock moving hour by hour with the planner and the delivery worker running."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from bot.app import Momentum
from bot.model.clock import FakeClock
from storage.models import AuditLog, Pair, Person, Prompt
from tests.conftest import START
from tests.helpers.trend import PLANTED, seed_trend
from tests.slack.conftest import SlackServer
from tests.slack.test_e2e_core import _pilot_pair


def _digests(server: SlackServer) -> list[dict[str, Any]]:
    channel = server.fake.dm_channel("UADMIN")
    return [p for p in server.fake.of("chat.postMessage") if p["channel"] == channel
            and any(b["type"] == "header" and b["text"]["text"].startswith("Weekly digest") for b in p["blocks"])]


async def _run_hours(momentum: Momentum, clock: FakeClock, hours: int) -> None:
    for _ in range(hours):
        clock.advance(timedelta(hours=1))
        momentum.plan(clock.now())
        await momentum.deliver_due(clock.now())


async def _say(server: SlackServer, text: str, user: str) -> str:
    server.fake.responses.clear()
    status, _ = await server.command(text, user=user)
    assert status == 200
    await server.settle()
    return " ".join(str(r.get("text", "")) for r in server.fake.responses)


def _person(momentum: Momentum, external_id: str) -> Person:
    with momentum.db.session() as s:
        p = s.exec(select(Person).where(Person.external_id == external_id)).one()
        return p


async def test_digest_on_delivers_once_a_week_in_the_admins_morning_and_off_stops_it(
    slack_server: SlackServer, momentum: Momentum, clock: FakeClock
) -> None:
    await _pilot_pair(slack_server)
    seed_trend(momentum.db, START)
    clock.advance(timedelta(weeks=4, days=3))  # Thursday 5 February
    with momentum.db.session() as s:  # Sam said they want to pay it forward on Wednesday
        pair = s.exec(select(Pair)).one()
        s.add(AuditLog(workspace_id=1, actor_id=pair.sponsoree_id, action="pay_it_forward",
                       detail={"pair_id": pair.id}, at=clock.now() - timedelta(days=1)))

    assert "every Monday morning" in await _say(slack_server, "digest on", "UADMIN")
    assert "already on" in await _say(slack_server, "digest ON", "UADMIN")  # (the same body twice is a retry)
    assert _person(momentum, "UADMIN").admin_digest_since == clock.now()

    await _run_hours(momentum, clock, 24 * 7)  # to Thursday 12 February
    digests = _digests(slack_server)
    assert len(digests) == 1  # this week's Monday had passed when it was turned on: next Monday's only
    with momentum.db.session() as s:
        sent = s.exec(select(Prompt).where(Prompt.kind == "admin_digest", Prompt.status == "sent")).all()
    assert len(sent) == 1 and sent[0].pair_id is None
    # Monday 9 February, 09:00 in Berlin (the admin's zone)
    assert sent[0].due_at == datetime(2026, 2, 9, 8, 0, tzinfo=UTC)
    assert sent[0].sent_at is not None and sent[0].sent_at - sent[0].due_at < timedelta(hours=1)

    digest = digests[0]
    body = json.dumps(digest, ensure_ascii=False)
    assert PLANTED not in body  # activity signals and names, never private words
    charts = [b for b in digest["blocks"] if b["type"] == "data_visualization"]
    assert len(charts) == 1 and charts[0]["chart"]["axis_config"]["categories"] == [
        "Jan 5", "Jan 12", "Jan 19", "Jan 26", "Feb 2"]
    texts = [json.dumps(b, ensure_ascii=False) for b in digest["blocks"]]
    assert any("Momentum" in t and "4.0/5 → 5.0/5" in t for t in texts)  # what changed since last week
    assert any("Pairs that need a human (1)" in t for t in texts)
    assert "Kim ↔ Sam" in body  # sponsor and sponsoree, with the suggested action
    assert "Want to sponsor or mentor next time: Sam" in body
    assert digest["text"].startswith("Your weekly Momentum digest: Pilot")

    await _run_hours(momentum, clock, 24 * 2)  # planning and delivering again changes nothing
    assert len(_digests(slack_server)) == 1

    assert "no more weekly digests" in await _say(slack_server, "digest off", "UADMIN")
    await _run_hours(momentum, clock, 24 * 8)  # past Monday 16 February
    assert len(_digests(slack_server)) == 1
    with momentum.db.session() as s:
        later = s.exec(select(Prompt).where(Prompt.kind == "admin_digest", Prompt.status != "sent")).all()
    assert [p.status for p in later] == ["cancelled"]  # next week's, planned ahead, was not sent
    assert _person(momentum, "UADMIN").admin_digest_since is None


async def test_a_non_admin_is_told_kindly_and_nothing_changes(
    slack_server: SlackServer, momentum: Momentum, clock: FakeClock
) -> None:
    await _pilot_pair(slack_server)
    answer = await _say(slack_server, "digest on", "USAM")
    assert "for program admins, so nothing changed" in answer
    assert _person(momentum, "USAM").admin_digest_since is None
    with momentum.db.session() as s:
        refused = s.exec(select(AuditLog).where(AuditLog.ok.is_(False))).all()  # type: ignore[attr-defined]
    assert refused  # the refusal is audited
    await _run_hours(momentum, clock, 24 * 8)
    assert not [p for p in slack_server.fake.of("chat.postMessage") if "Weekly digest" in json.dumps(p)]
    with momentum.db.session() as s:
        assert not s.exec(select(Prompt).where(Prompt.kind == "admin_digest")).all()
    assert "Use `digest on` or `digest off`" in await _say(slack_server, "digest maybe", "UADMIN")
