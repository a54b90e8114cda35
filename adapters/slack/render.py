"""Neutral ``Message``/``Form`` -> Slack Block Kit (built with slack_sdk's models, so limits are checked).

User text is escaped for Slack mrkdwn (``&``, ``<``, ``>``) so it can never become a
mention, ``<!channel>`` or a link; only ``Mention`` and ``Link`` spans produce markup.
Button action ids get a ``#n`` suffix (Block Kit wants them unique within a block);
``core_action_id`` strips it when a click comes back.
"""

from __future__ import annotations

import json
import logging
import re
from functools import lru_cache
from typing import Any, cast

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from adapters.slack.charts import MAX_PER_MESSAGE, chart_block, text_block
from bot.model import messages as m

_LOGGER = logging.getLogger(__name__)

# Block Kit limits (https://api.slack.com/reference/block-kit/blocks).
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_HEADER = 150
MAX_BUTTON_LABEL = 75
MAX_VALUE = 2000
MAX_ACTIONS = 25
MAX_RADIO = 10
MAX_SELECT = 100
MAX_OPTION_TEXT = 75
MAX_LABEL = 2000
MAX_TITLE = 24
MAX_TEXT_FALLBACK = 3000  # chat.postMessage truncates "text" at 40k; keep notifications short
MAX_METADATA = 3000
FORM_CALLBACK_ID = "momentum_form"
SUFFIX = "#"

_SLACK_ID = re.compile(r"^[UWB][A-Z0-9]{2,}$")
_SAFE_URL = re.compile(r"^(https?://|mailto:)[^\s]+$", re.IGNORECASE)


def escape(text: str) -> str:
    """Escape user text for Slack mrkdwn: only &, < and > are control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def core_action_id(action_id: str) -> str:
    """``checkin.met#2`` -> ``checkin.met`` (everything after the last ``#`` is ours)."""
    base, sep, _ = action_id.rpartition(SUFFIX)
    return base if sep else action_id


def _wrap(text: str, mark: str) -> str:
    """Bold/italic that survives surrounding spaces: Slack needs ``*x*`` tight around words."""
    stripped = text.strip()
    if not stripped:
        return text
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    return f"{lead}{mark}{stripped}{mark}{trail}"


def span_mrkdwn(span: m.Span) -> str:
    if isinstance(span, m.Text):
        out = escape(span.text)
        if span.italic:
            out = _wrap(out, "_")
        if span.bold:
            out = _wrap(out, "*")
        return out
    if isinstance(span, m.Link):
        if not _SAFE_URL.match(span.url):
            return escape(f"{span.label} ({span.url})")
        url = span.url.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
        label = escape(span.label).replace("|", "¦")
        return f"<{url}|{label}>" if label else f"<{url}>"
    if _SLACK_ID.match(span.external_id):
        return f"<@{span.external_id}>"
    return escape(span.name)


def spans_mrkdwn(spans: m.Inline) -> str:
    return "".join(span_mrkdwn(s) for s in spans)


def _md(text: str, limit: int = MAX_SECTION_TEXT) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, limit) or " ")


def _pt(text: str, limit: int) -> PlainTextObject:
    return PlainTextObject(text=clip(text, limit) or " ", emoji=True)


def _option(o: m.Option) -> Option:
    return Option(value=clip(o.value, 150), text=_pt(o.label, MAX_OPTION_TEXT))


class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def next(self, action_id: str) -> str:
        self.n += 1
        return f"{action_id}{SUFFIX}{self.n}"


def _display_block(block: m.Block) -> list[Block]:
    """Blocks that look the same in messages and modals."""
    if isinstance(block, m.Heading):
        return [HeaderBlock(text=_pt(block.text, MAX_HEADER))]
    if isinstance(block, m.Paragraph):
        return [SectionBlock(text=_md(spans_mrkdwn(block.spans)))]
    if isinstance(block, m.Fields):
        out: list[Block] = []
        items = [_md(f"*{escape(k)}*\n{escape(v)}", MAX_FIELD_TEXT) for k, v in block.items]
        for i in range(0, len(items), MAX_FIELDS):
            out.append(SectionBlock(fields=items[i : i + MAX_FIELDS]))
        return out
    if isinstance(block, m.Footnote):
        return [ContextBlock(elements=[_md(spans_mrkdwn(block.spans))])]
    if isinstance(block, m.Chart):
        return [text_block(block, escape)]
    return []


