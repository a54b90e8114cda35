"""A fake Bot Framework connector (the ``serviceUrl`` Teams gives bots) on loopback, recording calls.

Serves ``/v3/conversations`` (create), ``.../activities`` (send), ``.../activities/{id}`` (reply,
update, delete), ``.../members/{id}`` and ``.../pagedmembers``; answers scripted failures (429 with
Retry-After, 403 ConversationBlockedByUser, 5xx) and can enforce a requests/second limit per tenant.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web

_LOGGER = logging.getLogger(__name__)


@dataclass
class Call:
    method: str
    path: str
    conversation_id: str
    activity_id: str | None
    body: Any
    status: int
    tenant: str | None = None
    response_id: str | None = None  # the activity id the fake answered with (Teams' replyToId on clicks)
    authorization: str | None = None  # the bearer token the bot sent (auth on: an Entra token)


@dataclass
class Failure:
    status: int
    code: str = ""
    retry_after: float | None = None
    times: int = 1
    match: str = ""  # substring of "METHOD path" that the failure applies to
    after: int = 0  # matching calls let through before the failures start
    body: str | None = None  # answer these bytes instead of the connector's JSON error (an edge's page)
    content_type: str = "text/plain"


@dataclass
class Member:
    id: str
    aad_object_id: str
    name: str
    email: str

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "aadObjectId": self.aad_object_id,
            "name": self.name,
            "email": self.email,
            "userPrincipalName": self.email,
            "givenName": self.name.split()[0],
            "tenantId": "t",
        }


@dataclass
class FakeConnector:
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    members: dict[str, Member] = field(default_factory=dict)  # by Teams user id
    page_size: int = 2  # small pages so tests see the continuation token at work
    limit_per_second: int | None = None
    pages_held: asyncio.Event | None = None  # set: member pages wait until it is set (see hold_pages)
    pages_served: int = 0
    page_delay_s: float = 0.0  # how long each member page takes (benchmarks: Teams' own latency)
    throttled: int = 0
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _window: dict[str, deque[float]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    # --- scripting ----------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        code: str = "",
        *,
        retry_after: float | None = None,
        times: int = 1,
        match: str = "",
        after: int = 0,
        body: str | None = None,
        content_type: str = "text/plain",
    ) -> None:
        self.failures.append(Failure(status, code, retry_after, times, match, after, body, content_type))

    def add_member(self, teams_id: str, aad: str, name: str, email: str) -> Member:
        m = Member(teams_id, aad, name, email)
        self.members[teams_id] = m
        return m

    def add_team(self, size: int, *, prefix: str = "m") -> list[Member]:
        """A team roster of ``size`` generated people (Teams ids ``29:{prefix}00001``..., AAD ids, emails)."""
        return [self.add_member(f"29:{prefix}{n:05d}", f"aad-{prefix}{n:05d}", f"Person {prefix.upper()}{n:05d}",
                                f"{prefix}{n:05d}@example.com") for n in range(1, size + 1)]

    def hold_pages(self) -> asyncio.Event:
        """From now on, member pages are served only once the returned event is set."""
        self.pages_held = asyncio.Event()
        return self.pages_held

    # --- views for assertions -----------------------------------------------------------------

    def sent(self) -> list[Call]:
        """Activities the bot sent (new messages and replies), in order."""
        return [
            c
            for c in self.calls
            if (c.method == "POST" and c.path.endswith("/activities"))
            or (c.method == "POST" and c.activity_id is not None)
        ]

    def ok_sent(self) -> list[Call]:
        return [c for c in self.sent() if c.status < 300]

    def updates(self) -> list[Call]:
        return [c for c in self.calls if c.method == "PUT" and c.status < 300]

    def created(self) -> list[Call]:
        return [c for c in self.calls if c.method == "POST" and c.path == "/v3/conversations" and c.status < 300]

    @staticmethod
    def card(call: Call) -> dict[str, Any]:
        return call.body["attachments"][0]["content"]

    # --- server -------------------------------------------------------------------------------

    async def start(self) -> FakeConnector:
        app = web.Application()
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{cid}/activities", self._send)
        app.router.add_post("/v3/conversations/{cid}/activities/{aid}", self._send)
        app.router.add_put("/v3/conversations/{cid}/activities/{aid}", self._update)
        app.router.add_delete("/v3/conversations/{cid}/activities/{aid}", self._delete)
        app.router.add_get("/v3/conversations/{cid}/pagedmembers", self._paged)
        app.router.add_get("/v3/conversations/{cid}/members/{mid}", self._member)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/"
        return self

    async def stop(self) -> None:
        if self.pages_held is not None:
            self.pages_held.set()  # held requests end, so the server can stop
        if self._runner is not None:
            await self._runner.cleanup()

    async def _gate(self, request: web.Request, body: Any) -> web.Response | None:
        """Scripted failures and the per-tenant rate limit; None lets the call through."""
        what = f"{request.method} {request.path}"
        for f in list(self.failures):
            if f.match in what:
                if f.after > 0:
                    f.after -= 1
                    break
                f.times -= 1
                if f.times <= 0:
                    self.failures.remove(f)
                headers = {"Retry-After": str(f.retry_after)} if f.retry_after is not None else {}
                if f.body is not None:
                    return web.Response(status=f.status, body=f.body.encode(), headers=headers,
                                        content_type=f.content_type)
                return web.json_response(
                    {"error": {"code": f.code or f"E{f.status}", "message": "fake"}},
                    status=f.status,
                    headers=headers,
                )
        if self.limit_per_second is not None:
            tenant = _tenant(body) or "default"
            window = self._window.setdefault(tenant, deque())
            now = time.monotonic()
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= self.limit_per_second:
                self.throttled += 1
                return web.json_response(
                    {"error": {"code": "Throttled", "message": "slow down"}},
                    status=429,
                    headers={"Retry-After": "1"},
                )
            window.append(now)
        return None

    async def _record(self, request: web.Request, status: int, body: Any) -> None:
        cid = unquote(request.match_info.get("cid", ""))
        aid = request.match_info.get("aid")
        self.calls.append(
            Call(
                request.method,
                request.path,
                cid,
                unquote(aid) if aid else None,
                body,
                status,
                _tenant(body),
                authorization=request.headers.get("Authorization"),
            )
        )

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        return json.loads(raw) if raw else None

    async def _create(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        refused = await self._gate(request, body)
        if refused is not None:
            await self._record(request, refused.status, body)
            return refused
        await self._record(request, 201, body)
        n = next(self._ids)
        # Teams answers with the new conversation id (and an activityId only when an activity was sent).
        return web.json_response({"id": f"a:created-{n}", "serviceUrl": self.url}, status=201)

    async def _send(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        refused = await self._gate(request, body)
        if refused is not None:
            await self._record(request, refused.status, body)
            return refused
        await self._record(request, 201, body)
        new_id = f"act-{next(self._ids)}"
        self.calls[-1].response_id = new_id
        return web.json_response({"id": new_id}, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        refused = await self._gate(request, body)
        if refused is not None:
            await self._record(request, refused.status, body)
            return refused
        await self._record(request, 200, body)
        return web.json_response({"id": unquote(request.match_info["aid"])})

    async def _delete(self, request: web.Request) -> web.Response:
        await self._record(request, 200, None)
        return web.Response(status=200)

    async def _paged(self, request: web.Request) -> web.Response:
        if self.pages_held is not None:
            await self.pages_held.wait()
        if self.page_delay_s:
            await asyncio.sleep(self.page_delay_s)
        refused = await self._gate(request, None)
        await self._record(request, refused.status if refused else 200, dict(request.query))
        if refused is not None:
            return refused
        everyone = sorted(self.members.values(), key=lambda m: m.id)
        start = int(request.query.get("continuationToken") or 0)
        size = min(int(request.query.get("pageSize") or self.page_size), self.page_size)
        page = everyone[start : start + size]
        nxt = start + size
        body: dict[str, Any] = {"members": [m.json() for m in page]}
        if nxt < len(everyone):
            body["continuationToken"] = str(nxt)
        self.pages_served += 1
        return web.json_response(body)

    async def _member(self, request: web.Request) -> web.Response:
        await self._record(request, 200, None)
        member = self.members.get(unquote(request.match_info["mid"]))
        if member is None:
            return web.json_response({"error": {"code": "MemberNotFoundInConversation", "message": "no"}}, status=404)
        return web.json_response(member.json())


def _tenant(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    conv = body.get("conversation") or {}
    tenant = conv.get("tenantId") if isinstance(conv, dict) else None
    data = body.get("channelData") or {}
    if not tenant and isinstance(data, dict):
        tenant = (data.get("tenant") or {}).get("id")
    return tenant or body.get("tenantId")
