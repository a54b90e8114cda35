"""The neutral message model: what the core composes and adapters render.

A message is a plain-text fallback plus a short tuple of neutral blocks.  The
core never emits Block Kit or Adaptive Card JSON; renderers in ``adapters/``
turn these into each platform's format and escape user text for it.

Inline text is a tuple of spans (``Text``, ``Link``, ``Mention``) rather than a
markup string, so user-supplied words can never be mistaken for markup by a
renderer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# --- inline spans --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    text: str
    bold: bool = False
    italic: bool = False


@dataclass(frozen=True)
class Link:
    url: str
    label: str


@dataclass(frozen=True)
class Mention:
    """A person, by platform external id; ``name`` is the fallback label."""

    external_id: str
    name: str


Span = Text | Link | Mention
Inline = tuple[Span, ...]


def plain(spans: Inline) -> str:
    """The spans as plain text (fallbacks, console, tests)."""
    out: list[str] = []
    for s in spans:
        if isinstance(s, Text):
            out.append(s.text)
        elif isinstance(s, Link):
            out.append(f"{s.label} ({s.url})")
        else:
            out.append(s.name)
    return "".join(out)


# --- blocks --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Paragraph:
    spans: Inline


@dataclass(frozen=True)
class Fields:
    """Label/value pairs shown as a compact grid (digest facts, report figures)."""

    items: tuple[tuple[str, str], ...]


ButtonStyle = Literal["primary", "danger"] | None


@dataclass(frozen=True)
class Button:
    action_id: str
    label: str
    value: str = ""
    style: ButtonStyle = None


@dataclass(frozen=True)
class Buttons:
    buttons: tuple[Button, ...]


@dataclass(frozen=True)
class Option:
    label: str
    value: str


@dataclass(frozen=True)
class Choice:
    """Pick one of a few options.

    In a message it acts like a button row that sends ``action_id`` with the chosen
    value; in a form it is an input field named ``field_id``.
    """

    field_id: str
    label: str
    options: tuple[Option, ...]
    initial: str | None = None
    optional: bool = False


@dataclass(frozen=True)
class TextInput:
    """A free-text input; only meaningful inside a ``Form``."""

    field_id: str
    label: str
    placeholder: str = ""
    multiline: bool = False
    optional: bool = True
    max_length: int = 2000
    initial: str = ""


@dataclass(frozen=True)
class Checkbox:
    """A single yes/no tick; only meaningful inside a ``Form``. Submits "true" or "false"."""

    field_id: str
    label: str
    initial: bool = False


@dataclass(frozen=True)
class Footnote:
    spans: Inline


ChartKind = Literal["line", "bar", "donut"]


@dataclass(frozen=True)
class Series:
    """One line, one set of bars, or (donut) the slices: points of (label, value); ``None`` is no data."""

    name: str
    points: tuple[tuple[str, float | None], ...]


@dataclass(frozen=True)
class Chart:
    """A small chart: renderers draw it natively where the platform can (Slack's data visualization
    block, Teams' chart elements) and show ``fallback`` (a compact text form) where it cannot.
    Build it with ``bot.model.charts.chart`` so the fallback always matches the data."""

    kind: ChartKind
    title: str
    series: tuple[Series, ...]
    unit: str = ""  # the y-axis unit, shown after values: "%", "/5"
    fallback: str = ""


Block = Heading | Paragraph | Fields | Buttons | Choice | TextInput | Checkbox | Footnote | Chart


@dataclass(frozen=True)
class Message:
    """What one person sees. ``text`` is the notification / screen-reader fallback."""

    text: str
    blocks: tuple[Block, ...] = ()
    kind: str = ""  # the prompt kind or reply kind, for logs, previews and metrics
    # Facts about the message for measurement and previews, never shown: "action" (the rotation key
    # of the suggested action), "phase", "holiday" (a greeting is suggested), "slots" (ISO UTC starts of
    # proposed meeting times), "grounded" (the digest's action quotes the sponsoree's words).
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def as_plain_text(self) -> str:
        """A readable plain-text form of the whole message (console, previews)."""
        lines: list[str] = []
        for b in self.blocks:
            if isinstance(b, Heading):
                lines.append(f"*{b.text}*")
            elif isinstance(b, Paragraph):
                lines.append(plain(b.spans))
            elif isinstance(b, Fields):
                lines.extend(f"  {k}: {v}" for k, v in b.items)
            elif isinstance(b, Buttons):
                lines.append("  " + "  ".join(f"[{x.label}]" for x in b.buttons))
            elif isinstance(b, Choice):
                lines.append(f"  {b.label}: " + " ".join(f"[{o.label}]" for o in b.options))
            elif isinstance(b, TextInput):
                lines.append(f"  {b.label}: ____")
            elif isinstance(b, Checkbox):
                lines.append(f"  [ ] {b.label}")
            elif isinstance(b, Footnote):
                lines.append("  " + plain(b.spans))
            elif isinstance(b, Chart):
                lines.append(b.fallback)
        return "\n".join(lines) if lines else self.text


@dataclass(frozen=True)
class Form:
    """A modal / task form: title, inputs, one submit button.

    ``form_id`` comes back as ``Interaction.action_id`` on submit and ``state`` as
    ``Interaction.value`` (adapters carry it in private metadata / hidden data).
    """

    form_id: str
    title: str
    submit_label: str
    blocks: tuple[Block, ...]
    state: str = ""


@dataclass(frozen=True)
class Attachment:
    """A file the core hands to a person (exports, ``my-data``)."""

    filename: str
    content: str
    mime: str = "text/csv"
    title: str = ""


# --- tiny builders used by the catalogue ---------------------------------------------------------


def t(text: str) -> Text:
    return Text(text)


def b(text: str) -> Text:
    return Text(text, bold=True)


def i(text: str) -> Text:
    return Text(text, italic=True)


def para(*spans: Span | str) -> Paragraph:
    return Paragraph(tuple(Text(s) if isinstance(s, str) else s for s in spans))


def foot(*spans: Span | str) -> Footnote:
    return Footnote(tuple(Text(s) if isinstance(s, str) else s for s in spans))


def buttons(*items: Button) -> Buttons:
    return Buttons(tuple(items))


@dataclass
class MessageBuilder:
    """Accumulates blocks and derives the text fallback from the first paragraph."""

    kind: str = ""
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> MessageBuilder:
        self.blocks.extend(blocks)
        return self

    def build(self, text: str | None = None, meta: dict[str, Any] | None = None) -> Message:
        if text is None:
            text = next(
                (plain(x.spans) for x in self.blocks if isinstance(x, Paragraph)),
                next((x.text for x in self.blocks if isinstance(x, Heading)), "Momentum"),
            )
        return Message(text=text, blocks=tuple(self.blocks), kind=self.kind, meta=dict(meta or {}))
