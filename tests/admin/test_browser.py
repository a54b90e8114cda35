"""The console in a real browser: Playwright for Python driving Debian's chromium (its executable_path, no
browser download). Signs in through a link, reads the overview, opens a program (its charts drawn by the
vendored Chart.js), imports a CSV with an error then a good one, exports, reads the audit log, and is
refused with a non-admin's link and an expired one. Screenshots of each page go to
``test-artifacts/console/``. Outside CI a missing chromium skips, saying so; under CI it fails."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlmodel import select

from adapters.server import Edges, build_app
from bot.model.clock import FakeClock
from bot.model.config import Settings
from storage.db import Database
from tests.admin.conftest import NOTE, World, build_world, link_for
from tests.fakes import person

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "console"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _chromium() -> str | None:
    return os.environ.get("MOMENTUM_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


class Server:
    """The world and the real server on their own event loop in a thread (Playwright's sync API wants
    the test's thread free of a running loop)."""

    def __init__(self, db: Database, settings: Settings, clock: FakeClock) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.url = ""
        self.world: World | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(db, settings, clock), daemon=True)

    def _run(self, db: Database, settings: Settings, clock: FakeClock) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.world = self.loop.run_until_complete(build_world(db, settings, clock))
            runner = web.AppRunner(build_app(self.world.m, Edges(), scheduler=False), access_log=None)
            self.loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            self.loop.run_until_complete(site.start())
            self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        except BaseException as exc:  # surfaced to the test
            self.error = exc
            self.ready.set()
            return
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())

    def __enter__(self) -> Server:
        self.thread.start()
        self.ready.wait(60)
        if self.error is not None:
            raise self.error
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def browser() -> Iterator[Any]:
    exe = _chromium()
    if exe is None:
        if IN_CI:
            raise AssertionError("CI needs Debian's chromium (apt-get install chromium) for the console browser test")
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def server(sqlite_db: Database, clock: FakeClock) -> Iterator[Server]:
    settings = Settings(MOMENTUM_SECRET_KEY="test-secret", MOMENTUM_ADMINS="admin@example.com",
                        MOMENTUM_PUBLIC_URL="http://console.test", MOMENTUM_MIN_GROUP=3)
    with Server(sqlite_db, settings, clock) as s:
        yield s


