"""The Bolt app and its listeners: each checks what Slack always sends (400 otherwise), writes the
interaction to the inbox and acknowledges; a modal submission is answered in the HTTP response, and so
is `help` from someone we know (``Momentum.quick``: nothing to write, so nothing to keep)."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Coroutine
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters import untrusted
from adapters.http import proxy_for
from adapters.inbox import InboxPool
from adapters.slack.inbound import SeenEvents, action_value, form_fields, normalise_text, parse_metadata
from adapters.slack.platform import SlackPlatform
from adapters.slack.render import FORM_CALLBACK_ID, core_action_id, ephemeral_body, form_errors, render_form
from adapters.slack.replies import WORDS
from adapters.slack.settings import SlackSettings
from adapters.slack.store import AsyncEncryptedInstallationStore, AsyncStateStore
from bot.app import Momentum
from bot.model.interactions import Interaction, InteractionKind, Response
from storage import inbox

_LOGGER = logging.getLogger(__name__)

COMMAND = "/momentum"
SUBMIT_BUDGET_S = 2.5  # Slack closes a view_submission after 3 s
# Direct messages people write: plain ones, ones with a file attached, thread replies also sent to
# the conversation. Edits, deletions, joins and every bot's posts (ours too) are not people talking.
PEOPLE_MESSAGE_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
JSON_BODY = {"content-type": "application/json;charset=utf-8"}
INTERACTION_FIELDS = ("workspace", "user", "action_id", "value", "text", "fields", "message_ref",
                      "workspace_name")


class _App(AsyncApp):
    """Bolt, with every request's body cleaned first (``adapters.untrusted``: no NUL anywhere, so
    nothing stored, looked up or audited differs between SQLite and PostgreSQL). Over HTTP and socket
    mode alike, before Bolt's own steps (authorize looks up the workspace by the body's team id)."""

    async def async_dispatch(self, req: AsyncBoltRequest) -> BoltResponse:
        body = untrusted.clean(req.body)
        if body is not req.body:
            req.body = body
            req.context = build_async_context(AsyncBoltContext(dict(req.context)), body)
        return await super().async_dispatch(req)


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


def interaction_data(ia: Interaction) -> dict[str, Any]:
    """What the inbox keeps of an interaction (its profile is looked up again when it is processed)."""
    return {"kind": ia.kind.value, **{f: getattr(ia, f) for f in INTERACTION_FIELDS}}



class Listeners:
    """Mixed into ``SlackRuntime`` (which holds the state and the steps named below)."""

    momentum: Momentum
    settings: SlackSettings
    platform: SlackPlatform
    pool: InboxPool
    seen: SeenEvents
    install_store: AsyncEncryptedInstallationStore | None

    if TYPE_CHECKING:  # provided by the other parts of SlackRuntime
        _install_succeeded: Any
        _install_failed: Any
        on_user_change: Any
        on_app_uninstalled: Any
        on_tokens_revoked: Any

        def _secret(self) -> str:
            raise NotImplementedError

        def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
            raise NotImplementedError

        async def accept(self, context: Any, kind: str, payload: dict[str, Any], *, key: str | None = None) -> None:
            raise NotImplementedError

        async def _handle(self, interaction: Interaction) -> Response:
            raise NotImplementedError

        async def show(self, resp: Response, **kw: Any) -> None:
            raise NotImplementedError

        async def publish_home(self, team: str, user: str) -> None:
            raise NotImplementedError

        def _authorize_single(self, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            raise NotImplementedError

    def _build_bolt(self) -> AsyncApp:
        s = self.settings
        client = AsyncWebClient(base_url=s.api_base_url)  # tokens come from ``authorize`` or the install store
        # Bolt's own calls (OAuth's oauth.v2.access) open a session per call: slack_sdk would send them
        # through HTTPS_PROXY whatever NO_PROXY says; this is the proxy the variables name for the API.
        client.proxy = proxy_for(s.api_base_url)
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
        app = _App(**kwargs)
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

    async def on_command(self, ack: Any, body: dict[str, Any], context: Any) -> BoltResponse | None:
        try:
            team, user = _need(body, "team_id"), _need(body, "user_id")
        except BadRequest as exc:
            return BoltResponse(status=400, body=str(exc))
        ia = Interaction(platform="slack", workspace=team, user=user, kind=InteractionKind.COMMAND,
                         text=normalise_text(str(body.get("text", ""))), workspace_name=body.get("team_domain") or None)
        quick = await self.momentum.quick(ia)  # `help` for someone we know: answered in the ack itself
        if quick is not None and quick.reply is not None:
            return BoltResponse(status=200, body=ephemeral_body(quick.reply), headers=JSON_BODY)
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
        ia = Interaction(platform="slack", workspace=str(team), user=user, kind=InteractionKind.ACTION,
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
            kind=InteractionKind.SUBMIT,
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
            self.pool.write_failed(exc, _LOGGER)
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
            await ack(response_action="errors", errors=form_errors(view, {"_": WORDS["form_failed"]}))
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

    async def on_home_opened(self, event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        if event.get("tab") != "home" or not event.get("user"):
            return
        team = str(body.get("team_id") or context.team_id or "")
        if not self.seen.first_time(body.get("event_id")):
            return
        self.spawn(self.publish_home(team, str(event["user"])))

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
        ia = Interaction(platform="slack", workspace=team, user=str(user), kind=InteractionKind.MESSAGE,
                         text=normalise_text(str(event.get("text", "") or "")),
                         message_ref={"channel": str(channel), "ts": str(event.get("ts", ""))})
        show = {"channel": str(channel), "thread_ts": thread_ts,
                "files": bool(event.get("files")) or event.get("subtype") == "file_share"}
        # Slack retries an event it thinks was not acknowledged: the event id is the inbox key.
        await self.accept(context, "message", {"ia": interaction_data(ia), "show": show},
                          key=f"slack:event:{event_id}" if event_id else None)
