"""A morning of check-in clicks: N pairs in one Slack workspace, each sponsoree's check-in sent, and the
signed "We met" click each of them makes (as Slack builds it) - for the burst test and benchmark."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from bot.model.signing import Signer
from storage.models import CheckIn, Person, Prompt
from tests.helpers.seed import seed_due_prompts, seed_pairs
from tests.helpers.serve_proc import click_body
from tests.slack.fake_slack import FakeSlack

P = Prompt.__table__  # type: ignore[attr-defined]
TEAM = "TBURST"  # a workspace of its own (the server registers the fake's T1 at start-up)


@dataclass(frozen=True)
class Click:
    prompt_id: int
    user: str
    channel: str
    ts: str
    value: str  # signed, as the button carried it


def seed_checkins(engine: Engine, n: int, now: datetime, signer: Signer) -> list[Click]:
    """``n`` pairs on Slack workspace ``TEAM``, each sponsoree's check-in sent; the click each would make."""
    seeded = seed_pairs(engine, n, now, platform="slack", workspace=TEAM)
    ids = seed_due_prompts(engine, seeded, now, kinds=("checkin",))
    with engine.begin() as conn:
        conn.execute(update(P).where(P.c.id.in_(ids)).values(status="sent", sent_at=now))
        who = dict(conn.execute(select(Person.__table__.c.id, Person.__table__.c.external_id)).all())  # type: ignore[attr-defined]
        rows = conn.execute(select(P.c.id, P.c.recipient_id).where(P.c.id.in_(ids)).order_by(P.c.id)).all()
    clicks = []
    for i, (pid, recipient) in enumerate(rows):
        user = str(who[recipient])
        clicks.append(Click(pid, user, "D" + user[1:], f"{1_700_000_000 + i}.000100",
                            signer.sign("checkin.status", f"{pid}:met", user)))
    return clicks


def body_of(fake: FakeSlack, click: Click) -> str:
    button = {"type": "button", "action_id": "checkin.status#1", "value": click.value,
              "text": {"type": "plain_text", "text": "We met"}}
    return click_body(fake, user=click.user, channel=click.channel, ts=click.ts, button=button,
                      key=f"click{click.prompt_id}", team=TEAM)


def checkins_stored(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(CheckIn.__table__).where(  # type: ignore[attr-defined]
            CheckIn.__table__.c.status == "met")).scalar_one())  # type: ignore[attr-defined]
