"""Slack installs and tokens: the bot token per workspace (one token, or OAuth installs kept encrypted),
start-up registration, Bolt's authorisation, the install pages, and uninstalls."""

from __future__ import annotations

import html
import logging
import time
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.oauth.async_callback_options import AsyncFailureArgs, AsyncSuccessArgs
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store.models.installation import Installation

from adapters.slack.api import SlackApi
from adapters.slack.platform import SlackPlatform
from adapters.slack.replies import WORDS
from adapters.slack.settings import SlackSettings
from adapters.slack.store import AsyncEncryptedInstallationStore, OrgInstallRefused
from bot.app import Momentum
from bot.model.ports import PlatformError

_LOGGER = logging.getLogger(__name__)

TOKEN_TTL_S = 300.0


class Installs:
    """Mixed into ``SlackRuntime`` (which holds the state): tokens and installs."""

    momentum: Momentum
    settings: SlackSettings
    api: SlackApi
    platform: SlackPlatform
    bolt: AsyncApp
    install_store: AsyncEncryptedInstallationStore | None
    _tokens: dict[str, tuple[float, str]]
    _bot_user_id: str | None
    _bot_id: str | None

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
            await self.momentum.upsert_workspace("slack", installation.team_id,
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
            await self.momentum.upsert_workspace("slack", team,
                                       name=str(data.get("team", "")) or None)

    def _authorize_single(self, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        assert self.settings.bot_token is not None
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id,
                               bot_token=self.settings.bot_token.get_secret_value(),
                               bot_user_id=self._bot_user_id, bot_id=self._bot_id)

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

    async def on_app_uninstalled(self, body: dict[str, Any]) -> None:
        await self._gone(body, "app_uninstalled")

    async def on_tokens_revoked(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        if (event.get("tokens") or {}).get("bot"):
            await self._gone(body, "tokens_revoked")

    async def _gone(self, body: dict[str, Any], reason: str) -> None:
        team = str(body.get("team_id") or "")
        if not team:
            return
        await self.momentum.set_workspace_status("slack", team, "uninstalled", reason)
        self._tokens.pop(team, None)
        self.platform.forget_team(team)
        if self.install_store is not None:
            await self.install_store.async_delete_all(enterprise_id=body.get("enterprise_id"), team_id=team)
        _LOGGER.info("slack workspace %s: %s", team, reason)

    async def handle_install(self, request: web.Request) -> web.Response:
        flow = self.bolt.oauth_flow
        assert flow is not None
        return await to_aiohttp_response(await flow.handle_installation(await to_bolt_request(request)))

    async def handle_oauth_redirect(self, request: web.Request) -> web.Response:
        flow = self.bolt.oauth_flow
        assert flow is not None
        return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))
