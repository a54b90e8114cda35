"""OAuth installs in our database: slack_sdk's SQLAlchemy stores, with bot/user tokens encrypted at rest.

The tables (``slack_installations``, ``slack_bots``, ``slack_oauth_states``) come from the
Alembic migration ``0002_slack``; tokens are Fernet-encrypted with ``MOMENTUM_SECRET_KEY``
(``momentum.box``) before they reach SQL and decrypted when Bolt reads them.  Async
wrappers run the synchronous stores in a thread so the event loop never blocks on SQL.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.error import BoltError
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy.engine import Engine

from storage.crypto import SecretBox

_LOGGER = logging.getLogger(__name__)

PREFIX = "enc:"
TOKEN_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")


class OrgInstallRefused(BoltError):
    """An Enterprise Grid organization-wide install: Momentum keys installs by workspace, so it refuses
    them (Bolt shows the failure page, ``SlackRuntime._install_failed`` says why and what to do)."""

    def __init__(self, enterprise_id: str | None) -> None:
        super().__init__("organization-wide installs are not supported; install per workspace")
        self.enterprise_id = enterprise_id


class EncryptedInstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy installation store; token columns hold ``enc:<fernet>``."""

    def __init__(self, client_id: str, engine: Engine, box: SecretBox) -> None:
        super().__init__(client_id=client_id, engine=engine, logger=_LOGGER)
        self.box = box

    def _enc(self, value: str | None) -> str | None:
        if not value or value.startswith(PREFIX):
            return value
        return PREFIX + self.box.encrypt_text(value)

    def _dec(self, value: str | None) -> str | None:
        if not value or not value.startswith(PREFIX):
            return value
        return self.box.decrypt_text(value[len(PREFIX) :])

    def _sealed(self, obj: Any) -> Any:
        out = copy.copy(obj)
        for name in TOKEN_FIELDS:
            if hasattr(out, name):
                setattr(out, name, self._enc(getattr(out, name)))
        return out

    def _opened(self, obj: Any) -> Any:
        if obj is None:
            return None
        for name in TOKEN_FIELDS:
            if hasattr(obj, name):
                setattr(obj, name, self._dec(getattr(obj, name)))
        return obj

    def save(self, installation: Installation) -> None:  # type: ignore[override]
        super().save(self._sealed(installation))  # save_bot gets the sealed copy's bot: no double seal

    def save_bot(self, bot: Bot) -> None:  # type: ignore[override]
        super().save_bot(self._sealed(bot))

    def find_bot(self, **kwargs: Any) -> Bot | None:  # type: ignore[override]
        return self._opened(super().find_bot(**kwargs))

    def find_installation(self, **kwargs: Any) -> Installation | None:  # type: ignore[override]
        return self._opened(super().find_installation(**kwargs))


class AsyncEncryptedInstallationStore(AsyncInstallationStore):
    """The async face Bolt's ``AsyncApp`` needs, over the encrypted synchronous store."""

    def __init__(
        self,
        store: EncryptedInstallationStore,
        on_saved: Callable[[Installation], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.on_saved = on_saved

    @property
    def logger(self) -> logging.Logger:
        return _LOGGER

    async def async_save(self, installation: Installation) -> None:
        if installation.is_enterprise_install:
            raise OrgInstallRefused(installation.enterprise_id)  # nothing is stored
        await asyncio.to_thread(self.store.save, installation)
        if self.on_saved is not None:
            await self.on_saved(installation)

    async def async_save_bot(self, bot: Bot) -> None:
        if bot.is_enterprise_install:
            raise OrgInstallRefused(bot.enterprise_id)
        await asyncio.to_thread(self.store.save_bot, bot)

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        return await asyncio.to_thread(
            self.store.find_bot,
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        return await asyncio.to_thread(
            self.store.find_installation,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(self.store.delete_bot, enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await asyncio.to_thread(
            self.store.delete_installation, enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)


class AsyncStateStore(AsyncOAuthStateStore):
    """slack_sdk's SQLAlchemy OAuth state store (table ``slack_oauth_states``), async."""

    def __init__(self, engine: Engine, expiration_seconds: int = 600) -> None:
        self.store = SQLAlchemyOAuthStateStore(expiration_seconds=expiration_seconds, engine=engine, logger=_LOGGER)

    @property
    def logger(self) -> logging.Logger:
        return _LOGGER

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await asyncio.to_thread(self.store.issue)

    async def async_consume(self, state: str) -> bool:
        return await asyncio.to_thread(self.store.consume, state)
