"""``SlackPlatform``: the core's ``Platform`` port over the Slack Web API (DMs, group DMs, files)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import aiohttp

from adapters.slack.api import SlackApi
from adapters.slack.charts import has_chart
from adapters.slack.render import render_message
from bot.model.interactions import Profile
from bot.model.messages import Attachment, Message
from bot.model.ports import Delivered, PlatformError, Recipient, WorkspaceRef

_LOGGER = logging.getLogger(__name__)

HANDFUL = 10  # more unknown emails than this: read the member list instead of asking one by one
LIST_PAGE = 200  # users.list: "we recommend no more than 200 results at a time" (Slack's docs)
DIRECTORY_TTL_S = 300.0  # an email -> person map read from users.list is reused this long
SLACKBOT = "USLACKBOT"


def profile_from_user(user: Mapping[str, Any]) -> Profile:
    """A users.info / user_change ``user`` object -> Profile."""
    prof = user.get("profile") or {}
    name = prof.get("display_name") or prof.get("real_name") or user.get("real_name") or user.get("name") or None
    is_admin = None
    if "is_admin" in user or "is_owner" in user:
        is_admin = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
    return Profile(
        external_id=str(user.get("id", "")),
        name=name,
        given_name=prof.get("first_name") or None,
        email=prof.get("email") or None,
        tz=user.get("tz") or None,
        locale=user.get("locale") or None,
        is_admin=is_admin,
        deleted=bool(user.get("deleted", False)),
    )


class SlackPlatform:
    """Implements ``bot.model.ports.Platform`` for Slack."""

    name = "slack"

    def __init__(self, api: SlackApi, *, profile_ttl_s: float = 3600) -> None:
        self.api = api
        self.profile_ttl_s = profile_ttl_s
        self._profiles: dict[tuple[str, str], tuple[float, Profile]] = {}
        self._dm_channels: dict[tuple[str, str], str] = {}
        self._opening: dict[tuple[str, str], asyncio.Future[str]] = {}
        self.directory_ttl_s = DIRECTORY_TTL_S
        self._directories: dict[str, tuple[float, dict[str, Profile]]] = {}
        self._reading: dict[str, asyncio.Future[dict[str, Profile]]] = {}

    # --- conversations --------------------------------------------------------------------------

    async def open_dm(self, team: str, users: Sequence[str]) -> str:
        key = (team, ",".join(sorted(users)))
        cached = self._dm_channels.get(key)
        if cached:
            return cached
        pending = self._opening.get(key)
        if pending is not None:  # someone is opening this DM right now: share their answer
            return await asyncio.shield(pending)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._opening[key] = future
        try:
            data = await self.api.call(team, "conversations.open", json={"users": ",".join(users)})
            channel = str((data.get("channel") or {}).get("id", ""))
            if not channel:
                raise PlatformError("channel_not_found", retryable=True)
            self._dm_channels[key] = channel
            future.set_result(channel)
            return channel
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waited
            raise
        finally:
            self._opening.pop(key, None)

    async def post(self, team: str, channel: str, message: Message, *, thread_ts: str | None = None) -> dict[str, Any]:
        extra = {"thread_ts": thread_ts} if thread_ts else {}

        async def call(charts: bool) -> dict[str, Any]:
            payload = render_message(message, charts=charts)
            return await self.api.call(  # type: ignore[no-any-return]
                team,
                "chat.postMessage",
                json={"channel": channel, **payload, **extra, "unfurl_links": False, "unfurl_media": False},
            )

        try:
            data = await call(True)
        except PlatformError as exc:
            # A workspace that cannot show Slack's chart block yet: the same message, charts as text.
            if exc.reason != "invalid_blocks" or not has_chart(message):
                raise
            data = await call(False)
        return {"channel": str(data.get("channel", channel)), "ts": str(data.get("ts", ""))}

    async def send(self, workspace: WorkspaceRef, to: Recipient, message: Message) -> Delivered:
        team = workspace.external_id
        known = str((to.address or {}).get("channel", "") or "")
        channel = known or await self.open_dm(team, [to.external_id])
        try:
            ref = await self.post(team, channel, message)
        except PlatformError as exc:
            if not (known and exc.reason == "channel_not_found"):
                raise
            # The stored DM channel went stale: open the DM again once.
            self._dm_channels.pop((team, to.external_id), None)
            channel = await self.open_dm(team, [to.external_id])
            ref = await self.post(team, channel, message)
            known = ""
        addresses = {} if known == channel else {to.person_id: {"channel": channel}}
        return Delivered(ref=ref, addresses=addresses)

    async def send_group(self, workspace: WorkspaceRef, to: Sequence[Recipient], message: Message) -> Delivered:
        team = workspace.external_id
        channel = await self.open_dm(team, [r.external_id for r in to])
        return Delivered(ref=await self.post(team, channel, message))

    async def update(self, workspace: WorkspaceRef, ref: Mapping[str, Any], message: Message) -> None:
        await self.update_message(workspace.external_id, str(ref["channel"]), str(ref["ts"]), message)

    async def update_message(self, team: str, channel: str, ts: str, message: Message) -> None:
        payload = render_message(message)
        await self.api.call(team, "chat.update", json={"channel": channel, "ts": ts, **payload})

    # --- people ---------------------------------------------------------------------------------

    def cached_profile(self, team: str, user: str) -> Profile | None:
        hit = self._profiles.get((team, user))
        if hit is None or time.monotonic() - hit[0] > self.profile_ttl_s:
            return None
        return hit[1]

    def remember_profile(self, team: str, profile: Profile) -> None:
        self._profiles[(team, profile.external_id)] = (time.monotonic(), profile)

    async def user_profile(self, team: str, user: str) -> Profile | None:
        cached = self.cached_profile(team, user)
        if cached is not None:
            return cached
        try:
            data = await self.api.call(
                team, "users.info", params={"user": user, "include_locale": "true"}, http_verb="GET"
            )
        except PlatformError as exc:
            if exc.reason in {"user_not_found", "users_not_found"}:
                return None
            raise
        prof = profile_from_user(data.get("user") or {})
        self.remember_profile(team, prof)
        return prof

    async def profile(self, workspace: WorkspaceRef, external_id: str) -> Profile | None:
        return await self.user_profile(workspace.external_id, external_id)

    async def lookup_email(self, workspace: WorkspaceRef, email: str) -> Profile | None:
        try:
            data = await self.api.call(
                workspace.external_id, "users.lookupByEmail", params={"email": email}, http_verb="GET"
            )
        except PlatformError as exc:
            if exc.reason in {"users_not_found", "user_not_found"}:
                return None
            raise
        prof = profile_from_user(data.get("user") or {})
        self.remember_profile(workspace.external_id, prof)
        return prof

    async def lookup_emails(self, workspace: WorkspaceRef, emails: Collection[str]) -> dict[str, Profile | None]:
        """Many emails at once (a CSV import). A handful are asked with users.lookupByEmail (Tier 3);
        more are answered from the workspace's member list, read with users.list pages (Tier 2,
        200 a page) and kept for ``directory_ttl_s``. Emails missing from a kept list (someone may
        have joined since) are asked one by one when they are a handful, else the list is read
        again; a handful missing from a fresh list are still asked one by one (stragglers)."""
        team = workspace.external_id
        wanted = sorted({e.strip().lower() for e in emails if e.strip()})
        if len(wanted) <= HANDFUL:
            return await self._one_by_one(workspace, wanted)
        members, fresh = await self.email_directory(team)
        missing = [e for e in wanted if e not in members]
        if missing and not fresh and len(missing) > HANDFUL:
            members, fresh = await self.email_directory(team, refresh=True)
            missing = [e for e in wanted if e not in members]
        out: dict[str, Profile | None] = {e: members.get(e) for e in wanted}
        if missing and len(missing) <= HANDFUL:
            out.update(await self._one_by_one(workspace, missing))
        return out

    async def _one_by_one(self, workspace: WorkspaceRef, emails: Sequence[str]) -> dict[str, Profile | None]:
        async def one(email: str) -> Profile | None:
            try:
                return await self.lookup_email(workspace, email)
            except PlatformError as exc:
                _LOGGER.info("slack email look-up failed: %s", exc.reason)
                return None

        return dict(zip(emails, await asyncio.gather(*(one(e) for e in emails)), strict=True))

    async def email_directory(self, team: str, *, refresh: bool = False) -> tuple[dict[str, Profile], bool]:
        """The workspace's people by email (lower-cased) and whether it was read just now. One read
        at a time per workspace: a second import meanwhile waits for the same answer."""
        kept = self._directories.get(team)
        if kept is not None and not refresh and time.monotonic() - kept[0] <= self.directory_ttl_s:
            return kept[1], False
        pending = self._reading.get(team)
        if pending is not None:
            return await asyncio.shield(pending), True
        future: asyncio.Future[dict[str, Profile]] = asyncio.get_running_loop().create_future()
        self._reading[team] = future
        try:
            members = await self._read_members(team)
            self._directories[team] = (time.monotonic(), members)
            future.set_result(members)
            return members, True
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waited
            raise
        finally:
            self._reading.pop(team, None)

    async def _read_members(self, team: str) -> dict[str, Profile]:
        """Every page of users.list (cursor pagination). People only: bots, Slackbot and members
        without an email are left out; a deactivated account yields to an active one with the
        same email (addresses are reused)."""
        members: dict[str, Profile] = {}
        cursor, pages = "", 0
        while True:
            params: dict[str, Any] = {"limit": LIST_PAGE}
            if cursor:
                params["cursor"] = cursor
            data = await self.api.call(team, "users.list", params=params, http_verb="GET")
            pages += 1
            for user in data.get("members") or ():
                if not isinstance(user, dict) or user.get("is_bot") or user.get("id") == SLACKBOT:
                    continue
                prof = profile_from_user(user)
                if not prof.email or not prof.external_id:
                    continue
                email = prof.email.strip().lower()
                held = members.get(email)
                if held is None or (held.deleted and not prof.deleted):
                    members[email] = prof
                if not prof.deleted:
                    self.remember_profile(team, prof)
            cursor = str(((data.get("response_metadata") or {}).get("next_cursor")) or "")
            if not cursor:
                break
        _LOGGER.info("slack member list read: %d page(s), %d people with an email", pages, len(members))
        return members

    # --- files ----------------------------------------------------------------------------------

    async def upload(self, team: str, channel: str, attachment: Attachment) -> None:
        """Slack's files_upload_v2 flow: getUploadURLExternal -> POST bytes -> completeUploadExternal."""
        content = attachment.content.encode("utf-8")
        data = await self.api.call(
            team,
            "files.getUploadURLExternal",
            params={"filename": attachment.filename, "length": len(content)},
        )
        upload_url, file_id = str(data.get("upload_url", "")), str(data.get("file_id", ""))
        if not upload_url or not file_id:
            raise PlatformError("upload_url_missing", retryable=True)
        try:
            async with self.api.session().post(
                upload_url, data=content, headers={"Content-Type": attachment.mime}
            ) as resp:
                if resp.status >= 300:
                    raise PlatformError(f"upload_http_{resp.status}", retryable=resp.status >= 500)
        except aiohttp.ClientError as exc:
            raise PlatformError(type(exc).__name__, retryable=True) from None
        files = [{"id": file_id, "title": attachment.title or attachment.filename}]
        await self.api.call(
            team,
            "files.completeUploadExternal",
            params={"files": json.dumps(files), "channel_id": channel},
        )

    def forget_team(self, team: str) -> None:
        for key in [k for k in self._profiles if k[0] == team]:
            self._profiles.pop(key, None)
        for key in [k for k in self._dm_channels if k[0] == team]:
            self._dm_channels.pop(key, None)
        self._directories.pop(team, None)
        self.api.forget_team(team)
