"""A ``response_url`` is followed only to Slack's hooks host (``https://hooks.slack.com/``; tests point
``SLACK_RESPONSE_URL_BASE`` at their loopback fake, as they do ``SLACK_API_URL``). A signed interaction whose
response_url points anywhere else gets its answer through the Web API (chat.update, the DM), and the other
host receives nothing."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from adapters.slack.settings import SlackSettings
from bot.app import Momentum
from bot.model.clock import FakeClock
from tests.slack.conftest import SlackServer
from tests.slack.test_e2e_core import _deliver_until_dm, _pilot_pair


class Elsewhere:
    """A second loopback server that counts every request it gets, whatever its path or method."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> Elsewhere:
        async def anything(request: web.Request) -> web.Response:
            self.requests.append((request.method, request.path))
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", anything)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    def url(self, path: str = "response/act") -> str:
        return f"http://127.0.0.1:{self.port}/{path}"


@pytest.fixture
async def elsewhere() -> AsyncIterator[Elsewhere]:
    server = await Elsewhere().start()
    yield server
    assert server.runner is not None
    await server.runner.cleanup()


@pytest.mark.parametrize(
    ("url", "followed"),
    [
        ("https://hooks.slack.com/actions/T1/123/abc", True),
        ("https://HOOKS.slack.com/commands/T1/123/abc", True),
        ("https://hooks.slack.com.evil.example/actions/T1", False),
        ("https://hooks.slack.com@evil.example/actions/T1", False),
        ("https://user:pw@hooks.slack.com/actions/T1", False),
        ("http://hooks.slack.com/actions/T1", False),
        ("https://hooks.slack.com:8443/actions/T1", False),
        ("https://evil.example/?u=https://hooks.slack.com/", False),
        ("//hooks.slack.com/actions/T1", False),
        ("/actions/T1", False),
        ("javascript:alert(1)", False),
        ("", False),
    ],
)
def test_only_slacks_hooks_host_is_followed(url: str, followed: bool) -> None:
    assert SlackSettings().follows(url) is followed


def test_the_base_must_be_an_http_url_prefix() -> None:
    assert SlackSettings(SLACK_RESPONSE_URL_BASE="http://127.0.0.1:9/response").response_url_base.endswith("/")
    with pytest.raises(ValueError, match="http"):
        SlackSettings(SLACK_RESPONSE_URL_BASE="hooks.slack.com")


def _click(server: SlackServer, post: dict[str, Any], response_url: str) -> dict[str, Any]:
    button = next(b for b in post["blocks"] if b["type"] == "actions")["elements"][0]
    return {
        "type": "block_actions", "team": {"id": "T1", "domain": "acme"}, "user": {"id": "USAM", "team_id": "T1"},
        "api_app_id": "A1", "trigger_id": "1337.43.efgh",
        "container": {"type": "message", "message_ts": server.fake.ts_of(post), "channel_id": post["channel"],
                      "is_ephemeral": False},
        "channel": {"id": post["channel"]}, "message": {"ts": server.fake.ts_of(post), "blocks": post["blocks"]},
        "response_url": response_url, "actions": [{**button, "block_id": "b1", "action_ts": "1.2"}],
    }


async def test_a_click_whose_response_url_points_elsewhere_is_answered_by_chat_update(
    slack_server: SlackServer, momentum: Momentum, clock: FakeClock, elsewhere: Elsewhere,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _pilot_pair(slack_server)
    post = await _deliver_until_dm(slack_server, momentum, clock, "USAM")
    answered = len(slack_server.fake.responses)
    status, _ = await slack_server.interactive(_click(slack_server, post, elsewhere.url()))
    await slack_server.settle()
    assert status == 200
    assert elsewhere.requests == []  # not one POST to the other host
    assert len(slack_server.fake.responses) == answered  # nor to the real response_url host
    (update,) = slack_server.fake.of("chat.update")  # the clicked message replaced through the Web API
    assert update["channel"] == post["channel"] and update["ts"] == slack_server.fake.ts_of(post)
    assert any("response_url outside" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_command_whose_response_url_points_elsewhere_is_answered_in_the_dm(
    slack_server: SlackServer, elsewhere: Elsewhere
) -> None:
    import urllib.parse

    form = {"token": "legacy", "team_id": "T1", "team_domain": "acme", "channel_id": "C1", "user_id": "UADMIN",
            "user_name": "ada", "command": "/momentum", "text": "program create Pilot", "api_app_id": "A1",
            "response_url": elsewhere.url("commands/T1/1/x"), "trigger_id": "1.2.3"}
    status, _ = await slack_server.signed(urllib.parse.urlencode(form), "application/x-www-form-urlencoded")
    await slack_server.settle()
    assert status == 200 and elsewhere.requests == [] and slack_server.fake.responses == []
    (dm,) = [p for p in slack_server.fake.of("chat.postMessage") if "Pilot" in str(p.get("text"))]
    assert dm["channel"] == slack_server.fake.dm_channel("UADMIN")
