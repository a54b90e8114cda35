"""Privacy through the real Slack edge: forged clicks refused, and no private word logged at DEBUG."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from adapters.logs import configure, quiet_libraries
from bot.app import Momentum
from bot.model.clock import FakeClock
from bot.model.signing import SEP, unsigned
from storage.models import Agenda, AuditLog, CheckIn, Pair, Prompt, Touchpoint, Win
from tests.slack.conftest import SlackServer

PLANTED = {
    "note": "PLANTED-NOTE-7f3a",
    "log": "PLANTED-LOG-51c2",
    "win": "PLANTED-WIN-9d0e",
    "agenda": "PLANTED-AGENDA-a41b",
    "review": "PLANTED-REVIEW-c7e8",
}


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """The server's logging as ``momentum serve`` sets it up, at DEBUG, captured."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure("DEBUG", json_format=False)
    buf = io.StringIO()
    capture = logging.StreamHandler(buf)
    capture.setLevel(logging.DEBUG)
    root.addHandler(capture)
    yield buf
    root.handlers[:], _ = saved
    root.setLevel(saved[1])
    quiet_libraries()


async def _pair(server: SlackServer) -> None:
    await server.command("program create Pilot", user="UADMIN")
    await server.command("pair <@UKIM|kim> <@USAM|sam> Pilot", user="UADMIN")
    await server.settle()


async def _dm(server: SlackServer, momentum: Momentum, clock: FakeClock, user: str, kind: str) -> dict[str, Any]:
    """Deliver until a ``kind`` prompt reaches ``user``; the recorded chat.postMessage."""
    channel = server.fake.dm_channel(user)
    for _ in range(24 * 14):
        clock.advance(timedelta(hours=1))
        momentum.plan(clock.now())
        await momentum.deliver_due(clock.now())
        for p in server.fake.of("chat.postMessage"):
            if p["channel"] == channel and any(
                    e.get("action_id", "").startswith(kind + ".") for b in p.get("blocks", []) if b["type"] == "actions"
                    for e in b["elements"]):
                return p
    raise AssertionError(f"no {kind} prompt reached {user}")


def _button(post: dict[str, Any], action_id: str, answer: str | None = None) -> dict[str, Any]:
    for b in post["blocks"]:
        if b["type"] == "actions":
            for e in b["elements"]:
                same = e["action_id"].split("#")[0] == action_id
                if same and (answer is None or unsigned(e["value"]).endswith(":" + answer)):
                    return dict(e)
    raise AssertionError(f"no {action_id} in {post['blocks']}")


def _queue(momentum: Momentum, kind: str, clock: FakeClock) -> None:
    """A ``kind`` prompt for Sam (the sponsoree), due now."""
    with momentum.db.session() as s:
        pair = s.exec(select(Pair)).one()
        s.add(Prompt(pair_id=pair.id, recipient_id=pair.sponsoree_id, workspace_id=1, kind=kind, phase="coach",  # type: ignore[arg-type]
                     period=f"t-{kind}", week=6, due_at=clock.now(), next_attempt_at=clock.now(),
                     payload={"quarter": 1}, created_at=clock.now()))


async def _submit(server: SlackServer, view: dict[str, Any], user: str, values: dict[str, str]) -> None:
    state = {bid: {bid: ({"type": "checkboxes", "selected_options": [{"value": "true"}]} if v == "true"
                         else {"type": "plain_text_input", "value": v})} for bid, v in values.items()}
    status, _ = await server.interactive({"type": "view_submission", "team": {"id": "T1"},
                                          "user": {"id": user, "team_id": "T1"},
                                          "view": {**view, "id": "V1", "state": {"values": state}}})
    assert status == 200
    await server.settle()


async def _open_and_submit(server: SlackServer, post: dict[str, Any], action_id: str, values: dict[str, str]) -> None:
    before = len(server.fake.of("views.open"))
    ts = post.get("ts") or server.fake.ts_of(post)  # a chat.update body names its ts
    await server.click({"ts": ts, "blocks": post["blocks"]}, _button(post, action_id),
                       user="USAM", channel=post["channel"])
    await server.settle()
    opened = server.fake.of("views.open")
    assert len(opened) == before + 1, "the form opened"
    await _submit(server, opened[-1]["view"], "USAM", values)


