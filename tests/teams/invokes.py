"""Invoke activities as Teams sends them, and activities the old SDK could not deserialize.

Invokes as Teams sends them (learn.microsoft.com, Bot Framework Teams schema), for the invokes
Momentum does not act on: before the Agents SDK move such invokes were answered 501 (botbuilder's
TeamsActivityHandler raised NotImplemented for each unhandled name), as the hardening report's fuzz found."""

from __future__ import annotations

from typing import Any

from adapters.teams.words import t
from tests.teams import activities as acts

# name -> a value Teams sends with it
INVOKE_VALUES: dict[str, Any] = {
    "task/fetch": {"data": {"msteams": {"type": "task/fetch"}, "dialog": "x"}, "context": {"theme": "default"}},
    "task/submit": {"data": {"answer": "yes"}, "context": {"theme": "dark"}},
    "composeExtension/query": {"commandId": "search", "parameters": [{"name": "q", "value": "x"}],
                               "queryOptions": {"skip": 0, "count": 25}},
    "composeExtension/queryLink": {"url": "https://example.com/x"},
    "composeExtension/anonymousQueryLink": {"url": "https://example.com/x"},
    "composeExtension/selectItem": {"id": "1"},
    "composeExtension/submitAction": {"commandId": "c", "commandContext": "message", "data": {},
                                      "context": {"theme": "default"}},
    "composeExtension/fetchTask": {"commandId": "c", "commandContext": "compose", "context": {"theme": "default"}},
    "composeExtension/querySettingUrl": {"commandId": "c", "parameters": []},
    "composeExtension/setting": {"state": "x"},
    "fileConsent/invoke": {"type": "fileUpload", "action": "decline", "context": {}},
    "actionableMessage/executeAction": {"body": "x", "actionId": "y"},
    "signin/verifyState": {"state": "123456"},
    "config/fetch": {"data": {}},
    "tab/fetch": {"tabContext": {"tabEntityId": "x"}, "context": {"theme": "default"}},
    "healthCheck": {},
}
# Twelve names botbuilder's TeamsActivityHandler answered with 501 unless the bot handled them. The hardening
# report counted 12 fuzzed invokes answered 501 without naming them; these, and every name above, are covered.
FORMERLY_501 = (
    "task/fetch", "task/submit", "composeExtension/query", "composeExtension/queryLink",
    "composeExtension/anonymousQueryLink", "composeExtension/selectItem", "composeExtension/submitAction",
    "composeExtension/fetchTask", "composeExtension/querySettingUrl", "composeExtension/setting",
    "fileConsent/invoke", "actionableMessage/executeAction",
)


def invoke(service_url: str, user: acts.User, name: str | None, value: Any) -> dict[str, Any]:
    """An invoke from ``user``'s 1:1 chat."""
    act = acts._base(service_url, "invoke", acts.personal_conversation(user), user.account())
    if name is not None:
        act["name"] = name
    act["value"] = value
    return act


def card_execute(service_url: str, user: acts.User, data: dict[str, Any], *, kind: str = "Action.Execute",
                 reply_to: str = "1700000000123") -> dict[str, Any]:
    """An ``adaptiveCard/action`` invoke (Universal Actions: Action.Execute)."""
    act = invoke(service_url, user, "adaptiveCard/action",
                 {"action": {"type": kind, "id": "a1", "verb": "momentum", "data": data}, "trigger": "manual"})
    act["replyToId"] = reply_to
    return act


def expected_body(name: str) -> Any:
    """What Momentum answers (with 200) to a well-formed invoke of ``name``."""
    if name.startswith("task/"):
        return {"task": {"type": "message", "value": t("invoke.no_dialogs")}}
    if name.startswith("composeExtension/"):
        return {"composeExtension": {"type": "message", "text": t("invoke.no_search")}}
    return None


def deserialization_cases(url: str, canary: str) -> dict[str, dict[str, Any]]:
    """Activities botbuilder's msrest could not deserialize (DeserializationError, a traceback and a 500),
    and their cousins: well-formed JSON, the wrong types where the Bot Framework schema has objects."""
    ok = acts.message(url, acts.SAM, f"win {canary}")
    return {
        "timestamp not a date": {**ok, "timestamp": f"{canary}-o-clock"},
        "localTimestamp not a date": {**ok, "localTimestamp": canary},
        "membersAdded of numbers": {**acts.personal_install(url, acts.SAM), "membersAdded": [1, 2]},
        "membersAdded without ids": {**acts.personal_install(url, acts.SAM), "membersAdded": [{"name": canary}]},
        "entities of strings": {**ok, "entities": [canary]},
        "mention of a number": {**ok, "entities": [{"type": "mention", "mentioned": 5, "text": canary}]},
        "attachments of numbers": {**ok, "attachments": [7]},
        "from is a string": {**ok, "from": canary},
        "conversation id is a number": {**ok, "conversation": {"id": 5}},
        "text is an object": {**ok, "text": {"t": canary}},
        "tenant is a string": {**ok, "channelData": {"tenant": canary}},
        "team id is a list": {**acts.team_install(url, acts.ADMIN), "channelData": {"team": {"id": [canary]}}},
        "legacy is a number": {**ok, "channelData": {"legacy": 3}},
        "replyToId is a number": {**ok, "replyToId": 17},
        "card data action a list": acts.card_submit(url, acts.SAM, {"momentum_action": [canary]}, "1"),
        "card form input an object": acts.card_submit(url, acts.SAM, {"momentum_form": "win", "text": {"a": canary}},
                                                      "1"),
    }
