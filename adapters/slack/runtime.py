"""The Bolt app and its listeners: Slack requests -> ``momentum.handle`` -> what Slack shows.

Slack wants an HTTP answer within 3 s (events are retried otherwise, trigger_ids expire),
so every listener acknowledges first and does the work in a background task; only a modal
submission waits for the core (up to ``SUBMIT_BUDGET_S``) because inline errors must be in
the HTTP answer.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncFailureArgs, AsyncSuccessArgs
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from adapters.inbox import InboxPool
from adapters.slack.api import SlackApi
from adapters.slack.inbound import SeenEvents, action_value, form_fields, normalise_text, parse_metadata
from adapters.slack.platform import SlackPlatform, profile_from_user
from adapters.slack.render import (
    FORM_CALLBACK_ID,
    core_action_id,
    form_errors,
    render_form,
    render_home,
    render_message,
)
from adapters.slack.settings import SlackSettings
from adapters.slack.store import (
    AsyncEncryptedInstallationStore,
    AsyncStateStore,
    EncryptedInstallationStore,
    OrgInstallRefused,
)
from bot import directory, wire
from bot.app import Momentum
from bot.interactions import Interaction, Kind, Profile, Response
from bot.messages import Message, para
from bot.ports import PlatformError
from storage import inbox

_LOGGER = logging.getLogger(__name__)

COMMAND = "/momentum"
SUBMIT_BUDGET_S = 2.5  # Slack closes a view_submission after 3 s
BACKGROUND_CONCURRENCY = 2
RESPONSE_URL_TIMEOUT_S = 5.0
CLOSE_GRACE_S = 1.0  # shutdown: background follow-ups get this long after the inbox pool stopped
TOKEN_TTL_S = 300.0
# Direct messages people write: plain ones, ones with a file attached, thread replies also sent to
# the conversation. Edits, deletions, joins and every bot's posts (ours too) are not people talking.
PEOPLE_MESSAGE_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
WORDS: dict[str, Any] = yaml.safe_load((Path(__file__).with_name("words.yml")).read_text(encoding="utf-8"))
FILE_ACK = Message(text=WORDS["file_ack"], blocks=(para(WORDS["file_ack"]),))
SORRY = Message(
    text="Sorry, something went wrong on my side. Please try again in a minute.",
    blocks=(para("Sorry, something went wrong on my side. Please try again in a minute."),),
)


class BadRequest(Exception):
    """A signed request that lacks what Slack always sends."""


def _need(d: Any, *path: str) -> str:
    cur = d
    for key in path:
        if not isinstance(cur, dict) or key not in cur:
            raise BadRequest("missing " + ".".join(path))
        cur = cur[key]
    if not isinstance(cur, str) or not cur:
        raise BadRequest("empty " + ".".join(path))
    return cur


class SlackRuntime:
    """Everything Slack needs at run time: Bolt app, Web API, platform, background tasks."""

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

    # --- tokens and installs --------------------------------------------------------------------

    async def token_for(self, team: str) -> str | None:
        if self.settings.bot_token is not None:
            return self.settings.bot_token.get_secret_value()
        hit = self._tokens.get(team)
        if hit is not None and time.monotonic() - hit[0] < TOKEN_TTL_S:
            return hit[1]
        if self.install_store is None:
            return None
        bot = await self.install_store.async_find_bot(enterprise_id=None, team_id=team)
        if bot is None or not bot.bot_token:
            return None
        self._tokens[team] = (time.monotonic(), bot.bot_token)
        return bot.bot_token

    async def _installed(self, installation: Installation) -> None:
        if installation.team_id:
            self._tokens.pop(installation.team_id, None)
            await self.momentum.db.run(self.momentum.upsert_workspace, "slack", installation.team_id,
                                       name=installation.team_name)
            _LOGGER.info("slack workspace %s installed", installation.team_id)

    async def register_single_workspace(self) -> None:
        """One-token mode: learn our team id with auth.test and register the workspace."""
        if self.settings.bot_token is None:
            return
        try:
            data = await self.api.call("", "auth.test")
        except PlatformError as exc:
            _LOGGER.warning("slack auth.test failed at start-up: %s", exc.reason)
            return
        team = str(data.get("team_id", ""))
        self._bot_user_id, self._bot_id = data.get("user_id") or None, data.get("bot_id") or None
        if team:
            await self.momentum.db.run(self.momentum.upsert_workspace, "slack", team,
                                       name=str(data.get("team", "")) or None)

    # --- background work ------------------------------------------------------------------------

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

    # --- the inbox --------------------------------------------------------------------------------

    async def accept(self, context: Any, kind: str, payload: dict[str, Any], *, key: str | None = None) -> None:
        """Write the interaction to the inbox before Slack gets its "OK"; a key seen before is a replay
        (nothing more happens). When the database cannot take it, the work runs in memory instead."""
        key = key or (context.get("inbox_key") if context is not None else None) or "slack:once:" + uuid.uuid4().hex
        try:
            await self.pool.accept(key, "slack", kind, payload)
        except Exception as exc:
            _LOGGER.warning("inbox write failed (%s); processing in memory", type(exc).__name__)
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

    # --- shared steps ---------------------------------------------------------------------------

    async def profile(self, team: str, user: str) -> Profile | None:
        try:
            return await self.platform.user_profile(team, user)
        except PlatformError as exc:
            _LOGGER.info("users.info failed: %s", exc.reason)
            return None

    async def dm_channel(self, team: str, user: str) -> str:
        return await self.platform.open_dm(team, [user])

    async def show(
        self,
        resp: Response,
        *,
        team: str,
        user: str,
        respond: Any = None,
        trigger_id: str | None = None,
        channel: str | None = None,
        message_ref: dict[str, str] | None = None,
        ephemeral_container: bool = False,
        thread_ts: str | None = None,
    ) -> None:
        """Render a core ``Response`` in Slack terms (``thread_ts``: answer inside that thread)."""
        if resp.duplicate:
            return
        if resp.form is not None:
            if trigger_id:
                await self.api.call(
                    team,
                    "views.open",
                    json={"trigger_id": trigger_id, "view": render_form(resp.form, message_ref)},
                )
            else:
                _LOGGER.info("form %s without a trigger_id; sent as text", resp.form.form_id)
                await self._reply(team, user, Message(text=resp.form.title), respond, channel, thread_ts)
        reply = resp.reply
        if resp.update is not None:
            if message_ref and message_ref.get("channel") and message_ref.get("ts"):
                # The fast path: the click's response_url replaces the message and is not paced like
                # chat.update (Tier 3, ~50 per minute per workspace), which stays the fallback.
                if not await self._replace(respond, resp.update) and not ephemeral_container:
                    await self.platform.update_message(team, message_ref["channel"], message_ref["ts"], resp.update)
            elif reply is None:
                reply = resp.update
        if resp.errors and reply is None and resp.form is None:
            text = " ".join(resp.errors.values())
            reply = Message(text=text, blocks=(para(text),))
        if reply is not None:
            await self._reply(team, user, reply, respond if resp.ephemeral else None, channel, thread_ts)
        if resp.attachment is not None:
            target = channel if channel and channel.startswith("D") else await self.dm_channel(team, user)
            await self.platform.upload(team, target, resp.attachment)

    async def _replace(self, respond: Any, message: Message) -> bool:
        """Replace the clicked message through its response_url; False when that is not possible."""
        if respond is None:
            return False
        try:
            result = await respond(**render_message(message), replace_original=True)
        except Exception as exc:
            _LOGGER.info("response_url replace failed: %s", type(exc).__name__)
            return False
        status = getattr(result, "status_code", 200)
        if status >= 300:
            _LOGGER.info("response_url answered %s; updating with chat.update", status)
        return bool(status < 300)

    async def _reply(
        self, team: str, user: str, message: Message, respond: Any, channel: str | None, thread_ts: str | None = None
    ) -> None:
        if respond is not None:
            # response_url: private to the person ("ephemeral"), no scope needed.
            result = await respond(**render_message(message), response_type="ephemeral", replace_original=False)
            status = getattr(result, "status_code", 200)
            if status < 300:
                return
            _LOGGER.info("response_url answered %s; posting to the DM instead", status)
        target = channel if channel and channel.startswith("D") else await self.dm_channel(team, user)
        await self.platform.post(team, target, message, thread_ts=thread_ts if target == channel else None)

    async def _handle(self, interaction: Interaction) -> Response:
        return await self.momentum.handle(interaction)

    # --- listeners ------------------------------------------------------------------------------

    def _build_bolt(self) -> AsyncApp:
        s = self.settings
        client = AsyncWebClient(base_url=s.api_base_url)  # tokens come from ``authorize`` or the install store
        kwargs: dict[str, Any] = {
            "signing_secret": self._secret(),
            "client": client,
            # We acknowledge ourselves, first thing, and push slow work into tasks.
            "process_before_response": True,
            "raise_error_for_unhandled_request": False,
            "logger": logging.getLogger("slack_bolt.momentum"),
        }
        if s.bot_token is not None and not s.oauth_enabled:
            # One token: Bolt would call auth.test on the first request and answer 500 while Slack's
            # API does not answer; we know the token, and auth.test ran at start-up.
            async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
                return self._authorize_single(enterprise_id, team_id)

            kwargs["authorize"] = authorize  # Bolt reads the parameter names: a plain function
        if s.oauth_enabled:
            assert self.install_store is not None
            kwargs["oauth_settings"] = AsyncOAuthSettings(
                client_id=s.client_id,
                client_secret=s.client_secret.get_secret_value() if s.client_secret else None,
                scopes=s.scope_list,
                redirect_uri=s.redirect_uri,
                install_path="/slack/install",
                redirect_uri_path="/slack/oauth_redirect",
                installation_store=self.install_store,
                installation_store_bot_only=True,
                state_store=AsyncStateStore(self.momentum.db.engine),
                callback_options=AsyncCallbackOptions(success=self._install_succeeded, failure=self._install_failed),
            )
            kwargs["installation_store"] = self.install_store
        app = AsyncApp(**kwargs)
        app.command(COMMAND)(self.on_command)
        app.action(re.compile(".*"))(self.on_action)
        app.view(FORM_CALLBACK_ID)(self.on_submit)
        app.view_closed(FORM_CALLBACK_ID)(self.on_view_closed)
        app.event("app_home_opened")(self.on_home_opened)
        app.event("message")(self.on_message)
        app.event("user_change")(self.on_user_change)
        app.event("app_uninstalled")(self.on_app_uninstalled)
        app.event("tokens_revoked")(self.on_tokens_revoked)
        return app

    def _authorize_single(self, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        assert self.settings.bot_token is not None
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id,
                               bot_token=self.settings.bot_token.get_secret_value(),
                               bot_user_id=self._bot_user_id, bot_id=self._bot_id)

    async def on_command(self, ack: Any, body: dict[str, Any], context: Any) -> BoltResponse | None:
        try:
            team, user = _need(body, "team_id"), _need(body, "user_id")
        except BadRequest as exc:
            return BoltResponse(status=400, body=str(exc))
        ia = Interaction(platform="slack", workspace=team, user=user, kind=Kind.COMMAND,
                         text=normalise_text(str(body.get("text", ""))), workspace_name=body.get("team_domain") or None)
        show = {"respond": body.get("response_url"), "trigger_id": body.get("trigger_id"),
                "channel": body.get("channel_id")}
        await self.accept(context, "command", {"ia": interaction_data(ia), "show": show})
        await ack()
        return None

    async def on_action(self, ack: Any, body: dict[str, Any], context: Any) -> BoltResponse | None:
        try:
            user = _need(body, "user", "id")
            team = (body.get("team") or {}).get("id") or _need(body, "user", "team_id")
            actions = body.get("actions")
            if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
                raise BadRequest("missing actions")
            action_id = _need(actions[0], "action_id")
        except BadRequest as exc:
            return BoltResponse(status=400, body=str(exc))
        container = body.get("container") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
        ref = {"channel": str(channel), "ts": str(ts)} if channel and ts else None
        on_home = container.get("type") == "view" and (body.get("view") or {}).get("type") == "home"
        ia = Interaction(platform="slack", workspace=str(team), user=user, kind=Kind.ACTION,
                         action_id=core_action_id(action_id), value=action_value(actions[0]), message_ref=ref)
        show = {"respond": None if on_home else body.get("response_url"), "trigger_id": body.get("trigger_id"),
                "channel": channel, "message_ref": ref, "ephemeral_container": bool(container.get("is_ephemeral")),
                "home": on_home}
        await self.accept(context, "action", {"ia": interaction_data(ia), "show": show})
        await ack()
        return None

    async def on_submit(
        self, ack: Any, body: dict[str, Any], view: dict[str, Any], context: Any
    ) -> BoltResponse | None:
        try:
            user = _need(body, "user", "id")
            team = (body.get("team") or {}).get("id") or _need(body, "user", "team_id")
            values = ((view or {}).get("state") or {}).get("values") or {}
        except BadRequest as exc:
            return BoltResponse(status=400, body=str(exc))
        meta = parse_metadata(view.get("private_metadata"))
        ref = meta.get("ref") if isinstance(meta.get("ref"), dict) else None
        interaction = Interaction(
            platform="slack",
            workspace=str(team),
            user=user,
            kind=Kind.SUBMIT,
            action_id=str(meta.get("form_id", "")),
            value=str(meta.get("state", "")),
            fields=form_fields(values),
            message_ref=ref,
        )
        # The answer belongs in the HTTP response (inline errors, the next view), so the work is done
        # here; the inbox row (leased to us) keeps it from being lost or done twice.
        key = context.get("inbox_key") or "slack:once:" + uuid.uuid4().hex
        payload = {"ia": interaction_data(interaction), "show": {"message_ref": ref}}
        try:
            row = await self.pool.accept(key, "slack", "submit", payload, lease_s=self.pool.lease_s)
            if row is None:
                await ack()  # a replay
                return None
        except Exception as exc:
            _LOGGER.warning("inbox write failed (%s); processing in memory", type(exc).__name__)
            row = None
        interaction = replace(interaction, profile=self.platform.cached_profile(str(team), user), inbox_id=row)
        work = asyncio.ensure_future(self._handle(interaction))
        try:
            resp = await asyncio.wait_for(asyncio.shield(work), timeout=SUBMIT_BUDGET_S)
        except TimeoutError:
            await ack()  # closes the modal; the answer follows as a DM
            self.spawn(self._late_submit(work, str(team), user, ref, row))
            return None
        except Exception:
            _LOGGER.exception("core failed on a form submit")
            await ack(response_action="errors", errors=form_errors(view, {"_": "Sorry, that did not work."}))
            return None
        if resp.errors:
            await ack(response_action="errors", errors=form_errors(view, resp.errors))
            self.spawn(self._finish(row))
            return None
        if resp.form is not None:
            await ack(response_action="update", view=render_form(resp.form, ref))
            resp = Response(reply=resp.reply, update=resp.update, attachment=resp.attachment, ephemeral=resp.ephemeral)
        else:
            await ack()
        self.spawn(self._show_then_finish(resp, str(team), user, ref, row))
        return None

    async def _show_then_finish(
        self, resp: Response, team: str, user: str, ref: dict[str, str] | None, row: int | None
    ) -> None:
        await self.show(resp, team=team, user=user, message_ref=ref)
        await self._finish(row)

    async def _finish(self, row: int | None) -> None:
        if row is not None:
            await self.momentum.db.run(inbox.finish, self.momentum.db, row)

    async def _late_submit(
        self, work: asyncio.Future[Response], team: str, user: str, ref: dict[str, str] | None, row: int | None
    ) -> None:
        resp = await work
        await self._show_then_finish(Response(reply=resp.reply, update=resp.update, attachment=resp.attachment),
                                     team, user, ref, row)

    async def on_view_closed(self, ack: Any) -> None:
        await ack()

    async def _install_succeeded(self, args: AsyncSuccessArgs) -> BoltResponse:
        return await args.default.success(args)

    async def _install_failed(self, args: AsyncFailureArgs) -> BoltResponse:
        if isinstance(args.error, OrgInstallRefused):
            words = WORDS["org_install_refused"]
            page = (
                "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Momentum</title></head><body>"
                f"<h2>{html.escape(words['title'])}</h2><p>{html.escape(words['body'])}</p></body></html>"
            )
            _LOGGER.info("slack org-wide install refused: enterprise=%s", args.error.enterprise_id)
            return BoltResponse(status=400, body=page, headers={"Content-Type": "text/html; charset=utf-8"})
        return await args.default.failure(args)

    async def on_home_opened(self, event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        if event.get("tab") != "home" or not event.get("user"):
            return
        team = str(body.get("team_id") or context.team_id or "")
        if not self.seen.first_time(body.get("event_id")):
            return
        self.spawn(self.publish_home(team, str(event["user"])))

    async def publish_home(self, team: str, user: str) -> None:
        profile = await self.profile(team, user)
        if profile is not None:
            await self.momentum.db.run(self.momentum.upsert_person, "slack", team, profile)
        home = await self.momentum.db.run(self.momentum.app_home, "slack", team, user)
        await self.api.call(team, "views.publish", json={"user_id": user, "view": render_home(home)})

    async def on_message(self, event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        # Only people writing to the bot in its DM (with a file, or a thread reply sent to the DM too);
        # never edits, deletions or any bot's posts: answering those could loop.
        if event.get("channel_type") != "im" or event.get("subtype") not in PEOPLE_MESSAGE_SUBTYPES:
            return
        if event.get("bot_id") or event.get("bot_profile"):
            return
        user, channel = event.get("user"), event.get("channel")
        if not user or not channel or user == context.bot_user_id:
            return
        event_id = body.get("event_id")
        if not self.seen.first_time(event_id):
            _LOGGER.info("slack event %s already handled (retry %s)", event_id, context.get("retry_num"))
            return
        team = str(body.get("team_id") or context.team_id or "")
        # A reply in a thread is answered in that thread (Slack: thread_ts names the thread's parent).
        thread_ts = str(event["thread_ts"]) if event.get("thread_ts") else None
        ia = Interaction(platform="slack", workspace=team, user=str(user), kind=Kind.MESSAGE,
                         text=normalise_text(str(event.get("text", "") or "")),
                         message_ref={"channel": str(channel), "ts": str(event.get("ts", ""))})
        show = {"channel": str(channel), "thread_ts": thread_ts,
                "files": bool(event.get("files")) or event.get("subtype") == "file_share"}
        # Slack retries an event it thinks was not acknowledged: the event id is the inbox key.
        await self.accept(context, "message", {"ia": interaction_data(ia), "show": show},
                          key=f"slack:event:{event_id}" if event_id else None)

    async def on_user_change(self, event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        user = event.get("user")
        if not isinstance(user, dict) or not user.get("id"):
            return
        profile = profile_from_user(user)
        teams = user_change_teams(body, user, context)
        enterprise = str(body.get("enterprise_id") or (user.get("enterprise_user") or {}).get("enterprise_id") or "")
        for team in teams:
            self.platform.remember_profile(team, profile)
        self.spawn(asyncio.to_thread(self.refresh_everywhere, teams, enterprise, profile))

    def refresh_everywhere(self, teams: list[str], enterprise: str, profile: Profile) -> None:
        """Refresh the person in every workspace of ours that knows them: the envelope's team first (the
        event's ``user.team_id`` can name another team, as in Slack's own example and on Enterprise
        Grid), then the user's own teams, and on Grid (user ids are org-wide) any workspace we serve."""
        done: set[str] = set()
        for team in teams:
            if team not in done and self.refresh_person(team, profile):
                done.add(team)
        if enterprise:
            for team in self.momentum_slack_teams_knowing(profile.external_id):
                if team not in done and self.refresh_person(team, profile):
                    done.add(team)

    def momentum_slack_teams_knowing(self, external_id: str) -> list[str]:
        from sqlmodel import select

        from storage.models import Person, Workspace

        with self.momentum.db.session() as s:
            rows = s.exec(
                select(Workspace.external_id)
                .join(Person, Person.workspace_id == Workspace.id)  # type: ignore[arg-type]
                .where(Workspace.platform == "slack", Person.external_id == external_id)
            ).all()
        return [str(r) for r in rows]

    def refresh_person(self, team: str, profile: Profile) -> bool:
        """Refresh a person we already know (we do not collect the whole directory); False: unknown here."""
        with self.momentum.db.session() as s:
            ws = directory.get_workspace(s, "slack", team)
            person = directory.get_person(s, ws.id, profile.external_id) if ws and ws.id else None
            known, reason = person is not None, person.unreachable_reason if person else None
        if not known:
            return False
        self.momentum.upsert_person("slack", team, profile)
        if profile.deleted:
            self.momentum.mark_unreachable("slack", team, profile.external_id, "user_deactivated")
        elif reason == "user_deactivated":
            self.momentum.mark_unreachable("slack", team, profile.external_id, None)
        return True

    async def on_app_uninstalled(self, body: dict[str, Any]) -> None:
        await self._gone(body, "app_uninstalled")

    async def on_tokens_revoked(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        if (event.get("tokens") or {}).get("bot"):
            await self._gone(body, "tokens_revoked")

    async def _gone(self, body: dict[str, Any], reason: str) -> None:
        team = str(body.get("team_id") or "")
        if not team:
            return
        await self.momentum.db.run(self.momentum.set_workspace_status, "slack", team, "uninstalled", reason)
        self._tokens.pop(team, None)
        self.platform.forget_team(team)
        if self.install_store is not None:
            await self.install_store.async_delete_all(enterprise_id=body.get("enterprise_id"), team_id=team)
        _LOGGER.info("slack workspace %s: %s", team, reason)

    # --- HTTP -----------------------------------------------------------------------------------

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

    async def handle_install(self, request: web.Request) -> web.Response:
        flow = self.bolt.oauth_flow
        assert flow is not None
        return await to_aiohttp_response(await flow.handle_installation(await to_bolt_request(request)))

    async def handle_oauth_redirect(self, request: web.Request) -> web.Response:
        flow = self.bolt.oauth_flow
        assert flow is not None
        return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))


