"""The inbox across processes: a signed request replayed to another replica (two servers, one database) is not
processed again - the inbox's unique key is the source of truth, not a process's memory - and a row whose
answer was kept before a crash is shown again without the core doing its work twice."""

from __future__ import annotations

import urllib.parse

from sqlmodel import select

from adapters.slack.web import SLACK_RUNTIME
from bot.app import Momentum
from bot.model import wire
from bot.model.interactions import Response
from bot.model.messages import Message, para
from storage import inbox
from storage.models import Win
from tests.slack.conftest import ScriptedCore, SlackServer, slack_settings_for, start_server


async def test_a_signed_command_replayed_to_another_replica_is_processed_once(
        slack_server: SlackServer, momentum: Momentum) -> None:
    await slack_server.command("program create Pilot", user="UADMIN")
    await slack_server.command("pair <@UKIM|kim> <@USAM|sam> Pilot", user="UADMIN")
    await slack_server.settle()
    before = len(slack_server.fake.responses)
    other = Momentum(momentum.db, momentum.settings, momentum.clock)
    runner, other_url = await start_server(other, slack_settings_for(slack_server.fake))
    try:
        form = {"team_id": "T1", "user_id": "USAM", "command": "/momentum", "text": "win Only once",
                "response_url": slack_server.fake.response_url("cmd"), "trigger_id": "1.2.3"}
        body = urllib.parse.urlencode(form)
        headers = slack_server.signer.headers(body, content_type="application/x-www-form-urlencoded")
        for url in (slack_server.url, other_url, other_url):
            async with slack_server.session.post(url + "/slack/events", data=body.encode(), headers=headers) as r:
                assert r.status == 200
        await slack_server.settle()
        await runner.app[SLACK_RUNTIME].drain()
    finally:
        await runner.cleanup()
    with momentum.db.session() as s:
        assert [w.text for w in s.exec(select(Win)).all()] == ["Only once"]
    assert len(slack_server.fake.responses) == before + 1


async def test_a_row_answered_before_a_crash_is_shown_again_without_redoing_the_work(
        slack_server: SlackServer, scripted: ScriptedCore) -> None:
    fake = slack_server.fake
    kept = Response(update=Message(text="Noted: met", blocks=(para("Noted: *met*"),)))
    ia = {"kind": "action", "workspace": "T1", "user": "USAM", "action_id": "checkin.status", "value": "1:met",
          "message_ref": {"channel": "DSAM", "ts": "1.2"}}
    show = {"respond": fake.response_url("kept"), "channel": "DSAM", "message_ref": {"channel": "DSAM", "ts": "1.2"}}
    item = inbox.Item(0, "k", "slack", "action", {"ia": ia, "show": show}, 2, wire.dump(kept))
    assert await slack_server.runtime.process(item)
    assert scripted.seen == []  # the core is not asked again: its work was done and kept
    (replaced,) = fake.replaced()
    assert replaced["text"] == "Noted: met" and fake.response_keys == ["kept"]
