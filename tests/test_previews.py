"""Every message and form the bot can send, rendered as ``momentum preview`` writes them, read as a person sees it.

Teams: TextBlock markdown goes through markdown-it (the parser the official ``adaptivecards`` renderer uses)
and the visible text must hold no literal ``**``, no backtick and no backslash. Slack: mrkdwn is read with
Slack's rules (tight ``*bold*``/``_italic_``, real code spans, ``<...>`` tokens) and must leave none either.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from adapters.cli import app

_MD = MarkdownIt("js-default")  # markdown-it.js defaults (no raw HTML), as adaptivecards.js uses it
_TAG = re.compile(r"<[^>]+>")
# Markdown an Adaptive Card TextBlock / FactSet renders; other fields (titles, labels) are plain text.
_MARKDOWN_FIELDS = {("TextBlock", "text"), ("Fact", "title"), ("Fact", "value")}


def preview(tmp_path: Path, platform: str) -> dict[str, Any]:
    out = tmp_path / platform
    result = CliRunner().invoke(app, ["preview", "--platform", platform, "--out", str(out)])
    assert result.exit_code == 0, result.output
    files = sorted(out.glob("*.json"))
    assert len(files) > 40  # every kind, phase and role, plus the forms
    return {f.stem: json.loads(f.read_text(encoding="utf-8")) for f in files}


def teams_visible(node: Any, kind: str = "") -> list[tuple[str, str]]:
    """(raw, visible) for every string a person sees on the card."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        kind = str(node.get("type", kind))
        for key, value in node.items():
            if key == "facts" and isinstance(value, list):
                for fact in value:
                    found.extend(teams_visible({**fact, "type": "Fact"}))
            elif isinstance(value, str) and key in ("text", "title", "value", "label", "placeholder", "fallbackText"):
                if key == "value" and kind.startswith("Input."):
                    continue
                if (kind, key) in _MARKDOWN_FIELDS:
                    shown = html.unescape(_TAG.sub("", _MD.render(value))).strip()
                else:
                    shown = value
                found.append((value, shown))
            elif key not in ("data",):
                found.extend(teams_visible(value, kind))
    elif isinstance(node, list):
        for item in node:
            found.extend(teams_visible(item, kind))
    return found


def literal_markup(shown: str) -> list[str]:
    problems = []
    if "**" in shown:
        problems.append("literal **")
    if "`" in shown:
        problems.append("backtick")
    if "\\" in shown:
        problems.append("backslash")
    if re.search(r"(^|\s)[*_]\S|\S[*_](\s|$)", shown):
        problems.append("unrendered emphasis marker")
    return problems


def test_every_teams_card_shows_no_literal_markup(tmp_path: Path) -> None:
    cards = preview(tmp_path, "teams")
    bad: dict[str, list[str]] = {}
    bold_runs = 0
    for name, card in cards.items():
        assert card["type"] == "AdaptiveCard"
        for raw, shown in teams_visible(card):
            problems = literal_markup(shown)
            if problems:
                bad.setdefault(name, []).append(f"{problems}: {raw[:80]!r} -> {shown[:80]!r}")
            bold_runs += raw.count("**") // 2
    assert not bad, json.dumps(bad, indent=1)
    assert bold_runs > 20  # bold spans are there, and they render


def test_teams_cards_link_only_where_the_bot_links(tmp_path: Path) -> None:
    """No accidental links: "<HH:MM>" in a usage line is an autolink to markdown-it unless broken."""
    cards = preview(tmp_path, "teams")
    hrefs = [
        href
        for card in cards.values()
        for raw, _ in teams_visible(card)
        for href in re.findall(r'<a href="([^"]*)"', _MD.render(raw))
    ]
    assert all(h.startswith(("https://", "http://", "mailto:")) for h in hrefs), hrefs
    help_text = " ".join(raw for raw, _ in teams_visible(cards["help"]))
    assert "HH:MM" in help_text and "<a " not in _MD.render(help_text)


