"""Storage: migrations, the un-migrated refusal, SQLite pragmas, encryption at rest, unique outbox key."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from storage.crypto import DecryptionError, SecretBox
from storage.db import Database, normalise_url
from storage.migrate import (
    CannotGoBack,
    NewerThanCode,
    NotMigrated,
    alembic_config,
    check_migrated,
    db_heads,
    downgrade_one,
    script_heads,
    upgrade,
)
from storage.models import Pair, Person, Program, Prompt, Workspace

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def test_migrated_database_is_current(db: Database) -> None:
    check_migrated(db.engine)
    assert db_heads(db.engine) == script_heads(db.engine)


def _indexes(db: Database) -> dict[str, list[str]]:
    seen = inspect(db.engine)
    return {i["name"]: list(i["column_names"]) for t in ("prompt", "checkin", "touchpoint")
            for i in seen.get_indexes(t) if i["name"]}


def test_series_indexes_go_down_and_up_again(db: Database) -> None:
    """0009: the partial index of prompts in trouble on both backends; SQLite's window indexes covering
    (PostgreSQL has them with INCLUDE since 0007). Down to 0008 gives back the indexes as they were."""
    sqlite = db.engine.dialect.name == "sqlite"
    after = _indexes(db)
    assert after["ix_prompt_trouble"] == ["due_at"]
    if sqlite:
        assert "ix_prompt_kind_sent" not in after
        assert after["ix_prompt_sent"] == ["sent_at", "kind", "status", "pair_id", "answered_at"]
        assert after["ix_checkin_created"] == ["created_at", "pair_id", "momentum", "status"]
        assert after["ix_touch_at"] == ["occurred_at", "kind", "pair_id"]
        with db.engine.connect() as c:  # only sent prompts: planning and claiming never write to it
            sql = c.execute(text("SELECT sql FROM sqlite_master WHERE name = 'ix_prompt_sent'")).scalar_one()
        assert sql.endswith("WHERE status = 'sent'")
    cfg = alembic_config(db.engine.url.render_as_string(hide_password=False))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008")
    before = _indexes(db)
    assert "ix_prompt_trouble" not in before and "ix_prompt_sent" not in before
    assert before["ix_prompt_kind_sent"] == ["kind", "sent_at"]
    assert (before["ix_checkin_created"], before["ix_touch_at"]) == (["created_at"], ["occurred_at"])
    upgrade(db.engine)
    assert _indexes(db) == after
    check_migrated(db.engine)


def _schema(db: Database) -> dict[str, tuple[list[str], list[str]]]:
    """Every table's columns and index names (what a downgrade must take back and an upgrade restore)."""
    seen = inspect(db.engine)
    return {t: (sorted(c["name"] for c in seen.get_columns(t)), sorted(str(i["name"]) for i in seen.get_indexes(t)))
            for t in seen.get_table_names()}


def test_every_migration_goes_down_one_step_and_up_again(db: Database) -> None:
    """`db downgrade` undoes one migration at a time: the main line newest first, then the Slack branch,
    and stops at the first schema (it would drop every table) without changing anything. Every step's
    downgrade runs on the backend; `db upgrade` then brings back exactly the schema there was."""
    full = _schema(db)
    steps = []
    while True:
        try:
            steps.append(downgrade_one(db.engine))
        except CannotGoBack as exc:
            assert "first schema" in str(exc)
            break
    assert steps == [("0010", "0009"), ("0009", "0008"), ("0008", "0007"), ("0007", "0006"),
                     ("0006", "0005_report_indexes"), ("0005_report_indexes", "0004"), ("0004", "0003"),
                     ("0003", "0001"), ("0002_slack", "0001")]
    assert db_heads(db.engine) == {"0001"}
    first = _schema(db)
    assert {"inbox", "appsecret", "slack_bots"}.isdisjoint(first) and {"pair", "prompt", "person"} <= set(first)
    with pytest.raises(CannotGoBack):
        downgrade_one(db.engine)
    assert _schema(db) == first  # the refusal changed nothing
    upgrade(db.engine)
    check_migrated(db.engine)
    assert _schema(db) == full


