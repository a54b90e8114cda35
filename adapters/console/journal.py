"""The demo's JSONL journal: every delivered message and every simulated tap, one object a line.

``message`` records carry what the person reads (all visible text, button labels apart),
the links in it, the prompt row's kind, phase and week, and the optional ``Message.meta``
keys (action, holiday, slots, grounded) when the core provides them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import IO, Any

from bot.model.messages import Buttons, Fields, Footnote, Heading, Inline, Link, Mention, Message, Paragraph, Text
from bot.model.messages import Choice as ChoiceBlock

META_KEYS = ("action", "holiday", "slots", "grounded", "groundable", "facts", "nothing_new", "quiet_since_at",
             "silent", "meetings_since", "promise", "contact",
             "ask_unanswered")
SEATS = ("senior", "junior")


def role_for(program_kind: str, seat: str) -> str:
    """The program kind's name for a seat (senior = pair.sponsor_id, junior = pair.sponsoree_id).

    The one place that asks the journey module, so it can be repointed when the journey changes.
    """
    from bot.content.journey import builtin

    return builtin(program_kind).role(seat) if seat in ("senior", "junior") else seat


def _spans(spans: Inline) -> str:
    out = []
    for s in spans:
        if isinstance(s, Text):
            out.append(s.text)
        elif isinstance(s, Link):
            out.append(s.label)
        elif isinstance(s, Mention):
            out.append(s.name)
    return "".join(out)


def visible_text(message: Message) -> str:
    """What the person reads: headings, paragraphs, fields, footnotes; no button labels, no URLs."""
    lines: list[str] = []
    for b in message.blocks:
        if isinstance(b, Heading):
            lines.append(b.text)
        elif isinstance(b, Paragraph | Footnote):
            lines.append(_spans(b.spans))
        elif isinstance(b, Fields):
            lines.extend(f"{k}: {v}" for k, v in b.items)
        elif isinstance(b, ChoiceBlock):
            lines.append(b.label)
    return "\n".join(line for line in lines if line) if message.blocks else message.text


def button_labels(message: Message) -> list[str]:
    out: list[str] = []
    for b in message.blocks:
        if isinstance(b, Buttons):
            out.extend(x.label for x in b.buttons)
        elif isinstance(b, ChoiceBlock):
            out.extend(o.label for o in b.options)
    return out


def links(message: Message) -> list[str]:
    return [s.url for b in message.blocks if isinstance(b, Paragraph | Footnote) for s in b.spans
            if isinstance(s, Link)]


def meta_of(message: Message) -> Mapping[str, Any]:
    meta = getattr(message, "meta", None) or {}
    return meta if isinstance(meta, Mapping) else {}


def message_record(message: Message, *, week: int, program_kind: str, pair: str, recipient: str, seat: str,
                   tz: str, local_time: str, prompt_kind: str, phase: str) -> dict[str, Any]:
    meta = meta_of(message)
    rec: dict[str, Any] = {
        "type": "message", "week": week, "program_kind": program_kind, "pair": pair, "recipient": recipient,
        "seat": seat, "role": role_for(program_kind, seat), "tz": tz, "local_time": local_time,
        "prompt_kind": prompt_kind, "phase": phase or str(meta.get("phase") or ""),
        "text": visible_text(message), "buttons": button_labels(message), "links": links(message),
    }
    for key in META_KEYS:
        if key in meta and meta[key] is not None:
            value = meta[key]
            rec[key] = list(value) if isinstance(value, list | tuple) else value
    return rec


class Journal:
    """Writes records as JSON lines (or keeps them in memory when there is no file)."""

    def __init__(self, stream: IO[str] | None = None, keep: bool = False) -> None:
        self.stream, self.keep = stream, keep
        self.records: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {}

    def write(self, record: dict[str, Any]) -> None:
        self.counts[record["type"]] = self.counts.get(record["type"], 0) + 1
        if self.keep:
            self.records.append(record)
        if self.stream is not None:
            self.stream.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
