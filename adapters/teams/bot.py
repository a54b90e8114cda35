"""``MomentumTeamsBot``: inbound Teams activities -> core ``Interaction``s, installs and people.

- messages typed to the bot (its @mention stripped, other mentions rewritten to ``<@AAD_ID>``)
  become COMMAND (first word is a command) or MESSAGE interactions;
- Action.Submit clicks on our cards become ACTION (buttons) or SUBMIT (forms) interactions, and
  the clicked card is replaced by the answer (``update_activity`` on the clicked card: the
  activity's ``replyToId``, else ``channelData.legacy.replyToId``, else the thread's message id);
- Action.Execute clicks (``adaptiveCard/action`` invokes) become the same interactions and the
  answer card comes back in the invoke response, which refreshes the card in place for the person
  who clicked (Universal Actions); every other invoke gets a 200 with an empty invoke response;
- conversationUpdate / installationUpdate store the tenant, the people (team rosters via the paged
  members API) and the conversation references proactive prompts need; uninstalls stop delivery.

A person's external id is their Entra (AAD) object id, which is stable across apps and is what the
roster gives; the Teams user id (``29:...``, app-scoped) only lives inside the stored address.  The
Bot Framework Emulator sends no AAD id, so there (only) the channel user id stands in.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from microsoft_agents.activity import Activity, ActivityTypes, AdaptiveCardInvokeValue, ChannelAccount
from microsoft_agents.hosting.core import ConnectorClientBase, TurnContext
from pydantic import BaseModel, ValidationError

from adapters.teams import render
from adapters.teams.inbound import (
    CARD_ACTION_INVOKE,
    INVOKE_CARD,
    INVOKE_ERROR,
    INVOKE_MESSAGE,
    TASK_INVOKES,
    CardData,
    account_dict,
    is_click,
    task_message,
)
from adapters.teams.platform import TeamsPlatform, card_activity, describe_failure, reference_dict, reference_of
from adapters.teams.roster import RosterReads, roster_address
from adapters.teams.words import t
from bot.chat.catalog import COMMAND_NAMES
from bot.domain.roster import RosterEntry
from bot.model.interactions import Interaction, InteractionKind, Profile, Response
from bot.model.messages import Message, para
from bot.model.ports import PlatformError, Recipient

if TYPE_CHECKING:
    from bot.app import Momentum

_LOGGER = logging.getLogger(__name__)

LOCAL_TENANT = "local-dev"  # the Emulator sends no tenant
UNINSTALLED = "app_uninstalled"
COMPOSE_EXTENSION = "composeExtension/"
_THREAD_MESSAGE_ID = re.compile(r";messageid=(\d+)")

Account = ChannelAccount | Mapping[str, Any]


def entity_dicts(activity: Activity) -> list[dict[str, Any]]:
    return [account_dict(e) for e in activity.entities or []]


def channel_data(activity: Activity) -> dict[str, Any]:
    data = activity.channel_data
    if isinstance(data, BaseModel):
        return data.model_dump(by_alias=True, exclude_none=True)
    return data if isinstance(data, dict) else {}


def clicked_card_id(activity: Activity) -> str:
    """The id of the card a click came from: ``replyToId``; Teams sometimes sends it only in
    ``channelData.legacy.replyToId``; in a channel thread the conversation id names the root."""
    if activity.reply_to_id:
        return str(activity.reply_to_id)
    legacy = channel_data(activity).get("legacy")
    if isinstance(legacy, dict) and legacy.get("replyToId"):
        return str(legacy["replyToId"])
    m = _THREAD_MESSAGE_ID.search(activity.conversation.id if activity.conversation else "")
    return m.group(1) if m else ""


def tenant_of(activity: Activity) -> str:
    tenant = (channel_data(activity).get("tenant") or {}).get("id")
    if not tenant and activity.conversation is not None:
        tenant = activity.conversation.tenant_id
    return str(tenant or LOCAL_TENANT)


def external_id(account: Account | None) -> str:
    """AAD object id when Teams gives it (always, in Teams), else the channel user id (Emulator)."""
    data = account_dict(account)
    return str(data.get("aadObjectId") or data.get("id") or "")


def is_personal(activity: Activity) -> bool:
    conv = activity.conversation
    return conv is not None and (conv.conversation_type in (None, "personal")) and not conv.is_group


def _clean_text(text: str) -> str:
    text = text.replace("&nbsp;", " ").replace("\u00a0", " ")
    return re.sub(r"[ \t]+", " ", text).strip()


class MomentumTeamsBot:
    """The Bot Framework ``Bot`` (``on_turn``) that connects Teams to the Momentum core."""

    def __init__(self, momentum: Momentum, platform: TeamsPlatform | None = None) -> None:
        self.momentum = momentum
        self.platform = platform
        self._teams_to_external: dict[tuple[str, str], str] = {}  # (tenant, 29:id) -> external id
        self.rosters = RosterReads(momentum, platform)

    async def on_turn(self, ctx: TurnContext) -> None:
        activity = ctx.activity
        kind = activity.type
        if kind == ActivityTypes.message:
            await self.on_message(ctx)
        elif kind == ActivityTypes.conversation_update:
            await self.on_conversation_update(ctx)
        elif kind == ActivityTypes.installation_update:
            await self.on_installation_update(ctx)
        elif kind == ActivityTypes.invoke:
            await self.on_invoke(ctx)
        else:
            _LOGGER.debug("teams activity ignored: type=%s", kind)

    # --- messages and card submits ------------------------------------------------------------

    async def on_message(self, ctx: TurnContext) -> None:
        activity = ctx.activity
        if is_click(activity.value):
            interaction = self._click(ctx, CardData.check(activity.value))  # type: ignore[arg-type]
            if interaction is None:
                return
        else:
            base = self._base(ctx)
            if base is None:
                return
            text = await self._neutral_text(ctx, base["workspace"])
            if not text:
                return
            first = text.split(maxsplit=1)[0].lower().lstrip("/")
            kind = InteractionKind.COMMAND if first in COMMAND_NAMES else InteractionKind.MESSAGE
            interaction = Interaction(kind=kind, text=text, **base)
        _LOGGER.info("teams inbound: kind=%s tenant=%s", interaction.kind, interaction.workspace)
        response = await self.momentum.handle(interaction)
        await self.show(ctx, response, is_submit=interaction.kind in (InteractionKind.ACTION, InteractionKind.SUBMIT))

    def _base(self, ctx: TurnContext) -> dict[str, Any] | None:
        """What every interaction from this activity carries (None: no sender we can name)."""
        activity = ctx.activity
        tenant = tenant_of(activity)
        sender = activity.from_property
        user = external_id(sender)
        if not user or sender is None:
            return None
        self._remember(tenant, sender)
        profile = Profile(
            external_id=user,
            name=sender.name or None,
            # Teams sends the sender's IANA zone and locale with each message they write.
            tz=activity.local_timezone or None,
            locale=activity.locale or None,
        )
        address = reference_dict(reference_of(activity)) if is_personal(activity) else None
        return dict(
            platform="teams",
            workspace=tenant,
            user=user,
            profile=profile,
            event_id=activity.id,
            address=address,
        )

    def _click(self, ctx: TurnContext, data: CardData) -> Interaction | None:
        """A click on one of our cards (Action.Submit data, or Action.Execute ``action.data``), checked
        by ``adapters.teams.inbound`` before the turn."""
        base = self._base(ctx)
        if base is None:
            return None
        activity = ctx.activity
        message_ref = {
            "activity_id": clicked_card_id(activity),
            "conversation_id": activity.conversation.id if activity.conversation else "",
        }
        if data.momentum_form:
            return Interaction(
                kind=InteractionKind.SUBMIT,
                action_id=data.momentum_form,
                value=data.momentum_state or "",
                fields=data.inputs(),
                message_ref=message_ref,
                **base,
            )
        if not data.momentum_action:
            return None
        return Interaction(
            kind=InteractionKind.ACTION,
            action_id=data.momentum_action,
            value="" if data.momentum_value is None else str(data.momentum_value),
            message_ref=message_ref,
            **base,
        )

    # --- invokes ------------------------------------------------------------------------------

    async def on_invoke(self, ctx: TurnContext) -> None:
        """Every invoke gets an invoke response (the SDK answers 501 to an invoke nobody answered); those
        Teams shows something for get a kind message (Momentum opens no dialogs and has no search)."""
        name = ctx.activity.name or ""
        try:
            if name == CARD_ACTION_INVOKE:
                body = await self.on_card_action(ctx)
            elif name in TASK_INVOKES:
                _LOGGER.info("teams dialog invoke answered with a message: name=%s", name)
                body = task_message("no_dialogs")
            elif name.startswith(COMPOSE_EXTENSION):
                _LOGGER.info("teams message extension invoke answered with a message: name=%s", name[:60])
                body = {"composeExtension": {"type": "message", "text": t("invoke.no_search")}}
            else:
                _LOGGER.info("teams invoke answered empty: name=%s", name[:60] or "(none)")
                body = None
        except Exception as exc:
            _LOGGER.error("teams invoke failed: name=%s error=%s", name, type(exc).__name__, exc_info=exc)
            body = {"statusCode": 500, "type": INVOKE_ERROR, "value": {"code": "InternalError", "message": ""}}
        await set_invoke_response(ctx, body)

    async def on_card_action(self, ctx: TurnContext) -> dict[str, Any]:
        """Action.Execute on one of our cards: the answer card replaces the clicked card in place."""
        try:  # checked by adapters.teams.inbound before the turn
            action = AdaptiveCardInvokeValue.model_validate(ctx.activity.value).action
            data = CardData.check(action.data) if is_click(action.data) else None
        except (ValidationError, ValueError):
            action, data = None, None
        if data is None:
            # Not a card of ours (or a refresh of one): nothing to change.
            _LOGGER.info("teams card action not ours: verb=%s", str(action.verb if action else "")[:40])
            return {"statusCode": 200, "type": INVOKE_MESSAGE, "value": ""}
        interaction = self._click(ctx, data)
        if interaction is None:
            return {"statusCode": 200, "type": INVOKE_MESSAGE, "value": ""}
        _LOGGER.info("teams inbound: kind=%s tenant=%s (Action.Execute)", interaction.kind, interaction.workspace)
        response = await self.momentum.handle(interaction)
        card: dict[str, Any] | None = None
        if response.update is not None and not response.duplicate:
            card = render.to_card(response.update)
            response = replace(response, update=None)
        await self.show(ctx, response)
        if card is not None:
            return {"statusCode": 200, "type": INVOKE_CARD, "value": card}
        return {"statusCode": 200, "type": INVOKE_MESSAGE, "value": ""}

    async def _neutral_text(self, ctx: TurnContext, tenant: str) -> str:
        """The message text with the bot's @mention removed and other mentions as ``<@ID>``."""
        activity = ctx.activity
        text = activity.text or ""
        bot_id = activity.recipient.id if activity.recipient else None
        for entity in entity_dicts(activity):
            if entity.get("type") != "mention":
                continue
            mentioned = entity.get("mentioned") or {}
            shown = entity.get("text") or f"<at>{mentioned.get('name', '')}</at>"
            mid = mentioned.get("id")
            if not mid or mid == bot_id:
                text = text.replace(shown, " ")
                continue
            person = await self._resolve_mention(ctx, tenant, mentioned)
            text = text.replace(shown, f"<@{person}>", 1)
        # A mention the entity list did not describe (the bot's own name) must not reach the core.
        text = re.sub(r"<at>[^<]*</at>", " ", text)
        return _clean_text(text)

    async def _resolve_mention(self, ctx: TurnContext, tenant: str, mentioned: Mapping[str, Any]) -> str:
        teams_id = str(mentioned["id"])
        if mentioned.get("aadObjectId"):
            return str(mentioned["aadObjectId"])
        known = self._teams_to_external.get((tenant, teams_id)) or await self._stored_external_id(tenant, teams_id)
        if known:
            return known
        try:  # a channel message: the team roster knows the person
            member = await get_member(ctx, teams_id)
        except Exception as exc:
            _LOGGER.info("teams mention not resolved: %s", describe_failure(exc) or type(exc).__name__)
            return teams_id
        await self._store_member(tenant, member, ctx.activity, personal_address=None)
        return external_id(member) or teams_id

    async def _stored_external_id(self, tenant: str, teams_id: str) -> str | None:
        stored = await self.momentum.addresses("teams", tenant)
        for ext, address in stored.items():
            if (address.get("user") or {}).get("id") == teams_id:
                self._teams_to_external[(tenant, teams_id)] = ext
                return ext
        return None

    def _remember(self, tenant: str, account: Account | None) -> None:
        data = account_dict(account)
        if data.get("id"):
            self._teams_to_external[(tenant, str(data["id"]))] = external_id(data)

    # --- showing a Response -------------------------------------------------------------------

    async def show(self, ctx: TurnContext, response: Response, *, is_submit: bool = False) -> None:
        if response.duplicate:
            return
        activity = ctx.activity
        cards: list[tuple[dict[str, Any], str]] = []
        if response.update is not None:
            replaced = False
            clicked = clicked_card_id(activity) if is_submit else ""
            if clicked:
                act = card_activity(render.message_activity(response.update), clicked)
                act.conversation = activity.conversation
                try:
                    await ctx.update_activity(act)
                    replaced = True
                except Exception as exc:
                    _LOGGER.warning("teams card update failed: %s", describe_failure(exc) or type(exc).__name__)
            if not replaced:
                cards.append((render.to_card(response.update), response.update.text))
        if response.errors:
            cards.append((render.errors_card(response.errors), t("form.fix_summary")))
        if response.reply is not None:
            cards.append((render.to_card(response.reply), response.reply.text))
        if response.form is not None:
            cards.append((render.form_card(response.form), response.form.title))
        if response.attachment is not None:
            att = response.attachment
            cards.append((render.file_card(att), att.title or att.filename))
        if not cards:
            return
        if is_personal(activity):
            for card, summary in cards:
                await self._send_card(ctx, card, summary)
            return
        # A command typed in a team channel: answers are private to the person (reports, exports,
        # their own settings), so they go to the person's 1:1 chat and the channel gets a pointer.
        delivered = await self._send_privately(activity, cards)
        note = t("answered_privately") if delivered else t("no_private_chat")
        await self._send_card(ctx, render.to_card(Message(text=note, blocks=(para(note),))), note)

    async def _send_privately(self, activity: Activity, cards: list[tuple[dict[str, Any], str]]) -> bool:
        if self.platform is None:
            return False
        tenant = tenant_of(activity)
        ws = await self.momentum.workspace_ref("teams", tenant)
        user = activity.from_property
        if ws is None or user is None or activity.recipient is None:
            return False
        ext = external_id(user)
        stored = await self._stored_address(tenant, ext)
        address = stored or {
            "serviceUrl": activity.service_url,
            "channelId": activity.channel_id,
            "bot": {"id": activity.recipient.id, "name": activity.recipient.name},
            "user": {"id": user.id, "name": user.name, "aadObjectId": getattr(user, "aad_object_id", None)},
            "conversation": None,
        }
        try:
            for card, summary in cards:
                delivered = await self.platform.send_activity(
                    ws, Recipient(0, ext, user.name or "", address), render.activity_for_card(card, summary)
                )
                if delivered.addresses:
                    address = dict(delivered.addresses[0])
                    await self.momentum.upsert_person("teams", tenant,
                                               Profile(external_id=ext), address=address)
        except PlatformError as exc:
            _LOGGER.info("teams private answer failed: %s", exc.reason)
            return False
        return True

    @staticmethod
    async def _send_card(ctx: TurnContext, card: dict[str, Any], summary: str) -> None:
        await ctx.send_activity(card_activity(render.activity_for_card(card, summary)))

    # --- installs, rosters, uninstalls --------------------------------------------------------

    async def on_conversation_update(self, ctx: TurnContext) -> None:
        activity = ctx.activity
        tenant = tenant_of(activity)
        bot_id = activity.recipient.id if activity.recipient else None
        team = channel_data(activity).get("team")
        for member in activity.members_added or []:
            if member.id == bot_id:
                await self.installed(ctx, team=team)
            elif team:
                await self._store_team_member(ctx, tenant, member)
        for member in activity.members_removed or []:
            if member.id == bot_id:
                await self.uninstalled(ctx, team=team)
            elif team:
                _LOGGER.info("teams member left a team: tenant=%s", tenant)

    async def on_installation_update(self, ctx: TurnContext) -> None:
        action = (ctx.activity.action or "").lower()
        team = channel_data(ctx.activity).get("team")
        if action.startswith("add"):
            await self.installed(ctx, team=team, welcome=False)  # conversationUpdate brings the welcome
        elif action.startswith("remove"):
            await self.uninstalled(ctx, team=team)

    async def installed(self, ctx: TurnContext, *, team: Mapping[str, Any] | None, welcome: bool = True) -> None:
        activity = ctx.activity
        tenant = tenant_of(activity)
        await self.momentum.upsert_workspace("teams", tenant,
                                   name=(team or {}).get("name") if team else None)
        if team or not is_personal(activity):
            # The roster is read after this turn is acknowledged, a page at a time (adapters.teams.roster).
            started = self.rosters.start(activity, tenant, roster_conversation(activity))
            _LOGGER.info("teams installed in a team: tenant=%s roster=%s", tenant,
                         "reading" if started else "already being read")
            if welcome:
                welcome_message = self.momentum.team_welcome()
                await self._send_card(ctx, render.to_card(welcome_message), welcome_message.text)
            return
        user = activity.from_property
        if user is None or user.id == (activity.recipient.id if activity.recipient else None):
            return
        await self._store_member(tenant, user, activity, personal_address=True, ctx=ctx)
        _LOGGER.info("teams installed for a person: tenant=%s", tenant)
        if welcome:
            home = await self.momentum.app_home("teams", tenant, external_id(user))
            await self._send_card(ctx, render.to_card(home), home.text)

    async def uninstalled(self, ctx: TurnContext, *, team: Mapping[str, Any] | None) -> None:
        activity = ctx.activity
        tenant = tenant_of(activity)
        if team or not is_personal(activity):
            # Removing the app from one team does not remove it for people who installed it personally;
            # deliveries to people only known from that roster fail (403) and park with the reason.
            _LOGGER.info("teams removed from a team: tenant=%s", tenant)
            return
        user = external_id(activity.from_property)
        if user:
            await self.momentum.mark_unreachable("teams", tenant, user, UNINSTALLED)
            _LOGGER.info("teams uninstalled by a person: tenant=%s", tenant)

    async def _store_team_member(self, ctx: TurnContext, tenant: str, member: ChannelAccount) -> None:
        try:
            full: Account = await get_member(ctx, str(member.id))
        except Exception:
            full = member
        await self._store_member(tenant, full, ctx.activity, personal_address=None)

    async def _store_member(
        self,
        tenant: str,
        member: Account,
        activity: Activity,
        *,
        personal_address: bool | None,
        ctx: TurnContext | None = None,
    ) -> None:
        """Upsert one person. In a 1:1 chat the address is this conversation; from a roster it is
        what ``create_conversation`` needs (service URL, bot, Teams user id, tenant)."""
        data = account_dict(member)
        email = data.get("email") or data.get("userPrincipalName")
        name = data.get("name")
        if personal_address and ctx is not None and not email:
            try:  # the 1:1 chat's own member: Teams tells us their email and AAD id
                full = account_dict(await get_member(ctx, str(data.get("id") or "")))
                email = full.get("email") or full.get("userPrincipalName")
                name = full.get("name") or name
                if full.get("aadObjectId") and not data.get("aadObjectId"):
                    data = full
            except Exception as exc:
                _LOGGER.info("teams member read failed: %s", describe_failure(exc) or type(exc).__name__)
        ext = external_id(data)
        if not ext:
            return
        self._remember(tenant, data)
        person = {"id": data.get("id"), "name": name, "aadObjectId": data.get("aadObjectId")}
        if not personal_address:
            # One unit of work; a 1:1 chat we already have is kept (bot.domain.roster).
            entry = RosterEntry(external_id=ext, name=name or None, email=email or None,
                                address=roster_address(activity, tenant, person))
            await self.momentum.store_people("teams", tenant, [entry])
            return
        address: dict[str, Any] = reference_dict(reference_of(activity))
        address["user"] = person
        profile = Profile(external_id=ext, name=name or None, email=email or None)
        await self.momentum.upsert_person("teams", tenant, profile, address=address)

    async def _stored_address(self, tenant: str, ext: str) -> dict[str, Any] | None:
        return await self.momentum.person_address("teams", tenant, ext)


# --- SDK plumbing -------------------------------------------------------------------------------


def connector(ctx: TurnContext) -> Any:
    """The turn's connector client (the SDK puts one on every turn that has a serviceUrl)."""
    client = ctx.services.get(ConnectorClientBase)  # type: ignore[type-abstract]
    if client is None:
        raise RuntimeError("no connector client on this turn")
    return client


def roster_conversation(activity: Activity) -> str:
    """Teams answers roster calls for a team by the team id, elsewhere by the conversation id."""
    team = channel_data(activity).get("team")
    if isinstance(team, dict) and team.get("id"):
        return str(team["id"])
    return activity.conversation.id if activity.conversation else ""


async def get_member(ctx: TurnContext, teams_id: str) -> ChannelAccount:
    return await connector(ctx).conversations.get_conversation_member(roster_conversation(ctx.activity), teams_id)


async def set_invoke_response(ctx: TurnContext, body: dict[str, Any] | None, status: int = 200) -> None:
    """What the HTTP response to this invoke carries (status and JSON body, or no body)."""
    await ctx.send_activity(
        Activity(type=ActivityTypes.invoke_response, value={"status": status, "body": body})
    )
