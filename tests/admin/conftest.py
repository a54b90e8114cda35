"""A real server with the web console on a loopback port, a workspace with a program, pairs and a
planted private note, a second workspace with its own admin, and helpers to sign in."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from sqlmodel import select

from adapters.server import Edges, build_app
from bot.app import Momentum
from bot.domain import console
from bot.model.clock import FakeClock
from bot.model.config import Settings
from bot.model.interactions import Profile
from storage.db import Database
from storage.models import CheckIn, Pair, Person, Touchpoint, Win, Workspace
from tests.fakes import ADMIN, RecordingPlatform, act, person, setup_program

NOTE = "PLANTED-private-note-7f3a"  # must never appear on any console page
OTHER_ADMIN = Profile("UBOB", "Bob Boss", "bob@other.example", "Europe/Paris", "en-GB", True)
NON_ADMIN = person("UNORA", "Nora Plain")
PEOPLE = [(person(f"US{i}", f"Sponsor {i}"), person(f"UE{i}", f"Sponsoree {i}")) for i in range(6)]


@dataclass
class World:
    m: Momentum
    clock: FakeClock
    fake: RecordingPlatform
    ws: int
    other_ws: int
    admin_id: int
    other_admin_id: int
    non_admin_id: int
    other_program_name: str = "Secret Program T2"


@pytest.fixture
def console_settings() -> Settings:
    return Settings(MOMENTUM_SECRET_KEY="test-secret", MOMENTUM_ADMINS="admin@example.com",
                    MOMENTUM_PUBLIC_URL="http://console.test", MOMENTUM_MIN_GROUP=3)


async def build_world(db: Database, settings: Settings, clock: FakeClock) -> World:
    fake = RecordingPlatform()
    m = Momentum(db, settings, clock, {"test": fake})
    for p in [ADMIN, NON_ADMIN, *[x for pair in PEOPLE for x in pair]]:
        fake.people[p.external_id] = p
    await setup_program(m, PEOPLE)
    await act(m, NON_ADMIN, text="help")
    # a second workspace, its own admin and program
    from bot.model.interactions import Interaction, InteractionKind

    r = await m.handle(Interaction("test", "T2", OTHER_ADMIN.external_id, InteractionKind.COMMAND,
                                   text="program create "
                                   "Secret Program T2", profile=OTHER_ADMIN))
    assert r.reply is not None and "Created" in r.reply.text, r.reply
    clock.advance(timedelta(days=30))
    with db.session() as s:
        ws = s.exec(select(Workspace).where(Workspace.external_id == "T1")).one()
        other = s.exec(select(Workspace).where(Workspace.external_id == "T2")).one()
        ids = {p.external_id: p.id for p in s.exec(select(Person)).all()}
        pair = s.exec(select(Pair)).first()
        assert pair is not None and pair.id is not None
        # plant private words everywhere they could leak from
        s.add(CheckIn(pair_id=pair.id, author_id=pair.sponsoree_id, status="met", momentum=4, note=NOTE,
                      shared=False, created_at=clock.now(), updated_at=clock.now()))
        s.add(Touchpoint(pair_id=pair.id, author_id=pair.sponsoree_id, kind="light", note=NOTE,
                         occurred_at=clock.now()))
        s.add(Win(pair_id=pair.id, author_id=pair.sponsoree_id, text=NOTE, shared=False, created_at=clock.now()))
    assert ws.id and other.id
    return World(m, clock, fake, ws.id, other.id, ids["UADMIN"], ids["UBOB"], ids["UNORA"])  # type: ignore[arg-type]


@pytest.fixture
async def world(sqlite_db: Database, console_settings: Settings, clock: FakeClock) -> World:
    return await build_world(sqlite_db, console_settings, clock)


async def serve(m: Momentum) -> AsyncIterator[str]:
    runner = web.AppRunner(build_app(m, Edges(), scheduler=False), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    assert site._server is not None
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def base(world: World) -> AsyncIterator[str]:
    async for url in serve(world.m):
        yield url


def link_for(w: World, person_id: int) -> str:
    """A fresh sign-in link's path and query (as the chat command makes it)."""
    with w.m.db.session() as s:
        url = console.issue_link(s, person_id, w.clock.now(), "http://console.test")
    return url.removeprefix("http://console.test")


def client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


COOKIE_NAME = "momentum_console_w"  # + the workspace id
CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


async def login_form(http: aiohttp.ClientSession, base: str, token: str) -> dict[str, str]:
    """Open the sign-in page for ``token`` (it sets the page's login cookie) and return its form."""
    async with http.get(f"{base}/admin/login", params={"token": token}) as r:
        assert r.status == 200, await r.text()
        body = await r.text()
    found = re.search(r'name="login_csrf" value="([0-9a-f]{64})"', body)
    assert found is not None
    return {"token": token, "login_csrf": found.group(1)}


async def sign_in(http: aiohttp.ClientSession, base: str, path: str) -> aiohttp.ClientResponse:
    """Open the link, press the button (POST the token), follow to the overview."""
    async with http.get(base + path) as r:
        assert r.status == 200, await r.text()
        body = await r.text()
    token = re.search(r'name="token" value="([^"]+)"', body)
    login_csrf = re.search(r'name="login_csrf" value="([0-9a-f]{64})"', body)
    assert token is not None and login_csrf is not None
    async with http.post(base + "/admin/login", data={"token": token.group(1),
                                                      "login_csrf": login_csrf.group(1)}) as r:
        await r.read()
        return r


async def page(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url) as r:
        return r.status, html.unescape(await r.text())


async def text(r: aiohttp.ClientResponse) -> str:
    return html.unescape(await r.text())


def csrf_of(html: str) -> str:
    m = CSRF.search(html)
    assert m is not None, "no CSRF token on the page"
    return m.group(1)
