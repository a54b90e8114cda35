"""Entry points the server and CLI call: ``mount`` (HTTP routes) and ``run_socket_mode``."""

from __future__ import annotations

import logging

from aiohttp import web

from adapters.inbox import InboxPool, pool_for
from adapters.slack import shapes
from adapters.slack.guard import RequestGuard, dedupe_key
from adapters.slack.paths import EVENTS_PATH, INSTALL_PATH, REDIRECT_PATH
from adapters.slack.runtime import SlackRuntime
from adapters.slack.settings import SlackSettings
from bot.app import Momentum
from bot.model.config import ConfigError

_LOGGER = logging.getLogger(__name__)

SLACK_RUNTIME = web.AppKey("slack_runtime", SlackRuntime)


def mount(app: web.Application, momentum: Momentum, settings: SlackSettings) -> None:
    """Add the Slack routes to ``app`` and register the Slack platform on ``momentum``.

    ``POST /slack/events`` takes events, the slash command and interactivity; with OAuth
    (SLACK_CLIENT_ID/SECRET) also ``GET /slack/install`` and ``GET /slack/oauth_redirect``.
    The runtime is reachable as ``app[SLACK_RUNTIME]`` (tests, health checks).
    """
    if not settings.configured:
        raise ConfigError("SLACK_SIGNING_SECRET: Slack is not configured (and a bot token or OAuth client)")
    try:
        runtime = SlackRuntime(momentum, settings, pool=pool_for(app, momentum))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    momentum.register_platform(runtime.platform)
    app[SLACK_RUNTIME] = runtime
    assert settings.signing_secret is not None  # settings.configured
    guard = RequestGuard(settings.signing_secret.get_secret_value())

    async def events(request: web.Request) -> web.Response:
        body = await request.read()  # aiohttp keeps the body for Bolt
        refusal = guard.check(body, request.headers)
        if refusal is not None:
            if refusal.status != 200:
                _LOGGER.warning("slack request refused: %s", refusal.text)
            return web.Response(status=refusal.status, text=refusal.text)
        wrong = shapes.problem(body.decode("utf-8"), request.headers.get("Content-Type", ""))
        if wrong is not None:  # signed but not a shape we handle: 400, logged once without the body
            _LOGGER.warning("slack request rejected: %s", wrong)
            return web.Response(status=400, text="bad request")
        return await runtime.handle_events(request, dedupe_key(request.headers))

    app.router.add_post(EVENTS_PATH, events)
    if settings.oauth_enabled:
        app.router.add_get(INSTALL_PATH, runtime.handle_install)
        app.router.add_get(REDIRECT_PATH, runtime.handle_oauth_redirect)

    async def _startup(_: web.Application) -> None:
        await runtime.register_single_workspace()

    async def _cleanup(_: web.Application) -> None:
        await runtime.close()

    app.on_startup.append(_startup)
    app.on_cleanup.append(_cleanup)
    _LOGGER.info("slack mounted at %s (oauth=%s)", EVENTS_PATH, settings.oauth_enabled)


async def run_socket_mode(momentum: Momentum, settings: SlackSettings) -> None:
    """``momentum serve --socket-mode``: receive over Slack's WebSocket (SLACK_APP_TOKEN), no public URL."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    if settings.app_token is None:
        raise ConfigError("SLACK_APP_TOKEN: required for socket mode (an xapp- token with connections:write)")
    if not settings.configured:
        raise ConfigError("SLACK_SIGNING_SECRET: Slack is not configured (and a bot token or OAuth client)")
    pool = InboxPool(momentum)
    runtime = SlackRuntime(momentum, settings, pool=pool)
    momentum.register_platform(runtime.platform)
    await runtime.register_single_workspace()
    handler = AsyncSocketModeHandler(runtime.bolt, settings.app_token.get_secret_value())
    pool.start()
    try:
        await handler.start_async()
    finally:
        await pool.stop()
        await handler.close_async()
        await runtime.close()
