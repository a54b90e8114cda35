"""The one inbound type and the one outbound answer of the conversation core.

Adapters normalise every button click, form submit, command and plain message
into an ``Interaction`` and hand it to ``Momentum.handle``; they render the
returned ``Response`` in their platform's terms.

Mentions: adapters rewrite every mention of a person in ``text`` as the neutral
token ``<@EXTERNAL_ID>`` (Slack's ``<@U123|sam>`` and Teams' ``<at>Sam</at>``
plus its entity both become ``<@...>``); the core resolves those tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.model.messages import Attachment, Form, Message


class InteractionKind(StrEnum):
    ACTION = "action"  # a button or choice in a message
    COMMAND = "command"  # "/momentum ..." on Slack, text typed to the bot on Teams
    MESSAGE = "message"  # free text sent to the bot (may also be a command)
    SUBMIT = "submit"  # a form / modal submission


@dataclass(frozen=True)
class Profile:
    """What a platform tells us about a person. ``None`` means "unknown"."""

    external_id: str
    name: str | None = None
    email: str | None = None
    tz: str | None = None
    locale: str | None = None
    is_admin: bool | None = None
    country: str | None = None
    deleted: bool = False
    given_name: str | None = None  # the name they go by (Slack first_name, Teams givenName), when known


@dataclass(frozen=True)
class Interaction:
    platform: str
    workspace: str  # Slack team id, Teams tenant id, "demo" for the console
    user: str  # the person's external id on that platform
    kind: InteractionKind
    action_id: str = ""  # button action id, or the form id on submit
    value: str = ""  # button value, or the form state on submit
    text: str = ""  # command text / message text (mentions as <@ID>)
    fields: dict[str, str] = field(default_factory=dict)  # submitted form fields
    profile: Profile | None = None  # what the adapter already knows about ``user``
    event_id: str | None = None  # platform event id, for dedupe of retries
    message_ref: dict[str, str] | None = None  # the clicked message, when known
    workspace_name: str | None = None
    address: dict[str, object] | None = None  # how to reach ``user`` proactively (Teams)
    inbox_id: int | None = None  # the inbox row it came from: marked done in the same unit of work


@dataclass
class Response:
    """What to show after an interaction. Every field is optional.

    - ``reply``: a message to the person who acted (``ephemeral`` where the
      platform supports it; always private to them).
    - ``update``: replace the message that was clicked (buttons gone, answer shown).
    - ``form``: open a modal / form.
    - ``errors``: inline form errors, field id -> message; the form stays open.
    - ``attachment``: a file to hand to the person (export, my-data).
    - ``duplicate``: the event was already processed; show nothing.
    """

    reply: Message | None = None
    ephemeral: bool = True
    update: Message | None = None
    form: Form | None = None
    errors: dict[str, str] | None = None
    attachment: Attachment | None = None
    duplicate: bool = False
