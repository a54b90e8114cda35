"""The shapes Momentum accepts from Teams, checked before the Agents SDK's turn or the core sees an activity.

Two layers, both pydantic: our own ``ActivityShape`` (only what Momentum reads is constrained; everything
else may vary as Teams evolves, ``extra="allow"``) and the Agents SDK's own ``Activity`` model, which the
SDK builds the turn from; then the ``value`` of the activities we read: our card data (Action.Submit
clicks, ``CardData``), the SDK's ``AdaptiveCardInvokeValue`` for Action.Execute (``adaptiveCard/action``)
and its ``TaskModuleRequest`` for dialogs (``task/fetch``, ``task/submit``).

What does not fit is a ``BadActivity``: answered 400 (an invoke Teams expects a body for gets that body,
with a kind message) and logged once as a warning that names the field, never the body. The SDK's own
model logs every validation failure at ERROR with a traceback and the offending input; that record is
dropped here (``quiet_sdk_validation_log``), since our warning already says what was wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from microsoft_agents.activity import Activity, AdaptiveCardInvokeValue
from microsoft_agents.activity.teams import TaskModuleRequest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from adapters.teams import render
from adapters.teams.words import t

CARD_ACTION_INVOKE = "adaptiveCard/action"
TASK_INVOKES = frozenset({"task/fetch", "task/submit"})
# Universal Actions invoke response types (learn.microsoft.com: adaptive-cards universal-action-model).
INVOKE_CARD = "application/vnd.microsoft.card.adaptive"
INVOKE_MESSAGE = "application/vnd.microsoft.activity.message"
INVOKE_ERROR = "application/vnd.microsoft.error"
SDK_ACTIVITY_LOGGER = "microsoft_agents.activity.activity"
SDK_TOKEN_LOGGER = "microsoft_agents.hosting.core.authorization.jwt.jwt_token_validator"


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Account(_Loose):
    id: str = Field(min_length=1, max_length=512)
    name: str | None = None
    aadObjectId: str | None = None


class OptionalAccount(_Loose):
    id: str | None = None
    name: str | None = None
    aadObjectId: str | None = None


class Conversation(_Loose):
    id: str = Field(min_length=1, max_length=1024)
    conversationType: str | None = None
    isGroup: bool | None = None
    tenantId: str | None = None


class Entity(_Loose):
    type: str | None = None
    text: str | None = None
    mentioned: OptionalAccount | None = None


class _IdOnly(_Loose):
    id: str | None = None


class Team(_Loose):
    id: str | None = None
    name: str | None = None


class Legacy(_Loose):
    replyToId: str | None = None


class ChannelData(_Loose):
    """``channelData`` as Teams sends it; we read the tenant, the team and the legacy reply id."""

    tenant: _IdOnly | None = None
    team: Team | None = None
    channel: _IdOnly | None = None
    legacy: Legacy | None = None
    eventType: str | None = None


class ActivityShape(_Loose):
    """The fields of an inbound activity that Momentum (or the SDK, before our code) reads."""

    type: str = Field(min_length=1)
    serviceUrl: str = Field(min_length=1)
    channelId: str = Field(min_length=1)
    from_: Account = Field(alias="from")
    recipient: Account
    conversation: Conversation
    id: str | None = None
    name: str | None = None
    action: str | None = None
    text: str | None = None
    replyToId: str | None = None
    locale: str | None = None
    localTimezone: str | None = None
    membersAdded: list[Account] | None = None
    membersRemoved: list[Account] | None = None
    entities: list[Entity] | None = None
    attachments: list[dict[str, Any]] | None = None
    channelData: ChannelData | None = None
    value: Any = None

    @field_validator("serviceUrl")
    @classmethod
    def _http(cls, url: str) -> str:
        if not url.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return url


Scalar = str | int | float | bool | None


class CardData(BaseModel):
    """The data of a click on one of our cards (``render`` puts it there): a button or a form.

    Form inputs arrive beside it as strings (Adaptive Card inputs; a toggle says "true"/"false").
    """

    model_config = ConfigDict(extra="allow")

    momentum_action: str | None = Field(default=None, max_length=200)
    momentum_value: Scalar = None
    momentum_form: str | None = Field(default=None, max_length=200)
    momentum_state: str | None = Field(default=None, max_length=4000)

    @property
    def is_ours(self) -> bool:
        return bool(self.momentum_action or self.momentum_form)

    def inputs(self) -> dict[str, str]:
        """Form inputs (everything that is not ours), as strings."""
        return {k: "" if v is None else str(v) for k, v in (self.model_extra or {}).items()
                if k not in render.RESERVED_KEYS}

    @classmethod
    def check(cls, data: Mapping[str, Any]) -> CardData:
        """``data`` as card data; raises ``ValueError`` when a form input is not a plain value."""
        card = cls.model_validate(dict(data))
        for key, v in (card.model_extra or {}).items():
            if key not in render.RESERVED_KEYS and not isinstance(v, str | int | float | bool | type(None)):
                raise ValueError(f"form input {key[:40]!r} must be a plain value")
        return card


def is_click(value: Any) -> bool:
    """A message whose ``value`` carries our card data (an Action.Submit click)."""
    return isinstance(value, Mapping) and (render.ACTION_KEY in value or render.FORM_KEY in value)


class BadActivity(Exception):
    """An activity that does not fit: the answer is ``status`` with ``body`` (JSON), nothing else happens."""

    def __init__(self, reason: str, *, status: int = 400, body: Any = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.body = body if body is not None else {"error": reason}


@dataclass(frozen=True)
class Inbound:
    body: dict[str, Any]
    shape: ActivityShape

    @property
    def service_url(self) -> str:
        return self.shape.serviceUrl


def _where(exc: ValidationError, known: frozenset[str] | None = None) -> str:
    """The first failing field's path (model field names and list positions only: never input)."""
    errors = exc.errors()
    if not errors:
        return "activity"
    loc = [str(p) for p in errors[0]["loc"]]
    if known is not None:
        loc = loc[:1] if loc and loc[0] in known else []
    return ".".join(loc).replace("from_", "from") or "activity"


