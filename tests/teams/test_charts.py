"""Charts in Teams, driven the way an admin does: `report` through the real endpoint."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import jsonschema

from bot.model.clock import FakeClock
from tests.conftest import START
from tests.helpers.trend import PLANTED, seed_trend
from tests.teams import activities as acts
from tests.teams.chart_schema import schema_with_charts
from tests.teams.conftest import TeamsServer
from tests.teams.test_e2e import install_everyone, say


async def test_report_draws_the_weekly_trend_as_teams_charts(
    teams_server: TeamsServer, momentum: Any, roster: list[acts.User], clock: FakeClock
) -> None:
    await install_everyone(teams_server)
    await say(teams_server, acts.ADMIN, "program create Pilot")
    await say(teams_server, acts.ADMIN, "pair sam@example.com ria@example.com Pilot")
    seed_trend(momentum.db, START)
    clock.advance(timedelta(weeks=4, days=3))
    card = teams_server.fake.card(await say(teams_server, acts.ADMIN, "report Pilot"))
    errors = list(jsonschema.Draft6Validator(schema_with_charts()).iter_errors(card))
    assert not errors, [e.message[:200] for e in errors]
    charts = {b["type"]: b for b in card["body"] if b["type"].startswith("Chart.")}
    assert set(charts) == {"Chart.Line", "Chart.VerticalBar"}
    line, bars = charts["Chart.Line"], charts["Chart.VerticalBar"]
    assert [d["legend"] for d in line["data"]] == ["In contact that week", "Answered that week"]
    assert [v["y"] for v in line["data"][0]["values"]] == [100, 0, 0, 100, 100]
    assert [v["x"] for v in line["data"][0]["values"]] == ["Jan 5", "Jan 12", "Jan 19", "Jan 26", "Feb 2"]
    assert [(v["x"], v["y"]) for v in bars["data"]] == [("Jan 5", 2.0), ("Jan 12", 3.0), ("Jan 26", 4.0),
                                                         ("Feb 2", 5.0)]
    # the text fallback for hosts that cannot draw charts
    # (no week-on-week arrow: the report states momentum's one trend, 4 weeks against the 4 before)
    assert bars["fallback"]["items"][1]["text"].rstrip().endswith("Average (1-5)  ▁▃·▆█  5.0/5")
    assert PLANTED not in json.dumps(card)
