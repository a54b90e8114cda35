"""Shared Slack fixtures: fake Web API on loopback, a Slack-style request signer, the running server."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from adapters.slack.runtime import SlackRuntime
from adapters.slack.settings import SlackSettings
from adapters.slack.web import SLACK_RUNTIME, mount
from bot.app import Momentum
from bot.model.interactions import Interaction, Response
from tests.slack.fake_slack import FakeSlack

SIGNING_SECRET = "8f742231b10e8888abcd99a0b1c2d85a"  # the shape Slack issues: 32 hex digits
BOT_TOKEN = "xoxb-1111-2222-testtokenvalue"


class Signer:
    """Signs bodies exactly as Slack does: v0 HMAC-SHA256 of ``v0:{ts}:{body}``."""

    def __init__(self, secret: str = SIGNING_SECRET) -> None:
        self.secret = secret

    def headers(
        self,
        body: str,
        *,
        ts: int | None = None,
        content_type: str = "application/json",
        retry_num: int | None = None,
    ) -> dict[str, str]:
        ts = int(time.time()) if ts is None else ts
        base = f"v0:{ts}:{body}".encode()
        sig = "v0=" + hmac.new(self.secret.encode(), base, hashlib.sha256).hexdigest()
        h = {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sig, "Content-Type": content_type}
        if retry_num is not None:
            h["X-Slack-Retry-Num"] = str(retry_num)
            h["X-Slack-Retry-Reason"] = "http_timeout"
        return h


@dataclass
class ScriptedCore:
    """Stands in for ``momentum.handle`` in adapter tests: records interactions, returns scripted answers."""

    answers: list[Response] = field(default_factory=list)
    seen: list[Interaction] = field(default_factory=list)

    async def __call__(self, interaction: Interaction) -> Response:
        self.seen.append(interaction)
        return self.answers.pop(0) if self.answers else Response()


@dataclass
class SlackServer:
    url: str
    runtime: SlackRuntime
    fake: FakeSlack
    signer: Signer
    session: aiohttp.ClientSession
    sleeps: list[float]

    async def post(self, body: str, headers: dict[str, str]) -> tuple[int, str]:
        async with self.session.post(self.url + "/slack/events", data=body.encode(), headers=headers) as r:
            return r.status, await r.text()

    async def signed(self, body: str, content_type: str, **kw: Any) -> tuple[int, str]:
        return await self.post(body, self.signer.headers(body, content_type=content_type, **kw))

    async def command(self, text: str, *, user: str = "UADMIN", team: str = "T1") -> tuple[int, str]:
        form = {
            "token": "legacy",
            "team_id": team,
            "team_domain": "acme",
            "channel_id": "C1",
            "channel_name": "general",
            "user_id": user,
            "user_name": "someone",
            "command": "/momentum",
            "text": text,
            "api_app_id": "A1",
            "is_enterprise_install": "false",
            "response_url": self.fake.response_url("cmd"),
            "trigger_id": "1337.42.abcd",
        }
        return await self.signed(urllib.parse.urlencode(form), "application/x-www-form-urlencoded")

    async def interactive(self, payload: dict[str, Any]) -> tuple[int, str]:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return await self.signed(body, "application/x-www-form-urlencoded")

    async def click(
        self, message: dict[str, Any], button: dict[str, Any], *, user: str, channel: str, team: str = "T1"
    ) -> tuple[int, str]:
        """A block_actions payload for ``button`` of a message we posted (as Slack builds it)."""
        payload = {
            "type": "block_actions",
            "team": {"id": team, "domain": "acme"},
            "user": {"id": user, "team_id": team},
            "api_app_id": "A1",
            "trigger_id": "1337.43.efgh",
            "container": {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "channel": {"id": channel},
            "message": {"ts": message["ts"], "blocks": message["blocks"]},
            "response_url": self.fake.response_url("act"),
            "actions": [{**button, "block_id": "b1", "action_ts": "1.2"}],
        }
        return await self.interactive(payload)

    async def event(
        self, event: dict[str, Any], *, event_id: str = "Ev1", team: str = "T1", retry_num: int | None = None
    ) -> tuple[int, str]:
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": team,
                "api_app_id": "A1",
                "event": event,
                "type": "event_callback",
                "event_id": event_id,
                "event_time": int(time.time()),
                "authorizations": [{"team_id": team, "user_id": "UBOT", "is_bot": True}],
            }
        )
        return await self.signed(body, "application/json", retry_num=retry_num)

    async def settle(self) -> None:
        await self.runtime.drain()


def slack_settings_for(fake: FakeSlack, **extra: Any) -> SlackSettings:
    values: dict[str, Any] = {"SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake.api_url,
                              "SLACK_RESPONSE_URL_BASE": fake.response_url_base}
    # Pacing is tested on its own; here it must never make a test wait.
    for family in ("POST", "OPEN", "UPDATE", "USERS", "LOOKUP", "LIST", "VIEWS", "FILES"):
        values[f"SLACK_RATE_{family}_PER_MIN"] = 60_000
    if not extra.get("SLACK_CLIENT_ID"):
        values["SLACK_BOT_TOKEN"] = BOT_TOKEN
    values.update(extra)
    return SlackSettings(**values)


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack().start()
    fake.add_user("UADMIN", "Ada", "admin@example.com", tz="Europe/Berlin")
    fake.add_user("USAM", "Sam", "sam@example.com", tz="America/New_York")
    fake.add_user("UKIM", "Kim", "kim@example.com", tz="Asia/Tokyo")
    yield fake
    await fake.stop()


@pytest.fixture
def signer() -> Signer:
    return Signer()


async def start_server(momentum: Momentum, settings: SlackSettings) -> tuple[web.AppRunner, str]:
    app = web.Application()
    mount(app, momentum, settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def slack_server(momentum: Momentum, fake_slack: FakeSlack, signer: Signer) -> AsyncIterator[SlackServer]:
    """The real aiohttp server with ``mount()`` on 127.0.0.1:0, talking to the fake Slack."""
    runner, url = await start_server(momentum, slack_settings_for(fake_slack))
    runtime = runner.app[SLACK_RUNTIME]
    sleeps: list[float] = []

    async def no_sleep(seconds: float) -> None:  # Retry-After is recorded, never slept
        sleeps.append(seconds)

    runtime.api.sleep = no_sleep
    async with aiohttp.ClientSession() as session:
        yield SlackServer(url, runtime, fake_slack, signer, session, sleeps)
        await runtime.drain()
    await runner.cleanup()


@pytest.fixture
def scripted(momentum: Momentum, monkeypatch: pytest.MonkeyPatch) -> ScriptedCore:
    """Replace the core's ``handle`` with a script (adapter tests that do not exercise the core)."""
    core = ScriptedCore()
    monkeypatch.setattr(momentum, "handle", core)
    return core