def _message_block(block: m.Block, ids: _Counter) -> list[Block]:
    if isinstance(block, m.Buttons):
        elements = [
            ButtonElement(
                text=_pt(btn.label, MAX_BUTTON_LABEL),
                action_id=ids.next(btn.action_id),
                value=clip(btn.value, MAX_VALUE) if btn.value else None,
                style=btn.style,
            )
            for btn in block.buttons
        ]
        return [ActionsBlock(elements=elements[i : i + MAX_ACTIONS]) for i in range(0, len(elements), MAX_ACTIONS)]
    if isinstance(block, m.Choice):
        # In a message a choice is a row of buttons sending field_id + the option's value (a
        # select when there are too many options for a row).
        label = SectionBlock(text=_md(f"*{escape(block.label)}*"))
        if len(block.options) <= 5:
            row = [
                ButtonElement(
                    text=_pt(o.label, MAX_BUTTON_LABEL),
                    action_id=ids.next(block.field_id),
                    value=clip(o.value, MAX_VALUE),
                    style="primary" if block.initial == o.value else None,
                )
                for o in block.options
            ]
            return [label, ActionsBlock(elements=row)]
        opts = [_option(o) for o in block.options[:MAX_SELECT]]
        initial = next((x for x, o in zip(opts, block.options, strict=False) if o.value == block.initial), None)
        select = StaticSelectElement(
            action_id=ids.next(block.field_id),
            placeholder=_pt(block.label, 150),
            options=opts,
            initial_option=initial,
        )
        return [label, ActionsBlock(elements=[select])]
    if isinstance(block, m.TextInput | m.Checkbox):
        _LOGGER.warning("a %s only works in a form; left out of a message", type(block).__name__)
        return []
    return _display_block(block)


def render_blocks(message: m.Message, *, limit: int = MAX_MESSAGE_BLOCKS, charts: bool = True) -> list[dict[str, Any]]:
    """``charts``: draw charts as Slack's data visualization block (two at most; the rest, and all
    of them when ``charts`` is false, in their text form)."""
    ids = _Counter()
    blocks: list[Block] = []
    drawn = 0
    for block in message.blocks:
        if isinstance(block, m.Chart):
            native = chart_block(block) if charts and drawn < MAX_PER_MESSAGE else None
            drawn += native is not None
            blocks.append(native or text_block(block, escape))
            continue
        blocks.extend(_message_block(block, ids))
    if len(blocks) > limit:
        _LOGGER.warning("message %r has %d blocks; Slack allows %d", message.kind, len(blocks), limit)
        blocks = blocks[:limit]
    return [b.to_dict() for b in blocks]  # to_dict() validates Block Kit's limits


def render_message(message: m.Message, *, charts: bool = True) -> dict[str, Any]:
    """``{"text": ..., "blocks": [...]}``: ready for chat.postMessage and for Block Kit Builder.
    ``charts=False``: charts in their text form (a workspace that answered ``invalid_blocks``).

    Rendering is CPU on the event loop (slack_sdk's models validate every object: about 1 ms for
    the help text), so a message rendered before (help, confirmations, errors) comes from a small
    cache, as a fresh copy every time."""
    try:
        return cast(dict[str, Any], json.loads(_rendered(message, charts)))
    except TypeError:  # a block carrying something unhashable: render it afresh
        return _render_message(message, charts)


@lru_cache(maxsize=256)
def _rendered(message: m.Message, charts: bool) -> str:
    return json.dumps(_render_message(message, charts))


@lru_cache(maxsize=64)
def ephemeral_body(message: m.Message) -> str:
    """``message`` as the JSON body of a slash command's acknowledgement: Slack shows it at once, to that
    person only. Cached as a string: a burst of `help` costs no rendering and no JSON encoding."""
    return json.dumps({**_render_message(message, True), "response_type": "ephemeral"})


