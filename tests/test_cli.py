"""The ``momentum`` command as a new user runs it: demo, db upgrade, serve's refusals, preview."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def momentum(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: int = 120,
             stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("momentum")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "DATABASE_URL"))}
    return subprocess.run([str(exe), *args], cwd=cwd, env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout, input=stdin)


def test_demo_runs_twelve_weeks_and_ends_with_the_report(tmp_path: Path) -> None:
    run = momentum("demo", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    assert "Week 12" in out and "Pilot 2026 ended on" in out and "Demo finished" in out  # the closing summary
    assert "Pairs that met: 2 of 3" in out and "1 pair(s) never met" in out  # the ghosting pair never met
    assert "Aisha" in out and "Sam" in out and "3 pair(s) across" in out
    assert "[We met]" in out and "taps" in out


def test_demo_interactive_takes_answers_from_stdin(tmp_path: Path) -> None:
    run = momentum("demo", "--weeks", "2", "--interactive", cwd=tmp_path, stdin="1\n4\n" * 10)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Your turn, Aisha" in run.stdout


def test_serve_refuses_an_unmigrated_database_and_names_the_command(tmp_path: Path) -> None:
    run = momentum("serve", cwd=tmp_path, timeout=60)
    assert run.returncode == 2
    assert "momentum db upgrade" in run.stderr
    up = momentum("db", "upgrade", cwd=tmp_path)
    assert up.returncode == 0 and "up to date" in up.stdout
    assert momentum("db", "check", cwd=tmp_path).returncode == 0


def test_bad_settings_name_the_variable(tmp_path: Path) -> None:
    run = momentum("db", "upgrade", cwd=tmp_path, env={"MOMENTUM_QUIET_HOURS": "25:00-08:00"})
    assert run.returncode == 2 and "MOMENTUM_QUIET_HOURS" in run.stderr
    momentum("db", "upgrade", cwd=tmp_path)
    run = momentum("serve", cwd=tmp_path, env={"SLACK_CLIENT_ID": "123.456"}, timeout=60)
    assert run.returncode == 2 and "SLACK_CLIENT_SECRET" in run.stderr


@pytest.mark.parametrize("platform", ["text", "slack", "teams"])
def test_preview_writes_every_message(tmp_path: Path, platform: str) -> None:
    run = momentum("preview", "--platform", platform, "--out", str(tmp_path / platform), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    files = sorted((tmp_path / platform).iterdir())
    assert len(files) >= 30
    if platform == "slack":
        body = json.loads((tmp_path / platform / "checkin-know-0.json").read_text())
        assert body["text"] and body["blocks"]
    if platform == "teams":
        card = json.loads((tmp_path / platform / "nudge-coach.json").read_text())
        assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"


def test_export_command_writes_the_admin_csv(tmp_path: Path) -> None:
    assert momentum("demo", "--weeks", "2", "--db", str(tmp_path / "demo.db"), cwd=tmp_path).returncode == 0
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"}
    run = momentum("export", "--out", str(tmp_path / "pairs.csv"), cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    text = (tmp_path / "pairs.csv").read_text()
    assert text.startswith("program,kind,sponsor_name") and "Aisha Khan" in text and text.count("\n") == 4


BAD_URLS = [
    ("garbage", "not a database URL"),
    ("mysql://x@y/z", "unsupported database 'mysql'"),
    ("postgresql://postgres@127.0.0.1:1/test", "cannot open the database"),
    ("sqlite:////nonexistent/dir/x.db", "cannot open the database"),
]
COMMANDS = [("db", "check"), ("db", "upgrade"), ("plan",), ("worker",), ("serve",)]
LONG_RUNNING = [("worker",), ("serve",)]  # they wait for an unreachable database (test below)


@pytest.mark.parametrize("url,says,command", [
    (url, says, command) for url, says in BAD_URLS for command in COMMANDS
    if not (url.startswith("postgresql") and command in LONG_RUNNING)])
def test_a_bad_database_url_is_one_line_naming_the_variable(tmp_path: Path, url: str, says: str,
                                                             command: tuple[str, ...]) -> None:
    run = momentum(*command, cwd=tmp_path, env={"DATABASE_URL": url}, timeout=60)
    assert run.returncode == 2, (run.stdout, run.stderr)
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("DATABASE_URL: ") and says in lines[0], run.stderr
    assert "Traceback" not in run.stderr + run.stdout


@pytest.mark.parametrize("command", ["worker", "serve"])
def test_serve_and_worker_wait_for_an_unreachable_database(tmp_path: Path, command: str) -> None:
    """A database that is down at start-up (PostgreSQL restarting) is waited for with backoff and
    said once, not per attempt; no exit, no traceback (tests/test_faults_worker.py sees it come up)."""
    import signal
    import threading
    import time

    exe = Path(sys.executable).with_name("momentum")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "DATABASE_URL"))}
    env = {**base, "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/test", "MOMENTUM_DB_CONNECT_TIMEOUT": "1"}
    proc = subprocess.Popen([str(exe), command, "--port", "0"] if command == "serve" else [str(exe), command],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(iter(proc.stderr.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        end = time.monotonic() + 60
        while not any("database unreachable" in ln for ln in err) and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(4)  # attempts about 1 s and 3 s later go by
        assert proc.poll() is None, "".join(err)
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=30)[0]
        reader.join(5)
    lines = [json.loads(ln)["message"] for ln in err if ln.startswith("{")]
    said = [ln for ln in lines if ln.startswith("database unreachable: ")]
    assert len(said) == 1 and "Connection refused" in said[0], "".join(err)
    assert "Traceback" not in out + "".join(err)


@pytest.mark.postgres
@pytest.mark.parametrize("command", ["worker", "serve"])
def test_a_database_that_does_not_exist_is_configuration_not_an_outage(tmp_path: Path, command: str) -> None:
    """PostgreSQL answers, and says there is no such database: waiting would not help (exit 2, one line)."""
    from tests.conftest import PG_URL

    url = PG_URL.rsplit("/", 1)[0] + "/no_such_database_for_momentum"
    run = momentum(command, cwd=tmp_path, env={"DATABASE_URL": url}, timeout=60)
    assert run.returncode == 2, (run.stdout, run.stderr)
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("DATABASE_URL: cannot open the database") and \
        "does not exist" in lines[0], run.stderr


SECRET_URLS = [  # (DATABASE_URL, the secret in it, what the line must tell the operator to fix)
    ("postgresql://momentum:Zq9@xW7k@db.internal:5432/momentum", ("Zq9", "xW7k"), "write it as %40"),
    ("postgresql://momentum@db.internal:Hk4s3cretQ/momentum", ("Hk4s3cretQ",), "the port must be a number"),
    ("postgresql://momentum:Pw8Secret@db.internal:notaport/momentum", ("Pw8Secret", "notaport"),
     "the port must be a number"),
]


@pytest.mark.parametrize("command", [("db", "upgrade"), ("plan",), ("worker",), ("serve",)])
@pytest.mark.parametrize("url,secrets,fix", SECRET_URLS)
def test_a_password_in_the_wrong_place_is_never_echoed(tmp_path: Path, url: str, secrets: tuple[str, ...],
                                                       fix: str, command: tuple[str, ...]) -> None:
    """An unescaped @ in the password, or a password where the port goes: one line naming the fix, the URL
    shown with the password masked, exit 2, no traceback, and the secret nowhere in the output."""
    run = momentum(*command, cwd=tmp_path, env={"DATABASE_URL": url}, timeout=60)
    assert run.returncode == 2, (run.stdout, run.stderr)
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("DATABASE_URL: ") and fix in lines[0], run.stderr
    assert "db.internal" in lines[0] and "***" in lines[0]  # the URL is shown, masked
    for secret in secrets:
        assert secret not in run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr


def test_urls_are_masked_whether_or_not_they_parse() -> None:
    from storage.db import mask_url

    assert mask_url("postgresql://u:s3cret@h:5432/db") == "postgresql://u:***@h:5432/db"  # SQLAlchemy's rendering
    assert mask_url("postgresql://u:a@b:c@h:5432/db") == "postgresql://u:***@h:5432/db"  # up to the last @
    assert mask_url("postgresql://u@h:s3cret/db") == "postgresql://u@h:***/db"  # not a number where the port goes
    assert mask_url("postgresql://u:pw@[::1]:x/db") == "postgresql://u:***@[::1]:***/db"
    assert mask_url("sqlite:///momentum.db") == "sqlite:///momentum.db"
    assert mask_url("just-a-password") == "***"


SIGNING = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("env,variable,fix", [
    ({"SLACK_SIGNING_SECRET": "abc"}, "SLACK_SIGNING_SECRET", "32 hexadecimal characters"),
    ({"SLACK_SIGNING_SECRET": f'"{SIGNING}"'}, "SLACK_SIGNING_SECRET", "quotes"),
    ({"SLACK_SIGNING_SECRET": f"{SIGNING} "}, "SLACK_SIGNING_SECRET", "space or line break"),
    ({"SLACK_SIGNING_SECRET": SIGNING, "SLACK_BOT_TOKEN": "xoxb-1-2-abc\n"}, "SLACK_BOT_TOKEN", "line break"),
    ({"MICROSOFT_APP_ID": "not-a-guid"}, "MICROSOFT_APP_ID", "a GUID like"),
    ({"MOMENTUM_ADMINS": "ada@example.com,notanemail"}, "MOMENTUM_ADMINS", "not an email: 'notanemail'"),
])
@pytest.mark.parametrize("command", [("serve",), ("worker",)])
def test_settings_that_can_never_work_are_refused_at_start_up(tmp_path: Path, env: dict[str, str], variable: str,
                                                              fix: str, command: tuple[str, ...]) -> None:
    """Before the database is touched: one line naming the variable and the fix, exit 2, the secret not echoed."""
    env = {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", **env}
    run = momentum(*command, cwd=tmp_path, env=env, timeout=60)
    assert run.returncode == 2, (run.stdout, run.stderr)
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"{variable}: ") and fix in lines[0], run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "momentum.db").exists()  # nothing was opened
    if variable == "SLACK_SIGNING_SECRET":
        assert SIGNING not in run.stderr + run.stdout and "abc" not in run.stderr


def test_a_well_formed_slack_secret_and_app_id_pass(tmp_path: Path) -> None:
    """The checks above refuse only what can never work: the shapes Slack and Azure issue get through to the
    next check (here: the database has no schema yet)."""
    run = momentum("plan", cwd=tmp_path, env={"SLACK_SIGNING_SECRET": SIGNING, "SLACK_BOT_TOKEN": "xoxb-1-2-abc",
                                              "MICROSOFT_APP_ID": "11111111-2222-4333-8444-555555555555",
                                              "MOMENTUM_ADMINS": "ada@example.com, grace@example.org"})
    assert run.returncode == 2 and "momentum db upgrade" in run.stderr, run.stderr


def test_teams_package_without_an_app_id_refuses(tmp_path: Path) -> None:
    """Teams would refuse a package whose bot id is a placeholder: say so, write nothing, exit non-zero."""
    run = momentum("teams-package", "--out", str(tmp_path / "teams"), cwd=tmp_path)
    assert run.returncode == 2, (run.stdout, run.stderr)
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("MICROSOFT_APP_ID: required"), run.stderr
    assert not (tmp_path / "teams").exists()
    bad = momentum("teams-package", "--out", str(tmp_path / "teams"), cwd=tmp_path,
                   env={"MICROSOFT_APP_ID": "momentum-bot"})
    assert bad.returncode == 2 and "a GUID like" in bad.stderr and not (tmp_path / "teams").exists()


def _one_line(run: subprocess.CompletedProcess[str], starts: str, says: str) -> None:
    assert run.returncode == 2, (run.stdout, run.stderr)
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(starts) and says in lines[0], run.stderr
    assert "Traceback" not in run.stderr + run.stdout


def test_demo_replaces_only_a_file_an_earlier_demo_made(tmp_path: Path) -> None:
    """`demo --db FILE` wipes FILE: a real Momentum database, or any file the demo did not make, is refused and
    left byte for byte as it was (with its -wal and -shm), unless --force."""
    real = tmp_path / "momentum.db"
    assert momentum("db", "upgrade", cwd=tmp_path).returncode == 0

    def files() -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(tmp_path.glob("momentum.db*"))}

    before = files()
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    journal = tmp_path / "out.jsonl"
    journal.write_text("kept\n")
    elsewhere = {"DATABASE_URL": f"sqlite:///{tmp_path / 'elsewhere.db'}"}  # so only the demo mark decides
    for target in (real, notes):
        run = momentum("demo", "--weeks", "1", "--db", str(target), "--jsonl", str(journal), cwd=tmp_path,
                       env=elsewhere)
        _one_line(run, f"--db {target}: ", "not made by `momentum demo`")
        assert "--force" in run.stderr
    assert files() == before
    assert notes.read_text() == "my notes\n" and journal.read_text() == "kept\n"  # nothing else touched either

    demo_db = tmp_path / "demo.db"
    for _ in range(2):  # made by the demo, so the second run may replace it
        run = momentum("demo", "--weeks", "1", "--db", str(demo_db), cwd=tmp_path)
        assert run.returncode == 0, run.stderr
    # ... but not when DATABASE_URL names it: then it is the configured database
    run = momentum("demo", "--weeks", "1", "--db", str(demo_db), cwd=tmp_path,
                   env={"DATABASE_URL": f"sqlite:///{demo_db}"})
    _one_line(run, f"--db {demo_db}: ", "DATABASE_URL names")
    # the default DATABASE_URL (./momentum.db) counts too, even with no variable set
    _one_line(momentum("demo", "--weeks", "1", "--db", "momentum.db", cwd=tmp_path), "--db momentum.db: ",
              "DATABASE_URL names")
    assert files() == before

    forced = momentum("demo", "--weeks", "1", "--db", str(real), "--force", cwd=tmp_path)
    assert forced.returncode == 0 and "Demo finished" in forced.stdout, forced.stderr
    assert files() != before


def test_demo_paths_that_cannot_be_opened_are_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "folder"
    _one_line(momentum("demo", "--weeks", "1", "--db", str(missing / "d.db"), cwd=tmp_path), "--db ",
              "does not exist")
    _one_line(momentum("demo", "--weeks", "1", "--db", str(tmp_path), cwd=tmp_path), "--db ", "that is a folder")
    _one_line(momentum("demo", "--weeks", "1", "--jsonl", str(missing / "x.jsonl"), cwd=tmp_path), "--jsonl ",
              "No such file or directory")
    assert not missing.parent.parent.exists()


def test_a_schema_newer_than_the_release_is_one_line_everywhere(tmp_path: Path) -> None:
    """A newer release migrated the database: serve, worker, plan and db upgrade say so in one line, exit
    non-zero, and leave the database as it was."""
    import sqlite3

    assert momentum("db", "upgrade", cwd=tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "momentum.db") as c:
        c.execute("UPDATE alembic_version SET version_num = '0011' WHERE version_num = '0010'")
    for command in (("serve",), ("worker",), ("plan",), ("db", "upgrade"), ("db", "downgrade")):
        run = momentum(*command, cwd=tmp_path, timeout=60)
        _one_line(run, "this release is older than the database (0011 > 0010): run the newer release or restore a "
                       "backup; nothing was changed", "sqlite:///momentum.db")
    with sqlite3.connect(tmp_path / "momentum.db") as c:
        assert sorted(r[0] for r in c.execute("SELECT version_num FROM alembic_version")) == ["0002_slack", "0011"]


def test_db_downgrade_goes_one_step_back_and_upgrade_comes_forward(tmp_path: Path) -> None:
    assert momentum("db", "upgrade", cwd=tmp_path).returncode == 0
    down = momentum("db", "downgrade", cwd=tmp_path)
    assert down.returncode == 0 and "went back from 0010 to 0009" in down.stdout, down.stderr
    check = momentum("db", "check", cwd=tmp_path)
    assert check.returncode == 1 and "momentum db upgrade" in check.stderr
    assert momentum("db", "upgrade", cwd=tmp_path).returncode == 0
    assert momentum("db", "check", cwd=tmp_path).returncode == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    _one_line(momentum("db", "downgrade", cwd=empty), "The database at sqlite:///momentum.db has no Momentum schema",
              "nothing to go back from")


def test_serve_on_a_port_in_use_is_one_line_and_starts_nothing(tmp_path: Path) -> None:
    """The port is bound first: taken, it is said in one line before the scheduler or anything else starts."""
    import socket

    assert momentum("db", "upgrade", cwd=tmp_path).returncode == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = momentum("serve", "--port", str(port), cwd=tmp_path, env={"HOST": "127.0.0.1"}, timeout=60)
    _one_line(run, f"PORT: {port} is already in use on 127.0.0.1", "pick another port with --port or PORT")
    assert "scheduler started" not in run.stderr
    _one_line(momentum("serve", "--port", "70000", cwd=tmp_path), "--port/PORT: 70000 is not a port", "1-65535")


def test_operator_mistakes_are_one_line_naming_the_fix(tmp_path: Path) -> None:
    """`slack-manifest --url` without a scheme; `export --out` into a folder that does not exist (said before
    the database is opened: none is created here); `plan` on a database that takes no writes."""
    _one_line(momentum("slack-manifest", "--url", "momentum.example.com", cwd=tmp_path),
              "--url momentum.example.com: ", "e.g. --url https://momentum.example.com")
    run = momentum("teams-package", "--out", str(tmp_path / "teams"), "--url", "momentum.example.com", cwd=tmp_path,
                   env={"MICROSOFT_APP_ID": "11111111-2222-4333-8444-555555555555"})
    _one_line(run, "--url momentum.example.com: ", "https://momentum.example.com")
    assert not (tmp_path / "teams").exists()

    missing = tmp_path / "no" / "such" / "folder" / "pairs.csv"
    _one_line(momentum("export", "--out", str(missing), cwd=tmp_path), f"--out {missing}: ", "does not exist")
    assert not (tmp_path / "momentum.db").exists()

    from datetime import UTC, datetime

    from sqlalchemy import create_engine

    from tests.helpers.seed import seed_pairs

    assert momentum("db", "upgrade", cwd=tmp_path).returncode == 0
    engine = create_engine(f"sqlite:///{tmp_path / 'momentum.db'}")
    seed_pairs(engine, 2, datetime.now(UTC))  # never planned: planning must write
    engine.dispose()
    read_only = {"DATABASE_URL": f"sqlite:///file:{tmp_path / 'momentum.db'}?mode=ro&uri=true"}
    run = momentum("plan", cwd=tmp_path, env=read_only)
    _one_line(run, "plan: the database refused it (writes failing: read-only database): ", "make the database writable")
    assert "for 2 pair(s)" in momentum("plan", cwd=tmp_path).stdout  # writable again: it plans
