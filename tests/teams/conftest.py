"""Shared Teams fixtures: the fake connector, the real endpoint on a loopback port, a no-wait sleep."""

from __future__ import annotations

import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import requests
from aiohttp import web

from adapters.teams.bot import MomentumTeamsBot
from adapters.teams.platform import TeamsPlatform
from adapters.teams.settings import TeamsSettings
from adapters.teams.web import TEAMS_BOT_KEY, TEAMS_PLATFORM_KEY, mount
from tests.teams import activities as acts
from tests.teams.fake_connector import FakeConnector
from tests.teams.jwks import KeyServer


@dataclass
class FakeSleep:
    """Records the waits asked for and returns at once: no test sleeps on a real timer."""

    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@dataclass
class TeamsServer:
    url: str
    app: web.Application
    session: aiohttp.ClientSession
    fake: FakeConnector
    sleep: FakeSleep

    @property
    def platform(self) -> TeamsPlatform:
        return self.app[TEAMS_PLATFORM_KEY]

    @property
    def bot(self) -> MomentumTeamsBot:
        return self.app[TEAMS_BOT_KEY]

    async def settle(self) -> None:
        """Wait for the work turns left running after their answer (team roster reads)."""
        await self.bot.rosters.drain()

    async def post(
        self, activity: Any, *, headers: dict[str, str] | None = None, raw: bytes | None = None, settle: bool = True
    ) -> aiohttp.ClientResponse:
        """Post an activity and (``settle``) wait for what its turn left running, as a test must before
        it looks at the database; ``settle=False`` returns as soon as the endpoint answered."""
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        kwargs: dict[str, Any] = {"data": raw} if raw is not None else {"json": activity}
        async with self.session.post(self.url, headers=hdrs, **kwargs) as r:
            await r.read()
        if settle:
            await self.settle()
        return r


LOOPBACK = ("http://127.0.0.1", "http://localhost")


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Signing keys are fetched with ``urllib`` (PyJWT) and tokens with ``requests`` (MSAL); in tests
    neither may leave the machine (aiohttp calls go to the serviceUrl, which is always the fake)."""

    def refuse(self: requests.Session, method: str, url: str, *a: Any, **k: Any) -> Any:
        if not url.startswith(LOOPBACK):
            raise AssertionError(f"test tried to reach {url}")
        return _real_request(self, method, url, *a, **k)

    def refuse_urlopen(url: Any, *a: Any, **k: Any) -> Any:
        target = url if isinstance(url, str) else url.full_url
        if not target.startswith(LOOPBACK):
            raise AssertionError(f"test tried to reach {target}")
        return _real_urlopen(url, *a, **k)

    monkeypatch.setattr(requests.Session, "request", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse_urlopen)


_real_request = requests.Session.request
_real_urlopen = urllib.request.urlopen


@pytest.fixture
async def teams_fake() -> AsyncIterator[FakeConnector]:
    fake = await FakeConnector().start()
    yield fake
    await fake.stop()


@pytest.fixture
def teams_settings() -> TeamsSettings:
    return TeamsSettings()  # local development mode: no app id, no auth, replies go to serviceUrl


async def start_server(
    momentum: Any, settings: TeamsSettings, fake: FakeConnector
) -> tuple[TeamsServer, web.AppRunner]:
    app = web.Application()
    mount(app, momentum, settings)
    sleep = FakeSleep()
    app[TEAMS_PLATFORM_KEY].sleep = sleep
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    session = aiohttp.ClientSession()
    return TeamsServer(f"http://127.0.0.1:{port}/api/messages", app, session, fake, sleep), runner


@pytest.fixture
async def teams_server(
    momentum: Any, teams_settings: TeamsSettings, teams_fake: FakeConnector
) -> AsyncIterator[TeamsServer]:
    server, runner = await start_server(momentum, teams_settings, teams_fake)
    yield server
    await server.session.close()
    await runner.cleanup()


@pytest.fixture
def roster(teams_fake: FakeConnector) -> Iterator[list[acts.User]]:
    people = [acts.ADMIN, acts.SAM, acts.RIA]
    for p in people:
        teams_fake.add_member(p.teams_id, p.aad, p.name, p.email)
    yield people


# --- authentication on: Bot Framework JWTs signed by a loopback key server -------------------------

APP_ID = "11111111-2222-4333-8444-555555555555"
TENANT_ID = "72f988bf-0000-4000-8000-000000000001"


@pytest.fixture
def keys() -> Iterator[KeyServer]:
    ks = KeyServer()
    yield ks
    ks.close()


@pytest.fixture
def entra_tokens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Outbound calls need an Entra token (MSAL); tests cannot reach Entra, so MSAL hands out a fake one."""
    from microsoft_agents.authentication.msal import MsalAuth

    asked: list[str] = []

    async def fake_token(self: Any, resource_url: str, scopes: list[str], force_refresh: bool = False) -> str:
        asked.append(resource_url)
        return "fake-entra-token"

    monkeypatch.setattr(MsalAuth, "get_access_token", fake_token)
    return asked


@pytest.fixture
async def secured(
    momentum: Any, teams_fake: FakeConnector, keys: KeyServer, entra_tokens: list[str]
) -> AsyncIterator[TeamsServer]:
    settings = TeamsSettings(
        MICROSOFT_APP_ID=APP_ID,
        MICROSOFT_APP_PASSWORD="not-a-real-secret",
        MICROSOFT_APP_TENANT_ID=TENANT_ID,
        TEAMS_OPENID_METADATA_URL=keys.metadata_url,
    )
    server, runner = await start_server(momentum, settings, teams_fake)
    yield server
    await server.session.close()
    await runner.cleanup()
