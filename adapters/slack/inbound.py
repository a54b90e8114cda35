"""Slack payloads -> the core's ``Interaction``: mention rewriting, action ids, modal state."""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from typing import Any

from adapters import untrusted
from adapters.slack.render import core_action_id, unescape

_LOGGER = logging.getLogger(__name__)

_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_MAILTO = re.compile(r"<mailto:([^|>]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?://)[^|>]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!([a-z^]+)(?:\^[^|>]*)?(?:\|([^>]*))?>")


def normalise_text(text: str) -> str:
    """Slack's escaped text -> the core's plain text with mentions as ``<@ID>``.

    ``<@U123|sam>`` -> ``<@U123>``; ``<mailto:a@b.c|a@b.c>`` -> ``a@b.c``; ``<https://x|x>`` ->
    ``https://x``; ``<!here>`` -> ``@here`` (never a live broadcast); ``&lt;`` -> ``<``.
    """
    text = _USER_MENTION.sub(lambda m: f"\x00{m.group(1)}\x01", text or "")
    text = _MAILTO.sub(lambda m: m.group(1), text)
    text = _LINK.sub(lambda m: m.group(1), text)
    text = _CHANNEL.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
    text = _SPECIAL.sub(lambda m: "@" + (m.group(2) or m.group(1)), text)
    text = unescape(text)
    # Mentions become neutral tokens only after unescaping, so a typed "&lt;@U1&gt;" stays text
    # the core can tell apart (it arrives as "<@U1>" only when Slack made it a real mention).
    return text.replace("\x00", "<@").replace("\x01", ">")


def action_value(action: dict[str, Any]) -> str:
    """The value of a clicked button or picked option."""
    if action.get("selected_option"):
        return str(action["selected_option"].get("value", ""))
    return str(action.get("value", "") or "")


def form_fields(values: dict[str, Any]) -> dict[str, str]:
    """``view.state.values`` -> field id -> submitted string (checkboxes: "true"/"false")."""
    out: dict[str, str] = {}
    for block in (values or {}).values():
        if not isinstance(block, dict):
            continue
        for action_id, v in block.items():
            if not isinstance(v, dict):
                continue
            field = core_action_id(str(action_id))
            kind = v.get("type")
            if kind == "checkboxes":
                out[field] = "true" if v.get("selected_options") else "false"
            elif kind in {"static_select", "radio_buttons"}:
                opt = v.get("selected_option") or {}
                out[field] = str(opt.get("value", "")) if opt else ""
            else:
                out[field] = str(v.get("value") or "")
    return out


def parse_metadata(text: str | None) -> dict[str, Any]:
    """A modal's ``private_metadata`` (JSON in a string: cleaned like the body around it)."""
    try:
        meta = untrusted.loads(text or "{}")
    except ValueError:  # TooDeep included
        return {}
    return meta if isinstance(meta, dict) else {}


class SeenEvents:
    """Event ids handled recently (Slack retries events it thinks were not acknowledged in 3 s)."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def first_time(self, event_id: str | None) -> bool:
        if not event_id:
            return True
        if event_id in self._ids:
            self._ids.move_to_end(event_id)
            return False
        self._ids[event_id] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return True
