"""The shapes Momentum accepts from Slack, checked (pydantic) before Bolt or the core sees a body.

Only what the app reads is constrained; everything else may vary as Slack evolves (``extra="allow"``).
A body that does not fit is answered 400 and logged once, without the body: a signed request that is
malformed is a bug or an attack, never a reason for a 500. JSON nested deeper than
``untrusted.MAX_DEPTH`` is such a body.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from adapters import untrusted


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Id(_Loose):
    id: str


class _Event(_Loose):
    type: str
    enterprise_id: str | None = None


class _Tokens(_Loose):
    bot: list[str] | None = None


class _Profile(_Loose):
    email: str | None = None
    real_name: str | None = None
    display_name: str | None = None


class _SlackUser(_Loose):
    id: str
    team_id: str | None = None
    deleted: bool | None = None
    tz: str | None = None
    locale: str | None = None
    real_name: str | None = None
    is_admin: bool | None = None
    is_owner: bool | None = None
    profile: _Profile | None = None
    enterprise_user: dict[str, Any] | None = None


class MessageEvent(_Event):
    channel_type: str | None = None
    subtype: str | None = None
    user: str | None = None
    channel: str | None = None
    text: str | None = None
    ts: str | None = None
    thread_ts: str | None = None
    files: list[dict[str, Any]] | None = None
    bot_id: str | None = None
    bot_profile: dict[str, Any] | None = None


class HomeOpened(_Event):
    tab: str | None = None
    user: str | None = None


class TokensRevoked(_Event):
    tokens: _Tokens | None = None


class UserChange(_Event):
    user: _SlackUser


# The events Momentum acts on, with the fields it reads; others are acknowledged and ignored.
EVENTS: dict[str, type[_Event]] = {"message": MessageEvent, "app_home_opened": HomeOpened,
                                   "tokens_revoked": TokensRevoked, "user_change": UserChange}


class EventEnvelope(_Loose):
    type: str
    team_id: str | None = None
    enterprise_id: str | None = None
    event: _Event | None = None
    event_id: str | None = None
    authorizations: list[dict[str, Any]] | None = None
    challenge: str | None = None


class _Action(_Loose):
    action_id: str
    value: str | None = None
    selected_option: dict[str, Any] | None = None


class _View(_Loose):
    type: str  # Bolt branches on it (modal, home, workflow_step)
    id: str | None = None
    private_metadata: str | None = None
    state: dict[str, Any] | None = None


class _Container(_Loose):
    type: str


class Interactive(_Loose):
    type: str
    user: _Id
    team: _Id | None = None
    actions: list[_Action] | None = None
    view: _View | None = None
    container: _Container | None = None
    channel: dict[str, Any] | None = None
    message: dict[str, Any] | None = None
    response_url: str | None = None
    trigger_id: str | None = None


class SlashCommand(_Loose):
    command: str
    user_id: str
    team_id: str
    text: str = ""
    response_url: str | None = None
    trigger_id: str | None = None


def problem(body: str, content_type: str) -> str | None:
    """Why ``body`` is not a Slack request Momentum handles, or ``None`` when it fits."""
    try:
        if "json" in content_type:
            data = untrusted.loads(body)
            if not isinstance(data, dict):
                return "JSON body is not an object"
            env = EventEnvelope.model_validate(data)
            if env.type not in ("event_callback", "url_verification", "app_rate_limited"):
                return f"not an Events API envelope ({env.type[:40]})"
            if env.type == "event_callback" and env.event is None:
                return "event_callback without an event"
            if env.event is not None and env.event.type in EVENTS:
                EVENTS[env.event.type].model_validate(data["event"])
            if env.type == "url_verification" and env.challenge is None:
                return "url_verification without a challenge"
            return None
        form = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
        if "payload" in form:
            data = untrusted.loads(form["payload"])
            if not isinstance(data, dict):
                return "payload is not an object"
            inter = Interactive.model_validate(data)
            if inter.type in ("view_submission", "view_closed"):
                return None if inter.view is not None else f"{inter.type} without a view"
            if inter.type != "block_actions":
                return None
            if not inter.actions or inter.container is None:
                return "block_actions without actions or a container"  # Slack always sends both
            on_home = inter.container.type == "view" and inter.view is not None and inter.view.type == "home"
            if not on_home and not inter.response_url:
                # Slack sends a response_url for every message action; our only view buttons are App Home's
                return "an action without a response_url outside App Home"
            return None
        SlashCommand.model_validate(form)
        return None
    except untrusted.TooDeep as exc:
        return str(exc)
    except (ValueError, ValidationError) as exc:
        return f"malformed: {type(exc).__name__}"
