"""Teams settings from environment variables (pydantic-settings), validated with named errors."""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.config import ConfigError, explain

_LOGGER = logging.getLogger(__name__)


class AppType(StrEnum):
    MULTI_TENANT = "MultiTenant"
    SINGLE_TENANT = "SingleTenant"
    USER_ASSIGNED_MSI = "UserAssignedMSI"


class TeamsSettings(BaseSettings):
    """What the Teams adapter needs. No ``MICROSOFT_APP_ID`` means local development mode (no auth)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    app_id: str = Field(default="", validation_alias="MICROSOFT_APP_ID")
    app_password: SecretStr | None = Field(default=None, validation_alias="MICROSOFT_APP_PASSWORD")
    app_tenant_id: str = Field(default="", validation_alias="MICROSOFT_APP_TENANT_ID")
    app_type: AppType = Field(default=AppType.MULTI_TENANT, validation_alias="MICROSOFT_APP_TYPE")
    app_name: str = Field(default="Momentum", min_length=1, max_length=30, validation_alias="TEAMS_APP_NAME")
    # The manifest's own id (a GUID); defaults to the bot's app id, as Teams' samples do.
    manifest_id: str = Field(default="", validation_alias="TEAMS_MANIFEST_ID")
    developer_name: str = Field(default="Momentum", validation_alias="TEAMS_DEVELOPER_NAME")
    website_url: str = Field(default="https://example.com/momentum", validation_alias="TEAMS_WEBSITE_URL")
    privacy_url: str = Field(default="https://example.com/momentum/privacy", validation_alias="TEAMS_PRIVACY_URL")
    terms_url: str = Field(default="https://example.com/momentum/terms", validation_alias="TEAMS_TERMS_URL")
    # Teams' documented limits: 30 requests/s per app per tenant, 7 messages/s per conversation.
    # We pace a little under them so a weekly batch never meets a 429.
    rate_per_tenant: float = Field(default=29.0, gt=0, le=1000, validation_alias="TEAMS_RATE_PER_TENANT")
    rate_per_conversation: float = Field(default=6.0, gt=0, le=100, validation_alias="TEAMS_RATE_PER_CONVERSATION")
    max_retries: int = Field(default=5, ge=0, le=20, validation_alias="TEAMS_MAX_RETRIES")
    max_retry_wait_s: float = Field(default=30.0, ge=0, validation_alias="TEAMS_MAX_RETRY_WAIT")
    # Sovereign clouds / tests: where inbound tokens' signing keys are published.
    openid_metadata_url: str | None = Field(default=None, validation_alias="TEAMS_OPENID_METADATA_URL")

    @field_validator("app_type", mode="before")
    @classmethod
    def _app_type(cls, v: Any) -> Any:
        if isinstance(v, str):
            for t in AppType:
                if t.value.lower() == v.strip().lower():
                    return t
            raise ValueError("expected MultiTenant, SingleTenant or UserAssignedMSI")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> TeamsSettings:
        secret = self.app_password.get_secret_value() if self.app_password else ""
        if self.app_type is AppType.USER_ASSIGNED_MSI:
            if not self.app_id:
                raise _named("MICROSOFT_APP_ID", "required when MICROSOFT_APP_TYPE=UserAssignedMSI")
            if not self.app_tenant_id:
                raise _named("MICROSOFT_APP_TENANT_ID", "required when MICROSOFT_APP_TYPE=UserAssignedMSI")
            return self
        if self.app_type is AppType.SINGLE_TENANT:
            if not self.app_id:
                raise _named("MICROSOFT_APP_ID", "required when MICROSOFT_APP_TYPE=SingleTenant")
            if not self.app_tenant_id:
                raise _named(
                    "MICROSOFT_APP_TENANT_ID",
                    "required when MICROSOFT_APP_TYPE=SingleTenant (your Entra tenant id)",
                )
        if self.app_id and not secret:
            raise _named("MICROSOFT_APP_PASSWORD", "required when MICROSOFT_APP_ID is set (the client secret)")
        if secret and not self.app_id:
            raise _named("MICROSOFT_APP_ID", "required when MICROSOFT_APP_PASSWORD is set")
        return self

    @property
    def dev_mode(self) -> bool:
        """No app id: local development (Bot Framework Emulator), inbound auth is off."""
        return not self.app_id


class _NamedError(ValueError):
    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable}: {message}")
        self.variable = variable


def _named(variable: str, message: str) -> _NamedError:
    return _NamedError(variable, message)


def load_teams_settings(**overrides: Any) -> TeamsSettings:
    """Read and validate the Teams settings; raise ``ConfigError`` naming each bad variable."""
    try:
        return TeamsSettings(**overrides)
    except ValidationError as exc:
        named = [
            str(e.get("ctx", {}).get("error", "")) for e in exc.errors() if e["type"] == "value_error" and not e["loc"]
        ]
        if named:
            raise ConfigError("Invalid Teams configuration:\n  " + "\n  ".join(named)) from None
        raise ConfigError(
            str(explain(exc, TeamsSettings)).replace("Invalid configuration", "Invalid Teams configuration")
        ) from None