def _render_message(message: m.Message, charts: bool) -> dict[str, Any]:
    text = escape(clip(message.text or message.as_plain_text() or "Momentum", MAX_TEXT_FALLBACK))
    return {"text": text, "blocks": render_blocks(message, charts=charts)}


def render_home(message: m.Message) -> dict[str, Any]:
    """The App Home tab view for ``views.publish`` (charts in their text form)."""
    view = View(type="home", blocks=render_blocks(message, limit=MAX_VIEW_BLOCKS, charts=False))
    return view.to_dict()


def _input_block(block: m.Block) -> Block | None:
    if isinstance(block, m.TextInput):
        return InputBlock(
            block_id=block.field_id,
            label=_pt(block.label, MAX_LABEL),
            optional=block.optional,
            element=PlainTextInputElement(
                action_id=block.field_id,
                placeholder=_pt(block.placeholder, 150) if block.placeholder else None,
                multiline=block.multiline,
                max_length=min(block.max_length, 3000),
                initial_value=block.initial or None,
            ),
        )
    if isinstance(block, m.Choice):
        opts = [_option(o) for o in block.options[:MAX_SELECT]]
        initial = next((x for x, o in zip(opts, block.options, strict=False) if o.value == block.initial), None)
        element: Any
        if len(opts) <= MAX_RADIO:
            element = RadioButtonsElement(action_id=block.field_id, options=opts, initial_option=initial)
        else:
            element = StaticSelectElement(
                action_id=block.field_id,
                options=opts,
                initial_option=initial,
                placeholder=_pt(block.label, 150),
            )
        return InputBlock(
            block_id=block.field_id,
            label=_pt(block.label, MAX_LABEL),
            element=element,
            optional=block.optional,
        )
    if isinstance(block, m.Checkbox):
        opt = Option(value="true", text=_pt(block.label, MAX_OPTION_TEXT))
        return InputBlock(
            block_id=block.field_id,
            label=_pt(block.label, MAX_LABEL),
            optional=True,  # an unticked box is a valid answer ("false")
            element=CheckboxesElement(
                action_id=block.field_id, options=[opt], initial_options=[opt] if block.initial else None
            ),
        )
    return None


def form_metadata(form: m.Form, message_ref: dict[str, str] | None = None) -> str:
    meta: dict[str, Any] = {"form_id": form.form_id, "state": form.state}
    if message_ref:
        meta["ref"] = message_ref
    text = json.dumps(meta, separators=(",", ":"))
    if len(text) > MAX_METADATA:
        raise ValueError(f"form {form.form_id!r}: state too long for private_metadata ({len(text)} chars)")
    return text


def render_form(form: m.Form, message_ref: dict[str, str] | None = None) -> dict[str, Any]:
    """A modal view for ``views.open``; form id and state travel in ``private_metadata``."""
    blocks: list[Block] = []
    for block in form.blocks:
        inp = _input_block(block)
        if inp is not None:
            blocks.append(inp)
        elif not isinstance(block, m.Buttons):
            blocks.extend(_display_block(block))
    view = View(
        type="modal",
        callback_id=FORM_CALLBACK_ID,
        title=_pt(form.title, MAX_TITLE),
        submit=_pt(form.submit_label, MAX_TITLE),
        close=_pt("Cancel", MAX_TITLE),
        blocks=blocks[:MAX_VIEW_BLOCKS],
        private_metadata=form_metadata(form, message_ref),
    )
    return view.to_dict()


def form_errors(form_view: dict[str, Any] | None, errors: dict[str, str]) -> dict[str, str]:
    """Core field ids -> block ids of the open modal (errors must name an input block)."""
    input_ids = [b.get("block_id") for b in (form_view or {}).get("blocks", []) if b.get("type") == "input"]
    out: dict[str, str] = {}
    for field_id, msg in errors.items():
        target = field_id if field_id in input_ids or not input_ids else input_ids[0]
        out[target] = clip(msg, 150) if target not in out else out[target]
    return out
