"""The console's doors: single-use links that expire, sessions without fixation, CSRF on every form,
admins only, and each admin only in their own workspaces."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from storage.models import AuditLog, ConsoleLink, ConsoleSession, Prompt
from tests.admin.conftest import (
    COOKIE_NAME,
    World,
    client,
    csrf_of,
    link_for,
    login_form,
    page,
    sign_in,
    text,
)

pytestmark = pytest.mark.usefixtures("no_sql_on_loop")


async def test_a_link_signs_in_once_and_the_cookie_is_safe(world: World, base: str) -> None:
    path = link_for(world, world.admin_id)
    async with client() as http:
        r = await sign_in(http, base, path)
        assert r.status == 200 and str(r.url).endswith(f"/admin/w/{world.ws}/")
        (cookie,) = [c for c in r.history[0].headers.getall("Set-Cookie") if c.startswith(COOKIE_NAME)]
        assert cookie.startswith(f"{COOKIE_NAME}{world.ws}=")  # this workspace's own session
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/admin" in cookie
        assert "Secure" not in cookie  # MOMENTUM_PUBLIC_URL is http:// here (test_isolation: https)
        status, html = await page(http, f"{base}/admin/w/{world.ws}/")
        assert status == 200 and "Pilot" in html
    async with client() as http:  # the same link again, in another browser
        r = await sign_in(http, base, path)
        assert r.status == 403 and "already used" in await text(r)
        status, _ = await page(http, f"{base}/admin/w/{world.ws}/")
        assert status == 401
    with world.m.db.session() as s:
        token = path.split("token=")[1]
        rows = s.exec(select(ConsoleLink)).all()
        assert rows and all(token not in (r.token_hash or "") for r in rows)  # only a hash is stored
        assert len(rows[0].token_hash) == 64
        audits = s.exec(select(AuditLog).where(AuditLog.action == "console.sign_in")).all()
        assert [a.ok for a in audits] == [True, False]


async def test_an_expired_link_is_refused(world: World, base: str) -> None:
    path = link_for(world, world.admin_id)
    world.clock.advance(timedelta(minutes=10, seconds=1))
    async with client() as http:
        r = await sign_in(http, base, path)
        assert r.status == 403 and "expired" in await text(r)
        assert (await page(http, f"{base}/admin/"))[0] == 401


async def test_a_non_admins_link_is_refused(world: World, base: str) -> None:
    async with client() as http:
        r = await sign_in(http, base, link_for(world, world.non_admin_id))
        assert r.status == 403 and "isn't a Momentum admin" in await text(r)
        assert (await page(http, f"{base}/admin/"))[0] == 401


async def test_made_up_and_missing_tokens_are_refused_kindly(world: World, base: str) -> None:
    async with client() as http:
        form = await login_form(http, base, "x" * 43)
        async with http.post(base + "/admin/login", data=form) as r:
            assert r.status == 403 and "isn't valid" in await text(r)
        form = await login_form(http, base, "y" * 43)  # a refusal ends the page's login cookie: a new page
        async with http.post(base + "/admin/login", data={**form, "token": ""}) as r:
            assert r.status == 400
        async with http.get(base + "/admin/login") as r:
            assert r.status == 400


async def test_sessions_expire_after_8_hours_idle_and_end_at_logout(world: World, base: str) -> None:
    async with client() as http:
        await sign_in(http, base, link_for(world, world.admin_id))
        world.clock.advance(timedelta(hours=7, minutes=59))
        status, html = await page(http, f"{base}/admin/w/{world.ws}/")
        assert status == 200  # still active: this click counts as activity
        world.clock.advance(timedelta(hours=7, minutes=59))
        assert (await page(http, f"{base}/admin/w/{world.ws}/"))[0] == 200
        world.clock.advance(timedelta(hours=8))
        assert (await page(http, f"{base}/admin/w/{world.ws}/"))[0] == 401
        await sign_in(http, base, link_for(world, world.admin_id))
        status, html = await page(http, f"{base}/admin/w/{world.ws}/")
        async with http.post(f"{base}/admin/w/{world.ws}/logout", data={"csrf": csrf_of(html)}) as r:
            assert r.status == 200 and "signed out" in (await text(r)).lower()
        assert (await page(http, f"{base}/admin/w/{world.ws}/"))[0] == 401
    with world.m.db.session() as s:
        assert s.exec(select(ConsoleSession)).all() == []


async def test_no_session_fixation(world: World, base: str) -> None:
    planted = "attacker-chosen-session-id"
    name = f"{COOKIE_NAME}{world.ws}"
    async with client() as http:
        http.cookie_jar.update_cookies({name: planted})
        await sign_in(http, base, link_for(world, world.admin_id))
        got = {c.key: c.value for c in http.cookie_jar}[name]
        assert got != planted and len(got) >= 40
        first = got
        # signing in again (a second link) gives yet another id, and the first one stops working
        await sign_in(http, base, link_for(world, world.admin_id))
        second = {c.key: c.value for c in http.cookie_jar}[name]
        assert second != first
    async with client() as other:
        other.cookie_jar.update_cookies({name: first})
        assert (await page(other, f"{base}/admin/"))[0] == 401
        other.cookie_jar.update_cookies({name: planted})
        assert (await page(other, f"{base}/admin/"))[0] == 401


async def test_every_form_needs_the_sessions_csrf_token(world: World, base: str) -> None:
    async with client() as http:
        await sign_in(http, base, link_for(world, world.admin_id))
        status, html = await page(http, f"{base}/admin/w/{world.ws}/stalled")
        assert status == 200 and "Send a kind nudge" in html
        token = csrf_of(html)
        pair = html.split("/stalled/")[1].split("/nudge")[0]
        posts = [
            (f"/admin/w/{world.ws}/stalled/{pair}/nudge", {}),
            (f"/admin/w/{world.ws}/import/preview", {"csv": "a"}),
            (f"/admin/w/{world.ws}/import/commit", {"csv": "a"}),
            (f"/admin/w/{world.ws}/outcomes", {"csv": "email\nx@example.com"}),
            (f"/admin/w/{world.ws}/programs/1/settings", {"length_weeks": "10"}),
            (f"/admin/w/{world.ws}/logout", {}),
        ]
        for url, data in posts:
            for bad in (None, "0" * 64):
                body = dict(data) if bad is None else {**data, "csrf": bad}
                async with http.post(base + url, data=body) as r:
                    assert r.status == 403, (url, bad, r.status)
        # a token from another session does not work either
        async with client() as other:
            await sign_in(other, base, link_for(world, world.admin_id))
            _, html2 = await page(other, f"{base}/admin/w/{world.ws}/stalled")
            assert csrf_of(html2) != token
            async with other.post(f"{base}/admin/w/{world.ws}/stalled/{pair}/nudge", data={"csrf": token}) as r:
                assert r.status == 403
        # a form posted from another site is refused even with the token
        async with http.post(f"{base}/admin/w/{world.ws}/stalled/{pair}/nudge", data={"csrf": token},
                             headers={"Origin": "https://evil.example"}) as r:
            assert r.status == 403
        assert (await page(http, f"{base}/admin/w/{world.ws}/"))[0] == 200  # still signed in
    with world.m.db.session() as s:
        assert s.exec(select(Prompt).where(Prompt.period.startswith("console-"))).all() == []  # type: ignore[attr-defined]
        assert s.exec(select(AuditLog).where(AuditLog.action == "console.nudge")).all() == []


async def test_an_admin_sees_only_their_own_workspaces(world: World, base: str) -> None:
    async with client() as http:
        await sign_in(http, base, link_for(world, world.admin_id))
        with world.m.db.session() as s:
            from bot.domain import analytics

            (other_prog,) = analytics.overview(s, world.other_ws, world.clock.now())
        theirs = f"/admin/w/{world.other_ws}"
        for url in (f"{theirs}/", f"{theirs}/pairs", f"{theirs}/audit", f"{theirs}/export.csv",
                    f"/admin/w/{world.ws}/programs/{other_prog.id}",
                    f"/admin/w/{world.ws}/programs/{other_prog.id}/settings"):
            status, html = await page(http, base + url)
            assert status == 404, url
            assert world.other_program_name not in html
        _, html = await page(http, f"{base}/admin/w/{world.ws}/stalled")
        async with http.post(f"{base}/admin/w/{world.other_ws}/outcomes",
                             data={"csrf": csrf_of(html), "csv": "email\nx@example.com"}) as r:
            assert r.status == 404
        for url in ("/", "/pairs", "/cohorts", "/audit", "/export.csv"):
            _, html = await page(http, f"{base}/admin/w/{world.ws}{url}")
            assert world.other_program_name not in html and "Bob Boss" not in html
    async with client() as http:  # and the other admin sees theirs, not ours
        r = await sign_in(http, base, link_for(world, world.other_admin_id))
        assert str(r.url).endswith(f"/admin/w/{world.other_ws}/")
        html = await text(r)
        assert world.other_program_name in html and "Pilot" not in html
        assert (await page(http, f"{base}/admin/w/{world.ws}/"))[0] == 404


async def test_removing_admin_rights_ends_the_session(world: World, base: str) -> None:
    async with client() as http:
        await sign_in(http, base, link_for(world, world.other_admin_id))
        assert (await page(http, f"{base}/admin/w/{world.other_ws}/"))[0] == 200
        from storage.models import Person

        with world.m.db.session() as s:
            p = s.get(Person, world.other_admin_id)
            assert p is not None
            p.is_platform_admin = False
            s.add(p)
        assert (await page(http, f"{base}/admin/w/{world.other_ws}/"))[0] == 401
