"""Slack settings from environment variables, validated at start-up into one ``ConfigError``."""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from yarl import URL

from bot.model.config import ConfigError, explain, pasted_cleanly

_LOGGER = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
# Slack's response_urls all start here (https://api.slack.com/interactivity/handling#message_responses).
DEFAULT_RESPONSE_URL_BASE = "https://hooks.slack.com/"
# Slack's signing secrets are 32 lowercase hex digits (Basic Information > App Credentials > Signing Secret).
SIGNING_SECRET_SHAPE = re.compile(r"^[0-9a-fA-F]{32}$")


class SlackSettings(BaseSettings):
    """Everything the Slack adapter reads from the environment.

    One workspace: ``SLACK_BOT_TOKEN``.  Many workspaces: ``SLACK_CLIENT_ID`` and
    ``SLACK_CLIENT_SECRET`` enable the OAuth install flow (tokens are then stored,
    encrypted with ``MOMENTUM_SECRET_KEY``, in the database).

    Rate limits are per workspace and per Web API method family, in calls per minute.
    The defaults sit under Slack's published tiers (see docs/slack.md).
    """

    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    signing_secret: SecretStr | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    client_id: str | None = Field(default=None, validation_alias="SLACK_CLIENT_ID")
    client_secret: SecretStr | None = Field(default=None, validation_alias="SLACK_CLIENT_SECRET")
    app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    api_url: str | None = Field(default=None, validation_alias="SLACK_API_URL")
    # Where a response_url may point (a prefix): Slack's hooks host. Only tests point it elsewhere (at
    # their loopback fake, as they do SLACK_API_URL); a response_url outside it is never followed.
    response_url_base: str = Field(default=DEFAULT_RESPONSE_URL_BASE, validation_alias="SLACK_RESPONSE_URL_BASE")
    scopes: str | None = Field(default=None, validation_alias="SLACK_SCOPES")
    redirect_uri: str | None = Field(default=None, validation_alias="SLACK_REDIRECT_URI")

    # Pacing (calls per minute, per workspace).  Slack: chat.postMessage is "special" (1/s per
    # channel, several hundred a minute per workspace); conversations.open and chat.update are
    # Tier 3 (50+/min); users.info Tier 4 (100+/min); users.lookupByEmail Tier 3; files Tier 2-4.
    rate_post: float = Field(default=300, gt=0, validation_alias="SLACK_RATE_POST_PER_MIN")
    rate_open: float = Field(default=50, gt=0, validation_alias="SLACK_RATE_OPEN_PER_MIN")
    rate_update: float = Field(default=50, gt=0, validation_alias="SLACK_RATE_UPDATE_PER_MIN")
    rate_users: float = Field(default=100, gt=0, validation_alias="SLACK_RATE_USERS_PER_MIN")
    # users.lookupByEmail is Tier 3 (50+/min), users.list Tier 2 (20+/min): each has its own
    # limiter, so an import's look-ups never queue in front of a click's users.info.
    rate_lookup: float = Field(default=50, gt=0, validation_alias="SLACK_RATE_LOOKUP_PER_MIN")
    rate_list: float = Field(default=20, gt=0, validation_alias="SLACK_RATE_LIST_PER_MIN")
    rate_views: float = Field(default=100, gt=0, validation_alias="SLACK_RATE_VIEWS_PER_MIN")
    rate_files: float = Field(default=20, gt=0, validation_alias="SLACK_RATE_FILES_PER_MIN")
    # A 429 whose Retry-After is at most this many seconds is waited out in place (once or
    # twice); longer ones go back to the core as a retryable PlatformError with retry_after.
    max_inline_wait_s: float = Field(default=30, ge=0, validation_alias="SLACK_MAX_INLINE_WAIT")
    profile_ttl_s: int = Field(default=3600, ge=0, validation_alias="SLACK_PROFILE_TTL")

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, v: str | None) -> str | None:
        if not v:
            return None
        if not v.startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL of the Web API, e.g. https://slack.com/api/")
        # slack_sdk joins the method with urljoin: without the trailing slash ".../api" + "chat.x"
        # would become ".../chat.x".
        return v if v.endswith("/") else v + "/"

    @field_validator("response_url_base")
    @classmethod
    def _response_url_base(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")) or "@" in v:
            raise ValueError("expected an http(s) URL prefix, e.g. https://hooks.slack.com/")
        return v if v.endswith("/") else v + "/"

    @field_validator("signing_secret", "bot_token", "client_id", "client_secret", "app_token")
    @classmethod
    def _pasted_cleanly(cls, v: SecretStr | str | None) -> SecretStr | str | None:
        value = v.get_secret_value() if isinstance(v, SecretStr) else v
        if value:
            pasted_cleanly(value)  # never repeats the value: these are secrets
        return v

    @field_validator("signing_secret")
    @classmethod
    def _signing_secret(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and v.get_secret_value() and not SIGNING_SECRET_SHAPE.match(v.get_secret_value()):
            raise ValueError("expected 32 hexadecimal characters (Slack app > Basic Information > App Credentials "
                             "> Signing Secret); with any other value every request from Slack is refused")
        return v

    @field_validator("bot_token")
    @classmethod
    def _bot_token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and v.get_secret_value() and not v.get_secret_value().startswith("xox"):
            raise ValueError("expected a bot token starting with xoxb- (Slack app > OAuth & Permissions)")
        return v

    @field_validator("app_token")
    @classmethod
    def _app_token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and v.get_secret_value() and not v.get_secret_value().startswith("xapp-"):
            raise ValueError("expected an app-level token starting with xapp- (Basic Information)")
        return v

    @property
    def oauth_enabled(self) -> bool:
        return bool(self.client_id and self.client_secret)

    @property
    def configured(self) -> bool:
        """Slack is on: a signing secret plus a bot token or an OAuth client id/secret."""
        return bool(self.signing_secret and (self.bot_token or self.oauth_enabled))

    @property
    def api_base_url(self) -> str:
        return self.api_url or DEFAULT_API_URL

    def follows(self, response_url: str) -> bool:
        """Whether a ``response_url`` from a payload may be posted to: same scheme, host and port as
        ``response_url_base`` and a path under it, no user info. Anything else is never followed."""
        try:
            url, base = URL(response_url), URL(self.response_url_base)
        except (TypeError, ValueError):
            return False
        if not url.is_absolute() or url.user is not None or url.password is not None:
            return False
        return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port) and \
            url.path.startswith(base.path) and ".." not in url.path.split("/")

    @property
    def scope_list(self) -> list[str]:
        from adapters.slack.scopes import BOT_SCOPES

        if self.scopes:
            return [s.strip() for s in self.scopes.split(",") if s.strip()]
        return list(BOT_SCOPES)


def load_slack_settings(secret_key_set: bool | None = None, **overrides: Any) -> SlackSettings:
    """Read and check the Slack variables; raise ``ConfigError`` naming the variable.

    ``secret_key_set``: whether ``MOMENTUM_SECRET_KEY`` is configured (OAuth stores tokens
    encrypted with it); read from the environment when not given.
    """
    try:
        s = SlackSettings(**overrides)
    except ValidationError as exc:
        raise explain(exc, SlackSettings) from None
    if secret_key_set is None:
        secret_key_set = bool(os.environ.get("MOMENTUM_SECRET_KEY", "").strip())
    problems: list[str] = []
    if s.client_id and not s.client_secret:
        problems.append("SLACK_CLIENT_SECRET: required when SLACK_CLIENT_ID is set (Basic Information)")
    if s.client_secret and not s.client_id:
        problems.append("SLACK_CLIENT_ID: required when SLACK_CLIENT_SECRET is set (Basic Information)")
    if s.bot_token and (s.client_id or s.client_secret):
        problems.append(
            "SLACK_BOT_TOKEN: set either SLACK_BOT_TOKEN (one workspace) or "
            "SLACK_CLIENT_ID/SLACK_CLIENT_SECRET (OAuth, many workspaces), not both"
        )
    if (s.bot_token or s.client_id or s.client_secret or s.app_token) and not s.signing_secret:
        problems.append("SLACK_SIGNING_SECRET: required to verify Slack's requests (Basic Information)")
    if s.signing_secret and not (s.bot_token or s.client_id or s.client_secret):
        problems.append("SLACK_BOT_TOKEN: required (or SLACK_CLIENT_ID/SLACK_CLIENT_SECRET for OAuth)")
    if s.oauth_enabled and not secret_key_set:
        problems.append("MOMENTUM_SECRET_KEY: required with SLACK_CLIENT_ID (bot tokens are stored encrypted)")
    if s.scopes:
        from adapters.slack.scopes import BOT_SCOPES

        missing = sorted(set(BOT_SCOPES) - set(s.scope_list))
        if missing:
            problems.append(f"SLACK_SCOPES: missing scopes the app uses: {', '.join(missing)}")
    if problems:
        raise ConfigError("\n".join(problems))  # one line per variable, each naming it
    return s
