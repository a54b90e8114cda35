"""`help` from someone we know is answered in the slash command's acknowledgement (``Momentum.quick``):
nothing written, the admin part only for admins, strangers and the database's absence go the usual way."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from bot.app import Momentum
from storage.models import AuditLog, InboxItem, Person
from tests.slack.conftest import SlackServer


def _counts(momentum: Momentum) -> tuple[int, int, int]:
    with momentum.db.session() as s:
        return (s.exec(select(func.count()).select_from(InboxItem)).one(),
                s.exec(select(func.count()).select_from(AuditLog)).one(),
                s.exec(select(func.count()).select_from(Person)).one())


def _blocks(ack: str) -> tuple[dict[str, Any], str]:
    shown = json.loads(ack)
    return shown, json.dumps(shown["blocks"])


async def test_a_stranger_is_stored_first_then_answered_in_the_ack(slack_server: SlackServer,
                                                                   momentum: Momentum) -> None:
    status, ack = await slack_server.command("help", user="USAM")  # first contact: the usual way
    assert status == 200 and ack == ""
    await slack_server.settle()
    (first,) = slack_server.fake.responses
    assert first["response_type"] == "ephemeral" and "snooze" in first["text"]
    before = _counts(momentum)

    status, ack = await slack_server.command("?", user="USAM")  # (the same body again would be a replay)
    await slack_server.settle()
    shown, blocks = _blocks(ack)
    assert status == 200 and shown["response_type"] == "ephemeral"
    assert shown["text"] == first["text"] and json.loads(blocks) == first["blocks"]  # the same words
    assert len(slack_server.fake.responses) == 1  # nothing more through the response_url
    assert _counts(momentum) == before  # no inbox row, no audit row, nobody new


async def test_admins_see_their_commands_and_a_grant_shows_at_once(slack_server: SlackServer,
                                                                   momentum: Momentum) -> None:
    for user in ("UADMIN", "USAM"):  # both known
        await slack_server.command("me", user=user)
    await slack_server.settle()
    _, admin_blocks = _blocks((await slack_server.command("help", user="UADMIN"))[1])
    _, sam_blocks = _blocks((await slack_server.command("?", user="USAM"))[1])
    assert "report" in admin_blocks and "admin add|remove" in admin_blocks
    assert "report" not in sam_blocks and "me" in sam_blocks

    await slack_server.command("admin add <@USAM|sam>", user="UADMIN")  # through the inbox, as usual
    await slack_server.settle()
    _, sam_blocks = _blocks((await slack_server.command("hi", user="USAM"))[1])
    assert "report" in sam_blocks  # what was kept about Sam was dropped when this process changed it


async def test_an_unknown_command_word_gets_help_with_a_kind_first_line(slack_server: SlackServer) -> None:
    await slack_server.command("me", user="USAM")
    await slack_server.settle()
    _, blocks = _blocks((await slack_server.command("dance <b>now</b>", user="USAM"))[1])
    assert "dance" in blocks and "snooze" in blocks and "<b>" not in blocks
    # a real command is never answered in the ack
    assert (await slack_server.command("snooze 1w", user="USAM"))[1] == ""


async def test_while_the_database_is_away_help_goes_the_usual_way(slack_server: SlackServer,
                                                                  momentum: Momentum,
                                                                  monkeypatch: Any) -> None:
    await slack_server.command("me", user="USAM")
    await slack_server.settle()
    n = len(slack_server.fake.responses)

    def away(*_a: Any, **_k: Any) -> None:
        raise ConnectionError("database away")

    monkeypatch.setattr(momentum.units, "admin_standing", away)
    status, ack = await slack_server.command("help", user="USAM")
    await slack_server.settle()
    assert status == 200 and ack == ""  # acknowledged; answered by the core through the response_url
    assert len(slack_server.fake.responses) == n + 1 and "snooze" in slack_server.fake.responses[-1]["text"]
