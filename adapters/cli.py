"""The ``momentum`` command line (Typer): demo, serve, db, worker, manifests, previews."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from bot.model.config import ConfigError, Settings, load_settings

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Momentum: keeps sponsor-sponsoree pairs engaged on Slack and Teams.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema (Alembic migrations).")
app.add_typer(db_app, name="db")
_LOGGER = logging.getLogger(__name__)


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


@app.command()
def demo(
    weeks: Annotated[int, typer.Option(min=1, max=60, help="How many weeks to fast-forward.")] = 12,
    pairs: Annotated[int, typer.Option(help="How many pairs (1-50), spread over time zones and countries.")] = 3,
    kind: Annotated[str, typer.Option(help="Program kind: sponsorship | mentoring | reverse-mentoring.")] = (
        "sponsorship"),
    seed: Annotated[int, typer.Option(help="Draws people, pairs and behaviour: one seed, one identical run.")] = 7,
    jsonl: Annotated[Path | None, typer.Option(
        help="Also write every delivered message and simulated tap as JSON lines to this file.")] = None,
    interactive: Annotated[bool, typer.Option(help="Answer Aisha's prompts yourself.")] = False,
    db: Annotated[Path | None, typer.Option(
        help="SQLite file to use (default: a fresh temporary file); only a file an earlier demo made is replaced."
    )] = None,
    force: Annotated[bool, typer.Option(
        help="With --db: replace the file even if the demo did not make it (or DATABASE_URL names it).")] = False,
) -> None:
    """Run a whole program on a fast-forwarded clock in the terminal (SQLite, no chat credentials)."""
    import os

    from adapters.console.demo import DemoOptions, db_problem, run_demo

    problem = DemoOptions(weeks=weeks, pairs=pairs, kind=kind, seed=seed).check()
    if problem:
        _fail(problem)
    if db is not None and (problem := db_problem(db, force=force, database_url=os.environ.get("DATABASE_URL"))):
        _fail(problem)  # before anything is opened, written or wiped
    path = db or Path(tempfile.mkdtemp(prefix="momentum-demo-")) / "momentum-demo.db"
    if jsonl is None:
        raise typer.Exit(run_demo(weeks, path, interactive, pairs=pairs, kind=kind, seed=seed))
    try:
        stream = jsonl.open("w", encoding="utf-8")
    except OSError as exc:
        _fail(f"--jsonl {jsonl}: cannot write it: {exc.strerror or exc}; pick a file in a folder you can write to")
    with stream:
        code = run_demo(weeks, path, interactive, pairs=pairs, kind=kind, seed=seed, jsonl=stream)
    raise typer.Exit(code)


def _database(settings: Settings, statement_timeout_ms: int | None = None,  # type: ignore[no-untyped-def]
              *, wait: bool = False):
    """The database at DATABASE_URL, reachable; otherwise one line naming the variable (exit 2).
    With ``wait`` (serve, worker) a database that is down is waited for (``_wait_for_database``)."""
    from sqlalchemy import text

    from storage.db import BadDatabaseURL, Database, parse_url, scrub_password

    url = settings.database_url
    try:
        parsed = parse_url(url)
    except BadDatabaseURL as exc:
        _fail(f"DATABASE_URL: {exc}")
    try:
        database = Database(url, connect_timeout_s=settings.db_connect_timeout_s,
                            statement_timeout_ms=settings.db_statement_timeout_ms if statement_timeout_ms is None
                            else statement_timeout_ms, lock_timeout_ms=settings.db_lock_timeout_ms)
        if wait:
            _wait_for_database(database)
        with database.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # a configuration problem, said in one line
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
        _fail(f"DATABASE_URL: cannot open the database: {scrub_password(reason, parsed)}")
    return database


def _wait_for_database(database) -> None:  # type: ignore[no-untyped-def]
    """Long-running commands (serve, worker) wait for a database that is down (PostgreSQL restarting,
    not up yet) instead of exiting: tenacity retries the connection with exponential backoff and
    jitter, and the wait is logged once when it starts and once when it ends. A database that
    answers with a configuration error (bad password, no such database) is not waited for."""
    from sqlalchemy import text
    from tenacity import Retrying, retry_if_exception

    from bot.outbox.faults import backoff, watch_for
    from storage.faults import classify

    watch = watch_for(database)

    def unreachable(exc: BaseException) -> bool:
        fault = classify(exc)
        return fault is not None and fault.kind == "unreachable"

    def note(state) -> None:  # type: ignore[no-untyped-def]
        if state.outcome is not None and (exc := state.outcome.exception()) is not None:
            watch.failed(exc)

    for attempt in Retrying(retry=retry_if_exception(unreachable), before_sleep=note, reraise=True,
                            wait=backoff()):
        with attempt, database.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    watch.succeeded()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema at DATABASE_URL (default: ./momentum.db)."""
    from storage.migrate import NotMigrated, upgrade

    s = _settings()
    # A migration may rightly run long (an index on a big table): no statement timeout; lock waits
    # and connecting keep theirs.
    database = _database(s, statement_timeout_ms=0)
    try:
        upgrade(database.engine)
    except NotMigrated as exc:  # a newer release migrated it
        _fail(str(exc))
    except Exception as exc:
        _fail_on_database(exc, "db upgrade")
    typer.echo(f"Database at {database.engine.url.render_as_string(hide_password=True)} is up to date.")


