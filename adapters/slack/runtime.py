"""The Slack runtime: one object per process holding the Bolt app, the Web API, the platform port and
the inbox pool, and the path of an interaction - Slack request -> inbox row -> ``momentum.handle`` ->
what Slack shows.

Slack wants an HTTP answer within 3 s (events are retried otherwise, trigger_ids expire), so every
listener writes the interaction to the inbox and acknowledges; the inbox's bounded pool does the work
(``process``). Only a modal submission waits for the core (up to ``SUBMIT_BUDGET_S``) because inline
errors must be in the HTTP answer. The concerns live in their own modules, mixed in here:
``listeners`` (the Bolt app), ``replies`` (what Slack shows), ``installs`` (tokens, installs,
uninstalls), ``people`` (``user_change``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from adapters.inbox import InboxPool
from adapters.slack.api import SlackApi
from adapters.slack.inbound import SeenEvents
from adapters.slack.installs import Installs
from adapters.slack.listeners import INTERACTION_FIELDS, Listeners, interaction_data
from adapters.slack.people import People, user_change_teams
from adapters.slack.platform import SlackPlatform
from adapters.slack.replies import FILE_ACK, SORRY, WORDS, Replies, ResponseUrl
from adapters.slack.settings import SlackSettings
from adapters.slack.store import AsyncEncryptedInstallationStore, EncryptedInstallationStore
from bot.app import Momentum
from bot.model import wire
from bot.model.interactions import Interaction, InteractionKind, Response
from bot.model.ports import PlatformError
from storage import inbox

__all__ = ["WORDS", "SlackRuntime", "interaction_data", "interaction_from", "user_change_teams"]

_LOGGER = logging.getLogger(__name__)

BACKGROUND_CONCURRENCY = 2
CLOSE_GRACE_S = 1.0  # shutdown: background follow-ups get this long after the inbox pool stopped


class SlackRuntime(Listeners, Replies, Installs, People):
    """Everything Slack needs at run time: Bolt app, Web API, platform, the inbox pool, background tasks."""

    def __init__(self, momentum: Momentum, settings: SlackSettings, *, sleep: Any = None,
                 pool: InboxPool | None = None) -> None:
        if not settings.configured:
            raise ValueError("Slack is not configured (SLACK_SIGNING_SECRET + SLACK_BOT_TOKEN or OAuth)")
        self.momentum = momentum
        self.settings = settings
        self.pool = pool or InboxPool(momentum)
        self.seen = SeenEvents()
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(BACKGROUND_CONCURRENCY)
        self._tokens: dict[str, tuple[float, str]] = {}
        self._bot_user_id: str | None = None
        self._bot_id: str | None = None
        self.install_store: AsyncEncryptedInstallationStore | None = None
        if settings.oauth_enabled:
            if momentum.box is None:
                raise ValueError("MOMENTUM_SECRET_KEY is required for Slack OAuth (tokens are encrypted)")
            assert settings.client_id is not None
            self.install_store = AsyncEncryptedInstallationStore(
                EncryptedInstallationStore(settings.client_id, momentum.db.engine, momentum.box),
                on_saved=self._installed,
            )
        self.api = SlackApi(settings, self.token_for, sleep=sleep)
        self.platform = SlackPlatform(self.api, profile_ttl_s=settings.profile_ttl_s)
        self.verifier = SignatureVerifier(self._secret())
        self.bolt = self._build_bolt()
        self.pool.register("slack", self.process)

    def _secret(self) -> str:
        assert self.settings.signing_secret is not None
        return self.settings.signing_secret.get_secret_value()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in the background (small follow-ups: App Home, profile refreshes, a modal's
        answer); interactions themselves go through the inbox and its bounded pool."""
        task = asyncio.get_running_loop().create_task(self._guard(coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guard(self, coro: Coroutine[Any, Any, None]) -> None:
        try:
            async with self._slots:
                await coro
        except PlatformError as exc:
            _LOGGER.warning("slack call failed: %s (retryable=%s)", exc.reason, exc.retryable)
        except Exception:
            _LOGGER.exception("slack background work failed")

    async def drain(self) -> None:
        """Wait until the inbox is processed and every background task has finished (tests)."""
        while True:
            if self.pool.running:
                await self.pool.drain()
            if not self._tasks:
                return
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Shutdown: background tasks get ``CLOSE_GRACE_S``, then they are cancelled."""
        if self._tasks:
            _done, left = await asyncio.wait(list(self._tasks), timeout=CLOSE_GRACE_S)
            for task in left:
                task.cancel()
            if left:
                await asyncio.gather(*left, return_exceptions=True)
        await self.api.close()

    async def accept(self, context: Any, kind: str, payload: dict[str, Any], *, key: str | None = None) -> None:
        """Write the interaction to the inbox before Slack gets its "OK"; a key seen before is a replay
        (nothing more happens). When the database cannot take it, the work runs in memory instead."""
        key = key or (context.get("inbox_key") if context is not None else None) or "slack:once:" + uuid.uuid4().hex
        try:
            await self.pool.accept(key, "slack", kind, payload)
        except Exception as exc:
            self.pool.write_failed(exc, _LOGGER)
            self.spawn(self._in_memory(inbox.Item(0, key, "slack", kind, payload, 1)))

    async def _in_memory(self, item: inbox.Item) -> None:
        await self.process(item)

    async def process(self, item: inbox.Item) -> bool:
        """Do one accepted interaction: the core's work (or the answer an earlier attempt kept), then
        what Slack shows. True: the row is finished; False: another attempt owns it."""
        p = item.payload
        show = p.get("show") or {}
        ia = interaction_from(p.get("ia") or {})
        team, user = ia.workspace, ia.user
        if item.result is not None:
            resp = wire.load(item.result)  # the core did the work before a crash: only show it
        elif item.kind == "message" and not ia.text.strip():
            resp = Response()  # a file without words: acknowledged below, the core has nothing to do
        else:
            if item.kind == "command":
                profile = await self.profile(team, user)
            else:  # people who click or submit know us already: the core looks up only strangers
                profile = self.platform.cached_profile(team, user)
            ia = replace(ia, profile=profile, inbox_id=item.id or None)
            try:
                resp = await self._handle(ia)
            except Exception:
                _LOGGER.exception("core failed on a slack %s", item.kind)
                resp = Response(reply=SORRY)
            if resp.duplicate and item.id:
                return False
        if item.kind == "submit":  # the modal is closed by now: the answer goes to the DM
            resp = Response(reply=resp.reply, update=resp.update, attachment=resp.attachment)
        url = show.get("respond")
        if isinstance(url, str) and url and not self.settings.follows(url):
            # Signed, so defence in depth: an answer goes to Slack's hooks host or through the Web API.
            _LOGGER.warning("slack %s: response_url outside %s not followed; answering through the Web API",
                            item.kind, self.settings.response_url_base)
            url = None
        try:
            await self.show(
                resp,
                team=team,
                user=user,
                respond=ResponseUrl(self.api, url) if isinstance(url, str) and url else None,
                trigger_id=show.get("trigger_id"),
                channel=show.get("channel"),
                message_ref=show.get("message_ref"),
                ephemeral_container=bool(show.get("ephemeral_container")),
                thread_ts=show.get("thread_ts"),
            )
            if show.get("home"):
                await self.publish_home(team, user)
            if show.get("files"):  # files are acknowledged, never downloaded (no files:read scope)
                await self.platform.post(team, str(show.get("channel")), FILE_ACK, thread_ts=show.get("thread_ts"))
        except PlatformError as exc:
            if exc.retryable:
                raise  # the row stays open and is shown again when its lease runs out
            _LOGGER.warning("slack refused the answer to a %s: %s", item.kind, exc.reason)
        return True

    async def _handle(self, interaction: Interaction) -> Response:
        return await self.momentum.handle(interaction)

    async def handle_events(self, request: web.Request, key: str | None = None) -> web.Response:
        """POST /slack/events: Events API, slash command and interactivity on one URL (``key``: the
        request's inbox key, see ``guard.dedupe_key``)."""
        body = await request.text()
        try:
            bolt_req = AsyncBoltRequest(body=body, query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
            if key:
                bolt_req.context["inbox_key"] = key
        except Exception:
            ok = self.verifier.is_valid_request(body, dict(request.headers))
            return web.Response(status=400 if ok else 401, text="bad request" if ok else "invalid signature")
        if not isinstance(bolt_req.body, dict) or not bolt_req.body:
            ok = self.verifier.is_valid_request(body, dict(request.headers))
            return web.Response(status=400 if ok else 401, text="bad request" if ok else "invalid signature")
        bolt_resp = await self.bolt.async_dispatch(bolt_req)
        if bolt_resp.status == 404:
            if bolt_req.body.get("type") == "event_callback":
                return web.Response(status=200)  # an event we do not act on: acknowledged, no retries
            return web.Response(status=400, text="unsupported request")
        return await to_aiohttp_response(bolt_resp)


def interaction_from(data: dict[str, Any]) -> Interaction:
    return Interaction(platform="slack", kind=InteractionKind(str(data.get("kind"))),
                       **{f: data[f] for f in INTERACTION_FIELDS if f in data})

