"""Paced, error-mapped Slack Web API calls: per-workspace rate limits, 429 Retry-After, PlatformError.

Every outbound Web API call of the adapter goes through ``SlackApi.call`` with the method
name as a literal string (the manifest test reads them from the source to check scopes).

Every answer becomes data or a ``PlatformError``, whatever its body: Slack's JSON, an edge's
"503 upstream unavailable" in text/plain, an HTML error page, an empty 429, JSON that is not an
object. Retry-After is honoured on any status that carries it. Outbound HTTP honours the standard
proxy variables (``HTTPS_PROXY``, ``HTTP_PROXY``, ``NO_PROXY``: ``trust_env`` on the one session).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiolimiter import AsyncLimiter
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.http import client_session, retry_after_of
from adapters.slack.settings import SlackSettings
from bot.model.ports import FailureScope, PlatformError

_LOGGER = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
TokenLookup = Callable[[str], Awaitable[str | None]]

# Web API error codes (https://api.slack.com/methods/chat.postMessage#errors and friends).
PERSON_ERRORS = frozenset(
    {
        "user_not_found",
        "users_not_found",
        "user_disabled",
        "user_not_visible",
        "cannot_dm_bot",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "messages_tab_disabled",
        "cant_dm_user",
        "user_is_restricted",
        "user_is_ultra_restricted",
    }
)
# account_inactive: "Authentication token is for a deleted user or workspace" (Slack's docs):
# it is about *our* token, not the recipient, so it parks the whole workspace.
WORKSPACE_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "no_permission",
        "missing_scope",
        "team_access_not_granted",
        "team_not_found",
        "org_login_required",
        "ekm_access_denied",
        "app_uninstalled",
        "not_allowed_token_type",
        "enterprise_is_restricted",
        "team_is_restricted",
    }
)
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "timeout",
        "post_failed",
        "unreadable_response",  # a 2xx whose body is not Slack's JSON: an edge answered, not Slack
    }
)

# Families whose limiter allows a minute's worth of calls at once. Slack's tiers are per minute
# and "burst behavior is allowed" (https://api.slack.com/apis/rate-limits): an import reads its
# 26 pages of users.list in seconds, then at the tier's pace.
MINUTE_BUCKETS = frozenset({"list", "lookup"})

# Method -> pacing family (each family has its own limiter per workspace).
FAMILIES = {
    "chat.postMessage": "post",
    "chat.update": "update",
    "conversations.open": "open",
    "users.info": "users",
    "users.lookupByEmail": "lookup",
    "users.list": "list",
    "views.open": "views",
    "views.publish": "views",
    "files.getUploadURLExternal": "files",
    "files.completeUploadExternal": "files",
    "auth.test": "users",
}


def map_error(error: str, status: int = 200, retry_after: float | None = None) -> PlatformError:
    """A Web API error code -> PlatformError with the scope the core acts on."""
    if status in (408, 429) or error in TRANSIENT_ERRORS or status >= 500:
        return PlatformError(error or f"http_{status}", retryable=True, retry_after=retry_after)
    if error in WORKSPACE_ERRORS:
        return PlatformError(error, retryable=False, scope=FailureScope.WORKSPACE)
    if error in PERSON_ERRORS:
        return PlatformError(error, retryable=False, scope=FailureScope.PERSON)
    return PlatformError(error or f"http_{status}", retryable=False, scope=FailureScope.MESSAGE)


class _Client(AsyncWebClient):
    """slack_sdk's client, with every answer brought to the shape its checks expect.

    slack_sdk hands a text/plain body on as a ``str`` (then fails on it with ``AttributeError``), a
    JSON body that is not an object as that list or string (the same), and a body labelled JSON that
    does not parse as a ``SlackApiError`` carrying aiohttp's raw response. Here each becomes a
    response with no data and its real status and headers, so the checks raise the ``SlackApiError``
    that ``SlackApi.call`` maps; a 2xx with such a body (or an HTML page, which slack_sdk reads as
    nothing) says ``unreadable_response``.
    """

    async def _request(self, *, http_verb: str, api_url: str, req_args: dict[str, Any]) -> dict[str, Any]:
        try:
            res: dict[str, Any] = await super()._request(http_verb=http_verb, api_url=api_url, req_args=req_args)
        except SlackApiError as exc:
            raw = exc.response
            if not isinstance(raw, aiohttp.ClientResponse):
                raise
            res = {"data": None, "headers": raw.headers, "status_code": raw.status}
        if isinstance(res.get("data"), dict) and res["data"]:  # Slack always says at least "ok"
            return res
        status = int(res.get("status_code") or 0)
        data = {"ok": False, "error": "unreadable_response"} if 200 <= status < 300 else {}
        return {**res, "data": data}


class SlackApi:
    """One object per process: token lookup, clients, limiters and the call wrapper."""

    def __init__(
        self,
        settings: SlackSettings,
        token_for: TokenLookup,
        *,
        sleep: Sleep | None = None,
        max_429_retries: int = 3,
    ) -> None:
        self.settings = settings
        self.token_for = token_for
        self.sleep: Sleep = sleep or asyncio.sleep
        self.max_429_retries = max_429_retries
        self._rates = {
            "post": settings.rate_post,
            "update": settings.rate_update,
            "open": settings.rate_open,
            "users": settings.rate_users,
            "lookup": settings.rate_lookup,
            "list": settings.rate_list,
            "views": settings.rate_views,
            "files": settings.rate_files,
        }
        self._limiters: dict[tuple[str, str], AsyncLimiter] = {}
        self._blocked_until: dict[tuple[str, str], float] = {}
        self._clients: dict[str, AsyncWebClient] = {}
        self._session: aiohttp.ClientSession | None = None
        self.calls = 0
        self.ratelimited = 0

    # --- plumbing -------------------------------------------------------------------------------

    def limiter(self, team: str, family: str) -> AsyncLimiter:
        key = (team, family)
        lim = self._limiters.get(key)
        if lim is None:
            per_min = self._rates.get(family, 50.0)
            # A one-second bucket: bursts stay within a second's worth of calls.
            per_s = per_min / 60.0
            if family in MINUTE_BUCKETS:
                lim = AsyncLimiter(per_min, 60.0)
            elif per_s >= 1:
                lim = AsyncLimiter(per_s, 1.0)  # a one-second bucket: bursts of a second's worth
            else:
                burst = max(1.0, per_min / 12)  # slow tiers: a five-second bucket
                lim = AsyncLimiter(burst, burst / per_s)
            self._limiters[key] = lim
        return lim

    def session(self) -> aiohttp.ClientSession:
        """The one outbound session: Web API calls, response_url posts, file uploads (the proxy
        variables apply: ``adapters.http``)."""
        if self._session is None or self._session.closed:
            self._session = client_session(timeout=aiohttp.ClientTimeout(total=30))
            self._clients.clear()
        return self._session

    async def post_response_url(self, url: str, body: dict[str, Any]) -> int:
        """Answer through a ``response_url`` on the shared session (kept-alive connections); Bolt's
        ``respond`` opens a new session and TCP connection for every answer. Returns the HTTP status."""
        async with self.session().post(url, json=body) as r:
            await r.read()
            return r.status

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
        self._clients.clear()

    async def client(self, team: str) -> AsyncWebClient:
        token = await self.token_for(team)
        if not token:
            raise PlatformError("not_installed", retryable=False, scope=FailureScope.WORKSPACE)
        c = self._clients.get(token)
        if c is None:
            c = _Client(token=token, base_url=self.settings.api_base_url, session=self.session(), timeout=30)
            # slack_sdk reads HTTPS_PROXY itself and sends every call through it, NO_PROXY ignored; with
            # no proxy of its own the session's trust_env chooses per URL, NO_PROXY included.
            c.proxy = None
            self._clients[token] = c
        return c

    def forget_team(self, team: str) -> None:
        for key in [k for k in self._limiters if k[0] == team]:
            self._limiters.pop(key, None)
        self._clients.clear()

    async def _wait_if_blocked(self, key: tuple[str, str]) -> None:
        until = self._blocked_until.get(key)
        if until is None:
            return
        delay = until - time.monotonic()
        if delay > 0:
            await self.sleep(delay)
        else:
            self._blocked_until.pop(key, None)

    # --- the call -------------------------------------------------------------------------------

    async def call(
        self,
        team: str,
        method: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        http_verb: str = "POST",
    ) -> dict[str, Any]:
        """Call ``method`` for workspace ``team``; return the response data or raise PlatformError."""
        family = FAMILIES.get(method, "views")
        key = (team, family)
        client = await self.client(team)
        attempt = 0
        while True:
            await self._wait_if_blocked(key)
            await self.limiter(team, family).acquire()
            self.calls += 1
            try:
                if http_verb == "GET":
                    resp = await client.api_call(method, http_verb="GET", params=params)
                else:
                    resp = await client.api_call(method, json=json, params=params)
                data = resp.data
                return data if isinstance(data, dict) else {}
            except SlackApiError as exc:
                status = int(getattr(exc.response, "status_code", 0) or 0)
                body = getattr(exc.response, "data", None)
                error = str(body.get("error", "") or "") if isinstance(body, dict) else ""
                if status == 429 or error == "ratelimited":
                    self.ratelimited += 1
                    asked = retry_after_of(exc.response.headers)
                    retry_after = 1.0 if asked is None else asked
                    # Slack: "wait the number of seconds in Retry-After before retrying" - and the
                    # limit is per workspace and method, so every sender of this family waits.
                    self._blocked_until[key] = time.monotonic() + retry_after
                    if attempt < self.max_429_retries and retry_after <= self.settings.max_inline_wait_s:
                        attempt += 1
                        _LOGGER.info("slack %s rate limited; waiting %.1fs", method, retry_after)
                        continue
                    raise PlatformError("ratelimited", retryable=True, retry_after=retry_after) from None
                asked = retry_after_of(exc.response.headers)
                if asked is not None and status >= 500:
                    # "503 Service Unavailable" with Retry-After: Slack (or its edge) says when; every
                    # sender of this family waits, and the core retries no sooner.
                    self._blocked_until[key] = time.monotonic() + asked
                _LOGGER.info("slack %s failed: %s (HTTP %s)", method, error or "no error code", status)
                raise map_error(error, status, asked) from None
            except (TimeoutError, aiohttp.ClientError, SlackRequestError) as exc:
                _LOGGER.warning("slack %s transport error: %s", method, type(exc).__name__)
                raise PlatformError(type(exc).__name__, retryable=True) from None
