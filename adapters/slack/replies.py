"""What Slack shows for a core ``Response``: replies (response_url, or the DM), the clicked message
replaced (response_url first, chat.update as the fallback), modals, files, App Home."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from adapters.slack.api import SlackApi
from adapters.slack.platform import SlackPlatform
from adapters.slack.render import render_form, render_home, render_message
from bot.app import Momentum
from bot.model.interactions import Profile, Response
from bot.model.messages import Message, para
from bot.model.ports import PlatformError
from bot.outbox.faults import watch_for

_LOGGER = logging.getLogger(__name__)

RESPONSE_URL_TIMEOUT_S = 5.0
WORDS: dict[str, Any] = yaml.safe_load((Path(__file__).with_name("words.yml")).read_text(encoding="utf-8"))
FILE_ACK = Message(text=WORDS["file_ack"], blocks=(para(WORDS["file_ack"]),))
SORRY = Message(text=WORDS["sorry"], blocks=(para(WORDS["sorry"]),))


@dataclass(frozen=True)
class Posted:
    status_code: int


async def refresh_best_effort(momentum: Momentum, team: str, profile: Profile) -> None:
    """Refresh a person's stored profile; while the database's writes are failing (disk full,
    read-only) skip it, so what only reads (App Home) still answers."""
    try:
        await momentum.upsert_person("slack", team, profile)
    except Exception as exc:
        fault = watch_for(momentum.db).failed(exc)
        if fault is None or not fault.writes_only:
            raise


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



class Replies:
    """Mixed into ``SlackRuntime`` (which holds the state): rendering answers in Slack terms."""

    momentum: Momentum
    api: SlackApi
    platform: SlackPlatform

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

    async def publish_home(self, team: str, user: str) -> None:
        profile = await self.profile(team, user)
        if profile is not None:
            await refresh_best_effort(self.momentum, team, profile)
        # read and rendered on the database executor: slack_sdk validates every block (milliseconds of CPU)
        view = await self.momentum.home_view("slack", team, user, render_home)
        await self.api.call(team, "views.publish", json={"user_id": user, "view": view})
