"""End to end over HTTP: signed Slack requests into the real server, assertions on what Slack received."""

from __future__ import annotations

import json
import time
import urllib.parse

from bot.model.interactions import InteractionKind, Response
from bot.model.messages import Button, Form, Message, TextInput, buttons, para
from tests.slack.conftest import ScriptedCore, SlackServer

FORM = "application/x-www-form-urlencoded"


async def test_url_verification_challenge(slack_server: SlackServer) -> None:
    body = json.dumps(
        {
            "token": "x",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    )
    status, text = await slack_server.signed(body, "application/json")
    assert status == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in text


async def test_bad_signature_is_401_and_nothing_runs(slack_server: SlackServer, scripted: ScriptedCore) -> None:
    body = urllib.parse.urlencode({"team_id": "T1", "user_id": "UADMIN", "command": "/momentum", "text": "help"})
    headers = slack_server.signer.headers(body, content_type=FORM)
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    status, _ = await slack_server.post(body, headers)
    assert status == 401
    await slack_server.settle()
    assert scripted.seen == []
    assert [c.method for c in slack_server.fake.calls] == ["auth.test"]  # start-up only


async def test_stale_timestamp_is_401(slack_server: SlackServer, scripted: ScriptedCore) -> None:
    body = urllib.parse.urlencode({"team_id": "T1", "user_id": "UADMIN", "command": "/momentum", "text": "help"})
    status, _ = await slack_server.post(
        body, slack_server.signer.headers(body, content_type=FORM, ts=int(time.time()) - 10 * 60)
    )
    assert status == 401
    await slack_server.settle()
    assert scripted.seen == []


async def test_malformed_bodies_are_4xx_never_500(slack_server: SlackServer, scripted: ScriptedCore) -> None:
    cases = [
        ("\x00\xff garbage {{{", "application/json"),
        ("payload=%7Bnot-json", FORM),
        ("payload=" + urllib.parse.quote(json.dumps({"type": "block_actions"})), FORM),  # no user, no actions
        (urllib.parse.urlencode({"command": "/momentum", "text": "help"}), FORM),  # no team/user
        ("{}", "application/json"),
        ("[1, 2]", "application/json"),
        ("", FORM),
    ]
    for body, ctype in cases:
        status, _ = await slack_server.signed(body, ctype)
        assert 400 <= status < 500, (body, status)
    # Unsigned garbage is a signature failure first.
    status, _ = await slack_server.post("payload=%7Bnot-json", {"Content-Type": FORM})
    assert status == 401
    await slack_server.settle()
    assert scripted.seen == []


async def test_slash_command_acks_then_replies_ephemeral(slack_server: SlackServer, scripted: ScriptedCore) -> None:
    scripted.answers.append(Response(reply=Message(text="Hi <b> & co", blocks=(para("Hi <b> & co"),))))
    status, text = await slack_server.command("pair <@USAM|sam> <@UKIM> Pilot &amp; co")
    assert status == 200 and text == ""
    await slack_server.settle()
    (seen,) = scripted.seen
    assert seen.kind == InteractionKind.COMMAND and seen.platform == "slack" and seen.workspace == "T1"
    assert seen.user == "UADMIN"
    assert seen.text == "pair <@USAM> <@UKIM> Pilot & co"
    assert seen.profile is not None and seen.profile.email == "admin@example.com"
    (reply,) = slack_server.fake.responses
    assert reply["response_type"] == "ephemeral"
    assert reply["text"] == "Hi &lt;b&gt; &amp; co"
    assert reply["blocks"][0]["text"]["text"] == "Hi &lt;b&gt; &amp; co"


async def test_slow_core_still_acks_at_once(slack_server: SlackServer, momentum, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The real core, with a unit of work that really blocks its thread (a slow query, a lock wait):
    Slack still gets its ack at once, and the answer follows when the unit finishes."""
    import asyncio
    import threading

    from bot.chat import entry

    gate = threading.Event()
    real_unit = entry.unit

    def blocking_unit(*args, **kwargs):  # type: ignore[no-untyped-def]
        assert gate.wait(30), "the test never released the unit of work"
        return real_unit(*args, **kwargs)

    monkeypatch.setattr(entry, "unit", blocking_unit)
    status, _ = await asyncio.wait_for(slack_server.command("help"), timeout=3)
    assert status == 200
    await asyncio.sleep(0.2)
    assert slack_server.fake.responses == []  # acknowledged while the core is still blocked
    gate.set()
    await slack_server.settle()
    assert slack_server.fake.responses[0]["text"].startswith("Momentum commands:")


async def test_command_form_opens_modal_and_submit_errors_inline(
    slack_server: SlackServer, scripted: ScriptedCore
) -> None:
    form = Form("win.form", "Share a win", "Share", (TextInput("win", "Your win", optional=False),), state="p=7")
    scripted.answers.append(Response(form=form))
    await slack_server.command("win")
    await slack_server.settle()
    (opened,) = slack_server.fake.of("views.open")
    assert opened["trigger_id"] == "1337.42.abcd"
    view = opened["view"]
    assert view["type"] == "modal" and view["blocks"][0]["block_id"] == "win"
    assert json.loads(view["private_metadata"]) == {"form_id": "win.form", "state": "p=7"}

    submission = {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": "USAM", "team_id": "T1"},
        "view": {
            **view,
            "id": "V1",
            "state": {"values": {"win": {"win": {"type": "plain_text_input", "value": ""}}}},
        },
    }
    scripted.answers.append(Response(errors={"win": "Tell me what happened."}))
    status, text = await slack_server.interactive(submission)
    assert status == 200
    assert json.loads(text) == {"response_action": "errors", "errors": {"win": "Tell me what happened."}}
    sub = scripted.seen[-1]
    assert sub.kind == InteractionKind.SUBMIT and sub.action_id == "win.form" and sub.value == "p=7"
    assert sub.fields == {"win": ""}

    scripted.answers.append(Response(reply=Message(text="Shared with Kim.")))
    submission["view"]["state"]["values"]["win"]["win"]["value"] = "Shipped the beta"
    status, text = await slack_server.interactive(submission)
    assert status == 200 and text == ""  # the modal closes
    await slack_server.settle()
    assert scripted.seen[-1].fields == {"win": "Shipped the beta"}
    post = slack_server.fake.of("chat.postMessage")[-1]
    assert post["text"] == "Shared with Kim." and post["channel"].startswith("D")


async def test_button_click_updates_the_original_message(slack_server: SlackServer, scripted: ScriptedCore) -> None:
    prompt = Message(
        text="Did you meet?",
        blocks=(
            para("Did you meet Kim?"),
            buttons(Button("checkin.met", "We met", "p1", "primary"), Button("checkin.met", "Not yet", "p2")),
        ),
    )
    platform = slack_server.runtime.platform
    ref = await platform.post("T1", "DSAM", prompt)
    sent = slack_server.fake.of("chat.postMessage")[-1]
    button = sent["blocks"][1]["elements"][1]
    assert button["action_id"] == "checkin.met#2"

    scripted.answers.append(Response(update=Message(text="Noted: not yet", blocks=(para("Noted: *not yet*"),))))
    status, _ = await slack_server.click(
        {"ts": ref["ts"], "blocks": sent["blocks"]}, button, user="USAM", channel="DSAM"
    )
    assert status == 200
    await slack_server.settle()
    (click,) = scripted.seen
    assert click.kind == InteractionKind.ACTION and click.action_id == "checkin.met" and click.value == "p2"
    assert click.message_ref == {"channel": "DSAM", "ts": ref["ts"]}
    # The fast path: the click's response_url replaces the message; chat.update is not paced in.
    assert slack_server.fake.of("chat.update") == []
    (update,) = slack_server.fake.replaced()
    assert update["text"] == "Noted: not yet" and "actions" not in [b["type"] for b in update["blocks"]]


async def test_a_click_whose_response_url_expired_falls_back_to_chat_update(
    slack_server: SlackServer, scripted: ScriptedCore
) -> None:
    prompt = Message(text="Did you meet?", blocks=(buttons(Button("checkin.met", "We met", "p1")),))
    ref = await slack_server.runtime.platform.post("T1", "DSAM", prompt)
    sent = slack_server.fake.of("chat.postMessage")[-1]
    slack_server.fake.response_url_failures = 1  # Slack answers 404 expired_url
    scripted.answers.append(Response(update=Message(text="Noted: met", blocks=(para("Noted: *met*"),))))
    status, _ = await slack_server.click({"ts": ref["ts"], "blocks": sent["blocks"]}, sent["blocks"][0]["elements"][0],
                                         user="USAM", channel="DSAM")
    assert status == 200
    await slack_server.settle()
    assert slack_server.fake.replaced() == []
    (update,) = slack_server.fake.of("chat.update")
    assert update["channel"] == "DSAM" and update["ts"] == ref["ts"] and update["text"] == "Noted: met"


async def test_app_home_opened_publishes_home(slack_server: SlackServer, momentum, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(momentum.units, "app_home", lambda p, t, u: Message(text="Home", blocks=(para(f"Hi {u}"),)))
    status, _ = await slack_server.event(
        {"type": "app_home_opened", "user": "USAM", "channel": "DSAM", "tab": "home", "event_ts": "1.1"}
    )
    assert status == 200
    await slack_server.settle()
    (pub,) = slack_server.fake.of("views.publish")
    assert pub["user_id"] == "USAM" and pub["view"]["type"] == "home"
    assert pub["view"]["blocks"][0]["text"]["text"] == "Hi USAM"


async def test_direct_message_and_retry_is_not_double_recorded(
    slack_server: SlackServer, scripted: ScriptedCore
) -> None:
    scripted.answers.append(Response(reply=Message(text="Logged.")))
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": "DSAM",
        "user": "USAM",
        "text": "win closed the deal with <@UKIM|kim>",
        "ts": "1700000000.000200",
    }
    assert (await slack_server.event(event, event_id="EvDM1"))[0] == 200
    assert (await slack_server.event(event, event_id="EvDM1", retry_num=1))[0] == 200
    await slack_server.settle()
    assert len(scripted.seen) == 1
    msg = scripted.seen[0]
    # the inbox, keyed by the event id, is what dedupes Slack's retry
    assert msg.kind == InteractionKind.MESSAGE and msg.inbox_id is not None
    assert msg.text == "win closed the deal with <@UKIM>"
    (post,) = slack_server.fake.of("chat.postMessage")
    assert post["channel"] == "DSAM" and post["text"] == "Logged."


async def test_bot_messages_and_subtypes_are_ignored(slack_server: SlackServer, scripted: ScriptedCore) -> None:
    base = {"type": "message", "channel_type": "im", "channel": "DSAM", "text": "x", "ts": "1.2"}
    await slack_server.event({**base, "bot_id": "BBOT", "user": "UBOT"}, event_id="Ev2")
    await slack_server.event({**base, "user": "USAM", "subtype": "message_changed"}, event_id="Ev3")
    await slack_server.event({**base, "user": "USAM", "channel_type": "channel"}, event_id="Ev4")
    await slack_server.settle()
    assert scripted.seen == []


async def test_app_uninstalled_parks_the_workspace(slack_server: SlackServer, momentum) -> None:  # type: ignore[no-untyped-def]
    from bot.domain import people as directory

    momentum.units.upsert_workspace("slack", "T1", name="Acme")
    status, _ = await slack_server.event({"type": "app_uninstalled"}, event_id="EvU")
    assert status == 200
    await slack_server.settle()
    with momentum.db.session() as s:
        ws = directory.get_workspace(s, "slack", "T1")
        assert ws is not None and ws.status == "uninstalled" and ws.status_reason == "app_uninstalled"


async def test_tokens_revoked_parks_the_workspace(slack_server: SlackServer, momentum) -> None:  # type: ignore[no-untyped-def]
    from bot.domain import people as directory

    momentum.units.upsert_workspace("slack", "T1", name="Acme")
    await slack_server.event({"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}}, event_id="EvR")
    await slack_server.settle()
    with momentum.db.session() as s:
        ws = directory.get_workspace(s, "slack", "T1")
        assert ws is not None and ws.status == "uninstalled" and ws.status_reason == "tokens_revoked"


async def test_user_change_refreshes_a_known_person(slack_server: SlackServer, momentum) -> None:  # type: ignore[no-untyped-def]
    from bot.domain import people as directory
    from bot.model.interactions import Profile

    momentum.units.upsert_person("slack", "T1", Profile("USAM", name="Sam", tz="America/New_York"))
    user = dict(slack_server.fake.users["USAM"])
    user["tz"] = "Europe/Lisbon"
    user["deleted"] = True
    await slack_server.event({"type": "user_change", "user": user}, event_id="EvC")
    stranger = dict(slack_server.fake.users["UKIM"])
    await slack_server.event({"type": "user_change", "user": stranger}, event_id="EvC2")
    await slack_server.settle()
    with momentum.db.session() as s:
        ws = directory.get_workspace(s, "slack", "T1")
        assert ws is not None and ws.id is not None
        sam = directory.get_person(s, ws.id, "USAM")
        assert sam is not None and sam.tz == "Europe/Lisbon" and sam.unreachable_reason == "user_deactivated"
        assert directory.get_person(s, ws.id, "UKIM") is None  # we do not collect the directory
    assert slack_server.runtime.platform.cached_profile("T1", "USAM").tz == "Europe/Lisbon"  # type: ignore[union-attr]


async def test_attachment_is_uploaded_to_the_dm(slack_server: SlackServer, scripted: ScriptedCore) -> None:
    from bot.model.messages import Attachment

    scripted.answers.append(
        Response(reply=Message(text="Here is your data."), attachment=Attachment("my-data.csv", "a,b\n1,2\n"))
    )
    await slack_server.command("my-data", user="USAM")
    await slack_server.settle()
    (get_url,) = slack_server.fake.of("files.getUploadURLExternal")
    assert get_url["filename"] == "my-data.csv" and int(get_url["length"]) == 8
    assert slack_server.fake.uploads == [b"a,b\n1,2\n"]
    (done,) = slack_server.fake.of("files.completeUploadExternal")
    assert done["channel_id"].startswith("D") and done["files"][0]["title"] == "my-data.csv"
