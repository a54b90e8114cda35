"""Charts in Slack, driven the way an admin does: `/momentum report` through the real server."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from bot.app import Momentum
from bot.model.clock import FakeClock
from tests.conftest import START
from tests.helpers.trend import PLANTED, seed_trend
from tests.slack.conftest import SlackServer
from tests.slack.test_e2e_core import _pilot_pair


async def _report(server: SlackServer, clock: FakeClock) -> None:
    await _pilot_pair(server)
    seed_trend(server.runtime.momentum.db, START)
    clock.advance(timedelta(weeks=4, days=3))  # Thursday of the fifth week
    server.fake.responses.clear()
    status, _ = await server.command("report Pilot", user="UADMIN")
    assert status == 200
    await server.settle()


def _charts(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in blocks if b["type"] == "data_visualization"]


async def test_report_draws_the_weekly_trend_as_slack_charts(
    slack_server: SlackServer, momentum: Momentum, clock: FakeClock
) -> None:
    await _report(slack_server, clock)
    body = slack_server.fake.responses[-1]
    charts = _charts(body["blocks"])
    assert [c["chart"]["type"] for c in charts] == ["line", "bar"]
    rates, score = charts[0]["chart"], charts[1]["chart"]
    assert charts[0]["title"] == "Pilot: each week (%)" and len(charts[0]["title"]) <= 50
    assert rates["axis_config"]["categories"] == ["Jan 5", "Jan 12", "Jan 19", "Jan 26", "Feb 2"]
    engagement, answered = rates["series"]
    assert engagement["name"] == "In contact that week" and answered["name"] == "Answered that week"
    # met in weeks 1, 4 and 5; check-ins answered in all weeks but the third
    assert [p["value"] for p in engagement["data"]] == [100, 0, 0, 100, 100]
    assert [p["value"] for p in answered["data"]] == [100, 100, 0, 100, 100]
    assert [(p["label"], p["value"]) for p in score["series"][0]["data"]] == [
        ("Jan 5", 2.0), ("Jan 12", 3.0), ("Jan 26", 4.0), ("Feb 2", 5.0)]  # no score in the third week
    assert score["axis_config"]["y_label"] == "/5"
    # the key figures stay, the charts come right after them
    types = [b["type"] for b in body["blocks"]]
    assert types.index("data_visualization") == types.index("section") + 1
    assert PLANTED not in json.dumps(body)


async def test_a_workspace_without_chart_blocks_gets_the_sparkline_text(
    slack_server: SlackServer, momentum: Momentum, clock: FakeClock
) -> None:
    slack_server.fake.charts = False  # Slack refuses the block: response_url 400, then invalid_blocks
    await _report(slack_server, clock)
    assert not slack_server.fake.responses  # response_url refused the charts
    posts = slack_server.fake.of("chat.postMessage")
    refused = [p for p in posts if _charts(p["blocks"])]
    assert len(refused) == 1  # tried once with the charts...
    final = posts[-1]
    assert not _charts(final["blocks"])  # ...then the same report with charts as text
    texts = [b["text"]["text"] for b in final["blocks"] if b["type"] == "section" and "text" in b]
    trend = next(t for t in texts if t.startswith("*Pilot: each week (%)*"))
    assert "In contact that week  █▁▁██  100%  →" in trend  # the trend, the last value, the change
    assert "Answered that week    ██▁██  100%  →" in trend
    momentum_text = next(t for t in texts if t.startswith("*Pilot: momentum each week*"))
    # no week-on-week arrow here: the report's figures state momentum's one trend (4 weeks against 4)
    assert "Average (1-5)  ▁▃·▆█  5.0/5" in momentum_text and "↑1.0" not in momentum_text
    assert PLANTED not in json.dumps(final)
