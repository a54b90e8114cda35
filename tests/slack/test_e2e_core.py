"""The whole path with the real core: admin commands, planned prompts to Slack DMs, clicks, retries."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.app import Momentum
from bot.model.clock import FakeClock
from storage.models import Win
from tests.slack.conftest import SlackServer


def _texts(server: SlackServer) -> str:
    return " ".join(str(r.get("text", "")) for r in server.fake.responses)


async def _pilot_pair(server: SlackServer) -> None:
    status, _ = await server.command("program create Pilot", user="UADMIN")
    assert status == 200
    await server.settle()
    assert "Pilot" in _texts(server)
    status, _ = await server.command("pair <@UKIM|kim> <@USAM|sam> Pilot", user="UADMIN")
    assert status == 200
    await server.settle()
    replies = server.fake.responses
    assert all(r["response_type"] == "ephemeral" for r in replies)
    assert len(replies) == 2


async def _deliver_until_dm(server: SlackServer, momentum: Momentum, clock: FakeClock, user: str) -> dict[str, Any]:
    """Move the fake clock forward until a DM reaches ``user``; return the recorded chat.postMessage."""
    channel = server.fake.dm_channel(user)
    for _ in range(24 * 14):
        clock.advance(timedelta(hours=1))
        momentum.plan(clock.now())
        await momentum.deliver_due(clock.now())
        # New York and Tokyo have no working hours in common, so each gets the kickoff (and any follow-up) in
        # a DM of their own: the prompt wanted here is the first DM that is not one of those
        posts = [p for p in server.fake.of("chat.postMessage") if p["channel"] == channel
                 and not any(str(e.get("action_id", "")).startswith("kickoff.") for b in p.get("blocks", [])
                             if b.get("type") == "actions" for e in b.get("elements", []))]
        if posts:
            return posts[0]
    raise AssertionError("no prompt reached " + user)


async def test_admin_pairs_people_and_the_prompt_round_trips(
    slack_server: SlackServer, momentum: Momentum, clock: FakeClock
) -> None:
    await _pilot_pair(slack_server)
    post = await _deliver_until_dm(slack_server, momentum, clock, "USAM")
    assert post["text"] and post["blocks"]
    assert "<!" not in post["text"]
    actions = [b for b in post["blocks"] if b["type"] == "actions"]
    assert actions, post["blocks"]
    button = actions[0]["elements"][0]
    ts = slack_server.fake.ts_of(post)
    before, replaced_before = len(slack_server.fake.calls), len(slack_server.fake.replaced())
    status, _ = await slack_server.click(
        {"ts": ts, "blocks": post["blocks"]}, button, user="USAM", channel=post["channel"]
    )
    assert status == 200
    await slack_server.settle()
    after = slack_server.fake.calls[before:]
    opened = [c for c in after if c.method == "views.open"]
    replaced = slack_server.fake.replaced()[replaced_before:]
    assert opened or replaced, [c.method for c in after]
    if replaced:  # the message is replaced through the click's response_url (the fast path)
        assert replaced[0]["text"] and not [c for c in after if c.method == "chat.update"]
    else:
        assert opened[0].body["trigger_id"] == "1337.43.efgh" and opened[0].body["view"]["type"] == "modal"


async def test_everyone_commands_and_home(slack_server: SlackServer, momentum: Momentum) -> None:
    await _pilot_pair(slack_server)
    acks = {}
    for text in ("help", "me", "snooze 1w"):
        status, acks[text] = await slack_server.command(text, user="USAM")
        assert status == 200
    await slack_server.settle()
    # `help` from someone we know is answered in the acknowledgement itself (nothing to write), privately;
    # `me` and `snooze` are acknowledged empty and answered through their response_url
    shown = json.loads(acks["help"])
    assert shown["response_type"] == "ephemeral" and shown["blocks"][0]["type"] == "header"
    assert "snooze" in shown["text"] and "admin" not in json.dumps(shown["blocks"]).lower()
    assert acks["me"] == "" and acks["snooze 1w"] == ""
    assert len(slack_server.fake.responses) == 4  # the two pilot commands', then me and snooze
    assert all(r["response_type"] == "ephemeral" and r["text"] for r in slack_server.fake.responses)
    await slack_server.event(
        {"type": "app_home_opened", "user": "USAM", "channel": "DX", "tab": "home"}, event_id="EvHome"
    )
    await slack_server.settle()
    (pub,) = slack_server.fake.of("views.publish")
    assert pub["view"]["type"] == "home" and pub["view"]["blocks"]


async def test_retried_dm_event_records_the_win_once(slack_server: SlackServer, momentum: Momentum) -> None:
    await _pilot_pair(slack_server)
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": "DSAM1",
        "user": "USAM",
        "text": "win Closed the deal &amp; shipped",
        "ts": "1700000100.000100",
    }
    assert (await slack_server.event(event, event_id="EvWin1"))[0] == 200
    await slack_server.settle()
    # Slack retries when it thinks the first delivery was not acknowledged in time; a fresh
    # process (no in-memory dedupe) must not record it again either: the core keeps event ids.
    slack_server.runtime.seen = type(slack_server.runtime.seen)()
    assert (await slack_server.event(event, event_id="EvWin1", retry_num=1))[0] == 200
    await slack_server.settle()
    with momentum.db.session() as s:
        wins = s.exec(select(Win)).all()
    assert [w.text for w in wins] == ["Closed the deal & shipped"]
    assert len(slack_server.fake.of("chat.postMessage")) == 1  # one reply in the DM


async def test_answers_to_response_url_share_one_kept_alive_connection(slack_server: SlackServer) -> None:
    """Bolt's ``respond`` opens a new HTTP session and connection per answer; ours reuse the runtime's."""
    for text in ("me", "snooze 1w", "checkin"):  # different bodies: the guard drops a replayed request
        status, _ = await slack_server.command(text, user="USAM")
        assert status == 200
        await slack_server.settle()
    assert len(slack_server.fake.responses) == 3
    assert all(r["response_type"] == "ephemeral" and r["replace_original"] is False
               for r in slack_server.fake.responses)
    assert len(set(slack_server.fake.response_peers)) == 1, slack_server.fake.response_peers
