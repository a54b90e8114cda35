"""``mount``: the Teams endpoint ``POST /api/messages`` (Microsoft 365 Agents SDK ``CloudAdapter``) on aiohttp.

Each request is authenticated first (``adapters.teams.auth``: Bot Framework JWT, serviceurl claim),
then handed to ``CloudAdapter.process`` with the resulting claims.  Before that, what could never be
an activity (wrong content type, non-JSON, missing or ill-typed fields) gets a 4xx, never a 500.
Invokes are answered by the bot (``adapters.teams.bot``); the SDK answers an invoke nobody answered
with 501, so the bot always sets an invoke response.  With no ``MICROSOFT_APP_ID`` the endpoint runs
in local development mode (Emulator): no auth, said loudly at start-up.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web
from microsoft_agents.activity import Activity
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import ClaimsIdentity, RestChannelServiceClientFactory, TurnContext
from pydantic import ValidationError

from adapters.teams.auth import AuthError, InboundAuth, connection_manager
from adapters.teams.bot import MomentumTeamsBot
from adapters.teams.platform import TeamsPlatform
from adapters.teams.settings import TeamsSettings

if TYPE_CHECKING:
    from bot.app import Momentum

_LOGGER = logging.getLogger(__name__)

ROUTE = "/api/messages"
# The synthetic activities the SDK runs proactive turns with (continue/create conversation).
PROACTIVE_EVENTS = frozenset({"ContinueConversation", "CreateConversation"})
MAX_BODY_BYTES = 256 * 1024  # Teams activities are far smaller; refuse anything larger early
TEAMS_BOT_KEY: web.AppKey[MomentumTeamsBot] = web.AppKey("teams_bot", MomentumTeamsBot)
TEAMS_PLATFORM_KEY: web.AppKey[TeamsPlatform] = web.AppKey("teams_platform", TeamsPlatform)
TEAMS_ADAPTER_KEY: web.AppKey[CloudAdapter] = web.AppKey("teams_adapter", CloudAdapter)


class _NoUserTokens:
    """Stands in for the SDK's user-token client (OAuth sign-in, SSO), which Momentum never uses."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"Momentum signs nobody in: the user-token client has no {name!r}")

    async def close(self) -> None:
        return None


class _ClientFactory(RestChannelServiceClientFactory):
    """The SDK's client factory, with two differences:

    - no user-token client (OAuth sign-in, SSO): Momentum signs nobody in, and the SDK would otherwise
      acquire an Entra token and open an HTTP session for it on every turn, proactive sends included;
    - in local development mode connector calls carry no token (Emulator, the loopback fakes),
      proactive ones included (the SDK would otherwise ask Entra for a token for an empty app id).
    """

    def __init__(self, manager: Any, *, anonymous: bool) -> None:
        super().__init__(manager)
        self.anonymous = anonymous

    async def create_connector_client(  # type: ignore[no-untyped-def]
        self, context, claims_identity, service_url, audience, scopes=None, use_anonymous=False
    ):
        return await super().create_connector_client(
            context, claims_identity, service_url, audience, scopes, use_anonymous=use_anonymous or self.anonymous
        )

    async def create_user_token_client(self, context, claims_identity, use_anonymous=False):  # type: ignore[no-untyped-def]
        return _NoUserTokens()


class _Request:
    """The SDK's ``HttpRequestProtocol`` over an aiohttp request we have already read and authenticated."""

    def __init__(self, request: web.Request, body: dict[str, Any], claims: ClaimsIdentity) -> None:
        self._request = request
        self._body = body
        self._claims = claims
        self.method = request.method
        self.headers = request.headers

    async def json(self) -> dict[str, Any]:
        return self._body

    def get_claims_identity(self) -> ClaimsIdentity:
        return self._claims

    def get_path_param(self, name: str) -> str:
        return self._request.match_info[name]


def create_adapter(settings: TeamsSettings) -> CloudAdapter:
    factory = _ClientFactory(connection_manager(settings), anonymous=settings.dev_mode)
    adapter = CloudAdapter(channel_service_client_factory=factory)

    async def on_turn_error(ctx: TurnContext, error: Exception) -> None:
        if ctx.activity.type == "event" and ctx.activity.name in PROACTIVE_EVENTS:
            raise error  # a proactive send: TeamsPlatform turns it into a PlatformError
        # Logged without the activity's text; the person gets a short apology instead of silence.
        _LOGGER.error("teams turn failed: %s", type(error).__name__, exc_info=error)
        if ctx.activity.type == "invoke":
            return  # the bot set (or the endpoint sends) the invoke response; no chat message
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
    try:
        Activity.model_validate(body)
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"]) if exc.errors() else "?"
        return f"activity field {where!r} is not valid"
    return None


class _TrackingBot:
    """Wraps the bot for one request to know whether the turn started."""

    def __init__(self, inner: MomentumTeamsBot) -> None:
        self.inner = inner
        self.started = False

    async def on_turn(self, ctx: TurnContext) -> None:
        self.started = True
        await self.inner.on_turn(ctx)


def make_handler(adapter: CloudAdapter, bot: MomentumTeamsBot, settings: TeamsSettings):  # type: ignore[no-untyped-def]
    auth = InboundAuth(settings)

    async def messages(request: web.Request) -> web.StreamResponse:
        if "application/json" not in request.headers.get("Content-Type", ""):
            return _bad_request("Content-Type must be application/json", 415)
        if not settings.dev_mode and not request.headers.get("Authorization", "").startswith("Bearer "):
            return _bad_request("missing Bot Framework token", 401)  # Bot Framework always sends one
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
        try:
            claims = await auth.authenticate(request.headers.get("Authorization"), body["serviceUrl"])
        except AuthError as exc:
            _LOGGER.warning("teams request refused: invalid Bot Framework token (%s)", exc)
            return _bad_request("invalid Bot Framework token", 401)
        tracking = _TrackingBot(bot)
        try:
            result = await adapter.process_request(_Request(request, body, claims), tracking)
        except Exception:
            if tracking.started:
                _LOGGER.exception("teams turn failed after authentication")
                return _bad_request("internal error", 500)
            _LOGGER.warning("teams activity rejected before its turn", exc_info=True)
            return _bad_request("the activity could not be read")
        if result.status_code == 202:
            # A message, not an invoke: 201 as botbuilder answered (Bot Framework accepts any 2xx).
            return web.Response(status=201)
        if result.body is None:
            return web.Response(status=result.status_code)
        return web.json_response(result.body, status=result.status_code)

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
            "set MICROSOFT_APP_ID and its credential for Teams.",
            ROUTE,
        )
    else:
        _LOGGER.info("teams endpoint mounted at %s (app type %s)", ROUTE, settings.app_type.value)
