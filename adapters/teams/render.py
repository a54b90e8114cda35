"""Neutral ``Message``/``Form`` -> Adaptive Card 1.5 (what Teams renders) and Bot Framework attachments.

No SDK import here: cards are plain dicts, so the preview command and the schema tests
need nothing but this module.

Markdown that every Adaptive Cards renderer shows (Teams desktop, web and mobile, Outlook, the
``adaptivecards`` JS renderer): TextBlock markdown is a small subset (bold, italic, links, bullet and
numbered lists).  So:

- bold and italic markers sit tight around words (``**Recorded:** We met``): a run that starts or
  ends in whitespace is not closed by CommonMark-style renderers and shows literal asterisks;
- there are no code spans: a word in backticks (the core writes command names so) becomes bold;
- escaping touches only what that subset would interpret (emphasis markers that could open or close,
  link brackets followed by ``](``, list markers at a line start).  Teams mobile shows a backslash
  literally (microsoft/AdaptiveCards#5590, #4677), so nothing else is escaped: plain prose, the bot's
  own included, reaches the card unchanged.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from adapters.teams.charts import chart_element
from adapters.teams.words import t
from bot.model.messages import (
    Attachment,
    Block,
    Buttons,
    Chart,
    Checkbox,
    Choice,
    Fields,
    Footnote,
    Form,
    Heading,
    Link,
    Message,
    Paragraph,
    Span,
    Text,
    TextInput,
)

_LOGGER = logging.getLogger(__name__)

CARD_VERSION = "1.5"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
# Keys in Action.Submit data that say what the click means (Teams merges input values beside them).
ACTION_KEY = "momentum_action"
VALUE_KEY = "momentum_value"
FORM_KEY = "momentum_form"
STATE_KEY = "momentum_state"
RESERVED_KEYS = frozenset({ACTION_KEY, VALUE_KEY, FORM_KEY, STATE_KEY, "msteams"})
# Teams rejects activities above ~28 KB; keep a CSV preview well below that.
MAX_INLINE_FILE_CHARS = 12_000

# An emphasis marker can open or close a run unless whitespace (or the text's edge) is on both sides;
# "_" inside a word (snake_case) never does in CommonMark, so it stays.
_EMPHASIS = re.compile(r"(?<![\s])[*_]|[*_](?![\s]|$)")
_LINE_START_LIST = re.compile(r"^([ \t]*)([-+*]|\d+[.)])(?=[ \t])", re.MULTILINE)
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
# "<scheme:...>" and "<a@b.c>" are autolinks to markdown-it (so "<HH:MM>" in a usage line became a link to
# "HH:MM"). A WORD JOINER after "<" (invisible, unlike a backslash on Teams mobile) keeps it text.
_AUTOLINK = re.compile(r"<(?=[A-Za-z][A-Za-z0-9.+-]{1,31}:[^\s<>]*>|[^\s<>@]+@[^\s<>]+>)")
WORD_JOINER = "\u2060"
_ESCAPABLE_BACKSLASH = re.compile(r"\\(?=[!-/:-@\[-`{-~])")


def escape(text: str) -> str:
    """Escape text for Adaptive Cards markdown, minimally: only what the subset would interpret.

    Prose without markdown-looking characters is returned unchanged (the bot's own words never gain
    a backslash); ``**bold**``, ``_it_``, ``[x](url)`` and ``- item`` written by a person stay literal.
    """
    out = _ESCAPABLE_BACKSLASH.sub(r"\\\\", text)  # a backslash that would escape the next character
    out = _EMPHASIS.sub(_escape_emphasis, out)
    out = _AUTOLINK.sub("<" + WORD_JOINER, out)
    if "](" in out:
        out = out.replace("[", "\\[").replace("]", "\\]")
    return out


def block_markdown(markdown: str) -> str:
    """A TextBlock's whole markdown: list markers that begin a line are escaped (only there are they
    markers; a span cannot know whether it starts a line, so this runs on the joined text)."""
    return _LINE_START_LIST.sub(_escape_list_marker, markdown)


def _escape_emphasis(m: re.Match[str]) -> str:
    ch = m.group(0)
    start, end = m.start(), m.end()
    text = m.string
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    if ch == "_" and before.isalnum() and after.isalnum():
        return ch  # snake_case: intraword underscores never emphasise
    return "\\" + ch


def _escape_list_marker(m: re.Match[str]) -> str:
    marker = m.group(2)
    if marker.startswith("\\"):
        return m.group(0)
    marker = f"{marker[:-1]}\\{marker[-1]}" if marker[-1] in ".)" else f"\\{marker}"
    return f"{m.group(1)}{marker}"


def _tight(body: str, mark: str) -> str:
    """``mark`` around ``body`` with the body's outer whitespace moved outside the markers."""
    core = body.strip()
    if not core:
        return body
    lead = body[: len(body) - len(body.lstrip())]
    trail = body[len(body.rstrip()) :]
    return f"{lead}{mark}{core}{mark}{trail}"


