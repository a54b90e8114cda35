"""OAuth install (many workspaces): slack_sdk's stores over our database, bot tokens encrypted at rest."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from adapters.slack.web import SLACK_RUNTIME
from bot.app import Momentum
from bot.domain import people as directory
from tests.slack.conftest import Signer, SlackServer, slack_settings_for, start_server
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


@pytest.fixture
async def oauth_server(momentum: Momentum, fake_slack: FakeSlack, signer: Signer) -> AsyncIterator[SlackServer]:
    settings = slack_settings_for(fake_slack, SLACK_CLIENT_ID="111.222", SLACK_CLIENT_SECRET="client-secret")
    assert settings.oauth_enabled and settings.bot_token is None
    runner, url = await start_server(momentum, settings)
    runtime = runner.app[SLACK_RUNTIME]
    async with aiohttp.ClientSession() as session:
        yield SlackServer(url, runtime, fake_slack, signer, session, [])
        await runtime.drain()
    await runner.cleanup()


async def _install(server: SlackServer) -> None:
    async with server.session.get(server.url + "/slack/install") as r:
        assert r.status == 200
        page = await r.text()
        cookie = r.headers["Set-Cookie"].split(";")[0]
    state = urllib.parse.unquote(re.search(r"state=([^&\"']+)", page).group(1))  # type: ignore[union-attr]
    assert "client_id=111.222" in page and "chat:write" in urllib.parse.unquote(page)
    q = urllib.parse.urlencode({"code": "temp-code", "state": state})
    async with server.session.get(server.url + "/slack/oauth_redirect?" + q, headers={"Cookie": cookie}) as r:
        assert r.status == 200, await r.text()
    await server.settle()


def _db_bytes(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in tmp_path.glob("momentum.db*"))


async def test_install_stores_an_encrypted_token_and_serves_the_workspace(
    oauth_server: SlackServer, momentum: Momentum, tmp_path: Path
) -> None:
    fake = oauth_server.fake
    await _install(oauth_server)
    (access,) = fake.of("oauth.v2.access")
    assert access["code"] == "temp-code"
    token = fake.oauth_token
    momentum.db.engine.dispose()  # flush connections so the file holds everything written
    raw = _db_bytes(tmp_path)
    assert b"slack_installations" in raw
    assert token.encode() not in raw  # encrypted at rest with MOMENTUM_SECRET_KEY
    assert await oauth_server.runtime.token_for("T2") == token
    with momentum.db.session() as s:
        ws = directory.get_workspace(s, "slack", "T2")
        assert ws is not None and ws.name == "Two" and ws.status == "active"

    # A request from the new workspace is authorised from the store and uses its token.
    fake.add_user("UADMIN", "Ada", "admin@example.com")
    fake.users["UADMIN"]["team_id"] = "T2"
    status, _ = await oauth_server.command("help", user="UADMIN", team="T2")
    assert status == 200
    await oauth_server.settle()
    info = [c for c in fake.calls if c.method == "users.info"]
    assert info and all(c.token == token for c in info)
    assert fake.responses and fake.responses[-1]["response_type"] == "ephemeral"

    # Uninstall: the workspace is parked and the token forgotten.
    await oauth_server.event({"type": "app_uninstalled"}, event_id="EvGone", team="T2")
    await oauth_server.settle()
    assert await oauth_server.runtime.token_for("T2") is None
    with momentum.db.session() as s:
        ws = directory.get_workspace(s, "slack", "T2")
        assert ws is not None and ws.status == "uninstalled"


async def test_bad_state_is_refused(oauth_server: SlackServer) -> None:
    q = urllib.parse.urlencode({"code": "temp-code", "state": "forged"})
    async with oauth_server.session.get(oauth_server.url + "/slack/oauth_redirect?" + q) as r:
        assert r.status >= 400
    assert oauth_server.fake.of("oauth.v2.access") == []


async def test_the_oauth_flow_at_debug_logs_no_token(oauth_server: SlackServer) -> None:
    import io
    import logging

    from adapters.logs import Redact, configure, quiet_libraries

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure("DEBUG", json_format=False)
    buf = io.StringIO()
    capture = logging.StreamHandler(buf)
    capture.addFilter(Redact())  # as the server's own handler
    root.addHandler(capture)
    try:
        await _install(oauth_server)
        logging.getLogger("bot.probe").debug("probe-line")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        quiet_libraries()
    out = buf.getvalue()
    assert "probe-line" in out
    token = oauth_server.fake.oauth_token
    assert token not in out and "client-secret" not in out and "temp-code" not in out
