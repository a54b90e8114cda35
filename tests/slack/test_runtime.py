"""Runtime details: background work yields to acks (bounded), entry points refuse bad configuration."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from adapters.slack.settings import SlackSettings
from adapters.slack.web import mount, run_socket_mode
from bot.app import Momentum
from bot.config import ConfigError
from tests.slack.conftest import SlackServer


async def test_background_work_waits_for_inflight_acks(slack_server: SlackServer) -> None:
    runtime = slack_server.runtime
    ran: list[str] = []

    async def job() -> None:
        ran.append("job")

    runtime.request_started()
    runtime.spawn(job())
    for _ in range(5):
        await asyncio.sleep(0)
    assert ran == []  # an acknowledgement is still being answered
    runtime.request_finished()
    await runtime.drain()
    assert ran == ["job"]


async def test_background_work_never_waits_past_the_deadline(
    slack_server: SlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import adapters.slack.runtime as rt

    monkeypatch.setattr(rt, "DEFER_MAX_S", 0.0)
    runtime = slack_server.runtime
    ran: list[str] = []

    async def job() -> None:
        ran.append("job")

    runtime.request_started()  # busy forever: the deadline lets the job through anyway
    runtime.spawn(job())
    await runtime.drain()
    runtime.request_finished()
    assert ran == ["job"]


def test_mount_refuses_an_unconfigured_slack(momentum: Momentum) -> None:
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        mount(web.Application(), momentum, SlackSettings())


async def test_socket_mode_needs_an_app_token(momentum: Momentum) -> None:
    settings = SlackSettings(SLACK_SIGNING_SECRET="s", SLACK_BOT_TOKEN="xoxb-1")
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        await run_socket_mode(momentum, settings)
