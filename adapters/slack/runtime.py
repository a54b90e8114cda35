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
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncFailureArgs, AsyncSuccessArgs
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

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
from bot.app import Momentum
from bot.domain import people as directory
from bot.model.interactions import Interaction, InteractionKind, Profile, Response
from bot.model.messages import Message, para
from bot.model.ports import PlatformError

_LOGGER = logging.getLogger(__name__)

COMMAND = "/momentum"
SUBMIT_BUDGET_S = 2.5  # Slack closes a view_submission after 3 s
BACKGROUND_CONCURRENCY = 2
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


async def refresh_best_effort(momentum: Momentum, team: str, profile: Profile) -> None:
    """Refresh a person's stored profile; while the database's writes are failing (disk full,
    read-only) skip it, so what only reads (App Home) still answers."""
    from bot.outbox.faults import watch_for

    try:
        await momentum.db.run(momentum.upsert_person, "slack", team, profile)
    except Exception as exc:
        fault = watch_for(momentum.db).failed(exc)
        if fault is None or not fault.writes_only:
            raise


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

    def __init__(self, momentum: Momentum, settings: SlackSettings, *, sleep: Any = None) -> None:
        if not settings.configured:
            raise ValueError("Slack is not configured (SLACK_SIGNING_SECRET + SLACK_BOT_TOKEN or OAuth)")
        self.momentum = momentum
        self.settings = settings
        self.seen = SeenEvents()
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(BACKGROUND_CONCURRENCY)
        self._tokens: dict[str, tuple[float, str]] = {}
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
        if team:
            await self.momentum.db.run(self.momentum.upsert_workspace, "slack", team,
                                       name=str(data.get("team", "")) or None)

    # --- background work ------------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in the background (the acknowledgement goes out first: the core never holds
        the event loop while it works, so no gate in front of background work is needed)."""
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
        """Wait until every background task has finished (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        await self.drain()
        await self.api.close()

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
                if ephemeral_container and respond is not None:
                    await respond(**render_message(resp.update), replace_original=True)
                else:
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
        client = AsyncWebClient(base_url=s.api_base_url, token=s.bot_token.get_secret_value() if s.bot_token else None)
        kwargs: dict[str, Any] = {
            "signing_secret": self._secret(),
            "client": client,
            # We acknowledge ourselves, first thing, and push slow work into tasks.
            "process_before_response": True,
            "raise_error_for_unhandled_request": False,
            "logger": logging.getLogger("slack_bolt.momentum"),
        }
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

    async def on_command(self, ack: Any, body: dict[str, Any], respond: Any) -> BoltResponse | None:
        try:
            team, user = _need(body, "team_id"), _need(body, "user_id")
        except BadRequest as exc:
            return BoltResponse(status=400, body=str(exc))
        await ack()
        self.spawn(self._command(team, user, body, respond))
        return None

    async def _command(self, team: str, user: str, body: dict[str, Any], respond: Any) -> None:
        interaction = Interaction(
            platform="slack",
            workspace=team,
            user=user,
            kind=InteractionKind.COMMAND,
            text=normalise_text(str(body.get("text", ""))),
            profile=await self.profile(team, user),
            workspace_name=body.get("team_domain") or None,
        )
        try:
            resp = await self._handle(interaction)
        except Exception:
            _LOGGER.exception("core failed on a slash command")
            resp = Response(reply=SORRY)
        await self.show(
            resp,
            team=team,
            user=user,
            respond=respond,
            trigger_id=body.get("trigger_id"),
            channel=body.get("channel_id"),
        )

    async def on_action(self, ack: Any, body: dict[str, Any], respond: Any) -> BoltResponse | None:
        try:
            user = _need(body, "user", "id")
            team = (body.get("team") or {}).get("id") or _need(body, "user", "team_id")
            actions = body.get("actions")
            if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
                raise BadRequest("missing actions")
            action_id = _need(actions[0], "action_id")
        except BadRequest as exc:
            return BoltResponse(status=400, body=str(exc))
        await ack()
        self.spawn(self._action(str(team), user, action_id, actions[0], body, respond))
        return None

    async def _action(
        self, team: str, user: str, action_id: str, action: dict[str, Any], body: dict[str, Any], respond: Any
    ) -> None:
        container = body.get("container") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
        ref = {"channel": str(channel), "ts": str(ts)} if channel and ts else None
        interaction = Interaction(
            platform="slack",
            workspace=team,
            user=user,
            kind=InteractionKind.ACTION,
            action_id=core_action_id(action_id),
            value=action_value(action),
            profile=await self.profile(team, user),
            message_ref=ref,
        )
        try:
            resp = await self._handle(interaction)
        except Exception:
            _LOGGER.exception("core failed on a button click")
            resp = Response(reply=SORRY)
        on_home = container.get("type") == "view" and (body.get("view") or {}).get("type") == "home"
        await self.show(
            resp,
            team=team,
            user=user,
            respond=respond if not on_home else None,
            trigger_id=body.get("trigger_id"),
            channel=channel,
            message_ref=ref,
            ephemeral_container=bool(container.get("is_ephemeral")),
        )
        if on_home:
            await self.publish_home(team, user)

    async def on_submit(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> BoltResponse | None:
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
            profile=self.platform.cached_profile(str(team), user),
            message_ref=ref,
        )
        work = asyncio.ensure_future(self._handle(interaction))
        try:
            resp = await asyncio.wait_for(asyncio.shield(work), timeout=SUBMIT_BUDGET_S)
        except TimeoutError:
            await ack()  # closes the modal; the answer follows as a DM
            self.spawn(self._late_submit(work, str(team), user, ref))
            return None
        except Exception:
            _LOGGER.exception("core failed on a form submit")
            await ack(response_action="errors", errors=form_errors(view, {"_": "Sorry, that did not work."}))
            return None
        if resp.errors:
            await ack(response_action="errors", errors=form_errors(view, resp.errors))
            return None
        if resp.form is not None:
            await ack(response_action="update", view=render_form(resp.form, ref))
            resp = Response(reply=resp.reply, update=resp.update, attachment=resp.attachment, ephemeral=resp.ephemeral)
        else:
            await ack()
        self.spawn(self.show(resp, team=str(team), user=user, message_ref=ref))
        return None

    async def _late_submit(
        self, work: asyncio.Future[Response], team: str, user: str, ref: dict[str, str] | None
    ) -> None:
        resp = await work
        await self.show(
            Response(reply=resp.reply, update=resp.update, attachment=resp.attachment),
            team=team,
            user=user,
            message_ref=ref,
        )

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
            await refresh_best_effort(self.momentum, team, profile)
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
        self.spawn(self._message(team, str(user), str(channel), event, event_id))

    async def _message(self, team: str, user: str, channel: str, event: dict[str, Any], event_id: str | None) -> None:
        # A reply in a thread is answered in that thread (Slack: thread_ts names the thread's parent).
        thread_ts = str(event["thread_ts"]) if event.get("thread_ts") else None
        text = normalise_text(str(event.get("text", "") or ""))
        has_files = bool(event.get("files")) or event.get("subtype") == "file_share"
        if text.strip():
            interaction = Interaction(
                platform="slack",
                workspace=team,
                user=user,
                kind=InteractionKind.MESSAGE,
                text=text,
                event_id=event_id,
                profile=await self.profile(team, user),
                message_ref={"channel": channel, "ts": str(event.get("ts", ""))},
            )
            try:
                resp = await self._handle(interaction)
            except Exception:
                _LOGGER.exception("core failed on a direct message")
                resp = Response(reply=SORRY)
            await self.show(resp, team=team, user=user, channel=channel, thread_ts=thread_ts)
        if has_files:
            # Files are acknowledged, never downloaded or processed (we ask for no files:read scope).
            await self.platform.post(team, channel, FILE_ACK, thread_ts=thread_ts)

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

    async def handle_events(self, request: web.Request) -> web.Response:
        """POST /slack/events: Events API, slash command and interactivity on one URL."""
        body = await request.text()
        try:
            bolt_req = AsyncBoltRequest(body=body, query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
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


def user_change_teams(body: dict[str, Any], user: dict[str, Any], context: Any) -> list[str]:
    """Teams where a ``user_change`` may concern someone we know: the envelope's team first."""
    candidates: list[Any] = [body.get("team_id"), getattr(context, "team_id", None)]
    candidates += [a.get("team_id") for a in body.get("authorizations") or [] if isinstance(a, dict)]
    candidates += [user.get("team_id"), (user.get("profile") or {}).get("team")]
    candidates += list((user.get("enterprise_user") or {}).get("teams") or [])
    return _unique(str(c) for c in candidates if c)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