def _safe_url(url: str) -> str | None:
    return url if url.startswith(("https://", "http://", "mailto:")) and not re.search(r"[\s()]", url) else None


def text_markdown(text: str, *, bold: bool = False, italic: bool = False, whole_block: bool = True) -> str:
    """A run of text as Adaptive Cards markdown; words in backticks read as bold (no code spans here).
    ``whole_block``: the text is a TextBlock's whole text (else a span inside one)."""
    parts: list[str] = []
    pos = 0
    for m in _CODE_SPAN.finditer(text):
        parts.append(escape(text[pos : m.start()]))
        parts.append(escape(m.group(1)) if bold else _tight(escape(m.group(1)), "**"))
        pos = m.end()
    parts.append(escape(text[pos:]))
    body = "".join(parts)
    if whole_block:
        body = block_markdown(body)
    if bold:
        body = _tight(body, "**")
    if italic:
        body = _tight(body, "_")
    return body


def span_markdown(span: Span) -> str:
    if isinstance(span, Text):
        return text_markdown(span.text, bold=span.bold, italic=span.italic, whole_block=False)
    if isinstance(span, Link):
        url = _safe_url(span.url)
        label = escape(span.label)
        return f"[{label}]({url})" if url else f"{label} ({escape(span.url)})"
    # Mention: Adaptive Card mentions need the msteams.entities extension, which the 1.5 schema
    # forbids on the card (additionalProperties: false); a bold name reads the same on a phone.
    return _tight(escape(span.name), "**")


def spans_markdown(spans: tuple[Span, ...]) -> str:
    return block_markdown("".join(span_markdown(s) for s in spans))


def _action_submit(title: str, data: dict[str, Any], style: str | None = None) -> dict[str, Any]:
    action: dict[str, Any] = {"type": "Action.Submit", "title": title[:80], "data": data}
    if style == "primary":
        action["style"] = "positive"
    elif style == "danger":
        action["style"] = "destructive"
    return action


def button_data(action_id: str, value: str) -> dict[str, Any]:
    """Action.Submit data for a button: the core's action id and value, nothing else."""
    return {ACTION_KEY: action_id, VALUE_KEY: value}


def _block(block: Block, *, in_form: bool) -> list[dict[str, Any]]:
    if isinstance(block, Chart):
        return [chart_element(block, text_markdown)]
    if isinstance(block, Heading):
        return [
            {
                "type": "TextBlock",
                "text": text_markdown(block.text),
                "size": "Medium",
                "weight": "Bolder",
                "wrap": True,
            }
        ]
    if isinstance(block, Paragraph):
        return [{"type": "TextBlock", "text": spans_markdown(block.spans), "wrap": True}]
    if isinstance(block, Footnote):
        return [
            {
                "type": "TextBlock",
                "text": spans_markdown(block.spans),
                "size": "Small",
                "isSubtle": True,
                "wrap": True,
            }
        ]
    if isinstance(block, Fields):
        if not block.items:
            return []
        facts = [{"title": text_markdown(k), "value": text_markdown(v)} for k, v in block.items]
        return [{"type": "FactSet", "facts": facts}]
    if isinstance(block, Buttons):
        if not block.buttons:
            return []
        return [
            {
                "type": "ActionSet",
                "actions": [_action_submit(x.label, button_data(x.action_id, x.value), x.style) for x in block.buttons],
            }
        ]
    if isinstance(block, Choice):
        if in_form:
            choice: dict[str, Any] = {
                "type": "Input.ChoiceSet",
                "id": block.field_id,
                "label": block.label,
                "style": "expanded" if len(block.options) <= 5 else "compact",
                "choices": [{"title": o.label, "value": o.value} for o in block.options],
                "isRequired": not block.optional,
            }
            if not block.optional:
                choice["errorMessage"] = f"Please choose: {block.label}"
            if block.initial is not None:
                choice["value"] = block.initial
            return [choice]
        # In a message a choice is a row of one-tap buttons that send the field id with the value.
        return [
            {"type": "TextBlock", "text": text_markdown(block.label), "wrap": True, "weight": "Bolder"},
            {
                "type": "ActionSet",
                "actions": [_action_submit(o.label, button_data(block.field_id, o.value)) for o in block.options],
            },
        ]
    if isinstance(block, TextInput):
        text_input: dict[str, Any] = {
            "type": "Input.Text",
            "id": block.field_id,
            "label": block.label,
            "isMultiline": block.multiline,
            "maxLength": block.max_length,
            "isRequired": not block.optional,
        }
        if block.placeholder:
            text_input["placeholder"] = block.placeholder
        if block.initial:
            text_input["value"] = block.initial
        if not block.optional:
            text_input["errorMessage"] = t("form.required", label=block.label)
        return [text_input]
    if isinstance(block, Checkbox):
        return [
            {
                "type": "Input.Toggle",
                "id": block.field_id,
                "title": block.label,
                "value": "true" if block.initial else "false",
                "valueOn": "true",
                "valueOff": "false",
                "wrap": True,
            }
        ]
    raise TypeError(f"unknown block {type(block).__name__}")