@db_app.command("downgrade")
def db_downgrade() -> None:
    """Take the schema one migration back, to run the previous release (back the database up first)."""
    from storage.migrate import CannotGoBack, NotMigrated, downgrade_one

    database = _database(_settings(), statement_timeout_ms=0)
    try:
        was, now = downgrade_one(database.engine)
    except (NotMigrated, CannotGoBack) as exc:
        _fail(str(exc))
    except Exception as exc:
        _fail_on_database(exc, "db downgrade")
    typer.echo(f"Database at {database.engine.url.render_as_string(hide_password=True)} went back from {was} "
               f"to {now}: the previous release runs on it; `momentum db upgrade` comes forward again.")


def _fail_on_database(exc: BaseException, what: str) -> NoReturn:
    """A database that refuses the work (read-only, disk full, locked, gone): one line saying so; anything
    else is a bug and keeps its traceback."""
    from sqlalchemy.exc import DBAPIError

    from storage.faults import classify

    if not isinstance(exc, DBAPIError):
        raise exc
    fault = classify(exc)
    if fault is None:
        reason = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0][:300]
        _fail(f"{what}: the database refused it: {reason}")
    _fail(f"{what}: the database refused it ({fault.describe()}): {_FIXES[fault.kind]}")


_FIXES = {
    "read_only": "make the database writable (for SQLite, the file and its folder) or point DATABASE_URL at a "
                 "writable one, then run it again",
    "disk_full": "free some disk space where the database lives, then run it again",
    "unreachable": "check that the database is up and reachable from here, then run it again",
}


@db_app.command("check")
def db_check() -> None:
    """Exit 0 when the schema is current, 1 (naming the command to run) when not."""
    from storage.migrate import NotMigrated, check_migrated

    database = _database(_settings())
    try:
        check_migrated(database.engine)
    except NotMigrated as exc:
        _fail(str(exc), 1)
    typer.echo("Schema is current.")


def _momentum(settings: Settings, *, wait: bool = False):  # type: ignore[no-untyped-def]
    from bot.app import Momentum
    from bot.content.journey import JourneyError, validate_all
    from storage.migrate import NotMigrated, check_migrated

    try:
        validate_all()  # the packaged journeys are data: a broken file stops start-up, not a send
    except JourneyError as exc:
        _fail(f"journey files: {exc}")
    database = _database(settings, wait=wait)
    try:
        check_migrated(database.engine)
    except NotMigrated as exc:
        _fail(str(exc))
    return Momentum(database, settings)


def _edges(settings: Settings):  # type: ignore[no-untyped-def]
    from adapters.server import Edges, teams_wanted
    from adapters.slack.settings import load_slack_settings
    from adapters.teams.settings import load_teams_settings

    try:
        slack = load_slack_settings(secret_key_set=settings.secret_key is not None)
        teams = load_teams_settings() if teams_wanted() else None
    except ConfigError as exc:
        _fail(str(exc))
    return Edges(slack=slack if slack.configured else None, teams=teams)


