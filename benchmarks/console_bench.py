"""Benchmark: every web console page, and the chat `report`, for one workspace with 10,000 pairs and a year
of history on PostgreSQL (or SQLite).

Seeds in bulk (tests/helpers/seed.py): 10,000 pairs 52 weeks into their program with a year of weekly
check-ins (about 60% answered with a momentum score), meetings and light touches, dead deliveries,
unreachable people, pay-it-forward volunteers; plus, for the console, a level and a unit for every
sponsoree (breakdowns), a few hundred ended pairs and an HR outcomes file of 25,000 people. Then the real
server (``adapters.server.build_app``, the console mounted at ``/admin``) runs on a loopback port in its
own thread; an admin signs in through a link, and each page is fetched ``--runs`` times over HTTP after
one warm-up: p50 / p95 of the time from request to the last byte (server time plus loopback, which is
well under a millisecond). The chat `report` runs through the core (``Momentum.handle``). Target: p95 <=
300 ms for every page and for `report` (the CSV download streams every pair, and the very first visit of a
program computes its settled weeks into the ``programweek`` rollup once; both are shown apart).

Run: ``.venv/bin/python benchmarks/console_bench.py [--pairs 10000] [--weeks 52] [--runs 9] [--backend postgres]``
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import re
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._seed import database, machine, seed_pairs

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
TARGET_MS = 300.0
LEVELS = ("associate", "senior associate", "manager", "senior manager", "director", "vp")
UNITS = ("Sales", "Engineering", "Finance", "Marketing", "Operations", "Legal", "HR", "Research")


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def seed_console(engine: Any, seeded: Any) -> None:
    """What the console adds: attributes for breakdowns, ended pairs, an outcomes file."""
    from sqlalchemy import insert, update

    from storage.models import Outcome, Pair, Person, PersonAttribute

    pa, pe = PersonAttribute.__table__, Person.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        rows = [{"workspace_id": seeded.workspace_id, "person_id": p, "name": "level",
                 "value": LEVELS[(k * 7) % len(LEVELS)] if k % 97 else "c-suite"}  # a rare value: hidden
                for k, p in enumerate(seeded.sponsorees)]
        for i in range(0, len(rows), 10_000):
            conn.execute(insert(pa), rows[i:i + 10_000])
        for n, unit in enumerate(UNITS):
            conn.execute(update(pe).where(pe.c.id.in_(seeded.sponsorees[n::len(UNITS)])).values(unit=unit))
        ended = seeded.pair_ids[5::33]
        conn.execute(update(Pair.__table__).where(Pair.__table__.c.id.in_(ended))  # type: ignore[attr-defined]
                     .values(status="ended", ended_at=NOW - timedelta(weeks=10)))
        people = 2 * len(seeded.pair_ids)
        outcomes = [{"workspace_id": seeded.workspace_id, "email": f"p{n}@example.com" if n < people else
                     f"other{n}@example.com", "promoted_on": (NOW - timedelta(days=n % 300)).date() if n % 9 == 0
                     else None, "changed_role_on": None,
                     "left_on": (NOW - timedelta(days=n % 200)).date() if n % 17 == 0 else None,
                     "uploaded_at": NOW} for n in range(max(25_000, people + 5_000))]
        for i in range(0, len(outcomes), 10_000):
            conn.execute(insert(Outcome.__table__), outcomes[i:i + 10_000])  # type: ignore[attr-defined]


class Server:
    def __init__(self, m: Any) -> None:
        self.m = m
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.port = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from aiohttp import web

        from adapters.server import Edges, build_app

        asyncio.set_event_loop(self.loop)
        runner = web.AppRunner(build_app(self.m, Edges(), scheduler=False), access_log=None)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.ready.set()
        self.loop.run_forever()

    def __enter__(self) -> Server:
        self.thread.start()
        self.ready.wait(30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def fetch(port: int, path: str, cookie: str = "", method: str = "GET", body: str = "") -> tuple[int, bytes, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Cookie": cookie} if cookie else {}
    if body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body or None, headers=headers)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data, r


def measure(backend: str, pairs: int, weeks: int, runs: int, workdir: Path) -> dict[str, Any]:
    from sqlalchemy import text

    from bot.app import Momentum
    from bot.domain import console
    from bot.model.clock import FakeClock
    from bot.model.config import Settings
    from bot.model.interactions import Interaction, InteractionKind, Profile
    from storage.db import Database
    from tests.helpers.seed import seed_history

    out: dict[str, Any] = {}
    with database(backend, workdir) as url:
        db = Database(url)
        t = time.perf_counter()
        seeded = seed_pairs(db.engine, pairs, NOW, weeks_in=weeks)
        hist = seed_history(db.engine, seeded, NOW, weeks=weeks)
        seed_console(db.engine, seeded)
        if backend == "postgres":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM ANALYZE"))
        else:
            with db.engine.begin() as c:
                c.execute(text("ANALYZE"))
        out["seed_s"], out["rows"] = time.perf_counter() - t, hist
        admin = Profile("U0000000", "Person 0", "p0@example.com", "UTC")
        clock = FakeClock(NOW)
        m = Momentum(db, Settings(MOMENTUM_SECRET_KEY="bench", MOMENTUM_ADMINS=admin.email,
                                  MOMENTUM_PUBLIC_URL="http://127.0.0.1"), clock)
        with db.session() as s:
            link = console.issue_link(s, seeded.sponsors[0], NOW, "http://x")
        ws, prog = seeded.workspace_id, seeded.program_id
        with Server(m) as srv:
            token = link.split("token=")[1]
            status, body, r = fetch(srv.port, f"/admin/login?token={token}")  # the page sets its login cookie
            login_cookie = r.getheader("Set-Cookie").split(";")[0]
            login_csrf = re.search(rb'name="login_csrf" value="([0-9a-f]{64})"', body)
            assert status == 200 and login_csrf is not None, status
            status, _, r = fetch(srv.port, "/admin/login", login_cookie, method="POST",
                                 body=urlencode({"token": token, "login_csrf": login_csrf.group(1).decode()}))
            assert status == 303, status
            cookie = next(c.split(";")[0] for c in r.headers.get_all("Set-Cookie")
                          if c.startswith("momentum_console_w"))
            b = f"/admin/w/{ws}"
            pages = {
                "overview": f"{b}/", "program (by unit)": f"{b}/programs/{prog}",
                "program (by level)": f"{b}/programs/{prog}?by=level", "cohorts": f"{b}/cohorts",
                "stalled pairs": f"{b}/stalled", "stalled, page 20": f"{b}/stalled?page=20",
                "pairs": f"{b}/pairs", "pairs, active, p.100": f"{b}/pairs?status=active&page=100",
                "import": f"{b}/import", "export page": f"{b}/export", "audit log": f"{b}/audit",
                "audit, filtered": f"{b}/audit?action=pay_it_forward&ok=yes", "messages gallery": f"{b}/gallery",
                "outcomes": f"{b}/outcomes", "program settings": f"{b}/programs/{prog}/settings",
                "export CSV": f"{b}/export.csv",
            }
            t = time.perf_counter()  # the first visit of a program computes its settled weeks once
            status, data, _ = fetch(srv.port, pages["program (by unit)"], cookie)
            out["program, first visit"] = ((time.perf_counter() - t) * 1000, (time.perf_counter() - t) * 1000,
                                           len(data))
            assert status == 200
            for name, path in pages.items():
                status, data, _ = fetch(srv.port, path, cookie)
                assert status == 200, (name, status, data[:300])
                times = []
                for _ in range(runs):
                    t = time.perf_counter()
                    status, data, _ = fetch(srv.port, path, cookie)
                    times.append((time.perf_counter() - t) * 1000)
                    assert status == 200
                out[name] = (statistics.median(times), _pct(times, 0.95), len(data))

        def report() -> None:
            r = asyncio.run(m.handle(Interaction("test", "T1", admin.external_id, InteractionKind.COMMAND,
                                                 text="report",
                                                 profile=admin)))
            assert r.reply is not None and "Program health" in r.reply.text

        report()
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            report()
            times.append((time.perf_counter() - t) * 1000)
        out["chat report"] = (statistics.median(times), _pct(times, 0.95), 0)
        db.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=10_000)
    ap.add_argument("--weeks", type=int, default=52)
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--backend", default="postgres", help="postgres, sqlite or both (comma-separated)")
    args = ap.parse_args()
    print(machine())
    print(f"{args.pairs:,} pairs, {args.weeks} weeks of history, {args.runs} runs after a warm-up; "
          f"target: p95 <= {TARGET_MS:.0f} ms per page and for the chat report")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backend.split(","):
            r = measure(backend.strip(), args.pairs, args.weeks, args.runs, Path(tmp))
            h = r.pop("rows")
            print(f"\n{backend}: seeded {h.prompts:,} prompts, {h.checkins:,} check-ins, {h.touchpoints:,} "
                  f"touchpoints in {r.pop('seed_s'):.0f} s")
            print(f"  {'page':<22} {'p50 ms':>8} {'p95 ms':>8} {'KB':>7}")
            for name, (p50, p95, size) in r.items():
                apart = name in ("export CSV", "program, first visit")
                mark = "" if apart else ("  meets" if p95 <= TARGET_MS else "  MISSES the target")
                print(f"  {name:<22} {p50:>8.1f} {p95:>8.1f} {size / 1024:>7.0f}{mark}", flush=True)


if __name__ == "__main__":
    main()