Startup = Callable[[web.Application], Awaitable[None]]


@dataclass(frozen=True)
class Posted:
    status_code: int


class ResponseUrl:
    """Posts to an interaction's ``response_url`` (Slack: up to 5 times within 30 minutes; not paced
    like the Web API), with a timeout so a Slack that does not answer never holds a worker long."""

    def __init__(self, api: SlackApi, url: str) -> None:
        self.api = api
        self.url = url

    async def __call__(self, **body: Any) -> Posted:
        try:
            async with self.api.session().post(self.url, json=body, timeout=aiohttp.ClientTimeout(
                    total=RESPONSE_URL_TIMEOUT_S)) as r:
                await r.read()
                return Posted(r.status)
        except (TimeoutError, aiohttp.ClientError) as exc:
            _LOGGER.info("response_url post failed: %s", type(exc).__name__)
            return Posted(599)


INTERACTION_FIELDS = ("workspace", "user", "action_id", "value", "text", "fields", "message_ref",
                      "workspace_name")


def interaction_data(ia: Interaction) -> dict[str, Any]:
    """What the inbox keeps of an interaction (its profile is looked up again when it is processed)."""
    return {"kind": ia.kind.value, **{f: getattr(ia, f) for f in INTERACTION_FIELDS}}


def interaction_from(data: dict[str, Any]) -> Interaction:
    return Interaction(platform="slack", kind=Kind(str(data.get("kind"))),
                       **{f: data[f] for f in INTERACTION_FIELDS if f in data})


def user_change_teams(body: dict[str, Any], user: dict[str, Any], context: Any) -> list[str]:
    """Teams where a ``user_change`` may concern someone we know: the envelope's team first."""
    candidates: list[Any] = [body.get("team_id"), getattr(context, "team_id", None)]
    candidates += [a.get("team_id") for a in body.get("authorizations") or [] if isinstance(a, dict)]
    candidates += [user.get("team_id"), (user.get("profile") or {}).get("team")]
    candidates += list((user.get("enterprise_user") or {}).get("teams") or [])
    return _unique(str(c) for c in candidates if c)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