@app.command()
def serve(
    port: Annotated[int | None, typer.Option(help="Port (default: PORT or 3000).")] = None,
    socket_mode: Annotated[
        bool, typer.Option("--socket-mode", help="Slack over Socket Mode (SLACK_APP_TOKEN).")
    ] = False,
) -> None:
    """Run the web server, Slack and Teams endpoints, and the scheduler."""
    from aiohttp import web

    from adapters.logs import configure
    from adapters.server import Edges, build_app, settle_heap

    settings = _settings()
    edges = _edges(settings)  # every setting is checked before the database is waited for
    # The port is taken first: one that is in use is said in one line before anything starts (the
    # scheduler, the database wait); connections are refused until the server listens on it.
    sock = _bind(settings.host, settings.port if port is None else port)
    where = f"http://{settings.host}:{sock.getsockname()[1]}"
    configure(settings.log_level)
    m = _momentum(settings, wait=True)
    if edges.slack is None and edges.teams is None:
        _LOGGER.warning("no chat platform configured: set SLACK_* or MICROSOFT_APP_ID (see README); "
                        "serving /healthz and /metrics only")
    # In Socket Mode Slack arrives over the WebSocket, so the HTTP server carries only Teams and health.
    application = build_app(m, Edges(slack=None, teams=edges.teams) if socket_mode else edges)

    async def close_database(_: web.Application) -> None:
        m.db.dispose()  # the database executor and the connection pool

    async def settle(_: web.Application) -> None:
        settle_heap()  # last of the start-up steps
        _LOGGER.info("listening on %s", where)

    application.on_cleanup.append(close_database)
    application.on_startup.append(settle)
    if socket_mode:
        if edges.slack is None or not getattr(edges.slack, "app_token", None):
            _fail("SLACK_APP_TOKEN: required for --socket-mode (an app-level token with connections:write)")
        from adapters.slack.web import run_socket_mode

        async def both() -> None:
            runner = web.AppRunner(application)
            await runner.setup()
            await web.SockSite(runner, sock).start()
            try:
                await run_socket_mode(m, edges.slack)  # type: ignore[arg-type]
            finally:
                await runner.cleanup()
                _LOGGER.info("stopped listening on %s", where)

        asyncio.run(both())
        return
    from adapters.server import HTTP_GRACE_S, exit_when_stuck

    web.run_app(application, sock=sock, print=None, shutdown_timeout=HTTP_GRACE_S)
    _LOGGER.info("stopped listening on %s", where)
    exit_when_stuck()


def _bind(host: str, port: int):  # type: ignore[no-untyped-def]
    """A socket bound to host:port (not yet listening: aiohttp listens once started), or one line."""
    import socket

    if not 0 <= port <= 65535:
        _fail(f"--port/PORT: {port} is not a port; use 1-65535 (0: any free port)")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                              flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, OverflowError) as exc:
        _fail(f"HOST/PORT: cannot listen on {host}:{port}: {getattr(exc, 'strerror', None) or exc}")
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart need not wait out TIME_WAIT
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            _fail(f"PORT: {port} is already in use on {host} (another `momentum serve`?); stop it, or pick another "
                  "port with --port or PORT")
        _fail(f"HOST/PORT: cannot listen on {host}:{port}: {exc.strerror or exc}")
    return sock


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="Deliver what is due now, then exit.")] = False,
) -> None:
    """Run only the delivery worker (more replicas on one PostgreSQL are safe)."""
    from adapters.logs import configure
    from adapters.server import build_app, settle_heap
    from bot.outbox.faults import ride_out, watch_for

    settings = _settings()
    edges = _edges(settings)  # every setting is checked before the database is waited for
    configure(settings.log_level)
    m = _momentum(settings, wait=True)
    build_app(m, edges, scheduler=False)  # registers the platforms
    watch = watch_for(m.db)
    settle_heap()

    async def loop() -> None:
        while True:
            try:
                # A database outage or failing writes are ridden out with backoff (bot.outbox.faults.ride_out),
                # logged once when they start and once when they end.
                stats = await ride_out(watch, m.deliver_due)
            except Exception:  # a bug in one run must not stop delivery: log it, try again next round
                if once:
                    raise
                _LOGGER.exception("delivery run failed")
            else:
                if once:
                    typer.echo(json.dumps({"sent": stats.sent, "retried": stats.retried, "dead": stats.dead}))
                    return
            await asyncio.sleep(settings.deliver_interval_s)

    if once:
        asyncio.run(loop())
        return
    _say_when_stopped("worker stopped")
    _LOGGER.info("worker started: delivering every %g s", settings.deliver_interval_s)
    try:
        asyncio.run(loop())
    finally:  # Ctrl-C (SIGTERM is _say_when_stopped's)
        _LOGGER.info("worker stopped")


