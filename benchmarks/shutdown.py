"""How fast ``momentum serve`` stops after SIGTERM during a burst, and what it loses.

A real ``momentum serve`` (subprocess) on SQLite or PostgreSQL, talking to a fake Slack on loopback. The
burst: N signed slash commands. ``--slack hang``: Slack's Web API and response_url accept connections
and never answer (the worst case: every call waits for its timeout); ``--slack ok``: Slack answers.
SIGTERM right after the last acknowledgement. Prints the stop time and the lost count: commands
acknowledged but neither answered nor kept in the inbox for the next process (must be 0).

    .venv/bin/python benchmarks/shutdown.py [--db sqlite|postgres] [--n 200] [--slack hang|ok]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage import inbox
from storage.db import Database
from storage.migrate import upgrade
from tests.helpers.pg import migrated_schema
from tests.helpers.serve_proc import Serve, command_body, post_signed
from tests.slack.fake_slack import FakeSlack

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


async def run(url: str, workdir: Path, n: int, slack_mode: str) -> dict[str, float | int]:
    fake = await FakeSlack().start()
    for i in range(n):
        fake.add_user(f"U{i:04d}", f"Person {i}", f"p{i}@example.com")
    serve = Serve(url, fake, workdir)
    await serve.start()
    try:
        if slack_mode == "hang":
            fake.delays["*"] = fake.delays["response_url"] = 3600.0
        async with aiohttp.ClientSession() as s:
            statuses = await asyncio.gather(*(
                post_signed(s, serve.url, command_body(fake, "help", user=f"U{i:04d}", key=f"c{i}"))
                for i in range(n)))
        acked = sum(1 for st in statuses if st == 200)
        stop_s = await serve.terminate(60.0)
        if "-v" in sys.argv:
            print(serve.output()[-3000:])
    finally:
        serve.stop_quietly()
        fake.release_holds()
        await fake.stop()
    db = Database(url)
    try:
        counts = inbox.counts(db)
        ready = inbox.ready(db)
    finally:
        db.dispose()
    answered = len(set(fake.response_keys))
    kept = counts.get("pending", 0) + counts.get("answered", 0)
    return {"acked": acked, "answered": answered, "kept_for_next_process": kept,
            "lost": acked - answered - kept, "ready": ready, "stop_s": round(stop_s, 2),
            "exit_code": serve.proc.returncode if serve.proc else -1}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--slack", choices=["hang", "ok"], default="hang")
    ap.add_argument("-v", action="store_true", help="print the tail of the server log")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.db == "sqlite":
            url = f"sqlite:///{workdir / 'bench.db'}"
            db = Database(url)
            upgrade(db.engine)
            db.dispose()
            out = asyncio.run(run(url, workdir, args.n, args.slack))
        else:
            with migrated_schema(PG_URL, "shutdown") as url:
                out = asyncio.run(run(url, workdir, args.n, args.slack))
    print(f"shutdown db={args.db} slack={args.slack} n={args.n}: stop after SIGTERM {out['stop_s']} s, "
          f"exit code {out['exit_code']}, acked {out['acked']}, answered {out['answered']}, "
          f"kept in the inbox {out['kept_for_next_process']} ({out['ready']} ready at once), lost {out['lost']}")


if __name__ == "__main__":
    main()
