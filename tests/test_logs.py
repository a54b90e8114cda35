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
