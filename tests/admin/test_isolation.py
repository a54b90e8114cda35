"""Console security through the real server, on SQLite and PostgreSQL: a session opens only the workspace
(and acts only as the identity) whose link started it, whatever the emails; a sign-in posted from another
site is refused and changes nothing; cookies follow MOMENTUM_PUBLIC_URL's scheme, not the Host header;
hostile URLs and files get a 4xx and no traceback; every answer carries the security headers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import select

from bot.domain import analytics
from bot.model.clock import FakeClock
from bot.model.config import Settings
from storage.db import Database
from storage.models import AuditLog, ConsoleLink, ConsoleSession, Outcome, Pair, Person, Program, Prompt
from tests.admin.conftest import (
    COOKIE_NAME,
    World,
    build_world,
    client,
    csrf_of,
    link_for,
    login_form,
    page,
    serve,
    sign_in,
    text,
)

pytestmark = pytest.mark.usefixtures("no_sql_on_loop")

SHARED = "admin@example.com"  # the email both workspaces' admins have


@pytest.fixture
async def shared(db: Database, console_settings: Settings, clock: FakeClock) -> World:
    """Two workspaces whose admins have the same email: the only link between the two accounts."""
    w = await build_world(db, console_settings, clock)
    with db.session() as s:
        bob = s.get(Person, w.other_admin_id)
        assert bob is not None
        bob.email = SHARED
        s.add(bob)
    return w


@pytest.fixture
async def base(shared: World) -> AsyncIterator[str]:
    async for url in serve(shared.m):
        yield url


def snapshot(w: World) -> dict[str, Any]:
    """Everything a console action could change, per table."""
    with w.m.db.session() as s:
        out: dict[str, Any] = {m.__name__: int(s.exec(select(func.count()).select_from(m)).one())
                               for m in (AuditLog, Prompt, Outcome, Pair, ConsoleSession)}
        out["programs"] = sorted((p.id, p.name, p.length_weeks, p.sponsor_time)
                                 for p in s.exec(select(Program)).all())
        return out


def b_program(w: World) -> int:
    with w.m.db.session() as s:
        (prog,) = analytics.overview(s, w.other_ws, w.clock.now())
        return int(prog.id)


async def test_a_shared_email_opens_no_other_workspace(shared: World, base: str) -> None:
    w = shared
    pid = b_program(w)
    theirs = f"/admin/w/{w.other_ws}"
    async with client() as http:
        r = await sign_in(http, base, link_for(w, w.admin_id))
        assert r.status == 200 and str(r.url).endswith(f"/admin/w/{w.ws}/")
        html = await text(r)
        assert w.other_program_name not in html  # no link to B in the header either
        token = csrf_of(html)
        before = snapshot(w)
        gets = ["/", f"/programs/{pid}", f"/programs/{pid}/settings", "/cohorts", "/stalled", "/pairs", "/import",
                "/export", "/export.csv", "/audit", "/gallery", "/outcomes", "/pairs?page=2"]
        for rel in gets:
            status, body = await page(http, base + theirs + rel)
            assert status == 404, rel
            assert w.other_program_name not in body and "Bob Boss" not in body, rel
        posts = [("/logout", {}), (f"/programs/{pid}/settings", {"length_weeks": "10", "sponsor_time": "07:00"}),
                 ("/stalled/1/nudge", {}),
                 ("/import/preview", {"csv": "sponsor_email,sponsoree_email\nus0@example.com,ue1@example.com"}),
                 ("/import/commit", {"csv": "sponsor_email,sponsoree_email\nus0@example.com,ue1@example.com"}),
                 ("/outcomes", {"csv": "email,promoted_on\nus0@example.com,2026-01-01"})]
        for rel, data in posts:
            async with http.post(base + theirs + rel, data={**data, "csrf": token}) as resp:
                assert resp.status == 404, rel
                assert w.other_program_name not in await resp.text()
        assert snapshot(w) == before  # nothing changed, not even an audit line
        assert (await page(http, f"{base}/admin/w/{w.ws}/"))[0] == 200  # and A's own session still works

        # A's session id under B's cookie name opens nothing either
        sid = {c.key: c.value for c in http.cookie_jar}[f"{COOKIE_NAME}{w.ws}"]
    async with client() as forged:
        forged.cookie_jar.update_cookies({f"{COOKIE_NAME}{w.other_ws}": sid})
        status, body = await page(forged, base + theirs + "/pairs")
        assert status == 401 and w.other_program_name not in body
        status, _ = await page(forged, base + theirs + "/export.csv")
        assert status == 401


async def test_one_browser_holds_a_separate_session_per_workspace(shared: World, base: str) -> None:
    w = shared
    async with client() as http:
        await sign_in(http, base, link_for(w, w.admin_id))
        r = await sign_in(http, base, link_for(w, w.other_admin_id))  # B's own admin, B's own link
        assert str(r.url).endswith(f"/admin/w/{w.other_ws}/")
        status, html_b = await page(http, f"{base}/admin/w/{w.other_ws}/")
        assert status == 200 and w.other_program_name in html_b and "Bob Boss" in html_b
        status, html_a = await page(http, f"{base}/admin/w/{w.ws}/")
        assert status == 200 and "Pilot" in html_a and "Ada Admin" in html_a and "Bob Boss" not in html_a
        assert f'href="/admin/w/{w.other_ws}/"' in html_a  # the switcher names the other session's workspace
        assert csrf_of(html_a) != csrf_of(html_b)  # two sessions, two tokens
        # A's token does not work for B's forms
        async with http.post(f"{base}/admin/w/{w.other_ws}/outcomes",
                             data={"csrf": csrf_of(html_a), "csv": "email\nx@example.com"}) as resp:
            assert resp.status == 403
        # each acts as its own identity in the audit log
        async with http.post(f"{base}/admin/w/{w.other_ws}/outcomes",
                             data={"csrf": csrf_of(html_b), "csv": "email,left_on\nx@example.com,2026-01-02"}) as resp:
            assert resp.status == 200
        with w.m.db.session() as s:
            (row,) = s.exec(select(AuditLog).where(AuditLog.action == "outcomes.upload")).all()
            assert row.workspace_id == w.other_ws and row.actor_id == w.other_admin_id
        # signing out of B leaves A's session
        async with http.post(f"{base}/admin/w/{w.other_ws}/logout", data={"csrf": csrf_of(html_b)}) as resp:
            assert resp.status == 200 and "signed out" in (await resp.text()).lower()
        assert (await page(http, f"{base}/admin/w/{w.other_ws}/"))[0] == 404
        assert (await page(http, f"{base}/admin/w/{w.ws}/"))[0] == 200


async def test_a_sign_in_from_another_site_is_refused_and_changes_nothing(shared: World, base: str) -> None:
    w = shared
    attacker_link = link_for(w, w.other_admin_id)
    token = attacker_link.split("token=")[1]
    before = snapshot(w)
    async with client() as victim:
        # a form on another site: the browser sends no login cookie (SameSite=Strict), only the token
        async with victim.post(base + "/admin/login", data={"token": token}, allow_redirects=False) as r:
            body = await text(r)
            assert r.status == 403 and "didn't start on this console's own page" in body
            assert token not in body  # an error page never shows a link's token
            assert not any(c.startswith(COOKIE_NAME) for c in r.headers.getall("Set-Cookie", []))
        # the victim's own login page open in another tab does not help a cross-site form
        form = await login_form(victim, base, token)
        async with victim.post(base + "/admin/login", data=form, headers={"Origin": "https://evil.example"},
                               allow_redirects=False) as r:
            assert r.status == 403
        # nor does the attacker's own page's token with the victim's cookie
        async with client() as attacker:
            theirs = await login_form(attacker, base, token)
        victim_form = await login_form(victim, base, token)
        assert victim_form["login_csrf"] != theirs["login_csrf"]
        async with victim.post(base + "/admin/login", data=theirs, allow_redirects=False) as r:
            assert r.status == 403
        assert (await page(victim, f"{base}/admin/w/{w.other_ws}/"))[0] == 401
    assert snapshot(w) == before
    with w.m.db.session() as s:
        assert all(x.used_at is None for x in s.exec(select(ConsoleLink)).all())  # the link is not even spent
    async with client() as owner:  # so it still works for its owner, on the console's own page
        r = await sign_in(owner, base, attacker_link)
        assert r.status == 200 and str(r.url).endswith(f"/admin/w/{w.other_ws}/")


async def test_cookies_follow_the_public_url_not_the_host_header(sqlite_db: Database, clock: FakeClock) -> None:
    settings = Settings(MOMENTUM_SECRET_KEY="test-secret", MOMENTUM_ADMINS=SHARED,
                        MOMENTUM_PUBLIC_URL="https://console.example.com")
    w = await build_world(sqlite_db, settings, clock)
    async for base in serve(w.m):
        token = link_for(w, w.admin_id).split("token=")[1]
        async with client() as http:
            # behind a proxy that sends Host: localhost
            async with http.get(f"{base}/admin/login", params={"token": token}, headers={"Host": "localhost"}) as r:
                (login_cookie,) = r.headers.getall("Set-Cookie")
                body = await r.text()
            assert login_cookie.startswith("__Host-momentum_login=")
            assert "Secure" in login_cookie and "Path=/;" in login_cookie + ";" and "SameSite=Strict" in login_cookie
            assert "Domain" not in login_cookie
            nonce = login_cookie.split(";")[0].split("=", 1)[1]
            csrf = body.split('name="login_csrf" value="')[1].split('"')[0]
            async with http.post(f"{base}/admin/login", data={"token": token, "login_csrf": csrf},
                                 headers={"Host": "localhost", "Cookie": f"__Host-momentum_login={nonce}",
                                          "Origin": "https://console.example.com"},  # what the browser saw
                                 allow_redirects=False) as r:
                assert r.status == 303
                (session,) = [c for c in r.headers.getall("Set-Cookie") if "momentum_console_w" in c]
            assert session.startswith(f"__Host-momentum_console_w{w.ws}=")
            assert "Secure" in session and "HttpOnly" in session and "Path=/;" in session + ";"
            # the Secure session cookie opens the console over https (a browser would not send it over http)
            sid = session.split(";")[0].split("=", 1)[1]
            async with http.get(f"{base}/admin/w/{w.ws}/",
                                headers={"Cookie": f"__Host-momentum_console_w{w.ws}={sid}"}) as r:
                assert r.status == 200
            # a plain-named cookie (as a sibling subdomain or an http page could plant) opens nothing
            async with http.get(f"{base}/admin/w/{w.ws}/", headers={"Cookie": f"momentum_console_w{w.ws}={sid}"}) as r:
                assert r.status == 401


async def test_an_http_deployment_never_sets_secure(sqlite_db: Database, clock: FakeClock) -> None:
    """Whatever the Host header says: the scheme of MOMENTUM_PUBLIC_URL decides."""
    settings = Settings(MOMENTUM_SECRET_KEY="test-secret", MOMENTUM_ADMINS=SHARED,
                        MOMENTUM_PUBLIC_URL="http://localhost:3000")
    w = await build_world(sqlite_db, settings, clock)
    async for base in serve(w.m):
        async with client() as http, http.get(f"{base}/admin/login", params={"token": "t" * 43},
                                              headers={"Host": "console.example.com"}) as r:
            (cookie,) = r.headers.getall("Set-Cookie")
            assert cookie.startswith("momentum_login=") and "Secure" not in cookie


BIG = "x" * 200_000
HOSTILE_URLS = [  # (method, path under /admin/w/<ws>, expected status)
    ("GET", "/programs/99999999999999", 404),
    ("GET", "/programs/" + "9" * 5000, 404),
    ("GET", "/programs/\u0663", 404),  # an Arabic-Indic three: a digit to Python, not to us
    ("GET", "/pairs?page=\u00b2", 400),  # a superscript two
    ("GET", "/pairs?page=" + "9" * 5000, 400),
    ("GET", "/pairs?program=\u00b2", 400),
    ("GET", "/pairs?program=99999999999", 400),
    ("GET", "/stalled?page=-1", 400),
    ("GET", "/audit?page=\u0663", 400),
    ("POST", "/stalled/99999999999/nudge", 404),
    ("POST", "/stalled/" + "9" * 5000 + "/nudge", 404),
]
HEADER = "sponsor_email,sponsoree_email,program\n"
HOSTILE_FILES = [  # (path, form, expected status, words the answer must show)
    ("/import/preview", {"csv": HEADER + f"us0@example.com,ue0@example.com,{BIG}\n"}, 422, "longer than 1,000"),
    ("/import/preview", {"csv": HEADER + f'us0@example.com,ue0@example.com,"{BIG}"\n'}, 422, "longer than 1,000"),
    ("/import/preview", {"csv": "\r" * 5000}, 422, "empty"),
    ("/import/preview", {"csv": HEADER.replace("\n", "\r") + "us0@example.com,ue0@example.com,Pilot\r"}, 200,
     "pair us0@example.com with ue0@example.com"),  # Excel for Mac's CR line ends are read
    ("/import/preview", {"csv": HEADER + "us0@example.com,ue0@exa\0mple.com,Pilot\n"}, 422, "NUL"),
    ("/import/preview", {"csv": HEADER + 'us0@example.com,"ue0@example.com,Pilot\n'}, 422, "never closed"),
    ("/import/commit", {"csv": HEADER + f"us0@example.com,ue0@example.com,{BIG}\n"}, 422, "longer than 1,000"),
    ("/import/commit", {"csv": HEADER + "us0@example.com,ue0@\0example.com,Pilot\n"}, 422, "NUL"),
    ("/outcomes", {"csv": f"email,promoted_on\n{BIG}@example.com,2026-01-01\n"}, 422, "Line 2: a value"),
    ("/outcomes", {"csv": "email,promoted_on\nus0@exam\0ple.com,2026-01-01\n"}, 422, "NUL"),
    ("/outcomes", {"csv": "email,promoted_on\r\r\r"}, 422, "no people"),
]


async def test_hostile_urls_and_files_get_a_4xx_and_no_traceback(shared: World, base: str,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    w = shared
    caplog.set_level(logging.INFO)
    async with client() as http:
        r = await sign_in(http, base, link_for(w, w.admin_id))
        token = csrf_of(await text(r))
        before = snapshot(w)
        for method, rel, expected in HOSTILE_URLS:
            data = {"csrf": token} if method == "POST" else None
            async with http.request(method, f"{base}/admin/w/{w.ws}{rel}", data=data) as resp:
                assert resp.status == expected, (rel[:60], resp.status)
                assert "Traceback" not in await resp.text()
        for rel in ("/" + "9" * 5000 + "/", "/\u0663/", "/99999999999/pairs"):
            async with http.get(f"{base}/admin/w{rel}") as resp:
                assert resp.status == 404, rel[:40]
        for rel, form, expected, words in HOSTILE_FILES:
            async with http.post(f"{base}/admin/w/{w.ws}{rel}", data={**form, "csrf": token}) as resp:
                body = await text(resp)
                assert resp.status == expected, (rel, form["csv"][:40], resp.status, body[-400:])
                assert words in body, (rel, form["csv"][:40], body[-600:])
        # an uploaded file, as a browser sends one
        import aiohttp

        upload = aiohttp.FormData()
        upload.add_field("csrf", token)
        upload.add_field("file", (HEADER + f"us0@example.com,ue0@example.com,{BIG}\n").encode(), filename="p.csv",
                         content_type="text/csv")
        async with http.post(f"{base}/admin/w/{w.ws}/import/preview", data=upload) as resp:
            assert resp.status == 422 and "longer than 1,000" in await text(resp)
        after = snapshot(w)
    # refused uploads are audited (outcomes), nothing else changed
    assert {k: v for k, v in after.items() if k != "AuditLog"} == {k: v for k, v in before.items() if k != "AuditLog"}
    with w.m.db.session() as s:
        assert s.exec(select(Outcome)).all() == []
        assert all("\0" not in (p.email or "") for p in s.exec(select(Person)).all())
    tracebacks = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert tracebacks == [], [r.getMessage() for r in tracebacks]


SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy")


async def test_every_answer_carries_the_security_headers(shared: World, base: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    w = shared

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("a bug")

    async with client() as http:
        async with http.get(f"{base}/admin/w/{w.ws}/") as r:
            assert r.status == 401
            seen = {401: dict(r.headers)}
        r = await sign_in(http, base, link_for(w, w.admin_id))
        async with http.post(f"{base}/admin/w/{w.ws}/outcomes", data={"csrf": "0" * 64}) as r:
            seen[403] = dict(r.headers)
        async with http.get(f"{base}/admin/w/{w.other_ws}/pairs") as r:
            seen[404] = dict(r.headers)
        async with http.get(f"{base}/admin/w/{w.ws}/logout") as r:
            seen[405] = dict(r.headers)
            assert "Not allowed" in await r.text() and r.headers.get("Allow") == "POST"
        async with http.get(f"{base}/admin/w/{w.ws}/pairs?page=\u00b2") as r:
            seen[400] = dict(r.headers)
        async with http.post(f"{base}/admin/w/{w.ws}/import/preview", data={"csv": "x" * (2 * 1024**2)}) as r:
            seen[413] = dict(r.headers)
        monkeypatch.setattr(analytics, "overview", broken)
        async with http.get(f"{base}/admin/w/{w.ws}/") as r:
            seen[500] = dict(r.headers)
            body = await r.text()
            assert "Something went wrong" in body and "a bug" not in body and "Traceback" not in body
    assert sorted(seen) == [400, 401, 403, 404, 405, 413, 500]
    for status, headers in seen.items():
        missing = [h for h in SECURITY_HEADERS if h not in headers]
        assert missing == [], (status, missing)
        assert headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["Cache-Control"] == "no-store", status
