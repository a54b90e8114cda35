"""A fake Slack Web API on loopback: records every request body, answers like Slack (errors, 429)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import math
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

_LOGGER = logging.getLogger(__name__)

# Slack's documented tiers (calls per minute, per workspace and method; short bursts allowed):
# https://api.slack.com/methods/users.list (Tier 2), https://api.slack.com/methods/users.lookupByEmail
# (Tier 3). Over the tier: HTTP 429, {"ok": false, "error": "ratelimited"} and Retry-After seconds.
PEOPLE_TIERS = {"users.list": 20.0, "users.lookupByEmail": 50.0}
USERS_LIST_MAX = 1000  # users.list answers at most this many members a page, whatever the limit


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)
    rejected: bool = False  # answered 429 by the rate limit


@dataclass
class Rule:
    error: str = ""
    status: int = 200
    retry_after: int | None = None
    times: int = 1
    body: str | None = None  # answer these bytes instead of Slack's JSON (an edge's error page)
    content_type: str = "text/plain"
    headers: dict[str, str] | None = None  # more headers to answer with


class FakeSlack:
    """Serve with ``await fake.start()``; ``fake.api_url`` is the base URL (ends with ``/api/``)."""

    def __init__(self, *, team_id: str = "T1", per_method_rate: float | None = None) -> None:
        self.team_id = team_id
        self.calls: list[Call] = []
        self.responses: list[dict[str, Any]] = []  # bodies posted to response_url
        self.response_peers: list[Any] = []  # the client address (host, port) each came from
        self.uploads: list[bytes] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.rules: dict[str, list[Rule]] = {}
        self.per_method_rate = per_method_rate
        self._buckets: dict[str, tuple[float, float]] = {}
        self.rejected_429 = 0
        self._ts = 1_700_000_000
        self.oauth_token = "xoxb-oauth-secret-0000000000-abcdefghijkl"
        self.org_install = False  # answer oauth.v2.access as an Enterprise Grid org-wide install
        # False: a workspace whose Slack cannot show the data visualization block (a message carrying
        # one is refused: ``invalid_blocks`` from the Web API, 400 from response_url).
        self.charts = True
        self.runner: web.AppRunner | None = None
        self.port = 0
        self.scheme = "http"
        self.people_tiers = dict(PEOPLE_TIERS)  # method -> calls per minute ({} turns them off)
        self._tier_buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self.tier_rejected: dict[str, int] = {}
        self.holds: dict[str, asyncio.Event] = {}  # method -> its answers wait until the event is set
        self._init_response_url_and_update_tier()

    # --- configuration --------------------------------------------------------------------------

    def add_user(
        self,
        uid: str,
        name: str,
        email: str,
        *,
        tz: str = "Europe/Berlin",
        admin: bool = False,
        deleted: bool = False,
    ) -> dict[str, Any]:
        user = {
            "id": uid,
            "team_id": self.team_id,
            "name": name.lower(),
            "real_name": name,
            "deleted": deleted,
            "tz": tz,
            "locale": "en-US",
            "is_admin": admin,
            "is_owner": False,
            "is_bot": False,
            "profile": {"display_name": name, "real_name": name, "email": email},
        }
        self.users[uid] = user
        return user

    def add_members(self, count: int, *, domain: str = "example.com", start: int = 0) -> list[str]:
        """A realistic member list: ``count`` people with emails (``person{i}@domain``), plus what
        real workspaces hold around them: every 40th person deactivated (and, for some, an active
        account reusing the address), every 100th without an email (hidden or a guest), bots with
        bot profiles, and Slackbot. Returns the emails of the active people, in order."""
        emails: list[str] = []
        if "USLACKBOT" not in self.users:
            slackbot = self.add_user("USLACKBOT", "Slackbot", "")
            slackbot["profile"].pop("email")
        for i in range(start, start + count):
            uid = f"U{i:08X}"
            email = f"person{i}@{domain}"
            if i % 100 == 99:
                user = self.add_user(uid, f"Person {i}", email)
                user["profile"].pop("email")
                continue
            if i % 40 == 39:
                self.add_user(uid + "D", f"Former {i}", email, deleted=True)
                if i % 80 == 79:
                    continue  # gone: only the deactivated account has this email
            self.add_user(uid, f"Person {i}", email, tz=("Europe/Berlin", "America/New_York", "Asia/Tokyo")[i % 3])
            emails.append(email)
            if i % 500 == 0:
                bot = self.add_user(f"UB{i:07X}", f"Helper bot {i}", "")
                bot["is_bot"] = True
                bot["profile"].pop("email")
                bot["profile"]["bot_id"] = f"B{i:07X}"
        return emails

    def _tier_limited(self, method: str, token: str | None) -> float | None:
        """Slack's tier for ``method`` (``people_tiers``): a bucket of a minute's calls per token and
        method, refilled at the tier's pace. Returns the Retry-After seconds when over it."""
        per_min = self.people_tiers.get(method)
        if per_min is None:
            return None
        now = time.monotonic()
        key = (token or "", method)
        tokens, last = self._tier_buckets.get(key, (per_min, now))
        tokens = min(per_min, tokens + (now - last) * per_min / 60.0)
        if tokens < 1:
            self._tier_buckets[key] = (tokens, now)
            self.tier_rejected[method] = self.tier_rejected.get(method, 0) + 1
            return max(1.0, (1 - tokens) * 60.0 / per_min)
        self._tier_buckets[key] = (tokens - 1, now)
        return None

    async def _held(self, method: str) -> None:
        """Hold ``method``'s answer while a test keeps its event in ``holds`` unset (a slow Slack)."""
        gate = self.holds.get(method)
        if gate is not None:
            await gate.wait()

    def _users_list(self, body: dict[str, Any]) -> dict[str, Any]:
        """users.list with cursor pagination (``response_metadata.next_cursor``, "" on the last page)."""
        members = list(self.users.values())
        try:
            limit = int(body.get("limit") or 0)
        except ValueError:
            return {"ok": False, "error": "invalid_limit"}
        limit = min(limit or USERS_LIST_MAX, USERS_LIST_MAX)
        start = 0
        cursor = str(body.get("cursor") or "")
        if cursor:
            try:
                kind, _, index = base64.b64decode(cursor.encode(), validate=True).decode().partition(":")
                start = int(index)
            except (ValueError, UnicodeDecodeError):
                return {"ok": False, "error": "invalid_cursor"}
            if kind != "users" or not 0 < start <= len(members):
                return {"ok": False, "error": "invalid_cursor"}
        page = members[start:start + limit]
        end = start + len(page)
        following = base64.b64encode(f"users:{end}".encode()).decode() if end < len(members) else ""
        return {"ok": True, "members": page, "cache_ts": int(time.time()),
                "response_metadata": {"next_cursor": following}}

    def fail(self, method: str, error: str, *, times: int = 1, status: int = 200) -> None:
        self.rules.setdefault(method, []).append(Rule(error=error, status=status, times=times))

    def fail_raw(self, method: str, status: int, body: str, *, content_type: str = "text/plain",
                 retry_after: int | None = None, times: int = 1) -> None:
        """Answer ``method`` with ``body`` as it is (not Slack's JSON): what an edge or proxy in front of
        Slack answers in an outage ("503 upstream unavailable", an HTML page, an empty 429)."""
        self.rules.setdefault(method, []).append(
            Rule(status=status, retry_after=retry_after, times=times, body=body, content_type=content_type)
        )

    def ratelimit(self, method: str, retry_after: int = 1, *, times: int = 1) -> None:
        self.rules.setdefault(method, []).append(
            Rule(error="ratelimited", status=429, retry_after=retry_after, times=times)
        )

    # --- queries --------------------------------------------------------------------------------

    def of(self, method: str) -> list[dict[str, Any]]:
        return [c.body for c in self.calls if c.method == method]

    def dm_channel(self, *users: str) -> str:
        """The channel id conversations.open answers for these users (D... one, G... several)."""
        prefix = "D" if len(users) == 1 else "G"
        return prefix + "".join(u[-4:] for u in sorted(users)).upper()

    def ts_of(self, post: dict[str, Any]) -> str:
        """The ts answered for a recorded chat.postMessage body (handed out in order)."""
        posts = self.of("chat.postMessage")
        index = next(i for i, p in enumerate(posts) if p is post)
        return f"{1_700_000_000 + index + 1}.000100"

    @property
    def api_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/api/"

    @property
    def response_url_base(self) -> str:
        """Where this fake's response_urls start (``SLACK_RESPONSE_URL_BASE`` in tests)."""
        return f"{self.scheme}://127.0.0.1:{self.port}/response/"

    def response_url(self, key: str = "r1") -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/response/{key}"

    # --- server ---------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response_url)
        app.router.add_post("/upload/{file_id}", self._upload)
        return app

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> FakeSlack:
        """Serve on 127.0.0.1; with ``ssl_context`` over https (as Slack does), else plain http."""
        self.scheme = "https" if ssl_context is not None else "http"
        self.runner = web.AppRunner(self.app(), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _body(self, request: web.Request) -> dict[str, Any]:
        body: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                data = await request.json()
                if isinstance(data, dict):
                    body.update(data)
            else:
                body.update(dict(await request.post()))
        for key in ("blocks", "view", "files"):
            if isinstance(body.get(key), str):
                with contextlib.suppress(ValueError):
                    body[key] = json.loads(body[key])
        return body

    def _limited(self, method: str) -> bool:
        """A token bucket per method: ``per_method_rate`` per second, bursts of one second's worth."""
        if self.per_method_rate is None:
            return False
        now = time.monotonic()
        tokens, last = self._buckets.get(method, (self.per_method_rate, now))
        tokens = min(self.per_method_rate, tokens + (now - last) * self.per_method_rate)
        if tokens < 1:
            self._buckets[method] = (tokens, now)
            return True
        self._buckets[method] = (tokens - 1, now)
        return False

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await self._body(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth else body.get("token")
        self.calls.append(Call(method, body, token))
        await self._held(method)
        wait = self._tier_limited(method, token)
        if wait is not None:
            self.calls[-1].rejected = True
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                     headers={"Retry-After": str(math.ceil(wait))})
        await self._hold(method)
        tiered = self._update_tier(method)
        if tiered is not None:
            return tiered
        if self._limited(method):
            self.rejected_429 += 1
            self.calls[-1].rejected = True
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"})
        rules = self.rules.get(method)
        if rules:
            rule = rules[0]
            rule.times -= 1
            if rule.times <= 0:
                rules.pop(0)
            headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else None
            if rule.headers:
                headers = {**(headers or {}), **rule.headers}
            if rule.body is not None:
                return web.Response(status=rule.status, body=rule.body.encode(), headers=headers,
                                    content_type=rule.content_type)
            return web.json_response({"ok": False, "error": rule.error}, status=rule.status, headers=headers)
        if method in {"chat.postMessage", "chat.update", "chat.postEphemeral"} and not self._shows(body):
            return web.json_response({"ok": False, "error": "invalid_blocks"})
        return web.json_response(self._answer(method, body))

    def _shows(self, body: dict[str, Any]) -> bool:
        blocks = body.get("blocks")
        return self.charts or not any(isinstance(b, dict) and b.get("type") == "data_visualization"
                                      for b in (blocks if isinstance(blocks, list) else []))

    def _next_ts(self) -> str:
        self._ts += 1
        return f"{self._ts}.000100"

    def _answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        ok: dict[str, Any] = {"ok": True}
        if method == "auth.test":
            return {
                **ok,
                "team_id": self.team_id,
                "team": "Acme",
                "user_id": "UBOT",
                "bot_id": "BBOT",
                "user": "momentum",
                "url": "https://acme.slack.com/",
            }
        if method == "conversations.open":
            users = sorted(str(body.get("users", "")).split(","))
            return {**ok, "channel": {"id": self.dm_channel(*users)}}
        if method in {"chat.postMessage", "chat.postEphemeral"}:
            return {
                **ok,
                "channel": body.get("channel"),
                "ts": self._next_ts(),
                "message": {"text": body.get("text")},
            }
        if method == "chat.update":
            return {**ok, "channel": body.get("channel"), "ts": body.get("ts")}
        if method in {"views.open", "views.publish", "views.update", "views.push"}:
            return {**ok, "view": {"id": "V" + str(len(self.calls)), **(body.get("view") or {})}}
        if method == "users.info":
            user = self.users.get(str(body.get("user")))
            return {**ok, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "users.list":
            return self._users_list(body)
        if method == "users.lookupByEmail":
            email = str(body.get("email", "")).lower()
            for user in self.users.values():
                if str(user["profile"].get("email", "")).lower() == email:
                    return {**ok, "user": user}
            return {"ok": False, "error": "users_not_found"}
        if method == "files.getUploadURLExternal":
            fid = f"F{len(self.calls)}"
            return {**ok, "upload_url": f"{self.scheme}://127.0.0.1:{self.port}/upload/{fid}", "file_id": fid}
        if method == "files.completeUploadExternal":
            return {**ok, "files": [{"id": f["id"]} for f in body.get("files", [])]}
        if method == "oauth.v2.access":  # a workspace install, or an Enterprise Grid org-wide one
            org = self.org_install
            return {
                **ok,
                "app_id": "A1",
                "authed_user": {"id": "UINSTALLER"},
                "scope": "chat:write,commands",
                "token_type": "bot",
                "access_token": self.oauth_token,
                "bot_user_id": "UBOT",
                "team": None if org else {"id": "T2", "name": "Two"},
                "enterprise": {"id": "E1", "name": "Org"} if org else None,
                "is_enterprise_install": org,
            }
        return ok

    # --- response_url and chat.update's tier ----------------------------------------------------

    def _init_response_url_and_update_tier(self) -> None:
        self.response_keys: list[str] = []  # the key of each response_url post, in order (parallel to responses)
        self.response_url_failures = 0  # answer this many response_url posts with 404 expired_url
        self.delays: dict[str, float] = {}  # Web API method -> answer after this long ("*": every method)
        self._released = asyncio.Event()
        self.update_tier_per_min: float | None = None  # chat.update: Slack's Tier 3 is ~50 per minute
        self._update_window: list[float] = []
        self.update_429 = 0

    def enforce_update_tier(self, per_min: float = 50.0) -> None:
        """Answer chat.update with 429 + Retry-After beyond ``per_min`` calls in any sliding minute
        (per workspace: this fake serves one)."""
        self.update_tier_per_min = per_min

    def _update_tier(self, method: str) -> web.Response | None:
        if method != "chat.update" or self.update_tier_per_min is None:
            return None
        now = time.monotonic()
        self._update_window = [t for t in self._update_window if now - t < 60.0]
        if len(self._update_window) >= self.update_tier_per_min:
            self.update_429 += 1
            self.calls[-1].rejected = True
            wait = max(1, int(60.0 - (now - self._update_window[0])) + 1)
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                     headers={"Retry-After": str(wait)})
        self._update_window.append(now)
        return None

    async def _hold(self, method: str) -> None:
        """A Slack that is slow, or does not answer at all (a delay of hours)."""
        delay = self.delays.get(method, self.delays.get("*", 0.0))
        if delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), delay)

    def release_holds(self) -> None:
        """Answer every held request now (before ``stop``, which waits for requests in flight)."""
        self.delays.clear()
        self._released.set()

    def replaced(self) -> list[dict[str, Any]]:
        """Bodies posted to response_url that replace the original message."""
        return [r for r in self.responses if r.get("replace_original") is True]

    async def _response_url(self, request: web.Request) -> web.Response:
        await self._hold("response_url")
        if self.response_url_failures > 0:  # Slack: a used-up or expired response_url
            self.response_url_failures -= 1
            return web.Response(status=404, text="expired_url")
        body = await request.json()
        if not self._shows(body):
            return web.Response(status=400, text="invalid_blocks")
        self.responses.append(body)
        self.response_keys.append(request.match_info["key"])
        self.response_peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads.append(await request.read())
        return web.Response(text="OK - uploaded")