def shot(tab: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_an_admin_uses_the_console_in_a_browser(browser: Any, server: Server) -> None:
    w = server.world
    assert w is not None
    for i in range(4):
        p = person(f"UN{i}", f"Newcomer {i}")
        w.fake.people[p.external_id] = p
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    tab = ctx.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" and "status of 422" not in m.text else None)

    # sign in through a link
    tab.goto(server.url + link_for(w, w.admin_id))
    shot(tab, "01-sign-in")
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(f"**/admin/w/{w.ws}/")
    assert tab.get_by_role("heading", name="Programs", exact=True).is_visible()
    assert tab.get_by_role("heading", name="Pilot").is_visible()
    assert "Health:" in tab.inner_text("main")
    shot(tab, "02-overview")

    # keyboard: the first Tab lands on the skip link, which moves focus to the content
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.textContent") == "Skip to content"

    # open the program: five charts drawn by Chart.js, each with its table
    tab.get_by_role("link", name="Pilot").first.click()
    tab.wait_for_selector("canvas[data-chart='engagement']")
    drawn = tab.evaluate("Array.from(document.querySelectorAll('canvas[data-chart]'))"
                         ".map(c => !!Chart.getChart(c))")
    assert drawn == [True] * 5
    tab.get_by_text("Weekly engagement: data table").click()
    assert tab.get_by_role("table", name="Weekly engagement by week").is_visible()
    shot(tab, "03-program")

    # import a CSV with an error, then a good one
    tab.get_by_role("link", name="Import").click()
    tab.get_by_label("or paste it").fill("sponsor_email,sponsoree_email,program\n"
                                        "un0@example.com,un1@example.com,Pilot\nnot-an-email,un3@example.com,Pilot\n")
    tab.get_by_role("button", name="Check").click()
    assert "1 line(s) need fixing" in tab.inner_text("main")
    assert tab.get_by_role("button", name="Import these").count() == 0
    shot(tab, "04-import-error")
    tab.get_by_label("or paste it").fill("sponsor_email,sponsoree_email,program,unit\n"
                                        "un0@example.com,un1@example.com,Pilot,Sales\n"
                                        "un2@example.com,un3@example.com,Pilot,Ops\n")
    tab.get_by_role("button", name="Check").click()
    tab.get_by_role("button", name="Import these 2 line(s)").click()
    assert "Imported 2 new pair(s)" in tab.inner_text("main")
    shot(tab, "05-import-done")

    # export
    tab.get_by_role("link", name="Export").click()
    shot(tab, "06-export")
    with tab.expect_download() as dl:
        tab.get_by_role("link", name="Download the pairs CSV").click()
    content = Path(dl.value.path()).read_text()
    assert content.startswith("sponsor_email") or "sponsor" in content.splitlines()[0]
    assert content.count("\n") >= 9 and NOTE not in content

    # the audit log, filtered
    tab.get_by_role("link", name="Audit log").click()
    tab.get_by_label("Action").select_option("pairs.import")
    tab.get_by_role("button", name="Filter").click()
    rows = tab.locator("table tbody tr")
    assert rows.count() >= 1 and all("pairs.import" in t for t in rows.all_inner_texts())
    assert "pairs.export" not in tab.inner_text("table")
    shot(tab, "07-audit")

    # every other page, and nothing private anywhere
    for name, link in (("08-cohorts", "Cohorts"), ("09-stalled", "Stalled pairs"), ("10-pairs", "Pairs"),
                       ("11-outcomes", "Outcomes"), ("12-messages", "Messages")):
        tab.get_by_role("link", name=link, exact=True).click()
        assert NOTE not in tab.content()
        assert tab.evaluate("document.documentElement.scrollWidth") <= 1282, name  # nothing spills sideways
        shot(tab, name)
    assert tab.get_by_role("link", name="Teams").count() > 0  # calendar links shown as links, as in chat
    tab.get_by_role("link", name="Stalled pairs").click()
    tab.get_by_role("button", name="Send a kind nudge").first.click()
    assert "A kind nudge is on its way" in tab.inner_text("main")
    tab.goto(f"{server.url}/admin/w/{w.ws}/programs/1/settings")
    shot(tab, "13-settings")

    # a phone's width: nothing wider than the screen but the tables' own scroll boxes
    tab.set_viewport_size({"width": 390, "height": 844})
    tab.goto(f"{server.url}/admin/w/{w.ws}/")
    assert tab.evaluate("document.documentElement.scrollWidth") <= 392
    shot(tab, "14-overview-phone")
    tab.goto(f"{server.url}/admin/w/{w.ws}/programs/1")
    assert tab.evaluate("document.documentElement.scrollWidth") <= 392
    shot(tab, "15-program-phone")
    tab.get_by_role("button", name="Sign out").click()
    assert "signed out" in tab.inner_text("main").lower()
    assert errors == [], errors
    ctx.close()

    # a non-admin's link and an expired link are refused
    other = browser.new_context()
    tab = other.new_page()
    tab.goto(server.url + link_for(w, w.non_admin_id))
    tab.get_by_role("button", name="Sign in").click()
    assert "isn't a Momentum admin" in tab.inner_text("main")
    shot(tab, "16-non-admin-refused")
    link = link_for(w, w.admin_id)
    w.clock.advance(timedelta(minutes=11))
    tab.goto(server.url + link)
    tab.get_by_role("button", name="Sign in").click()
    assert "expired" in tab.inner_text("main")
    shot(tab, "17-expired-refused")
    tab.goto(f"{server.url}/admin/w/{w.ws}/")
    assert "Please sign in" in tab.inner_text("main")
    other.close()


def test_a_sign_in_form_on_another_site_is_refused_in_a_real_browser(browser: Any, server: Server) -> None:
    """Login CSRF: another site's page posts the attacker's own sign-in link to the console. The browser
    does not send the console's SameSite=Strict login cookie with it, so the console refuses, and the
    visitor is signed in to nothing (even after opening a sign-in page of their own)."""
    import http.server

    w = server.world
    assert w is not None
    import re
    import urllib.request

    token = link_for(w, w.other_admin_id).split("token=")[1]  # the attacker's own link
    with urllib.request.urlopen(f"{server.url}/admin/login?token={token}") as r:  # and their own page's token
        theirs = re.search(r'name="login_csrf" value="([0-9a-f]{64})"', r.read().decode())
    assert theirs is not None
    evil = (f'<!doctype html><form id="f" method="post" action="{server.url}/admin/login">'
            f'<input name="token" value="{token}"><input name="login_csrf" value="{theirs.group(1)}"></form>'
            '<script>document.getElementById("f").submit()</script>').encode()

    class Evil(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(evil)

        def log_message(self, *_: Any) -> None:
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Evil)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        ctx = browser.new_context()
        tab = ctx.new_page()
        tab.goto(server.url + link_for(w, w.admin_id))  # the visitor has a sign-in page of their own open
        assert tab.get_by_role("button", name="Sign in").is_visible()
        # "localhost" is another site than "127.0.0.1"
        tab.goto(f"http://localhost:{site.server_address[1]}/")
        tab.wait_for_url(f"{server.url}/admin/login")
        assert "Can't sign you in" in tab.inner_text("main")
        shot(tab, "18-cross-site-sign-in-refused")
        assert [c["name"] for c in ctx.cookies() if c["name"].startswith("momentum_console")] == []
        tab.goto(f"{server.url}/admin/w/{w.other_ws}/")
        assert "Please sign in" in tab.inner_text("main")
        ctx.close()
    finally:
        site.shutdown()
    with w.m.db.session() as s:
        from storage.models import ConsoleSession

        assert s.exec(select(ConsoleSession)).all() == []
