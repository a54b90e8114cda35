"""``POST /api/messages``: Bot Framework auth through CloudAdapter, and 4xx (never 500) for bad input."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.teams.bot import MomentumTeamsBot
from adapters.teams.settings import TeamsSettings
from tests.teams import activities as acts
from tests.teams.conftest import APP_ID, TeamsServer, start_server
from tests.teams.fake_connector import FakeConnector
from tests.teams.jwks import KeyServer


@pytest.fixture
def turns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every turn that reached the bot (i.e. passed authentication)."""
    seen: list[str] = []
    original = MomentumTeamsBot.on_turn

    async def on_turn(self: MomentumTeamsBot, ctx: Any) -> None:
        seen.append(ctx.activity.type)
        await original(self, ctx)

    monkeypatch.setattr(MomentumTeamsBot, "on_turn", on_turn)
    return seen


def _people(momentum: Any) -> int:
    from sqlmodel import select

    from storage.models import Person

    with momentum.db.session() as s:
        return len(s.exec(select(Person)).all())


async def test_request_without_token_is_rejected_and_nothing_processed(
    secured: TeamsServer, turns: list[str], momentum: Any
) -> None:
    r = await secured.post(acts.personal_install(secured.fake.url, acts.SAM))
    assert r.status == 401
    assert turns == [] and secured.fake.calls == [] and _people(momentum) == 0


@pytest.mark.parametrize(
    "header",
    [
        "Bearer garbage",
        "Bearer a.b.c",
        "Basic dXNlcjpwYXNz",
        "Bearer ",
    ],
)
async def test_garbage_tokens_are_rejected(secured: TeamsServer, turns: list[str], header: str) -> None:
    r = await secured.post(acts.message(secured.fake.url, acts.SAM, "help"), headers={"Authorization": header})
    assert r.status == 401
    assert turns == [] and secured.fake.calls == []


async def test_forged_and_misaddressed_tokens_are_rejected(
    secured: TeamsServer, turns: list[str], keys: KeyServer
) -> None:
    url = secured.fake.url
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bad = {
        "signed by someone else": keys.token(APP_ID, url, key=other_key),
        "for another bot": keys.token("99999999-2222-4333-8444-555555555555", url),
        "for another service url": keys.token(APP_ID, "https://evil.example/"),
        "from an unknown issuer": keys.token(APP_ID, url, issuer="https://evil.example"),
    }
    for why, token in bad.items():
        r = await secured.post(acts.message(url, acts.SAM, "help"), headers={"Authorization": f"Bearer {token}"})
        assert r.status == 401, why
    assert turns == [] and secured.fake.calls == []


async def test_valid_bot_framework_token_is_accepted(secured: TeamsServer, turns: list[str], keys: KeyServer) -> None:
    activity = acts.message(secured.fake.url, acts.SAM, "typing")
    activity["type"] = "typing"  # nothing to answer: no outbound call needs an Entra token
    r = await secured.post(activity, headers={"Authorization": f"Bearer {keys.token(APP_ID, secured.fake.url)}"})
    assert r.status in (200, 201)
    assert turns == ["typing"]


def _malformed(url: str) -> dict[str, tuple[Any, bytes | None]]:
    ok = acts.message(url, acts.SAM, "help")
    return {
        "not json": (None, b"{not json"),
        "empty body": (None, b""),
        "json array": ([ok], None),
        "json string": ("hello", None),
        "no type": ({k: v for k, v in ok.items() if k != "type"}, None),
        "no serviceUrl": ({k: v for k, v in ok.items() if k != "serviceUrl"}, None),
        "serviceUrl not a url": ({**ok, "serviceUrl": "ftp://x"}, None),
        "no conversation": ({k: v for k, v in ok.items() if k != "conversation"}, None),
        "conversation is a string": ({**ok, "conversation": "a:1"}, None),
        "no from": ({k: v for k, v in ok.items() if k != "from"}, None),
        "no recipient": ({k: v for k, v in ok.items() if k != "recipient"}, None),
        "entities not a list": ({**ok, "entities": {"type": "mention"}}, None),
        "channelData not an object": ({**ok, "channelData": "x"}, None),
        "bad timestamp": ({**ok, "timestamp": "yesterday-ish"}, None),
        "not utf-8": (None, b"\xff\xfe{}"),
    }


async def test_malformed_activities_get_4xx_in_development_mode(teams_server: TeamsServer, turns: list[str]) -> None:
    for why, (body, raw) in _malformed(teams_server.fake.url).items():
        r = await teams_server.post(body, raw=raw)
        assert 400 <= r.status < 500, (why, r.status)
    assert teams_server.fake.calls == []


