"""``TeamsPlatform``: the core's ``Platform`` port for Microsoft Teams (proactive sends, updates, pacing).

Sends go through the Agents SDK's ``CloudAdapter`` (``continue_conversation`` with a stored conversation
reference, or ``create_conversation`` for a 1:1 chat when we only know the person from a team roster).
Teams' documented limits (30 requests/s per app per tenant, 7 messages/s per conversation) are
respected by pacing every outbound call per tenant and per conversation; 429/412/502/504 and
connection errors are retried with backoff honouring Retry-After, then reported as ``PlatformError``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from microsoft_agents.activity import (
    Activity,
    ChannelAccount,
    ConversationParameters,
    ConversationReference,
)
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import AuthenticationConstants, ConnectorClientBase, TurnContext
from pydantic import ValidationError

from adapters.http import retry_after_of
from adapters.teams import render
from adapters.teams.settings import TeamsSettings
from adapters.teams.words import t
from bot.model.interactions import Profile
from bot.model.messages import Message
from bot.model.ports import Delivered, FailureScope, PlatformError, Recipient, WorkspaceRef

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")
TEAMS_CHANNEL = "msteams"
# Teams answers these when a person can no longer be reached by the bot.
PERSON_GONE_CODES = frozenset(
    {
        "ConversationBlockedByUser",
        "MessageWritesBlocked",
        "BotDisabledByAdmin",
        "BotNotInConversationRoster",
        "ConversationNotFound",
        "UserNotFound",
        "MemberNotFoundInConversation",
    }
)
TRANSIENT_STATUSES = frozenset({408, 412, 429, 500, 502, 503, 504})
# The SDK's models of the connector's answers: one that fails to validate is a body the connector did
# not send (an edge's page with a 2xx), not a mistake of ours.
ANSWER_MODELS = frozenset({"ResourceResponse", "ConversationResourceResponse", "TeamsPagedMembersResult",
                           "TeamsChannelAccount", "ChannelAccount", "ConversationsResult", "PagedMembersResult"})


class Pacer:
    """Spaces calls per key (tenant, conversation) and pauses a key after a 429 (Retry-After).

    Two rules: calls are reserved 1/rate seconds apart (smooth, no burst), and at most
    ``floor(rate) - 1`` calls leave in any sliding one-second window, measured when each call
    actually leaves (a busy event loop can wake several sleepers at once; the window catches that,
    and the one call of headroom absorbs network jitter between us and the server's own window).
    """

    def __init__(
        self,
        rate: float,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = 1.0 / rate
        self.per_window = max(1, int(rate) - 1)
        self._next: dict[str, float] = {}
        self._sent: dict[str, deque[float]] = {}
        self._sleep = sleep
        self._monotonic = monotonic

    async def wait(self, key: str) -> None:
        now = self._monotonic()
        slot = max(now, self._next.get(key, now))
        self._next[key] = slot + self.interval  # reserve before sleeping: concurrent callers queue up
        if slot > now:
            await self._sleep(slot - now)
        sent = self._sent.setdefault(key, deque())
        while True:
            now = self._monotonic()
            while sent and sent[0] <= now - 1.0:
                sent.popleft()
            if len(sent) < self.per_window:
                sent.append(now)
                return
            await self._sleep(sent[0] + 1.0 - now + 0.001)

    def pause(self, key: str, seconds: float) -> None:
        """Nobody calls for ``key`` before ``seconds`` from now (the server asked us to back off)."""
        until = self._monotonic() + seconds
        if self._next.get(key, 0.0) < until:
            self._next[key] = until


@dataclass(frozen=True)
class CallFailure:
    status: int | None
    code: str
    retry_after: float | None


def describe_failure(exc: BaseException) -> CallFailure | None:
    """Status, Teams error code and Retry-After of a failed connector call (None: not a call failure).

    The SDK's connector raises ``aiohttp.ClientResponseError`` carrying the status, the response
    headers and (for sends and updates) the body, whose ``error.code`` names Teams' reason. Any body
    will do: an edge's text or HTML page has no code, and its status and Retry-After still count.
    """
    if isinstance(exc, aiohttp.ClientResponseError):
        status = exc.status
        return CallFailure(status, _error_code(exc.message) or f"http_{status}", retry_after_of(exc.headers))
    if isinstance(exc, json.JSONDecodeError) or (isinstance(exc, ValidationError) and exc.title in ANSWER_MODELS):
        # A 2xx whose body is not the connector's JSON (an edge's page): nothing says it was delivered.
        return CallFailure(None, "unreadable_response", None)
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | ConnectionError):
        return CallFailure(None, "connection_error", None)
    return None


def _error_code(body: str | None) -> str:
    """``error.code`` of a connector error body (``{"error": {"code": ..., "message": ...}}``)."""
    if not body or not body.lstrip().startswith("{"):
        return ""
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    error = data.get("error") if isinstance(data, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return str(code) if code else ""


def to_platform_error(failure: CallFailure) -> PlatformError:
    status, code = failure.status, failure.code
    if status is None or status in TRANSIENT_STATUSES:
        return PlatformError(code, retryable=True, retry_after=failure.retry_after)
    if code in PERSON_GONE_CODES or status in (403, 404):
        return PlatformError(code, retryable=False, scope=FailureScope.PERSON)
    if status == 401:
        # Our credentials were refused: nothing for this tenant will work until an admin fixes it.
        return PlatformError(code, retryable=False, scope=FailureScope.WORKSPACE)
    return PlatformError(code, retryable=False, scope=FailureScope.MESSAGE)


def reference_dict(reference: ConversationReference) -> dict[str, Any]:
    """A conversation reference as the dict we store; without ``activityId`` so that proactive
    messages start a new message instead of replying to whatever the person last wrote."""
    out = reference.model_dump(by_alias=True, exclude_none=True, mode="json")
    out.pop("activityId", None)
    return out


def reference_of(activity: Activity) -> ConversationReference:
    return activity.get_conversation_reference()


def load_reference(address: Mapping[str, Any]) -> ConversationReference:
    """A stored address (the dict ``reference_dict`` made) as the SDK's ``ConversationReference``."""
    data = _without_none({k: v for k, v in address.items() if k != "activityId"})
    try:
        return ConversationReference.model_validate(data)
    except ValidationError:
        raise PlatformError("bad_address", retryable=False, scope=FailureScope.PERSON) from None


def _without_none(value: Any) -> Any:
    """Stored addresses keep ``None`` for what Teams did not say (a name); the SDK's models want it absent."""
    if isinstance(value, Mapping):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    return value


def channel_account(data: Mapping[str, Any]) -> ChannelAccount:
    """An SDK channel account from a stored ``{"id", "name", "aadObjectId"}`` (absent fields left unset)."""
    return ChannelAccount.model_validate({k: v for k, v in data.items() if v is not None})


def card_activity(payload: Mapping[str, Any], activity_id: str | None = None) -> Activity:
    """Our activity dict (``render.activity_for_card``) as an SDK ``Activity``."""
    data = dict(payload)
    if activity_id:
        data["id"] = activity_id
    return Activity.model_validate(data)


class TeamsPlatform:
    """The Teams implementation of ``bot.model.ports.Platform``."""

    name = "teams"
    # Teams bots cannot create group chats (Graph can, with delegated permissions we do not ask for),
    # so a "pair" message goes to each person's 1:1 chat and says so.

    def __init__(
        self,
        adapter: CloudAdapter,
        settings: TeamsSettings,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.adapter = adapter
        self.settings = settings
        self.sleep = sleep
        self.tenant_pacer = Pacer(settings.rate_per_tenant, sleep=self._sleep, monotonic=monotonic)
        self.conversation_pacer = Pacer(settings.rate_per_conversation, sleep=self._sleep, monotonic=monotonic)
        self.calls = 0
        self.retries = 0

    async def _sleep(self, seconds: float) -> None:
        await self.sleep(seconds)

    # --- the port -----------------------------------------------------------------------------

    async def send(self, workspace: WorkspaceRef, to: Recipient, message: Message) -> Delivered:
        return await self._send_activity(workspace, to, render.message_activity(message))

    async def send_group(self, workspace: WorkspaceRef, to: Sequence[Recipient], message: Message) -> Delivered:
        """Teams bots cannot open a group chat: send to each person's 1:1 chat, saying so."""
        names = [r.name for r in to]
        note = Message(
            text=message.text,
            blocks=(*message.blocks, render_group_note(names)),
            kind=message.kind,
        )
        refs: list[dict[str, Any]] = []
        addresses: dict[int, Mapping[str, Any]] = {}
        failures: list[PlatformError] = []
        for r in to:
            try:
                d = await self._send_activity(workspace, r, render.message_activity(note))
            except PlatformError as exc:
                failures.append(exc)
                continue
            refs.append(dict(d.ref))
            addresses.update(d.addresses)
        if not refs:
            raise failures[0] if failures else PlatformError("no_recipients", retryable=False)
        if failures:
            _LOGGER.warning("teams group send reached %d of %d people", len(refs), len(to))
        return Delivered(ref={"group": refs}, addresses=addresses)

    async def update(self, workspace: WorkspaceRef, ref: Mapping[str, Any], message: Message) -> None:
        group = ref.get("group")
        refs: list[Mapping[str, Any]] = list(group) if isinstance(group, list) else [ref]
        for one in refs:
            await self._update_one(workspace, one, message)

    async def profile(self, workspace: WorkspaceRef, external_id: str) -> Profile | None:
        # Teams has no "read any user's profile" bot API without a conversation; the people we know
        # come from installs and rosters (adapters/teams/bot.py), which store name, email and address.
        return None

    async def lookup_email(self, workspace: WorkspaceRef, email: str) -> Profile | None:
        # Same reason: emails come from the team roster read at install (TeamsInfo.get_paged_members).
        return None

    async def lookup_emails(self, workspace: WorkspaceRef, emails: Collection[str]) -> dict[str, Profile | None]:
        """A CSV import on Teams uses the stored roster (the core finds stored people by email
        first): whoever is not stored is nobody we can reach, and nobody is asked one by one."""
        return dict.fromkeys(emails)

    # --- mechanics ----------------------------------------------------------------------------

    async def send_activity(self, workspace: WorkspaceRef, to: Recipient, activity: dict[str, Any]) -> Delivered:
        """Send a prepared activity to one person's 1:1 chat (creating the chat when needed)."""
        return await self._send_activity(workspace, to, activity)

    async def _send_activity(self, workspace: WorkspaceRef, to: Recipient, activity: dict[str, Any]) -> Delivered:
        address = dict(to.address or {})
        tenant = workspace.external_id
        conversation = address.get("conversation") or {}
        if conversation.get("id") and address.get("serviceUrl"):
            reference = load_reference(address)
            activity_id = await self._call(
                tenant, conversation["id"], lambda: self._continue_and_send(reference, activity)
            )
            return Delivered(ref=self._ref(address, activity_id))
        user = address.get("user") or {}
        if address.get("serviceUrl") and user.get("id"):
            new_address, activity_id = await self._call(
                tenant, f"new:{user['id']}", lambda: self._create_and_send(tenant, address, activity)
            )
            return Delivered(ref=self._ref(new_address, activity_id), addresses={to.person_id: new_address})
        raise PlatformError("no_conversation_reference", retryable=False, scope=FailureScope.PERSON)

    @staticmethod
    def _ref(address: Mapping[str, Any], activity_id: str) -> dict[str, Any]:
        return {"activity_id": activity_id, "reference": dict(address)}

    async def _update_one(self, workspace: WorkspaceRef, ref: Mapping[str, Any], message: Message) -> None:
        address = ref.get("reference") or {}
        activity_id = ref.get("activity_id")
        conversation = address.get("conversation") or {}
        if not activity_id or not conversation.get("id"):
            raise PlatformError("bad_message_ref", retryable=False)
        reference = load_reference(address)
        payload = render.message_activity(message)

        async def update(ctx: TurnContext) -> None:
            act = card_activity(payload, str(activity_id))
            act.conversation = ctx.activity.conversation
            await ctx.update_activity(act)

        await self._call(
            workspace.external_id,
            conversation["id"],
            lambda: self.adapter.continue_conversation(
                self.settings.app_id, reference.get_continuation_activity(), update
            ),
        )

    async def _continue_and_send(self, reference: ConversationReference, payload: dict[str, Any]) -> str:
        result: dict[str, str] = {}

        async def logic(ctx: TurnContext) -> None:
            ctx.activity.id = None  # a new message, not a reply to the continuation event
            response = await ctx.send_activity(card_activity(payload))
            result["id"] = (response.id if response else "") or ""

        await self.adapter.continue_conversation(self.settings.app_id, reference.get_continuation_activity(), logic)
        return result.get("id", "")

    async def _create_and_send(
        self, tenant: str, address: Mapping[str, Any], payload: dict[str, Any]
    ) -> tuple[dict[str, Any], str]:
        user = dict(address.get("user") or {})
        bot = dict(address.get("bot") or {})
        params = ConversationParameters(
            is_group=False,
            agent=channel_account(bot) if bot.get("id") else None,
            members=[ChannelAccount(id=user["id"])],
            tenant_id=tenant,
            channel_data={"tenant": {"id": tenant}},
        )
        result: dict[str, Any] = {}

        async def logic(ctx: TurnContext) -> None:
            new_address = reference_dict(reference_of(ctx.activity))
            new_address["user"] = {**user, **(new_address.get("user") or {})} if new_address.get("user") else user
            if bot:
                new_address["bot"] = bot
            conv = new_address.setdefault("conversation", {})
            conv.setdefault("tenantId", tenant)
            conv.setdefault("conversationType", "personal")
            result["address"] = new_address
            ctx.activity.id = None  # a new message, not a reply to the create-conversation event
            # The create event's "from" is who our message goes to (the SDK replies to the sender).
            ctx.activity.from_property = channel_account(user)
            response = await ctx.send_activity(card_activity(payload))
            result["id"] = (response.id if response else "") or ""

        await self.adapter.create_conversation(
            self.settings.app_id,
            address.get("channelId") or TEAMS_CHANNEL,
            address["serviceUrl"],
            AuthenticationConstants.AGENTS_SDK_SCOPE,
            params,
            logic,
        )
        return result["address"], result.get("id", "")

    async def read_paged_members(
        self,
        tenant: str,
        reference: ConversationReference,
        roster_id: str,
        on_page: Callable[[list[Any]], Awaitable[None]],
        *,
        page_size: int = 500,
    ) -> None:
        """Read a team's (or chat's) roster page by page (``getPagedMembers`` with its continuation
        token) outside any inbound turn, handing each page to ``on_page`` while the next one is read.

        The turn's own connector client is closed when the turn ends, so this opens a proactive turn
        (``continue_conversation``) for the reading. Each page call is paced and retried like every
        other call; a page that cannot be read ends the reading with a ``PlatformError``.
        """

        async def logic(ctx: TurnContext) -> None:
            client = ctx.services.get(ConnectorClientBase)  # type: ignore[type-abstract]
            if client is None:
                raise PlatformError("no_connector", retryable=False)

            def page(token: str | None) -> Awaitable[Any]:
                return self._call(tenant, f"roster:{roster_id}", lambda: client.conversations
                                  .get_conversation_paged_members(roster_id, page_size, token))

            reading: asyncio.Task[Any] = asyncio.ensure_future(page(None))
            try:
                while True:
                    result = await reading
                    token = result.continuation_token or None
                    if token:
                        reading = asyncio.ensure_future(page(token))  # the next page while this one is stored
                    await on_page(list(result.members or []))
                    if not token:
                        return
            finally:
                if not reading.done():
                    reading.cancel()

        await self.adapter.continue_conversation(self.settings.app_id, reference.get_continuation_activity(), logic)

    async def _call(self, tenant: str, conversation: str, fn: Callable[[], Awaitable[T]]) -> T:
        """One connector call, paced and retried; failures become ``PlatformError``."""
        attempt = 0
        while True:
            # Conversation first: a call held back for its chat must not hold a tenant slot meanwhile.
            await self.conversation_pacer.wait(conversation)
            await self.tenant_pacer.wait(tenant)
            self.calls += 1
            try:
                return await fn()
            except PlatformError:
                raise
            except Exception as exc:
                failure = describe_failure(exc)
                if failure is None:
                    _LOGGER.exception("teams call failed unexpectedly")
                    raise PlatformError(type(exc).__name__, retryable=True) from exc
                error = to_platform_error(failure)
                wait = backoff(attempt, failure.retry_after)
                if not error.retryable or attempt >= self.settings.max_retries or wait > self.settings.max_retry_wait_s:
                    _LOGGER.warning(
                        "teams call failed: status=%s code=%s attempts=%d",
                        failure.status,
                        failure.code,
                        attempt + 1,
                    )
                    raise error from exc
                attempt += 1
                self.retries += 1
                _LOGGER.info(
                    "teams call retry %d after %.2fs: status=%s code=%s",
                    attempt,
                    wait,
                    failure.status,
                    failure.code,
                )
                if failure.status == 429:
                    # Teams throttles per app and tenant: everyone sending to this tenant backs off
                    # (the pacer makes the next call wait), not just this call.
                    self.tenant_pacer.pause(tenant, wait)
                else:
                    await self._sleep(wait)


def backoff(attempt: int, retry_after: float | None) -> float:
    """Retry-After when the server gave one, else 0.5 s doubling (capped at 8 s)."""
    if retry_after is not None:
        return retry_after
    return float(min(8.0, 0.5 * (2**attempt)))


def render_group_note(names: Sequence[str]) -> Any:
    from bot.model.messages import foot

    listed = ", ".join(n for n in names if n)
    return foot(t("group_note", names=listed))
