"""Inbound activities shaped as Microsoft Teams posts them (personal chat, team, card submit, installs)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

TENANT = "72f988bf-0000-4000-8000-000000000001"
BOT_ID = "28:bot-app-id"
BOT_NAME = "Momentum"
TEAM_ID = "19:team-general@thread.tacv2"
_ids = itertools.count(1)


@dataclass(frozen=True)
class User:
    teams_id: str
    aad: str
    name: str
    email: str

    @property
    def chat(self) -> str:
        """The 1:1 chat id Teams uses for this person and our bot."""
        return f"a:1chat-{self.aad}"

    def account(self) -> dict[str, Any]:
        return {"id": self.teams_id, "name": self.name, "aadObjectId": self.aad}


ADMIN = User("29:admin", "aad-admin", "Ada Admin", "admin@example.com")
SAM = User("29:sam", "aad-sam", "Sam Sponsor", "sam@example.com")
RIA = User("29:ria", "aad-ria", "Ria Sponsoree", "ria@example.com")


def _base(
    service_url: str, kind: str, conversation: dict[str, Any], sender: dict[str, Any], team: bool = False
) -> dict[str, Any]:
    channel_data: dict[str, Any] = {"tenant": {"id": TENANT}}
    if team:
        channel_data["team"] = {"id": TEAM_ID, "name": "Leadership"}
        channel_data["channel"] = {"id": TEAM_ID}
    return {
        "type": kind,
        "id": f"1700000000{next(_ids):03d}",
        "timestamp": "2026-01-05T09:00:00.000Z",
        "localTimestamp": "2026-01-05T10:00:00.000+01:00",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": sender,
        "conversation": {**conversation, "tenantId": TENANT},
        "recipient": {"id": BOT_ID, "name": BOT_NAME},
        "channelData": channel_data,
        "locale": "en-US",
    }


def personal_conversation(user: User) -> dict[str, Any]:
    return {"id": user.chat, "conversationType": "personal"}


def personal_install(service_url: str, user: User) -> dict[str, Any]:
    """Teams sends this conversationUpdate when a person adds the app for themselves."""
    act = _base(service_url, "conversationUpdate", personal_conversation(user), user.account())
    act["membersAdded"] = [{"id": BOT_ID}]
    return act


def personal_installation_update(service_url: str, user: User, action: str = "add") -> dict[str, Any]:
    act = _base(service_url, "installationUpdate", personal_conversation(user), user.account())
    act["action"] = action
    return act


def team_install(service_url: str, installer: User) -> dict[str, Any]:
    conv = {"id": TEAM_ID, "conversationType": "channel", "isGroup": True}
    act = _base(service_url, "conversationUpdate", conv, installer.account(), team=True)
    act["membersAdded"] = [{"id": BOT_ID}]
    act["channelData"]["eventType"] = "teamMemberAdded"
    return act


def team_uninstall(service_url: str, remover: User) -> dict[str, Any]:
    conv = {"id": TEAM_ID, "conversationType": "channel", "isGroup": True}
    act = _base(service_url, "conversationUpdate", conv, remover.account(), team=True)
    act["membersRemoved"] = [{"id": BOT_ID}]
    act["channelData"]["eventType"] = "teamMemberRemoved"
    return act


def personal_uninstall(service_url: str, user: User) -> dict[str, Any]:
    return personal_installation_update(service_url, user, "remove")


def message(
    service_url: str,
    user: User,
    text: str,
    *,
    mentions: list[User] | None = None,
    tz: str | None = "Europe/Berlin",
    locale: str = "de-DE",
) -> dict[str, Any]:
    """A 1:1 message to the bot; ``mentions`` become ``<at>Name</at>`` with Teams' mention entities."""
    act = _base(service_url, "message", personal_conversation(user), user.account())
    entities: list[dict[str, Any]] = []
    for m in mentions or []:
        entities.append(
            {"type": "mention", "text": f"<at>{m.name}</at>", "mentioned": {"id": m.teams_id, "name": m.name}}
        )
    entities.append({"type": "clientInfo", "locale": locale, "country": "DE", "platform": "Web", "timezone": tz})
    act.update({"text": text, "textFormat": "plain", "entities": entities, "locale": locale})
    if tz:
        act["localTimezone"] = tz
    return act


def channel_message(service_url: str, user: User, text: str, *, mentions: list[User] | None = None) -> dict[str, Any]:
    """``@Momentum help`` typed in a team channel: Teams includes the bot's own mention."""
    conv = {"id": f"{TEAM_ID};messageid=1700000000999", "conversationType": "channel", "isGroup": True}
    act = _base(service_url, "message", conv, user.account(), team=True)
    entities = [{"type": "mention", "text": f"<at>{BOT_NAME}</at>", "mentioned": {"id": BOT_ID, "name": BOT_NAME}}]
    for m in mentions or []:
        entities.append(
            {"type": "mention", "text": f"<at>{m.name}</at>", "mentioned": {"id": m.teams_id, "name": m.name}}
        )
    act.update({"text": f"<at>{BOT_NAME}</at> {text}", "textFormat": "plain", "entities": entities})
    return act


def card_submit(
    service_url: str, user: User, data: dict[str, Any], reply_to_id: str, inputs: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An Action.Submit click: a message activity whose ``value`` is the action data plus inputs."""
    act = _base(service_url, "message", personal_conversation(user), user.account())
    act.update({"value": {**data, **(inputs or {})}, "replyToId": reply_to_id, "text": None})
    act["channelData"]["source"] = {"name": "message"}
    act["channelData"]["legacy"] = {"replyToId": reply_to_id}
    return act
