"""Bulk import through the real Slack server: users.list pages instead of one look-up a person,
the row limit refused before any API call, and other people's clicks answered while it runs."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from sqlmodel import col, select

from adapters.slack.platform import HANDFUL, LIST_PAGE
from adapters.slack.web import SLACK_RUNTIME
from bot.app import Momentum
from bot.domain.csvio import MAX_ROWS
from bot.model.clock import FakeClock
from storage.models import CheckIn, Pair, Person
from tests.slack.conftest import Signer, SlackServer, slack_settings_for, start_server
from tests.slack.fake_slack import FakeSlack
from tests.slack.test_privacy import _button, _dm, _pair

PEOPLE_CALLS = ("users.list", "users.lookupByEmail")


def _csv(pairs: list[tuple[str, str]], program: str = "Pilot") -> str:
    return "import sponsor_email,sponsoree_email,program\n" + "\n".join(f"{a},{b},{program}" for a, b in pairs)


def _replies(server: SlackServer) -> list[str]:
    return [str(r.get("text", "")) for r in server.fake.responses]


def _count(momentum: Momentum, model: type, *where: object) -> int:
    with momentum.db.session() as s:
        return len(s.exec(select(model).where(*where)).all())  # type: ignore[call-overload,arg-type]


async def _until(check: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Wait (polling) until ``check()`` holds; fail after ``timeout_s`` (a safety net, not a bound)."""
    end = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.02)


@pytest.fixture
async def paced_server(momentum: Momentum, fake_slack: FakeSlack, signer: Signer) -> AsyncIterator[SlackServer]:
    """The real server with the production pacing (Slack's tiers on our side too) and real sleeps."""
    settings = slack_settings_for(
        fake_slack, SLACK_RATE_USERS_PER_MIN=100, SLACK_RATE_LOOKUP_PER_MIN=50, SLACK_RATE_LIST_PER_MIN=20,
        SLACK_RATE_UPDATE_PER_MIN=50)
    runner, url = await start_server(momentum, settings)
    runtime = runner.app[SLACK_RUNTIME]
    async with aiohttp.ClientSession() as session:
        yield SlackServer(url, runtime, fake_slack, signer, session, [])
        await runtime.drain()
    await runner.cleanup()


async def test_an_import_of_new_people_reads_users_list_pages_not_one_lookup_each(
        slack_server: SlackServer, momentum: Momentum) -> None:
    fake = slack_server.fake
    emails = fake.add_members(1500)
    members = len(fake.users)
    await slack_server.command("program create Pilot", user="UADMIN")
    await slack_server.settle()
    pairs = [(emails[i], emails[i + 1]) for i in range(0, 240, 2)]  # 120 pairs, 240 people new to us
    status, _ = await slack_server.command(_csv(pairs), user="UADMIN")
    assert status == 200
    await slack_server.settle()
    assert "Imported 120 new pair(s)" in _replies(slack_server)[-1]
    pages = fake.of("users.list")
    assert len(pages) == math.ceil(members / LIST_PAGE)  # every page once, 200 a page
    assert all(int(p["limit"]) == LIST_PAGE for p in pages)
    assert not fake.of("users.lookupByEmail")
    assert _count(momentum, Pair) == 120
    assert _count(momentum, Person, col(Person.email).in_([e for p in pairs for e in p])) == 240
    # Kept for a while: a second import right after reads no page again.
    more = [(emails[i], emails[i + 1]) for i in range(240, 280, 2)]
    await slack_server.command(_csv(more), user="UADMIN")
    await slack_server.settle()
    assert "Imported 20 new pair(s)" in _replies(slack_server)[-1]
    assert len(fake.of("users.list")) == len(pages) and not fake.of("users.lookupByEmail")


async def test_stragglers_are_looked_up_one_by_one_and_gone_people_refuse_the_import(
        slack_server: SlackServer, momentum: Momentum) -> None:
    fake = slack_server.fake
    emails = fake.add_members(400)
    await slack_server.command("program create Pilot", user="UADMIN")
    await slack_server.settle()
    pairs = [(emails[i], emails[i + 1]) for i in range(0, 40, 2)]
    pairs += [(emails[50], "nobody.here@example.com"), ("person99@example.com", emails[51])]  # 99: no email shown
    await slack_server.command(_csv(pairs), user="UADMIN")
    await slack_server.settle()
    reply = _replies(slack_server)[-1]
    assert "Nothing was imported: 2 line(s) need fixing" in reply
    assert "nobody.here@example.com" in reply and "person99@example.com" in reply
    assert sorted(p["email"] for p in fake.of("users.lookupByEmail")) == [
        "nobody.here@example.com", "person99@example.com"]
    assert len(fake.of("users.list")) == math.ceil(len(fake.users) / LIST_PAGE)
    assert _count(momentum, Pair) == 0


async def test_a_handful_of_new_people_are_looked_up_by_email(slack_server: SlackServer, momentum: Momentum) -> None:
    fake = slack_server.fake
    emails = fake.add_members(50)
    await slack_server.command("program create Pilot", user="UADMIN")
    await slack_server.settle()
    pairs = [(emails[i], emails[i + 1]) for i in range(0, HANDFUL, 2)]
    await slack_server.command(_csv(pairs), user="UADMIN")
    await slack_server.settle()
    assert f"Imported {HANDFUL // 2} new pair(s)" in _replies(slack_server)[-1]
    assert len(fake.of("users.lookupByEmail")) == HANDFUL and not fake.of("users.list")