async def test_no_private_word_reaches_the_log_at_debug(
        slack_server: SlackServer, momentum: Momentum, clock: FakeClock, debug_log: io.StringIO) -> None:
    await _pair(slack_server)
    # check-in note: answer, then "Add a note" on the updated message, then the modal
    post = await _dm(slack_server, momentum, clock, "USAM", "checkin")
    await slack_server.click({"ts": slack_server.fake.ts_of(post), "blocks": post["blocks"]},
                             _button(post, "checkin.status", "met"), user="USAM", channel=post["channel"])
    await slack_server.settle()
    # the answered message, as replaced through the click's response_url
    updated = {**slack_server.fake.replaced()[-1], "ts": slack_server.fake.ts_of(post), "channel": post["channel"]}
    await _open_and_submit(slack_server, updated, "checkin.note", {"note": PLANTED["note"]})
    # log and win commands
    await slack_server.command(f"log meeting {PLANTED['log']}", user="USAM")
    await slack_server.command(f"win {PLANTED['win']}", user="USAM")
    await slack_server.settle()
    # agenda and review forms on delivered prompts
    for kind, action, values in (("prep", "prep.open", {"update": PLANTED["agenda"], "ask": PLANTED["agenda"],
                                                        "share": "true"}),
                                 ("review", "review.open", {"working": PLANTED["review"], "share": "true"})):
        _queue(momentum, kind, clock)
        post = await _dm(slack_server, momentum, clock, "USAM", kind)
        await _open_and_submit(slack_server, post, action, values)
    for hours in range(1, 40):  # the shared copies reach Kim, in Kim's day (partner-sent words wait for it)
        await momentum.deliver_due(clock.now() + timedelta(hours=hours))
    with momentum.db.session() as s:  # every path really stored its words
        assert s.exec(select(CheckIn).where(CheckIn.note == PLANTED["note"])).first()
        assert s.exec(select(Touchpoint).where(Touchpoint.note == PLANTED["log"])).first()
        assert s.exec(select(Win).where(Win.text == PLANTED["win"])).first()
        assert s.exec(select(Agenda).where(Agenda.update_text == PLANTED["agenda"])).first()
        assert any(PLANTED["review"] in (t.note or "") for t in s.exec(select(Touchpoint)).all())
    shared_to_kim = " ".join(str(p) for p in slack_server.fake.of("chat.postMessage")
                             if p["channel"] == slack_server.fake.dm_channel("UKIM"))
    assert PLANTED["agenda"] in shared_to_kim, shared_to_kim
    assert PLANTED["review"] in shared_to_kim, shared_to_kim  # they went over the wire
    logging.getLogger("bot.probe").debug("probe-line")
    logged = debug_log.getvalue()
    assert "probe-line" in logged  # the capture sees DEBUG records
    for what, word in PLANTED.items():
        assert word not in logged, f"the {what} reached the log"
    # Control: with the libraries' own DEBUG logging left on, the same words would leak. This is
    # what keeping their loggers quiet prevents (and shows this test can see such a leak).
    for name in ("slack_bolt", "slack_sdk"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    with momentum.db.session() as s:
        pair = s.exec(select(Pair)).one()
        s.add(Prompt(pair_id=pair.id, recipient_id=pair.sponsor_id, workspace_id=1, kind="shared_note",  # type: ignore[arg-type]
                     period="control", due_at=clock.now(), next_attempt_at=clock.now(), created_at=clock.now(),
                     payload={"what": "a note", "text": "PLANTED-CONTROL-0b1d"}))
    await momentum.deliver_due(clock.now())
    assert "PLANTED-CONTROL-0b1d" in debug_log.getvalue()


async def test_forged_clicks_through_slack_change_nothing(
        slack_server: SlackServer, momentum: Momentum, clock: FakeClock) -> None:
    await _pair(slack_server)
    post = await _dm(slack_server, momentum, clock, "USAM", "checkin")
    met = _button(post, "checkin.status", "met")
    msg = {"ts": slack_server.fake.ts_of(post), "blocks": post["blocks"]}
    pid = unsigned(met["value"]).split(":")[0]
    attempts = [
        ("UKIM", met),  # the sponsor presses the sponsoree's button
        ("USAM", {**met, "value": f"{int(pid) + 1}:met"}),  # the value edited, no signature
        ("USAM", {**met, "value": f"{int(pid) + 1}:met{SEP}{met['value'].rpartition(SEP)[2]}"}),  # old signature
        ("USAM", {**met, "action_id": "nudge.done"}),  # the action id edited
        ("USAM", {**met, "value": "-5:met"}),
        ("USAM", {**met, "value": "x" * 3000}),
    ]
    for user, button in attempts:
        before = len(slack_server.fake.responses)
        status, _ = await slack_server.click(msg, button, user=user, channel=post["channel"])
        assert status == 200
        await slack_server.settle()
        replies = slack_server.fake.responses[before:]
        assert replies and replies[-1].get("response_type") == "ephemeral", replies
        assert not slack_server.fake.of("chat.update") and not slack_server.fake.replaced()
    with momentum.db.session() as s:
        assert not s.exec(select(CheckIn)).all()
        refused = s.exec(select(AuditLog).where(AuditLog.ok == False)).all()  # noqa: E712
        assert len(refused) == len(attempts)
    await slack_server.click(msg, met, user="USAM", channel=post["channel"])  # the real one still works
    await slack_server.settle()
    with momentum.db.session() as s:
        assert [c.status for c in s.exec(select(CheckIn)).all()] == ["met"]


async def test_forget_leaves_no_bytes_in_the_database_files(
        slack_server: SlackServer, momentum: Momentum, clock: FakeClock) -> None:
    """Right after ``forget``, while the server runs, neither the SQLite file nor its WAL holds the
    person's name, email or words."""
    name, email = "Zebediah Quixotefeld", "zeb.quixotefeld@example.com"
    words = ["PLANTED-FORGET-WIN-41d7", "PLANTED-FORGET-LOG-8e2c", "PLANTED-FORGET-GOAL-0c5f"]
    slack_server.fake.add_user("UZEB", name, email)
    await slack_server.command("program create Pilot", user="UADMIN")
    await slack_server.command("pair <@UKIM|kim> <@UZEB|zeb> Pilot", user="UADMIN")
    await slack_server.settle()  # two people's commands are not ordered: the pair first, then Zeb's words
    await slack_server.command(f"win {words[0]}", user="UZEB")
    await slack_server.command(f"log meeting {words[1]}", user="UZEB")
    await slack_server.command(f"goal {words[2]}", user="UZEB")
    await slack_server.settle()
    path = momentum.db.engine.url.database
    assert path

    def files() -> bytes:
        out = b""
        for suffix in ("", "-wal"):
            try:
                with open(path + suffix, "rb") as f:
                    out += f.read()
            except FileNotFoundError:
                pass
        return out

    secrets = [name.encode(), email.encode(), *(w.encode() for w in words)]
    before = files()
    assert all(x in before for x in secrets), "the words are on disk before the erase (the grep can see them)"
    status, _ = await slack_server.command("forget <@UZEB|zeb>", user="UADMIN")
    assert status == 200
    await slack_server.settle()
    assert "Erased" in " ".join(str(r.get("text")) for r in slack_server.fake.responses)
    after = files()
    left = [x.decode() for x in secrets if x in after]
    assert not left, f"still on disk after forget: {left}"


async def test_a_replayed_signed_command_is_processed_once(slack_server: SlackServer, momentum: Momentum) -> None:
    await _pair(slack_server)
    form = {"team_id": "T1", "user_id": "USAM", "command": "/momentum", "text": "win Replayed once",
            "response_url": slack_server.fake.response_url("cmd"), "trigger_id": "1.2.3"}
    import urllib.parse
    body = urllib.parse.urlencode(form)
    headers = slack_server.signer.headers(body, content_type="application/x-www-form-urlencoded")
    for _ in range(3):
        status, _ = await slack_server.post(body, headers)
        assert status == 200
    await slack_server.settle()
    with momentum.db.session() as s:
        assert [w.text for w in s.exec(select(Win)).all()] == ["Replayed once"]


@pytest.mark.parametrize("body,headers", [
    (b"\xff\xfe not utf-8", {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"}),
    (b"\xff\xfe not utf-8", {"X-Slack-Request-Timestamp": "1700000000", "X-Slack-Signature": "v0=00"}),
    (b"payload=%7B%7D", {"X-Slack-Request-Timestamp": "\u0661\u0662\u0663", "X-Slack-Signature": "v0=00"}),
    (b"payload=%7B%7D", {}),
])
async def test_unsigned_or_badly_signed_requests_get_401_without_a_traceback(
        slack_server: SlackServer, body: bytes, headers: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    async with slack_server.session.post(slack_server.url + "/slack/events", data=body,
                                         headers={"Content-Type": "application/x-www-form-urlencoded",
                                                  **headers}) as r:
        assert r.status == 401
    assert not [rec for rec in caplog.records if rec.exc_info or rec.levelno >= logging.ERROR]


async def test_a_signed_body_that_is_not_utf8_gets_400(slack_server: SlackServer,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    body = b"payload=\xff\xfe"
    import hashlib as _h
    import hmac as _hm
    import time as _t
    ts = str(int(_t.time()))
    from tests.slack.conftest import SIGNING_SECRET
    sig = "v0=" + _hm.new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body, _h.sha256).hexdigest()
    async with slack_server.session.post(slack_server.url + "/slack/events", data=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sig}) as r:
        assert r.status == 400
    assert not [rec for rec in caplog.records if rec.exc_info]