async def test_malformed_activities_get_4xx_with_auth_on(
    secured: TeamsServer, keys: KeyServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Signed: 400 (or 415); unsigned or badly signed: 401 whatever the bytes. Never a traceback."""
    token = keys.token(APP_ID, secured.fake.url)
    with caplog.at_level(logging.INFO):
        for why, (body, raw) in _malformed(secured.fake.url).items():
            r = await secured.post(body, raw=raw, headers={"Authorization": f"Bearer {token}"})
            # 401 only where the activity names another service than the token was minted for.
            assert 400 <= r.status < 500 and (r.status != 401) == (why != "serviceUrl not a url"), (why, r.status)
            for headers in ({}, {"Authorization": "Bearer garbage"}, {"Authorization": f"Bearer {token}x"}):
                r = await secured.post(body, raw=raw, headers=headers)
                assert r.status == 401, (why, headers.keys(), r.status)
    assert secured.fake.calls == []
    assert not [r for r in caplog.records if r.exc_info]


async def test_wrong_content_type_and_method(teams_server: TeamsServer) -> None:
    async with teams_server.session.post(teams_server.url, data=b"{}", headers={"Content-Type": "text/plain"}) as r:
        assert r.status == 415
    async with teams_server.session.post(teams_server.url, data=b"{}", headers={}) as r:
        assert r.status == 415
    async with teams_server.session.get(teams_server.url) as r:
        assert r.status == 405


async def test_development_mode_is_announced_loudly(
    momentum: Any, teams_fake: FakeConnector, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="adapters.teams.web"):
        server, runner = await start_server(momentum, TeamsSettings(), teams_fake)
    await server.session.close()
    await runner.cleanup()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("LOCAL DEVELOPMENT MODE" in r.getMessage() for r in warnings)


async def test_secrets_never_reach_the_logs(
    secured: TeamsServer, keys: KeyServer, caplog: pytest.LogCaptureFixture
) -> None:
    token = keys.token(APP_ID, secured.fake.url, key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    with caplog.at_level(logging.DEBUG):
        await secured.post(
            acts.message(secured.fake.url, acts.SAM, "win my secret note"),
            headers={"Authorization": f"Bearer {token}"},
        )
    text = caplog.text
    assert token not in text and "not-a-real-secret" not in text and "my secret note" not in text


async def test_a_normal_install_and_roster_read_log_no_warnings(
    secured: TeamsServer, keys: KeyServer, entra_tokens: list[str], momentum: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """With auth on (a real install), a team install reads the roster and a person installs for
    themselves: no warning from us or the SDK, no Python warning (botbuilder's msrest used to)."""
    import warnings

    for u in (acts.ADMIN, acts.SAM, acts.RIA):
        secured.fake.add_member(u.teams_id, u.aad, u.name, u.email)
    token = {"Authorization": f"Bearer {keys.token(APP_ID, secured.fake.url)}"}
    with warnings.catch_warnings(record=True) as python_warnings, caplog.at_level(logging.DEBUG):
        warnings.simplefilter("always")
        assert (await secured.post(acts.team_install(secured.fake.url, acts.ADMIN), headers=token)).status == 201
        assert (await secured.post(acts.personal_install(secured.fake.url, acts.SAM), headers=token)).status == 201
    noisy = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING]
    assert noisy == []
    assert [str(w.message) for w in python_warnings] == []
    assert _people(momentum) == 3 and entra_tokens  # the roster was read, with an Entra token
    assert all(c.status < 300 for c in secured.fake.calls)


async def test_with_auth_on_replies_and_proactive_sends_carry_the_bots_entra_token(
    secured: TeamsServer, keys: KeyServer, entra_tokens: list[str]
) -> None:
    from bot.model.messages import Message, para
    from bot.model.ports import Recipient, WorkspaceRef

    token = {"Authorization": f"Bearer {keys.token(APP_ID, secured.fake.url)}"}
    r = await secured.post(acts.message(secured.fake.url, acts.SAM, "help"), headers=token)
    assert r.status == 201
    (reply,) = secured.fake.sent()
    assert reply.conversation_id == acts.SAM.chat and reply.authorization == "Bearer fake-entra-token"
    # A proactive send (the weekly prompt) from the platform: the same credential, asked for Bot Framework.
    address = {
        "serviceUrl": secured.fake.url,
        "channelId": "msteams",
        "bot": {"id": acts.BOT_ID, "name": acts.BOT_NAME},
        "user": acts.RIA.account(),
        "conversation": {"id": acts.RIA.chat, "conversationType": "personal", "tenantId": acts.TENANT},
    }
    ws = WorkspaceRef(id=1, platform="teams", external_id=acts.TENANT)
    await secured.platform.send(ws, Recipient(2, acts.RIA.aad, "Ria", address), Message("Hi", (para("Hi"),)))
    proactive = secured.fake.sent()[-1]
    assert proactive.conversation_id == acts.RIA.chat and proactive.authorization == "Bearer fake-entra-token"
    assert entra_tokens and all(a == "https://api.botframework.com" for a in entra_tokens)