def _say_when_stopped(line: str) -> None:
    """SIGTERM ends the process as it always did (at once: what it had leased returns when the lease runs
    out), after one log line saying so."""
    import os
    import signal

    def stop(signum: int, _frame: object) -> None:
        _LOGGER.info(line)
        logging.shutdown()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    signal.signal(signal.SIGTERM, stop)


@app.command()
def plan() -> None:
    """Plan due prompts once (the server does this on its own schedule)."""
    settings = _settings()
    m = _momentum(settings)
    try:
        stats = m.plan()
    except Exception as exc:  # read-only, disk full, gone: one line (a bug keeps its traceback)
        _fail_on_database(exc, "plan")
    typer.echo(f"Planned {stats.prompts} prompt(s) for {stats.pairs} pair(s).")


@app.command()
def export(
    out: Annotated[Path, typer.Option(help="CSV file to write.")],
    platform: Annotated[str | None, typer.Option(help="slack | teams (needed when several installs exist)")] = None,
    workspace: Annotated[str | None, typer.Option(help="Slack team id or Teams tenant id")] = None,
) -> None:
    """Write the admin export (pairs and activity counts, no private notes) for one install."""
    from sqlmodel import select

    from bot.domain.csvio import export as export_csv
    from storage.models import Workspace

    if problem := _unwritable(out, "--out"):
        _fail(problem)  # before the database is opened
    m = _momentum(_settings())
    with m.db.session() as s:
        q = select(Workspace)
        if platform:
            q = q.where(Workspace.platform == platform)
        if workspace:
            q = q.where(Workspace.external_id == workspace)
        found = list(s.exec(q).all())
        if len(found) != 1:
            names = ", ".join(f"{w.platform}:{w.external_id}" for w in found) or "none"
            _fail(f"--platform/--workspace must pick exactly one install (matching: {names})")
        text = export_csv(s, found[0].id)  # type: ignore[arg-type]
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"--out {out}: cannot write it: {exc.strerror or exc}")
    typer.echo(f"Wrote {out}")


def _unwritable(path: Path, option: str) -> str | None:
    """Why ``path`` cannot be written as a new or replaced file, in one line naming ``option``; or None."""
    import os

    where = path.expanduser().resolve()
    if where.is_dir():
        return f"{option} {path}: that is a folder; give a file name, e.g. {option} {path / 'export.csv'}"
    if not where.parent.is_dir():
        return f"{option} {path}: the folder {where.parent} does not exist; create it or pick another place"
    if not os.access(where.parent, os.W_OK) or (where.exists() and not os.access(where, os.W_OK)):
        return f"{option} {path}: cannot write there (permission denied); pick a place you can write to"
    return None


@app.command("slack-manifest")
def slack_manifest(
    url: Annotated[str, typer.Option(help="Public base URL, e.g. https://momentum.example.com")],
) -> None:
    """Print the Slack app manifest with your host filled in."""
    from adapters.slack.manifest import render_manifest

    typer.echo(render_manifest(_public_url(url)), nl=False)


def _public_url(url: str) -> str:
    """``--url`` as a base URL with its scheme (Slack and Teams need the full https:// address), or one line."""
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        hint = f"https://{url.strip().split('://')[-1].strip('/')}" if url.strip() else "https://momentum.example.com"
        _fail(f"--url {url}: give the full public address with its scheme, e.g. --url {hint}")
    return url.strip()