def test_one_step_back_is_what_the_previous_release_runs_on(db: Database) -> None:
    downgrade_one(db.engine)
    assert db_heads(db.engine) == {"0002_slack", "0009"}
    with pytest.raises(NotMigrated, match="momentum db upgrade"):
        check_migrated(db.engine)
    upgrade(db.engine)
    check_migrated(db.engine)


def test_a_database_newer_than_the_code_is_refused_and_left_alone(db: Database) -> None:
    """A newer release migrated it (revision 0011): starting, upgrading and downgrading all refuse with the
    same words, and the database stays at 0011."""
    with db.engine.begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = '0011' WHERE version_num = '0010'"))
    words = r"^this release is older than the database \(0011 > 0010\): run the newer release or restore a " \
            r"backup; nothing was changed"
    before = _schema(db)
    for attempt in (check_migrated, upgrade, downgrade_one):
        with pytest.raises(NewerThanCode, match=words):
            attempt(db.engine)
    assert db_heads(db.engine) == {"0002_slack", "0011"} and _schema(db) == before


def test_unmigrated_database_is_refused_naming_the_command(tmp_path: Path) -> None:
    empty = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(NotMigrated, match="momentum db upgrade"):
        check_migrated(empty.engine)


def test_sqlite_runs_in_wal_with_a_busy_timeout(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert int(c.execute(text("PRAGMA busy_timeout")).scalar() or 0) >= 5000
        assert c.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_urls_default_to_sqlite_and_accept_postgres_spellings() -> None:
    assert normalise_url(None) == "sqlite:///momentum.db"
    assert normalise_url("postgres://u@h/db").startswith("postgresql+psycopg://")
    assert normalise_url("postgresql://u@h/db").startswith("postgresql+psycopg://")


def test_credentials_are_encrypted_at_rest(sqlite_db: Database, tmp_path: Path) -> None:
    box = SecretBox("a passphrase,an old one")
    token = "xoxb-123456-SECRET-TOKEN"
    with Session(sqlite_db.engine) as s:
        s.add(Workspace(platform="slack", external_id="T1", credentials_enc=box.encrypt_json({"bot_token": token}),
                        created_at=NOW))
        s.commit()
    sqlite_db.dispose()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("momentum.db*"))
    assert token.encode() not in raw
    assert box.decrypt_json(box.encrypt_json({"bot_token": token}))["bot_token"] == token
    assert SecretBox("an old one").decrypt(SecretBox("an old one").encrypt(b"x")) == b"x"
    with pytest.raises(DecryptionError):
        SecretBox("another key").decrypt(box.encrypt(b"x"))


def test_prompt_key_is_unique(db: Database) -> None:
    with Session(db.engine) as s:
        ws = Workspace(platform="test", external_id="T", created_at=NOW)
        s.add(ws)
        s.flush()
        a = Person(workspace_id=ws.id, external_id="A", created_at=NOW, updated_at=NOW)  # type: ignore[arg-type]
        b = Person(workspace_id=ws.id, external_id="B", created_at=NOW, updated_at=NOW)  # type: ignore[arg-type]
        prog = Program(workspace_id=ws.id, name="P", start_date=date(2026, 1, 5), created_at=NOW)  # type: ignore[arg-type]
        s.add_all([a, b, prog])
        s.flush()
        pair = Pair(program_id=prog.id, sponsor_id=a.id, sponsoree_id=b.id, start_date=date(2026, 1, 5),  # type: ignore[arg-type]
                    created_at=NOW)
        s.add(pair)
        s.flush()

        def prompt() -> Prompt:
            return Prompt(pair_id=pair.id, recipient_id=b.id, workspace_id=ws.id, kind="checkin",  # type: ignore[arg-type]
                          period="w1", due_at=NOW, next_attempt_at=NOW, created_at=NOW)

        s.add(prompt())
        s.commit()
        s.add(prompt())
        with pytest.raises(IntegrityError):
            s.commit()