async def test_the_row_limit_and_bad_lines_are_refused_before_any_api_call(
        slack_server: SlackServer, momentum: Momentum) -> None:
    fake = slack_server.fake
    await slack_server.command("program create Pilot", user="UADMIN")
    await slack_server.settle()
    too_many = [(f"a{i}@example.com", f"b{i}@example.com") for i in range(MAX_ROWS + 1)]
    await slack_server.command(_csv(too_many), user="UADMIN")
    await slack_server.settle()
    reply = _replies(slack_server)[-1]
    assert "Nothing was imported" in reply and f"more than {MAX_ROWS} rows" in reply
    bad_program = [(f"a{i}@example.com", f"b{i}@example.com") for i in range(30)]
    await slack_server.command(_csv(bad_program, program="Nope"), user="UADMIN")
    await slack_server.settle()
    assert "there's no program 'Nope'" in _replies(slack_server)[-1]
    assert not [c for c in fake.calls if c.method in PEOPLE_CALLS]
    assert _count(momentum, Pair) == 0 and _count(momentum, Person) == 1  # only the admin who asked


async def test_a_click_during_an_import_is_acked_and_answered_before_the_import_finishes(
        paced_server: SlackServer, momentum: Momentum, clock: FakeClock) -> None:
    """The import runs under Slack's pacing (users.list held: Slack answering slowly); a check-in
    click from someone else meanwhile is acknowledged and fully answered (message replaced,
    check-in stored) while the import is still waiting, and the import then completes."""
    server, fake = paced_server, paced_server.fake
    emails = fake.add_members(1200)
    await _pair(server)
    post = await _dm(server, momentum, clock, "USAM", "checkin")
    met = _button(post, "checkin.status", "met")
    message = {"ts": fake.ts_of(post), "blocks": post["blocks"]}
    server.runtime.platform._profiles.clear()  # the click must ask users.info (the family lookups once shared)
    fake.holds["users.list"] = asyncio.Event()
    pairs = [(emails[i], emails[i + 1]) for i in range(0, 400, 2)]
    before = len(fake.responses)
    status, _ = await server.command(_csv(pairs), user="UADMIN")
    assert status == 200
    await _until(lambda: bool(fake.of("users.list")))  # the import is in its look-ups now

    def imported() -> bool:
        return any("Imported" in str(r.get("text", "")) for r in fake.responses[before:])

    started = time.monotonic()
    status, _ = await server.click(message, met, user="USAM", channel=post["channel"])
    ack_s = time.monotonic() - started
    assert status == 200 and not imported()  # acknowledged while the import waits

    def answered() -> bool:
        return any(u["ts"] == message["ts"] for u in fake.of("chat.update"))

    await _until(answered)
    answer_s = time.monotonic() - started
    assert not imported()  # answered before the import finished
    assert _count(momentum, CheckIn, CheckIn.status == "met") == 1
    print(f"click during import: ack {ack_s * 1000:.0f} ms, answer {answer_s * 1000:.0f} ms")
    fake.holds["users.list"].set()
    await _until(imported, timeout_s=120)
    assert "Imported 200 new pair(s)" in _replies(server)[-1]
    assert len(fake.of("users.list")) >= math.ceil(len(fake.users) / LIST_PAGE)
    assert not fake.of("users.lookupByEmail")


async def test_an_import_busy_in_the_database_leaves_the_interactive_slots_to_clicks(
        slack_server: SlackServer, momentum: Momentum, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """One interactive slot only, and the import held inside its unit of work: the click is still
    answered (the import runs on the background lane), then the import completes."""
    import threading

    from bot.domain import importing

    server, fake = slack_server, slack_server.fake
    emails = fake.add_members(300)
    await _pair(server)
    post = await _dm(server, momentum, clock, "USAM", "checkin")
    met = _button(post, "checkin.status", "met")
    message = {"ts": fake.ts_of(post), "blocks": post["blocks"]}
    momentum.db.dispose()  # executors are made again on first use, with these sizes
    momentum.db.workers = 1
    inside, release = threading.Event(), threading.Event()
    real = importing.import_pairs

    def held(*args: object, **kwargs: object) -> importing.Imported:
        inside.set()
        release.wait(60)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importing, "import_pairs", held)
    before = len(fake.responses)
    await server.command(_csv([(emails[i], emails[i + 1]) for i in range(0, 40, 2)]), user="UADMIN")
    await _until(inside.is_set)

    def imported() -> bool:
        return any("Imported" in str(r.get("text", "")) for r in fake.responses[before:])

    status, _ = await server.click(message, met, user="USAM", channel=post["channel"])
    assert status == 200
    try:
        await _until(lambda: any(u["ts"] == message["ts"] for u in fake.of("chat.update")))
        assert not imported() and _count(momentum, CheckIn, CheckIn.status == "met") == 1
    finally:
        release.set()
    await _until(imported)
    assert "Imported 20 new pair(s)" in _replies(server)[-1]
