"""The Teams connector client honours the standard proxy variables (HTTP_PROXY, HTTPS_PROXY, NO_PROXY):
the Agents SDK opens its sessions without ``trust_env``, so ``adapters.teams.web`` gives it one that has it.
A forward proxy on loopback (``tests/helpers/proxy.py``) counts what goes through it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.teams.platform import TeamsPlatform
from adapters.teams.settings import TeamsSettings
from adapters.teams.web import create_adapter
from bot.model.messages import Message, para
from bot.model.ports import Recipient, WorkspaceRef
from tests.helpers.proxy import ForwardProxy, proxied
from tests.slack.conftest import BOT_TOKEN
from tests.teams import activities as acts
from tests.teams.conftest import FakeSleep
from tests.teams.fake_connector import FakeConnector


@pytest.fixture
async def proxy(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ForwardProxy]:
    """The proxy, named by HTTP_PROXY and HTTPS_PROXY before anything else starts (as a host sets them)."""
    async with proxied(monkeypatch) as p:
        yield p


async def _token(_: str) -> str:
    return BOT_TOKEN


# --- Teams ------------------------------------------------------------------------------------------


async def test_teams_connector_calls_go_through_the_proxy(proxy: ForwardProxy, teams_fake: FakeConnector) -> None:
    platform = TeamsPlatform(create_adapter(TeamsSettings()), TeamsSettings(), sleep=FakeSleep())
    address = {"serviceUrl": teams_fake.url, "channelId": "msteams", "bot": {"id": acts.BOT_ID, "name": acts.BOT_NAME},
               "user": acts.SAM.account(),
               "conversation": {"id": acts.SAM.chat, "conversationType": "personal", "tenantId": acts.TENANT}}
    d = await platform.send(WorkspaceRef(id=1, platform="teams", external_id=acts.TENANT),
                            Recipient(1, acts.SAM.aad, "Sam", address), Message(text="hi", blocks=(para("hi"),)))
    assert d.ref["activity_id"] and len(teams_fake.sent()) == 1
    sent = [t for t in proxy.targets("POST") if t.startswith(teams_fake.url) and t.endswith("/activities")]
    assert len(sent) == 1, proxy.targets()


async def test_no_proxy_sends_teams_calls_direct(proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch,
                                                 teams_fake: FakeConnector) -> None:
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    platform = TeamsPlatform(create_adapter(TeamsSettings()), TeamsSettings(), sleep=FakeSleep())
    address = {"serviceUrl": teams_fake.url, "channelId": "msteams", "bot": {"id": acts.BOT_ID, "name": acts.BOT_NAME},
               "user": acts.SAM.account(),
               "conversation": {"id": acts.SAM.chat, "conversationType": "personal", "tenantId": acts.TENANT}}
    await platform.send(WorkspaceRef(id=1, platform="teams", external_id=acts.TENANT),
                        Recipient(1, acts.SAM.aad, "Sam", address), Message(text="hi", blocks=(para("hi"),)))
    assert len(teams_fake.sent()) == 1 and proxy.requests == []