def test_teams_bold_spans_really_render_bold(tmp_path: Path) -> None:
    cards = preview(tmp_path, "teams")
    texts = [raw for card in cards.values() for raw, _ in teams_visible(card) if "**" in raw]
    assert texts
    for raw in texts:
        rendered = _MD.render(raw)
        assert rendered.count("<strong>") == raw.count("**") // 2, raw


def slack_visible(mrkdwn: str) -> str:
    """What Slack shows for a mrkdwn string: tokens, code spans and tight emphasis removed."""
    text = re.sub(r"<[^<>|]+\|([^<>]*)>", r"\1", mrkdwn)  # <url|label>
    text = re.sub(r"<[@#!]?[^<>]*>", "@x", text)  # mentions, bare links
    text = re.sub(r"`[^`\n]+`", "code", text)  # real code spans: Slack renders them
    text = re.sub(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])", r"\1", text)
    text = re.sub(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])", r"\1", text)
    return html.unescape(text)


def slack_texts(node: Any) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            found.append((node["text"], slack_visible(node["text"])))
        elif node.get("type") == "plain_text" and isinstance(node.get("text"), str):
            found.append((node["text"], node["text"]))
        for key, value in node.items():
            if key != "text" or not isinstance(value, str):
                found.extend(slack_texts(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(slack_texts(item))
    return found


def test_every_slack_message_shows_no_literal_markup(tmp_path: Path) -> None:
    rendered = preview(tmp_path, "slack")
    bad: dict[str, list[str]] = {}
    for name, payload in rendered.items():
        for raw, shown in slack_texts(payload):
            problems = literal_markup(shown)
            if problems:
                bad.setdefault(name, []).append(f"{problems}: {raw[:80]!r} -> {shown[:80]!r}")
    assert not bad, json.dumps(bad, indent=1)


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("**not bold**", "**not bold**"),
        ("_not italic_", "_not italic_"),
        ("[click](https://evil.example)", "[click](https://evil.example)"),
        ("- not a list", "- not a list"),
        ("1. nor this", "1. nor this"),
        ("snake_case and 5 * 3", "snake_case and 5 * 3"),
        ("quarter(s) win [--private] <text>", "quarter(s) win [--private] <text>"),
        ("time <weekday> <HH:MM> or <me@example.com>", "time <weekday> <\u2060HH:MM> or <\u2060me@example.com>"),
    ],
)
def test_text_a_person_wrote_shows_exactly_as_typed_on_teams(typed: str, shown: str) -> None:
    from adapters.teams.render import to_card
    from bot.model.messages import Message, Paragraph, Text

    card = to_card(Message(text=typed, blocks=(Paragraph((Text(typed),)),)))
    raw = card["body"][0]["text"]
    rendered = _MD.render(raw)
    assert "<strong>" not in rendered and "<em>" not in rendered and "<a " not in rendered and "<li>" not in rendered
    assert html.unescape(_TAG.sub("", rendered)).strip() == shown
    if not re.search(r"[*_\[\]\\<-]|\d\.", typed) or typed.startswith(("snake", "quarter")):
        assert raw == typed  # nothing markdown would read: no escaping at all


def test_every_preview_message_and_a_report_with_charts_survive_the_wire() -> None:
    """The inbox keeps answers as JSON (bot.model.wire): every message the bot can send, charts included, comes
    back equal (a report with charts once could not be read back, so its retry failed five times)."""
    from bot.chat.preview import sample_messages
    from bot.content.journey import KINDS
    from bot.model import wire
    from bot.model.charts import chart
    from bot.model.interactions import Response
    from bot.model.messages import MessageBuilder, para

    messages = dict(sample_messages(tuple(KINDS)))
    messages["report with charts"] = MessageBuilder(kind="report").add(
        para("Program health"), chart("line", "Pilot: each week (%)", (("In contact that week", (("Jan 5", 50.0),)),),
                                      unit="%")).build()
    assert len(messages) > 20
    for name, msg in messages.items():
        back = wire.load(wire.dump(Response(reply=msg, update=msg)))
        assert back.reply == msg and back.update == msg, name
        assert wire.load_message(wire.dump(msg)) == msg, name
