"""A few weeks of a pair's life, written straight to the tables: check-ins sent and answered (with a
momentum score and a planted private note), and meetings; what a program's weekly trend is made of."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from storage.db import Database
from storage.models import CheckIn, Pair, Program, Prompt, Touchpoint

PLANTED = "PLANTED-PRIVATE-NOTE-7f3a"
# week -> (check-in answered?, momentum, met?)
WEEKS = ((True, 2, True), (True, 3, False), (False, None, False), (True, 4, True), (True, 5, True))


def seed_trend(db: Database, start: datetime, weeks: tuple[tuple[bool, int | None, bool], ...] = WEEKS) -> list[int]:
    """For every pair: week k (from ``start``) gets a check-in sent a day in, answered or not, and a
    meeting when ``met``. Returns the pair ids."""
    with db.session() as s:
        pairs = list(s.exec(select(Pair)).all())
        for pair in pairs:
            assert pair.id is not None
            for k, (answered, score, met) in enumerate(weeks):
                at = start + timedelta(weeks=k, days=1)
                prompt = Prompt(pair_id=pair.id, recipient_id=pair.sponsoree_id, workspace_id=pair_workspace(s, pair),
                                kind="checkin", period=f"seed-{k}", week=k, due_at=at, next_attempt_at=at,
                                status="sent", sent_at=at, answered_at=at + timedelta(hours=2) if answered else None,
                                created_at=at)
                s.add(prompt)
                s.flush()
                if answered:
                    s.add(CheckIn(prompt_id=prompt.id, pair_id=pair.id, author_id=pair.sponsoree_id,
                                  status="met" if met else "light", momentum=score, note=PLANTED,
                                  created_at=at + timedelta(hours=2), updated_at=at + timedelta(hours=2)))
                if met:
                    s.add(Touchpoint(pair_id=pair.id, author_id=pair.sponsoree_id, kind="meeting", note=PLANTED,
                                     occurred_at=at + timedelta(hours=3)))
        return [p.id for p in pairs if p.id is not None]


def pair_workspace(s: Session, pair: Pair) -> int:
    prog = s.get(Program, pair.program_id)
    assert prog is not None and prog.workspace_id is not None
    return prog.workspace_id
