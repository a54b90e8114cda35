"""Bot Framework authentication on the Microsoft 365 Agents SDK: inbound token checks, outbound credentials.

Inbound: every activity carries a JWT signed by the Bot Framework (issuer ``https://api.botframework.com``,
audience = our app id, a ``serviceurl`` claim).  The SDK's ``JwtTokenValidator`` checks signature,
audience and (opted in here) issuer; we add the Bot Framework rule that the token's ``serviceurl``
equals the activity's ``serviceUrl`` (a token minted for one service must not route replies to another).
``TEAMS_OPENID_METADATA_URL`` points key discovery elsewhere (sovereign clouds, the loopback tests).

Outbound: one MSAL connection (``SERVICE_CONNECTION``) built from the settings: a client secret, a
federated credential (a user-assigned managed identity trusted by the app registration) or the bot's
own user-assigned managed identity.  Local development mode (no app id) is anonymous both ways.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import urllib.request
from typing import Any

from jwt import PyJWK, PyJWKClient
from microsoft_agents.authentication.msal import MsalConnectionManager
from microsoft_agents.hosting.core import (
    AgentAuthConfiguration,
    AuthenticationConstants,
    ClaimsIdentity,
    JwtTokenValidator,
)
from microsoft_agents.hosting.core.authorization import AuthTypes

from adapters.teams.settings import AppType, TeamsSettings

_LOGGER = logging.getLogger(__name__)

BOT_FRAMEWORK_ISSUER = AuthenticationConstants.AGENTS_SDK_TOKEN_ISSUER


class AuthError(Exception):
    """The request's token was missing or refused (answer 401, do nothing)."""


def auth_configuration(settings: TeamsSettings) -> AgentAuthConfiguration:
    """The SDK connection settings for our Azure Bot registration."""
    if settings.dev_mode:
        return AgentAuthConfiguration(anonymous_allowed=True)
    tenant = settings.app_tenant_id or None
    if settings.app_type is AppType.USER_ASSIGNED_MSI:
        auth_type = AuthTypes.user_managed_identity
    elif settings.federated_client_id:
        auth_type = AuthTypes.federated_credentials
    else:
        auth_type = AuthTypes.client_secret
    return AgentAuthConfiguration(
        auth_type=auth_type,
        client_id=settings.app_id,
        # MultiTenant registrations get tokens from the "botframework.com" tenant, as before.
        tenant_id=tenant if settings.app_type is not AppType.MULTI_TENANT else (tenant or "botframework.com"),
        client_secret=settings.app_password.get_secret_value() if settings.app_password else None,
        federated_client_id=settings.federated_client_id or None,
        anonymous_allowed=False,
        validate_issuer=True,
    )


def connection_manager(settings: TeamsSettings) -> MsalConnectionManager:
    return MsalConnectionManager(connections_configurations={"SERVICE_CONNECTION": auth_configuration(settings)})


class _MetadataKeys:
    """Signing keys from an OpenID metadata document (its ``jwks_uri``), fetched off the event loop."""

    def __init__(self, metadata_url: str) -> None:
        self.metadata_url = metadata_url
        self._client: PyJWKClient | None = None
        self._lock = threading.Lock()

    def _key(self, kid: str) -> PyJWK:
        with self._lock:
            if self._client is None:
                with urllib.request.urlopen(self.metadata_url, timeout=10) as r:
                    jwks_uri = json.loads(r.read())["jwks_uri"]
                self._client = PyJWKClient(jwks_uri)
            return self._client.get_signing_key(kid)

    async def get_signing_key(self, jwks_uri: str, header: dict[str, Any]) -> PyJWK:
        return await asyncio.to_thread(self._key, str(header.get("kid", "")))


class InboundAuth:
    """Decides whether a request may start a turn; returns the claims the SDK adapter runs it with."""

    def __init__(self, settings: TeamsSettings) -> None:
        self.settings = settings
        self.config = auth_configuration(settings)
        self.validator = JwtTokenValidator(self.config)
        if settings.openid_metadata_url and not settings.dev_mode:
            # The SDK looks keys up per issuer at Microsoft's endpoints; an override (sovereign cloud,
            # tests) replaces that lookup for this validator only.
            self.validator._jwk_client_manager = _MetadataKeys(settings.openid_metadata_url)  # type: ignore[assignment]

    async def authenticate(self, authorization: str | None) -> ClaimsIdentity:
        """The token's claims (signature, audience, issuer, lifetime checked), before the body is read."""
        if self.settings.dev_mode:
            return ClaimsIdentity()  # anonymous: replies go to serviceUrl without a token
        parts = (authorization or "").split()
        if len(parts) != 2 or parts[0].lower() != "bearer":
            raise AuthError("missing Bot Framework token")
        try:
            return await self.validator.validate_token(parts[1])
        except Exception as exc:  # PyJWT errors, ValueError (audience/issuer), key look-up failures
            # PyJWT's and the SDK's messages name the check that failed ("Invalid audience."), never the token.
            raise AuthError(f"{type(exc).__name__}: {str(exc)[:60]}".rstrip(": ")) from None

    def check_service_url(self, claims: ClaimsIdentity, service_url: str) -> None:
        """The Bot Framework rule: a token minted for one service must not route replies to another."""
        if self.settings.dev_mode:
            return
        claimed = str(claims.get_claim_value(AuthenticationConstants.SERVICE_URL_CLAIM) or "")
        if claimed.rstrip("/").lower() != service_url.rstrip("/").lower():
            raise AuthError("serviceurl claim does not match the activity")
