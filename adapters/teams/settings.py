"""Teams settings from environment variables (pydantic-settings), validated with named errors.

``TeamsPackageSettings`` is what the app package needs (app id, names, links: never a credential);
``TeamsSettings`` adds the bot's credentials and sending limits for ``momentum serve``.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.model.config import ConfigError, explain

_LOGGER = logging.getLogger(__name__)


class AppType(StrEnum):
    """How the Azure Bot registration identifies the bot (Azure Bot resource: "Type of App").

    Azure stopped accepting new multi-tenant bot registrations on 31 July 2025: new installs are
    SingleTenant (an Entra app registration in your tenant) or UserAssignedMSI (a user-assigned
    managed identity); MultiTenant remains for registrations made before that date.
    """

    SINGLE_TENANT = "SingleTenant"
    USER_ASSIGNED_MSI = "UserAssignedMSI"
    MULTI_TENANT = "MultiTenant"


class TeamsPackageSettings(BaseSettings):
    """What the Teams app package needs: the bot's app id (optional locally), names and links."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    app_id: str = Field(default="", validation_alias="MICROSOFT_APP_ID")
    app_name: str = Field(default="Momentum", min_length=1, max_length=30, validation_alias="TEAMS_APP_NAME")
    # The manifest's own id (a GUID); defaults to the bot's app id, as Teams' samples do.
    manifest_id: str = Field(default="", validation_alias="TEAMS_MANIFEST_ID")
    developer_name: str = Field(default="Momentum", validation_alias="TEAMS_DEVELOPER_NAME")
    website_url: str = Field(default="https://example.com/momentum", validation_alias="TEAMS_WEBSITE_URL")
    privacy_url: str = Field(default="https://example.com/momentum/privacy", validation_alias="TEAMS_PRIVACY_URL")
    terms_url: str = Field(default="https://example.com/momentum/terms", validation_alias="TEAMS_TERMS_URL")

    @property
    def dev_mode(self) -> bool:
        """No app id: local development (Bot Framework Emulator), inbound auth is off."""
        return not self.app_id


class TeamsSettings(TeamsPackageSettings):
    """What the Teams endpoint needs. No ``MICROSOFT_APP_ID`` means local development mode (no auth)."""

    app_password: SecretStr | None = Field(default=None, validation_alias="MICROSOFT_APP_PASSWORD")
    app_tenant_id: str = Field(default="", validation_alias="MICROSOFT_APP_TENANT_ID")
    app_type: AppType = Field(default=AppType.SINGLE_TENANT, validation_alias="MICROSOFT_APP_TYPE")
    # Federated credential instead of a client secret: the client id of a user-assigned managed
    # identity that the bot's app registration trusts (Certificates & secrets > Federated credentials).
    federated_client_id: str = Field(default="", validation_alias="MICROSOFT_APP_FEDERATED_CLIENT_ID")
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
            raise ValueError("expected SingleTenant, UserAssignedMSI or MultiTenant")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> TeamsSettings:
        problems = self._problems()
        if problems:
            raise _NamedError(problems)
        return self

    def _problems(self) -> list[str]:
        secret = self.app_password.get_secret_value() if self.app_password else ""
        explicit_type = "app_type" in self.model_fields_set
        problems: list[str] = []
        if not self.app_id:
            if secret:
                problems.append("MICROSOFT_APP_ID: required when MICROSOFT_APP_PASSWORD is set")
            elif self.federated_client_id:
                problems.append("MICROSOFT_APP_ID: required when MICROSOFT_APP_FEDERATED_CLIENT_ID is set")
            elif explicit_type:
                problems.append(f"MICROSOFT_APP_ID: required when MICROSOFT_APP_TYPE={self.app_type.value}")
            return problems  # otherwise: local development mode
        if self.app_type is AppType.USER_ASSIGNED_MSI:
            if not self.app_tenant_id:
                problems.append("MICROSOFT_APP_TENANT_ID: required when MICROSOFT_APP_TYPE=UserAssignedMSI")
            if secret:
                problems.append(
                    "MICROSOFT_APP_PASSWORD: not used with MICROSOFT_APP_TYPE=UserAssignedMSI (the managed identity "
                    "is the credential); remove it"
                )
            return problems
        if self.app_type is AppType.SINGLE_TENANT and not self.app_tenant_id:
            problems.append(
                "MICROSOFT_APP_TENANT_ID: required when MICROSOFT_APP_TYPE=SingleTenant (your Entra tenant id)"
            )
        if self.federated_client_id and not self.app_tenant_id:
            problems.append("MICROSOFT_APP_TENANT_ID: required with MICROSOFT_APP_FEDERATED_CLIENT_ID")
        if not secret and not self.federated_client_id:
            problems.append(
                "MICROSOFT_APP_PASSWORD: required when MICROSOFT_APP_ID is set (the client secret), unless "
                "MICROSOFT_APP_FEDERATED_CLIENT_ID names a federated credential"
            )
        if secret and self.federated_client_id:
            problems.append("MICROSOFT_APP_PASSWORD: set either it or MICROSOFT_APP_FEDERATED_CLIENT_ID, not both")
        return problems


class _NamedError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n  ".join(problems))
        self.problems = problems


def _load(cls: type[TeamsPackageSettings], **overrides: Any) -> Any:
    try:
        return cls(**overrides)
    except ValidationError as exc:
        named = [
            str(e.get("ctx", {}).get("error", "")) for e in exc.errors() if e["type"] == "value_error" and not e["loc"]
        ]
        if named:
            raise ConfigError("Invalid Teams configuration:\n  " + "\n  ".join(named)) from None
        raise ConfigError(
            str(explain(exc, cls)).replace("Invalid configuration", "Invalid Teams configuration")
        ) from None


def load_teams_settings(**overrides: Any) -> TeamsSettings:
    """Read and validate the Teams settings; raise ``ConfigError`` naming each bad variable."""
    settings: TeamsSettings = _load(TeamsSettings, **overrides)
    return settings


def load_package_settings(**overrides: Any) -> TeamsPackageSettings:
    """Read the settings the app package needs (no credential is read or required)."""
    settings: TeamsPackageSettings = _load(TeamsPackageSettings, **overrides)
    return settings