@app.command("teams-package")
def teams_package(
    out: Annotated[Path, typer.Option(help="Directory to write manifest.json, icons and the zip into.")],
    url: Annotated[str | None, typer.Option(help="Public base URL (for the valid domains).")] = None,
) -> None:
    """Write the Teams app package (manifest.json, icons, zip) for upload to Teams."""
    from adapters.teams.package import write_package
    from adapters.teams.settings import load_package_settings
    from bot.model.config import check_guid

    try:
        ts = load_package_settings()  # the app id and links only: packaging never needs the secret
        if not ts.app_id:  # Teams refuses a package whose bot id is a placeholder
            _fail("MICROSOFT_APP_ID: required to build the Teams package (the bot's Microsoft App ID, a GUID, "
                  "from Azure Bot > Configuration)")
        check_guid(ts.app_id, "the bot's Microsoft App ID (Azure Bot > Configuration)")
    except ConfigError as exc:
        _fail(str(exc))
    except ValueError as exc:
        _fail(f"MICROSOFT_APP_ID: {exc}")
    zip_path = write_package(out, ts, _public_url(url) if url is not None else None)
    typer.echo(f"Wrote {zip_path}")


@app.command()
def preview(
    out: Annotated[Path, typer.Option(help="Directory for one file per message.")],
    platform: Annotated[str, typer.Option(help="slack | teams | text")] = "slack",
) -> None:
    """Write every message the bot can send, rendered for a platform, one file each."""
    from bot.chat.preview import all_kinds, sample_forms

    out.mkdir(parents=True, exist_ok=True)
    messages = all_kinds()
    if platform == "text":
        for name, msg in messages.items():
            (out / f"{name}.txt").write_text(msg.as_plain_text() + "\n", encoding="utf-8")
    elif platform == "slack":
        from adapters.slack.render import render_form, render_message

        for name, msg in messages.items():
            (out / f"{name}.json").write_text(json.dumps(render_message(msg), indent=2, ensure_ascii=False))
        for name, form in sample_forms().items():
            (out / f"{name}.json").write_text(json.dumps(render_form(form), indent=2, ensure_ascii=False))
    elif platform == "teams":
        from adapters.teams.render import form_card, to_card

        for name, msg in messages.items():
            (out / f"{name}.json").write_text(json.dumps(to_card(msg), indent=2, ensure_ascii=False))
        for name, form in sample_forms().items():
            (out / f"{name}.json").write_text(json.dumps(form_card(form), indent=2, ensure_ascii=False))
    else:
        _fail("--platform must be slack, teams or text")
    typer.echo(f"Wrote {len(list(out.iterdir()))} file(s) to {out}")


journey_app = typer.Typer(no_args_is_help=True, help="Journey files: the words and phases of a program kind.")
app.add_typer(journey_app, name="journey")


@journey_app.command("check")
def journey_check(file: Annotated[Path, typer.Argument(help="A journey file (YAML).")]) -> None:
    """Validate a journey file; print each problem with its line number (exit 1 when invalid)."""
    from bot.content.journey import JourneyError, check_text

    try:
        text = file.read_bytes()  # check_text refuses what is not UTF-8, in one sentence
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror}")
    try:
        j = check_text(text, str(file))
    except JourneyError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    slots = len(j.words)
    typer.echo(f"{file}: ok: a {j.kind} journey, {len(j.phases)} phases ({', '.join(p.key for p in j.phases)}), "
               f"{slots} word slots. Attach it with `program journey <name>` (paste the file below the command).")


@journey_app.command("show")
def journey_show(kind: Annotated[str, typer.Argument(help="sponsorship | mentoring | reverse-mentoring")]) -> None:
    """Print a built-in journey file, as a starting point for a program's own."""
    from importlib import resources

    from bot.content.journey import KINDS

    if kind not in KINDS:
        _fail(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    typer.echo(resources.files("bot.content").joinpath("journeys", f"{kind}.yml").read_text(encoding="utf-8"))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
