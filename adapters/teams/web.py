"""``mount``: the Teams endpoint ``POST /api/messages`` (botbuilder ``CloudAdapter``) on an aiohttp app.

Every activity goes through ``CloudAdapter.process``, which checks the Bot Framework JWT; this module
only refuses, before that, what could never be an activity (wrong content type, non-JSON, missing
required fields) so such requests get a 4xx rather than a 500, and maps authentication failures to
401.  With no ``MICROSOFT_APP_ID`` the adapter runs in local development mode (Emulator): no auth.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botframework.connector.auth import AuthenticationConstants

from adapters.teams.bot import MomentumTeamsBot
from adapters.teams.platform import TeamsPlatform
from adapters.teams.settings import TeamsSettings

if TYPE_CHECKING:
    from bot.app import Momentum

_LOGGER = logging.getLogger(__name__)

ROUTE = "/api/messages"
# The synthetic activities botbuilder runs proactive turns with (continue/create conversation).
PROACTIVE_EVENTS = frozenset({"ContinueConversation", "CreateConversation"})
MAX_BODY_BYTES = 256 * 1024  # Teams activities are far smaller; refuse anything larger early
TEAMS_BOT_KEY: web.AppKey[MomentumTeamsBot] = web.AppKey("teams_bot", MomentumTeamsBot)
TEAMS_PLATFORM_KEY: web.AppKey[TeamsPlatform] = web.AppKey("teams_platform", TeamsPlatform)
TEAMS_ADAPTER_KEY: web.AppKey[CloudAdapter] = web.AppKey("teams_adapter", CloudAdapter)


class _BotConfig:
    """The attribute-style configuration botbuilder's ConfigurationBotFrameworkAuthentication reads."""

    def __init__(self, settings: TeamsSettings) -> None:
        self.APP_ID = settings.app_id
        self.APP_PASSWORD = settings.app_password.get_secret_value() if settings.app_password else ""
        self.APP_TYPE = settings.app_type.value
        self.APP_TENANTID = settings.app_tenant_id
        if settings.openid_metadata_url:
            # botbuilder switches to its "parameterized" authentication as soon as one endpoint is
            # configured, so the others must be spelled out: the public cloud's values.
            self.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL = settings.openid_metadata_url
            self.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER = AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER
            self.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE = AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
            self.TO_CHANNEL_FROM_BOT_LOGIN_URL = AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL_PREFIX
            self.OAUTH_URL = AuthenticationConstants.OAUTH_URL
            self.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL = (
                AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL
            )
            self.CALLER_ID = "urn:botframework:azure"


def create_adapter(settings: TeamsSettings) -> CloudAdapter:
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(_BotConfig(settings)))

    async def on_turn_error(ctx: TurnContext, error: Exception) -> None:
        if ctx.activity.type == "event" and ctx.activity.name in PROACTIVE_EVENTS:
            raise error  # a proactive send: TeamsPlatform turns it into a PlatformError
        # Logged without the activity's text; the person gets a short apology instead of silence.
        _LOGGER.error("teams turn failed: %s", type(error).__name__, exc_info=error)
        try:
            await ctx.send_activity("Sorry, something went wrong on my side. Please try again in a minute.")
        except Exception:
            _LOGGER.warning("teams could not send the error notice")

    adapter.on_turn_error = on_turn_error
    return adapter


def _bad_request(reason: str, status: int = 400) -> web.Response:
    return web.json_response({"error": reason}, status=status)


def validate_activity(body: Any) -> str | None:
    """What makes ``body`` unusable as an inbound activity, or None if it is fine."""
    if not isinstance(body, dict):
        return "the body must be a JSON object (an activity)"
    for key in ("type", "serviceUrl", "channelId"):
        if not isinstance(body.get(key), str) or not body[key]:
            return f"activity field {key!r} is required"
    if not body["serviceUrl"].startswith(("https://", "http://")):
        return "activity field 'serviceUrl' must be an http(s) URL"
    for key in ("conversation", "from", "recipient"):
        if not isinstance(body.get(key), dict) or not isinstance(body[key].get("id"), str) or not body[key]["id"]:
            return f"activity field '{key}.id' is required"
    if body.get("channelData") is not None and not isinstance(body["channelData"], dict):
        return "activity field 'channelData' must be an object"
    for key in ("entities", "membersAdded", "membersRemoved", "attachments"):
        if body.get(key) is not None and not isinstance(body[key], list):
            return f"activity field {key!r} must be a list"
    return None


class _TrackingBot:
    """Wraps the bot for one request to know whether authentication let the turn start."""

    def __init__(self, inner: MomentumTeamsBot) -> None:
        self.inner = inner
        self.started = False

    async def on_turn(self, ctx: TurnContext) -> None:
        self.started = True
        await self.inner.on_turn(ctx)


def make_handler(adapter: CloudAdapter, bot: MomentumTeamsBot, settings: TeamsSettings):  # type: ignore[no-untyped-def]
    async def messages(request: web.Request) -> web.StreamResponse:
        if "application/json" not in request.headers.get("Content-Type", ""):
            return _bad_request("Content-Type must be application/json", 415)
        if not settings.dev_mode and not request.headers.get("Authorization", "").startswith("Bearer "):
            # Bot Framework always sends a bearer token; CloudAdapter would refuse too, we just skip work.
            return _bad_request("missing Bot Framework token", 401)
        raw = await request.read()
        if len(raw) > MAX_BODY_BYTES:
            return _bad_request("activity too large", 413)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return _bad_request("the body is not valid JSON")
        problem = validate_activity(body)
        if problem:
            return _bad_request(problem)
        tracking = _TrackingBot(bot)
        try:
            response = await adapter.process(request, tracking)
        except web.HTTPException as exc:
            if exc.status in (401, 403):
                _LOGGER.warning("teams request refused: invalid Bot Framework token")
            return _bad_request(exc.reason or "refused", exc.status)
        except Exception as exc:
            if tracking.started:
                _LOGGER.exception("teams turn failed after authentication")
                return _bad_request("internal error", 500)
            if settings.dev_mode:
                _LOGGER.warning("teams activity rejected: %s", type(exc).__name__)
                return _bad_request("the activity could not be read")
            # Auth is on and the turn never started: the token was refused somewhere in validation.
            _LOGGER.warning("teams request refused: token validation failed (%s)", type(exc).__name__)
            return _bad_request("invalid Bot Framework token", 401)
        return response or web.Response(status=201)

    return messages


def mount(app: web.Application, momentum: Momentum, settings: TeamsSettings) -> None:
    """Add ``POST /api/messages`` to ``app`` and register the Teams platform on ``momentum``."""
    adapter = create_adapter(settings)
    platform = TeamsPlatform(adapter, settings)
    bot = MomentumTeamsBot(momentum, platform)
    momentum.register_platform(platform)
    app[TEAMS_BOT_KEY] = bot
    app[TEAMS_PLATFORM_KEY] = platform
    app[TEAMS_ADAPTER_KEY] = adapter
    app.router.add_post(ROUTE, make_handler(adapter, bot, settings))
    if settings.dev_mode:
        _LOGGER.warning(
            "TEAMS LOCAL DEVELOPMENT MODE: MICROSOFT_APP_ID is not set, so %s accepts activities WITHOUT "
            "authentication (as the Bot Framework Emulator expects). Never expose this to the internet; "
            "set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD for Teams.",
            ROUTE,
        )
    else:
        _LOGGER.info("teams endpoint mounted at %s (app type %s)", ROUTE, settings.app_type.value)