def _card(body: list[dict[str, Any]], fallback: str, actions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": CARD_VERSION,
        "body": body or [{"type": "TextBlock", "text": text_markdown(fallback), "wrap": True}],
        "fallbackText": fallback,
    }
    if actions:
        card["actions"] = actions
    return card


def to_card(message: Message) -> dict[str, Any]:
    """An Adaptive Card 1.5 for ``message``; ``fallbackText`` is its plain text."""
    body: list[dict[str, Any]] = []
    for block in message.blocks:
        body.extend(_block(block, in_form=False))
    return _card(body, message.text or message.as_plain_text())


def form_card(form: Form, errors: dict[str, str] | None = None) -> dict[str, Any]:
    """A Form as a card: title, inputs and one Action.Submit carrying the form id and state."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": text_markdown(form.title), "size": "Medium", "weight": "Bolder", "wrap": True}
    ]
    for block in form.blocks:
        body.extend(_block(block, in_form=True))
    if errors:
        body.extend(errors_body(errors))
    submit = _action_submit(form.submit_label, {FORM_KEY: form.form_id, STATE_KEY: form.state}, "primary")
    return _card(body, f"{form.title} (open Teams to fill in this form)", [submit])


def errors_body(errors: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"type": "TextBlock", "text": text_markdown(msg), "color": "Attention", "wrap": True} for msg in errors.values()
    ]


def errors_card(errors: dict[str, str]) -> dict[str, Any]:
    """What to fix after a form submit; the form card stays in the chat to correct and resend."""
    body = [
        {
            "type": "TextBlock",
            "text": t("form.fix_heading"),
            "weight": "Bolder",
            "wrap": True,
        },
        *errors_body(errors),
    ]
    return _card(body, t("form.fix_fallback", errors=t("form.error_separator").join(errors.values())))


def file_card(attachment: Attachment) -> dict[str, Any]:
    """A file as a card: the CSV in a monospace block (bot file upload needs the consent flow)."""
    content = attachment.content
    truncated = len(content) > MAX_INLINE_FILE_CHARS
    if truncated:
        content = content[:MAX_INLINE_FILE_CHARS].rsplit("\n", 1)[0]
    shown_rows = content.count("\n") + 1 if content else 0
    total_rows = attachment.content.count("\n") + (0 if attachment.content.endswith("\n") else 1)
    title = attachment.title or attachment.filename
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": escape(title), "size": "Medium", "weight": "Bolder", "wrap": True},
        {
            "type": "TextBlock",
            "text": escape(attachment.filename),
            "isSubtle": True,
            "size": "Small",
            "wrap": True,
        },
        {
            "type": "Container",
            "style": "emphasis",
            "items": [
                {
                    "type": "TextBlock",
                    "text": escape(content) or t("file.empty"),
                    "fontType": "Monospace",
                    "wrap": True,
                    "size": "Small",
                }
            ],
        },
    ]
    if truncated:
        body.append(
            {
                "type": "TextBlock",
                "isSubtle": True,
                "size": "Small",
                "wrap": True,
                "text": text_markdown(t("file.truncated", shown=shown_rows, total=total_rows)),
            }
        )
    return _card(body, t("file.summary", title=title, total=total_rows, mime=attachment.mime))


def card_attachment(card: dict[str, Any]) -> dict[str, Any]:
    """The Bot Framework attachment wrapping an Adaptive Card."""
    return {"contentType": CARD_CONTENT_TYPE, "content": card}


def activity_for_card(card: dict[str, Any], summary: str) -> dict[str, Any]:
    """A message activity (dict) carrying one card; ``summary`` is the notification/preview text."""
    return {"type": "message", "summary": summary[:250], "attachments": [card_attachment(card)]}


def message_activity(message: Message) -> dict[str, Any]:
    return activity_for_card(to_card(message), message.text or message.as_plain_text())
