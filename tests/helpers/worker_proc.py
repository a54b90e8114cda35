"""One delivery replica in its own OS process, for the multi-replica test; records each send to a file.

Run: ``python tests/helpers/worker_proc.py --url URL --worker w1 --record DIR``.  It runs the real
core (``Momentum.deliver_due`` with the real clock) in a loop against a fake platform that appends
the prompt id of every message it is asked to send to ``DIR/<worker>.log`` (flushed and fsynced
before the send returns, so a SIGKILL loses nothing the platform "accepted").  It exits 0 once the
outbox holds nothing pending or sending, 3 when ``--timeout`` runs out first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import TextIO

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import func, select

from bot.app import Momentum
from bot.model.clock import SystemClock
from bot.model.config import Settings
from bot.model.messages import Buttons, Message
from bot.model.ports import Delivered
from bot.model.signing import unsigned
from storage.db import Database
from storage.models import Prompt
from tests.helpers.platforms import SendOnlyPlatform

P = Prompt.__table__  # type: ignore[attr-defined]


def prompt_id(message: Message) -> int:
    """Check-ins and nudges carry buttons whose values are ``"<prompt id>:<answer>"``."""
    for block in message.blocks:
        if isinstance(block, Buttons) and block.buttons:
            return int(unsigned(block.buttons[0].value).split(":", 1)[0])
    raise ValueError(f"message {message.kind!r} carries no prompt id")


class FileRecordingPlatform(SendOnlyPlatform):
    """A platform that takes ``delay`` seconds per send and appends one line per send to a file."""

    def __init__(self, out: TextIO, worker: str, delay: float) -> None:
        self.out, self.worker, self.delay = out, worker, delay

    def _record(self, message: Message) -> Delivered:
        pid = prompt_id(message)
        self.out.write(f"{pid}\n")
        self.out.flush()
        os.fsync(self.out.fileno())
        return Delivered(ref={"ts": f"{self.worker}:{pid}"})

    async def deliver(self, message: Message) -> Delivered:
        await asyncio.sleep(self.delay)
        return self._record(message)


def outstanding(db: Database) -> int:
    with db.engine.connect() as conn:
        q = select(func.count()).select_from(P).where(P.c.status.in_(("pending", "sending")))
        return int(conn.execute(q).scalar_one())


async def run(args: argparse.Namespace) -> int:
    db = Database(args.url)
    settings = Settings(lease_s=args.lease, worker_batch=args.batch, worker_concurrency=args.concurrency)
    path = Path(args.record) / f"{args.worker}.log"
    deadline = time.monotonic() + args.timeout
    with path.open("a", encoding="utf-8") as out:
        platform = FileRecordingPlatform(out, args.worker, args.delay_ms / 1000)
        m = Momentum(db, settings, SystemClock(), {"test": platform})
        while time.monotonic() < deadline:
            stats = await m.deliver_due(worker_id=args.worker)
            if stats.claimed == 0:
                if outstanding(db) == 0:
                    db.dispose()
                    return 0
                await asyncio.sleep(args.idle_s)  # what is left is leased to someone else
    db.dispose()
    return 3


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", required=True)
    ap.add_argument("--worker", required=True)
    ap.add_argument("--record", required=True, help="directory for <worker>.log")
    ap.add_argument("--lease", type=int, default=5, help="lease in seconds (MOMENTUM_LEASE_SECONDS)")
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--delay-ms", type=float, default=3.0, help="simulated platform latency per send")
    ap.add_argument("--idle-s", type=float, default=0.2)
    ap.add_argument("--timeout", type=float, default=50.0)
    return asyncio.run(run(ap.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
