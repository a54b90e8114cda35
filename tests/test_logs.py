"""Logs never carry tokens, and database errors never carry the values that were written."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from adapters.logs import Redact
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Workspace


@contextmanager
def redacted_log(name: str) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose output goes through the server's redaction filter into a string."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(Redact())
    log = logging.getLogger(name)
    log.addHandler(handler)
    try:
        yield log, stream
    finally:
        log.removeHandler(handler)


def test_tokens_are_redacted_from_messages_and_tracebacks() -> None:
    with redacted_log("test.redact") as (log, stream):
        log.warning("calling with %s", "xoxb-1234-abcd")
        try:
            raise RuntimeError("Authorization: Bearer eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl")
        except RuntimeError:
            log.exception("failed")
    out = stream.getvalue()
    assert "xoxb-1234" not in out and "eyJhbGciOi" not in out and out.count("[redacted]") >= 2


def test_database_errors_do_not_echo_written_values(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade(db.engine)
    now = datetime(2026, 1, 5, tzinfo=UTC)
    with Session(db.engine) as s:
        s.add(Workspace(platform="slack", external_id="PRIVATE-VALUE", created_at=now))
        s.commit()
        s.add(Workspace(platform="slack", external_id="PRIVATE-VALUE", created_at=now))
        with pytest.raises(IntegrityError) as err:
            s.commit()
    assert "PRIVATE-VALUE" not in str(err.value)


@pytest.mark.parametrize("secret", [
    "xoxb-1111-2222-abcdefghijkl", "xoxp-1-2-3-abc", "xoxe.xoxp-1-Mi0yLTExMTEtMjIyMi1hYmM", "xoxe-1-My0xLTI",
    "xapp-1-A111-222-abc", "Bearer ya29.a0Af-xyz", " client_secret=8f742231b10e8888", ' "refresh_token": "xrt-9999"',
    " password='hunter22'", " {'bot_token': 'tok-333'", " MOMENTUM passphrase: correct-horse-battery",
])
def test_every_token_shape_is_redacted(secret: str) -> None:
    with redacted_log("test.redact.shapes") as (log, stream):
        log.warning("installation: %s", "{" + secret + "}")
    out = stream.getvalue()
    value = secret.split("=")[-1].split(":")[-1].strip(" '\"{}")
    assert value not in out and "[redacted]" in out, out


class _Records(logging.Handler):
    def __init__(self, *filters: logging.Filter) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        for f in filters:
            self.addFilter(f)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def said(self, words: str) -> int:
        return sum(1 for r in self.records if words in r.getMessage())


async def test_an_expected_scheduler_overlap_is_silent() -> None:
    """A job still running at its next tick is skipped (max_instances=1, as the server's jobs are): APScheduler
    warns each time, for real (``raw``); the server's log handler drops that one message and nothing else."""
    import asyncio

    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from adapters.logs import QuietExpected

    raw, served = _Records(), _Records(QuietExpected())
    log = logging.getLogger("apscheduler")
    log.addHandler(raw)
    log.addHandler(served)
    sched = AsyncIOScheduler(job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60})

    async def slow() -> None:
        await asyncio.sleep(0.5)

    sched.add_job(slow, "interval", seconds=0.1)
    try:
        sched.start()
        await asyncio.sleep(1.2)
        logging.getLogger("apscheduler.scheduler").warning("something else went wrong")
    finally:
        sched.shutdown(wait=False)
        log.removeHandler(raw)
        log.removeHandler(served)
    assert raw.said("maximum number of running instances reached") >= 2
    assert served.said("maximum number of running instances reached") == 0
    assert served.said("something else went wrong") == 1


def test_bolts_expected_token_warning_is_filtered(momentum, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """With SLACK_BOT_TOKEN set (as `serve` has it), Bolt reads it too and warns, at every start, that it
    "will be unused"/"ignored" (Momentum hands Bolt its own client and authorize): the real warning, dropped
    by the server's handler; Bolt's other warnings pass."""
    from aiohttp import web

    from adapters.logs import QuietExpected
    from adapters.slack.settings import SlackSettings
    from adapters.slack.web import mount
    from tests.slack.conftest import BOT_TOKEN, SIGNING_SECRET

    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    raw, served = _Records(), _Records(QuietExpected())
    root = logging.getLogger()
    root.addHandler(raw)
    root.addHandler(served)
    try:
        mount(web.Application(), momentum, SlackSettings(SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_BOT_TOKEN=BOT_TOKEN,
                                                         SLACK_API_URL="http://127.0.0.1:9/api/"))
        logging.getLogger("slack_bolt.AsyncApp").warning("an unexpected Bolt warning")
    finally:
        root.removeHandler(raw)
        root.removeHandler(served)
    expected = [r for r in raw.records if r.name.startswith("slack_bolt") and "`token`" in r.getMessage()]
    assert expected, [r.getMessage() for r in raw.records]
    assert not [r for r in served.records if r.name.startswith("slack_bolt") and "`token`" in r.getMessage()]
    assert served.said("an unexpected Bolt warning") == 1


async def test_serve_says_once_when_it_listens_and_once_when_it_stops(tmp_path: Path) -> None:
    """The real `momentum serve` with Slack configured: one "listening on" line with the port, one "stopped
    listening" after SIGTERM, and no Bolt token warning."""
    import json

    from tests.helpers.serve_proc import Serve
    from tests.slack.fake_slack import FakeSlack

    db = Database(f"sqlite:///{tmp_path / 'momentum.db'}")
    upgrade(db.engine)
    db.dispose()
    fake = await FakeSlack().start()
    serve = Serve(f"sqlite:///{tmp_path / 'momentum.db'}", fake, tmp_path)
    try:
        await serve.start()
        await serve.terminate(timeout=15)
    finally:
        serve.stop_quietly()
        await fake.stop()
    lines = [json.loads(ln).get("message", "") for ln in serve.output().splitlines() if ln.startswith("{")]
    assert [ln for ln in lines if ln.startswith("listening on ")] == [f"listening on http://0.0.0.0:{serve.port}"]
    assert [ln for ln in lines if ln.startswith("stopped listening on ")] == [
        f"stopped listening on http://0.0.0.0:{serve.port}"]
    assert not [ln for ln in lines if "will be unused" in ln or "will be ignored" in ln], lines
