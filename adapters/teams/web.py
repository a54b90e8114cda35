"""``mount``: the Teams endpoint ``POST /api/messages`` (Microsoft 365 Agents SDK ``CloudAdapter``) on aiohttp.

Each request is authenticated first, from its token alone (``adapters.teams.auth``: Bot Framework JWT):
a missing or bad token is a 401 whatever the body.  Then the body is checked (``adapters.teams.inbound``:
our shapes and the SDK's ``Activity`` model, the ``value`` of clicks and invokes) and the token's
serviceurl claim compared with it; what does not fit gets a 4xx (an invoke its 400 invoke response),
never a 500, logged once as a warning without the body.  Then ``CloudAdapter.process`` runs the turn.
Invokes are answered by the bot (``adapters.teams.bot``); the SDK answers an invoke nobody answered
with 501, so the bot always sets an invoke response.  With no ``MICROSOFT_APP_ID`` the endpoint runs
in local development mode (Emulator): no auth, said loudly at start-up.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import ClaimsIdentity, RestChannelServiceClientFactory, TurnContext
from microsoft_agents.hosting.core.connector.teams import TeamsConnectorClient

from adapters import untrusted
from adapters.http import client_session
from adapters.teams.auth import AuthError, InboundAuth, connection_manager
from adapters.teams.bot import MomentumTeamsBot
from adapters.teams.inbound import BadActivity, parse, quiet_sdk_validation_log
from adapters.teams.platform import TeamsPlatform
from adapters.teams.settings import TeamsSettings
from adapters.teams.words import t

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
        client = await super().create_connector_client(
            context, claims_identity, service_url, audience, scopes, use_anonymous=use_anonymous or self.anonymous
        )
        return await _through_proxies(client, service_url) if isinstance(client, TeamsConnectorClient) else client

    async def create_user_token_client(self, context, claims_identity, use_anonymous=False):  # type: ignore[no-untyped-def]
        return _NoUserTokens()


async def _through_proxies(client: TeamsConnectorClient, service_url: str) -> TeamsConnectorClient:
    """The same connector client on a session that honours HTTPS_PROXY / HTTP_PROXY / NO_PROXY: the SDK
    opens its sessions without ``trust_env`` and has no proxy setting (microsoft-agents 1.9)."""
    token = str(client.client.headers.get("Authorization", "")).removeprefix("Bearer ")
    endpoint = service_url if service_url.endswith("/") else service_url + "/"
    fresh = TeamsConnectorClient(endpoint=endpoint, token=token, session=client_session(base_url=endpoint))
    await client.close()  # the SDK's session, never used
    return fresh


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
        if isinstance(error, aiohttp.ClientResponseError):
            # The connector refused a reply (an unknown or closed conversation): the platform's answer,
            # not a fault of ours, so a warning with its status and no traceback.
            _LOGGER.warning("teams turn: the connector answered %s to a reply", error.status)
        else:
            _LOGGER.error("teams turn failed: %s", type(error).__name__, exc_info=error)
        if ctx.activity.type == "invoke":
            return  # the bot set (or the endpoint sends) the invoke response; no chat message
        try:
            await ctx.send_activity(t("turn_failed"))
        except Exception:
            _LOGGER.warning("teams could not send the error notice")

    adapter.on_turn_error = on_turn_error
    return adapter


def _refuse(status: int, reason: str, body: Any = None) -> web.Response:
    """Answer a request that cannot start a turn, logged once as a warning without its body."""
    _LOGGER.warning("teams request refused: %d %s", status, reason)
    return web.json_response(body if body is not None else {"error": reason}, status=status)


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
        # The token first, whatever the body: an unauthenticated request gets 401 and nothing else.
        try:
            claims = await auth.authenticate(request.headers.get("Authorization"))
        except AuthError as exc:
            return _refuse(401, f"invalid Bot Framework token ({exc})")
        if "application/json" not in request.headers.get("Content-Type", ""):
            return _refuse(415, "Content-Type must be application/json")
        raw = await request.read()
        if len(raw) > MAX_BODY_BYTES:
            return _refuse(413, "activity too large")
        try:
            body = untrusted.loads(raw)  # no NUL anywhere from here on (PostgreSQL refuses it in text)
        except untrusted.TooDeep as exc:
            return _refuse(400, f"the activity is {exc}")
        except (ValueError, UnicodeDecodeError):
            return _refuse(400, "the body is not valid JSON")
        service_url = body.get("serviceUrl") if isinstance(body, dict) else None
        try:  # a token minted for another service: 401 before the body is looked at further
            if isinstance(service_url, str):
                auth.check_service_url(claims, service_url)
        except AuthError as exc:
            return _refuse(401, f"invalid Bot Framework token ({exc})")
        try:
            parse(body)
        except BadActivity as exc:
            return _refuse(exc.status, exc.reason, exc.body)
        tracking = _TrackingBot(bot)
        try:
            result = await adapter.process_request(_Request(request, body, claims), tracking)
        except Exception:
            if tracking.started:
                _LOGGER.exception("teams turn failed after authentication")
                return web.json_response({"error": "internal error"}, status=500)
            return _refuse(400, "the activity could not be read")
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

    async def _close(_: web.Application) -> None:
        await bot.rosters.close()  # roster reads still running: a few seconds, then cancelled

    app.on_cleanup.append(_close)
    quiet_sdk_validation_log()
    if settings.dev_mode:
        _LOGGER.warning(
            "TEAMS LOCAL DEVELOPMENT MODE: MICROSOFT_APP_ID is not set, so %s accepts activities WITHOUT "
            "authentication (as the Bot Framework Emulator expects). Never expose this to the internet; "
            "set MICROSOFT_APP_ID and its credential for Teams.",
            ROUTE,
        )
    else:
        _LOGGER.info("teams endpoint mounted at %s (app type %s)", ROUTE, settings.app_type.value)