_SDK_FIELDS = frozenset(
    (f.alias or name) for name, f in Activity.model_fields.items()
) | frozenset(Activity.model_fields)


def card_action_error(status: int, code: str, message_key: str) -> dict[str, Any]:
    """A Universal Actions error response body (Teams shows ``message`` to the person who clicked)."""
    return {"statusCode": status, "type": INVOKE_ERROR,
            "value": {"code": code, "message": t(f"invoke.{message_key}")}}


def task_message(message_key: str) -> dict[str, Any]:
    """A dialog (task module) response that shows a message instead of a dialog."""
    return {"task": {"type": "message", "value": t(f"invoke.{message_key}")}}


def _check_value(shape: ActivityShape) -> None:
    """The ``value`` of the activities whose value we read (or answer)."""
    if shape.type == "message" and is_click(shape.value):
        try:
            CardData.check(shape.value)
        except (ValidationError, ValueError) as exc:
            where = _where(exc) if isinstance(exc, ValidationError) else "form input"
            raise BadActivity(f"card data field {where!r} is not valid") from None
        return
    if shape.type != "invoke":
        return
    if shape.name == CARD_ACTION_INVOKE:
        problem: tuple[str, str] | None = None
        if not isinstance(shape.value, Mapping):
            problem = ("BadRequest", "the card action has no value")
        else:
            try:
                invoke = AdaptiveCardInvokeValue.model_validate(shape.value)
            except ValidationError:
                problem = ("BadRequest", "the card action value is not valid")
            else:
                if invoke.action.type != "Action.Execute":
                    raise BadActivity("only Action.Execute is supported",
                                      body=card_action_error(400, "NotSupported", "not_supported"))
                data = invoke.action.data
                if is_click(data):
                    try:
                        CardData.check(data)
                    except (ValidationError, ValueError):
                        problem = ("BadRequest", "the card action data is not valid")
        if problem:
            raise BadActivity(problem[1], body=card_action_error(400, problem[0], "bad_card_action"))
    elif shape.name in TASK_INVOKES:
        try:
            if not isinstance(shape.value, Mapping):
                raise ValueError("not an object")
            TaskModuleRequest.model_validate(shape.value)
        except (ValidationError, ValueError):
            raise BadActivity(f"the {shape.name} value is not valid", body=task_message("no_dialogs")) from None


def parse(body: Any) -> Inbound:
    """``body`` (decoded JSON) as an inbound activity, or ``BadActivity``."""
    if not isinstance(body, dict):
        raise BadActivity("the body must be a JSON object (an activity)")
    try:
        shape = ActivityShape.model_validate(body)
    except ValidationError as exc:
        raise BadActivity(f"activity field {_where(exc)!r} is not valid") from None
    try:
        Activity.model_validate(body)  # what the SDK will build the turn from
    except ValidationError as exc:
        raise BadActivity(f"activity field {_where(exc, _SDK_FIELDS)!r} is not valid") from None
    except Exception:  # the SDK's own consistency checks raise plain exceptions (channel id vs productInfo)
        raise BadActivity("the activity is not consistent") from None
    _check_value(shape)
    return Inbound(body, shape)


class _DropSdkValidationErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith("Validation error for Activity"))


class _DropSdkTokenWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno != logging.WARNING


_FILTERS = {SDK_ACTIVITY_LOGGER: _DropSdkValidationErrors(), SDK_TOKEN_LOGGER: _DropSdkTokenWarnings()}


def quiet_sdk_validation_log() -> None:
    """Drop the SDK's ERROR-with-traceback-and-input record for an activity that fails its model, and its
    warning for a refused token: ``web.py`` logs each refusal once, with the reason."""
    for name, quiet in _FILTERS.items():
        logger = logging.getLogger(name)
        if quiet not in logger.filters:
            logger.addFilter(quiet)


# --- reading what was checked ---------------------------------------------------------------------


def account_dict(account: Any) -> dict[str, Any]:
    """A channel account (SDK model with Teams' extra fields, or a dict) as a camelCase dict."""
    if account is None:
        return {}
    if isinstance(account, BaseModel):
        return account.model_dump(by_alias=True, exclude_none=True, mode="json")
    return dict(account) if isinstance(account, Mapping) else {}


def channel_data_of(data: Any) -> ChannelData:
    """An activity's ``channelData`` as checked (an empty one when absent or, past ``parse``, unreadable)."""
    if isinstance(data, BaseModel):
        data = data.model_dump(by_alias=True, exclude_none=True)
    try:
        return ChannelData.model_validate(data if isinstance(data, Mapping) else {})
    except ValidationError:
        return ChannelData()
