"""Runtime details: entry points refuse bad configuration."""

from __future__ import annotations

import pytest
from aiohttp import web

from adapters.slack.settings import SlackSettings
from adapters.slack.web import mount, run_socket_mode
from bot.app import Momentum
from bot.model.config import ConfigError


def test_mount_refuses_an_unconfigured_slack(momentum: Momentum) -> None:
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        mount(web.Application(), momentum, SlackSettings())


async def test_socket_mode_needs_an_app_token(momentum: Momentum) -> None:
    settings = SlackSettings(SLACK_SIGNING_SECRET="0" * 32, SLACK_BOT_TOKEN="xoxb-1")
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        await run_socket_mode(momentum, settings)
