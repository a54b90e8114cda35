"""Every console page over real HTTP: what it shows, what its forms do, and that private words never
appear anywhere."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from bot.model.config import Settings
from storage.models import AuditLog, Outcome, Pair, Program, Prompt
from tests.admin.conftest import NOTE, World, client, csrf_of, link_for, page, sign_in, text
from tests.fakes import ADMIN, command, person

pytestmark = pytest.mark.usefixtures("no_sql_on_loop")


def pages(w: World, program_id: int) -> list[str]:
    b = f"/admin/w/{w.ws}"
    return [f"{b}/", f"{b}/cohorts", f"{b}/stalled", f"{b}/pairs", f"{b}/pairs?status=active&program={program_id}",
            f"{b}/import", f"{b}/export", f"{b}/export.csv", f"{b}/audit", f"{b}/audit?action=pair&ok=yes",
            f"{b}/gallery", f"{b}/gallery?kind=mentoring", f"{b}/gallery?kind=reverse-mentoring", f"{b}/outcomes",
            f"{b}/programs/{program_id}", f"{b}/programs/{program_id}?by=location",
            f"{b}/programs/{program_id}/settings"]


def _program_id(w: World) -> int:
    with w.m.db.session() as s:
        p = s.exec(select(Program).where(Program.workspace_id == w.ws)).one()
        assert p.id is not None
        return p.id


async def test_every_page_renders_and_no_private_note_appears_anywhere(world: World, base: str) -> None:
    pid = _program_id(world)
    async with client() as http:
        await sign_in(http, base, link_for(world, world.admin_id))
        # upload outcomes and import a pair first, so those pages have something to show
        _, html = await page(http, f"{base}/admin/w/{world.ws}/outcomes")
        rows = "\n".join(f"{p}@example.com,2026-02-01,," for p in ("us0", "ue0", "us1", "ue1"))
        async with http.post(f"{base}/admin/w/{world.ws}/outcomes", data={"csrf": csrf_of(html), "csv": (
                "email,promoted_on,changed_role_on,left_on\n" + rows + "\n"
                + "\n".join(f"b{i}@example.com,,,2026-02-0{1 + i % 5}" for i in range(6)))}) as r:
            assert r.status == 200, await text(r)
        seen = {}
        for url in pages(world, pid):
            status, html = await page(http, base + url)
            assert status == 200, (url, html[:500])
            assert NOTE not in html, f"the planted note leaked on {url}"
            seen[url] = html
    b = f"/admin/w/{world.ws}"
    assert "Pilot" in seen[f"{b}/"] and "Health" in seen[f"{b}/"]
    assert seen[f"{b}/stalled"].count("Send a kind nudge") >= 6
    assert "Sponsor 0" in seen[f"{b}/pairs"] and "Sponsoree 5" in seen[f"{b}/pairs"]
    program = seen[f"{b}/programs/{pid}"]
    for title in ("Weekly engagement", "Check-in response rate", "Momentum average", "Answer mix", "Messages"):
        assert f"{title}: data table" in program
    assert 'id="chart-data"' in program and "/admin/static/vendor/chartjs/chart.umd.min.js" in program
    outcomes = seen[f"{b}/outcomes"]
    assert "Participants" in outcomes and "Baseline" in outcomes
    assert "@example.com" not in program and "@example.com" not in outcomes  # nobody identified
    assert "sponsor_email" in seen[f"{b}/export.csv"]
    assert "Fill in our agreement" in seen[f"{b}/gallery"] or "agreement" in seen[f"{b}/gallery"].lower()


async def test_static_files_ship_in_the_package_and_pages_carry_a_strict_policy(world: World, base: str) -> None:
    async with client() as http:
        for name in ("console.css", "console.js", "vendor/chartjs/chart.umd.min.js", "vendor/chartjs/LICENSE.md"):
            async with http.get(f"{base}/admin/static/{name}") as r:
                assert r.status == 200, name
                body = await r.text()
                assert not re.search(r"https?://[^\s\"']*cdn", body), name  # nothing fetched from a CDN
        async with http.get(f"{base}/admin/login?token=abc") as r:
            assert "script-src 'self'" in r.headers["Content-Security-Policy"]
            assert r.headers["Referrer-Policy"] == "no-referrer" and r.headers["Cache-Control"] == "no-store"


async def test_import_an_error_then_a_good_file(world: World, base: str) -> None:
    newcomers = [person(f"UN{i}", f"Newcomer {i}") for i in range(4)]
    for p in newcomers:
        world.fake.people[p.external_id] = p
    b = f"{base}/admin/w/{world.ws}"
    async with client() as http:
        await sign_in(http, base, link_for(world, world.admin_id))
        _, html = await page(http, b + "/import")
        token = csrf_of(html)
        bad = ("sponsor_email,sponsoree_email,program\nun0@example.com,un1@example.com,Pilot\n"
               "not-an-email,un3@example.com,Pilot\nun2@example.com,un3@example.com,Nope\n")
        async with http.post(b + "/import/preview", data={"csrf": token, "csv": bad}) as r:
            assert r.status == 422
            html = await text(r)
        rows = re.findall(r'<tr class="(ok|error)"><th scope="row">(\d+)</th>', html)
        assert rows == [("ok", "2"), ("error", "3"), ("error", "4")], rows
        assert "not an email address" in html and "there's no program 'Nope'" in html
        assert "/import/commit" not in html  # nothing to commit until every line is right
        async with http.post(b + "/import/commit", data={"csrf": token, "csv": bad}) as r:
            assert r.status == 422  # committing it anyway changes nothing
        with world.m.db.session() as s:
            assert len(s.exec(select(Pair)).all()) == 6
        good = ("sponsor_email,sponsoree_email,program,unit\nun0@example.com,un1@example.com,Pilot,Sales\n"
                "un2@example.com,un3@example.com,Pilot,Ops\n")
        async with http.post(b + "/import/preview", data={"csrf": token, "csv": good}) as r:
            assert r.status == 200
            html = await text(r)
        assert "Import these 2 line(s)" in html and "looked up in the workspace" in html
        async with http.post(b + "/import/commit", data={"csrf": token, "csv": good}) as r:
            html = await text(r)
            assert r.status == 200, html
        assert "Imported 2 new pair(s)" in html
        async with http.post(b + "/import/commit", data={"csrf": token, "csv": good}) as r:
            assert "Imported 0 new pair(s); 2 already existed" in await text(r)
        _, audit = await page(http, b + "/audit?action=pairs.import")
        assert audit.count("pairs.import") >= 3 and "refused" in audit
    with world.m.db.session() as s:
        assert len(s.exec(select(Pair)).all()) == 8


async def test_a_kind_nudge_goes_through_the_outbox_once(world: World, base: str) -> None:
    b = f"{base}/admin/w/{world.ws}"
    async with client() as http:
        await sign_in(http, base, link_for(world, world.admin_id))
        _, html = await page(http, b + "/stalled")
        pair = int(html.split("/stalled/")[1].split("/nudge")[0])
        for expect in ("A kind nudge is on its way", "already has a nudge"):
            async with http.post(f"{b}/stalled/{pair}/nudge", data={"csrf": csrf_of(html)}) as r:
                assert r.status == 200 and expect in await text(r)
        async with http.post(f"{b}/stalled/999999/nudge", data={"csrf": csrf_of(html)}) as r:
            assert "isn't stalled" in await text(r)
    with world.m.db.session() as s:
        queued = s.exec(select(Prompt).where(Prompt.pair_id == pair, col_period_like("console-"))).all()
        assert len(queued) == 1 and queued[0].status == "pending" and queued[0].kind == "checkin"
        sponsoree = s.get(Pair, pair).sponsoree_id  # type: ignore[union-attr]
        assert queued[0].recipient_id == sponsoree
        audits = s.exec(select(AuditLog).where(AuditLog.action == "console.nudge")).all()
        assert [a.ok for a in audits] == [True, False, False] and audits[0].actor_id == world.admin_id
    stats = await world.m.deliver_due()
    assert stats.sent >= 1
    with world.m.db.session() as s:
        assert s.get(Prompt, queued[0].id).status == "sent"  # type: ignore[union-attr]


def col_period_like(prefix: str):  # type: ignore[no-untyped-def]
    from sqlmodel import col

    return col(Prompt.period).startswith(prefix)


async def test_program_settings_validate_like_chat_and_are_audited(world: World, base: str) -> None:
    pid = _program_id(world)
    url = f"{base}/admin/w/{world.ws}/programs/{pid}/settings"
    async with client() as http:
        await sign_in(http, base, link_for(world, world.admin_id))
        _, html = await page(http, url)
        token = csrf_of(html)
        async with http.post(url, data={"csrf": token, "what": "cadence", "length_weeks": "2",
                                        "sponsoree_weekday": "someday", "sponsoree_time": "25:99"}) as r:
            assert r.status == 422
            html = await text(r)
        assert "between 4 and 156 weeks" in html and "use a weekday" in html and "use HH:MM" in html
        async with http.post(url, data={"csrf": token, "what": "cadence", "length_weeks": "26",
                                        "sponsoree_weekday": "wed", "sponsoree_time": "11:30",
                                        "sponsor_weekday": "mon", "sponsor_time": "09:00"}) as r:
            assert r.status == 200 and "Saved." in await text(r)
        async with http.post(url, data={"csrf": token, "what": "journey", "journey": "kind: nonsense\n"}) as r:
            assert r.status == 422 and "Nothing was changed" in await text(r)
    with world.m.db.session() as s:
        p = s.get(Program, pid)
        assert p is not None and (p.length_weeks, p.sponsoree_weekday, p.sponsoree_time) == (26, 2, "11:30")
        assert p.journey_yaml is None
        a = s.exec(select(AuditLog).where(AuditLog.action == "program.settings")).one()
        assert a.detail == {"length_weeks": 26, "sponsoree_weekday": 2, "sponsoree_time": "11:30"}


async def test_outcomes_upload_is_all_or_nothing(world: World, base: str) -> None:
    url = f"{base}/admin/w/{world.ws}/outcomes"
    async with client() as http:
        await sign_in(http, base, link_for(world, world.admin_id))
        _, html = await page(http, url)
        bad = "email,promoted_on,changed_role_on,left_on\na@example.com,yesterday,,\nnot-an-email,,,\n"
        async with http.post(url, data={"csrf": csrf_of(html), "csv": bad}) as r:
            assert r.status == 422
            body = await text(r)
        assert "Line 2: promoted_on 'yesterday' is not a date" in body and "Line 3" in body
    with world.m.db.session() as s:
        assert s.exec(select(Outcome)).all() == []


async def test_the_console_command_sends_a_link(world: World, base: str) -> None:
    r = await command(world.m, ADMIN, "console")
    assert r.reply is not None and r.ephemeral
    said = r.reply.as_plain_text()
    found = re.search(r"(http://console\.test/admin/login\?token=\S+)", said)
    assert found and "10 minutes" in said
    async with client() as http:
        ok = await sign_in(http, base, found.group(1).removeprefix("http://console.test"))
        assert ok.status == 200 and "Programs" in await text(ok)
    from tests.admin.conftest import NON_ADMIN

    r = await command(world.m, NON_ADMIN, "console")
    assert r.reply is not None and "Only Momentum admins" in r.reply.text


async def test_without_a_public_url_the_command_says_what_is_missing(world: World) -> None:
    world.m.deps.settings = Settings(MOMENTUM_ADMINS="admin@example.com")
    r = await command(world.m, ADMIN, "console")
    assert r.reply is not None and "MOMENTUM_PUBLIC_URL" in r.reply.as_plain_text()


def test_the_public_url_setting_is_validated() -> None:
    from bot.model.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="MOMENTUM_PUBLIC_URL"):
        load_settings(MOMENTUM_PUBLIC_URL="not a url")
    with pytest.raises(ConfigError, match="MOMENTUM_MIN_GROUP"):
        load_settings(MOMENTUM_MIN_GROUP=2)
    assert load_settings(MOMENTUM_PUBLIC_URL="https://m.example.com/").public_url == "https://m.example.com"


async def test_forget_erases_what_the_console_keeps_about_a_person(world: World, base: str) -> None:
    from bot.domain import console, privacy
    from storage.models import ConsoleLink, ConsoleSession, Person, PersonAttribute

    async with client() as http:
        await sign_in(http, base, link_for(world, world.admin_id))
    with world.m.db.session() as s:
        me = s.get(Person, world.admin_id)
        assert me is not None
        console.issue_link(s, world.admin_id, world.clock.now(), "http://x")
        s.add(PersonAttribute(workspace_id=world.ws, person_id=world.admin_id, name="level", value="vp"))
        s.add(Outcome(workspace_id=world.ws, email="admin@example.com", uploaded_at=world.clock.now()))
        s.add(Outcome(workspace_id=world.ws, email="someone@example.com", uploaded_at=world.clock.now()))
    with world.m.db.session() as s:
        me = s.get(Person, world.admin_id)
        assert me is not None
        counts = privacy.forget(s, me, world.clock.now())
    assert counts["outcomes_deleted"] == 1
    with world.m.db.session() as s:
        for table in (ConsoleLink, ConsoleSession, PersonAttribute):
            assert s.exec(select(table).where(table.person_id == world.admin_id)).all() == []  # type: ignore[attr-defined]
        assert [o.email for o in s.exec(select(Outcome)).all()] == ["someone@example.com"]


async def test_extra_import_columns_become_attributes_for_breakdowns(world: World, base: str) -> None:
    from storage.models import PersonAttribute

    newcomers = [person(f"UN{i}", f"Newcomer {i}") for i in range(6)]
    for p in newcomers:
        world.fake.people[p.external_id] = p
    csv_text = "sponsor_email,sponsoree_email,program,Level\n" + "\n".join(
        f"un{2 * i}@example.com,un{2 * i + 1}@example.com,Pilot,{'manager' if i < 2 else ''}" for i in range(3))
    b = f"{base}/admin/w/{world.ws}"
    async with client() as http:
        await sign_in(http, base, link_for(world, world.admin_id))
        _, html = await page(http, b + "/import")
        async with http.post(b + "/import/preview", data={"csrf": csrf_of(html), "csv": csv_text}) as r:
            body = await text(r)
        assert r.status == 200 and "also keeps each sponsoree's level" in body and "Import these 3 line(s)" in body
        async with http.post(b + "/import/commit", data={"csrf": csrf_of(html), "csv": csv_text}) as r:
            assert "Imported 3 new pair(s)" in await text(r)
        status, program = await page(http, f"{b}/programs/{_program_id(world)}?by=level")
        assert status == 200 and '<option value="level" selected>' in program
    with world.m.db.session() as s:
        got = sorted((a.name, a.value) for a in s.exec(select(PersonAttribute)).all())
        from storage.models import AuditLog

        kept = s.exec(select(AuditLog).where(AuditLog.action == "people.attributes")).all()
    assert got == [("level", "manager"), ("level", "manager")]
    assert len(kept) == 1  # stored once, by the import itself (the console no longer stores them again)
