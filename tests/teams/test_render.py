"""Every card the Teams adapter can send is a valid Adaptive Card 1.5; user text is escaped."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from adapters.teams import render
from bot.model.charts import chart
from bot.model.messages import Button, Heading, Message, Paragraph, Text, buttons
from tests.conftest import require_schema
from tests.teams import samples
from tests.teams.chart_schema import schema_with_charts


@pytest.fixture(scope="module")
def card_validator() -> jsonschema.Draft6Validator:
    schema = json.loads(require_schema("adaptive-card-1.5.schema.json").read_text())
    return jsonschema.Draft6Validator(schema)


@pytest.fixture(scope="module")
def chart_validator() -> jsonschema.Draft6Validator:
    """Adaptive Card 1.5 with Teams' chart elements allowed explicitly (tests/teams/chart_schema.py)."""
    return jsonschema.Draft6Validator(schema_with_charts())


def assert_valid(validator: jsonschema.Draft6Validator, card: dict[str, Any]) -> None:
    errors = sorted(validator.iter_errors(card), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message[:200]}" for e in errors]
    assert card["version"] == "1.5" and card["fallbackText"]


def test_every_message_kind_renders_a_valid_card(chart_validator: jsonschema.Draft6Validator) -> None:
    messages = samples.sample_messages()
    assert len(messages) > 10  # the core's preview samples: every kind it can send
    for name, message in messages.items():
        card = render.to_card(message)
        assert_valid(chart_validator, card)  # Adaptive Card 1.5, with Teams' chart elements (the report)
        assert name
        activity = render.message_activity(message)
        assert activity["summary"] and activity["attachments"][0]["contentType"] == render.CARD_CONTENT_TYPE


def test_forms_errors_and_files_render_valid_cards(card_validator: jsonschema.Draft6Validator) -> None:
    forms = samples.sample_forms()
    assert len(forms) > 1  # the core's preview forms are there too
    for form in forms.values():
        card = render.form_card(form)
        assert_valid(card_validator, card)
        assert_valid(card_validator, render.form_card(form, {"note": "Please write a line"}))
    assert_valid(card_validator, render.errors_card({"note": "Please write a line", "when": "Pick a day"}))
    assert_valid(card_validator, render.file_card(samples.sample_attachment()))
    assert_valid(card_validator, render.file_card(samples.sample_attachment(5000)))


def test_buttons_are_action_submit_carrying_the_core_action_id_and_value() -> None:
    card = render.to_card(samples.representative_messages()["checkin"])
    action_sets = [b for b in card["body"] if b["type"] == "ActionSet"]
    first = action_sets[0]["actions"][0]
    assert first["type"] == "Action.Submit" and first["title"] == "We met" and first["style"] == "positive"
    assert first["data"] == {render.ACTION_KEY: "checkin.status", render.VALUE_KEY: "1:met"}
    # A choice in a message is a row of one-tap buttons that send the field id with the value.
    momentum = action_sets[1]["actions"]
    assert [a["data"][render.VALUE_KEY] for a in momentum] == [f"1:{n}" for n in range(1, 6)]
    assert {a["data"][render.ACTION_KEY] for a in momentum} == {"checkin.momentum"}


def test_form_card_has_inputs_and_one_submit_with_form_id_and_state() -> None:
    form = samples.representative_forms()["note"]
    card = render.form_card(form)
    inputs = {b["id"]: b for b in card["body"] if b["type"].startswith("Input.")}
    assert inputs["note"]["type"] == "Input.Text" and inputs["note"]["isRequired"] is True
    assert inputs["note"]["isMultiline"] is True
    assert inputs["shared"] == {
        **inputs["shared"],
        "type": "Input.Toggle",
        "valueOn": "true",
        "valueOff": "false",
    }
    assert inputs["kind"]["style"] == "expanded" and inputs["kind"]["value"] == "meeting"
    assert inputs["when"]["style"] == "compact" and inputs["when"]["isRequired"] is False
    (submit,) = card["actions"]
    assert submit["data"] == {render.FORM_KEY: "checkin.note", render.STATE_KEY: "42"}
    assert submit["title"] == "Save note"


def test_user_text_cannot_inject_markdown_links_or_mentions() -> None:
    from markdown_it import MarkdownIt

    evil = "**bold** [click](https://evil.example) <at>Everyone</at>\n- not a list\n1. nor this"
    card = render.to_card(Message(text=evil, blocks=(Paragraph((Text(evil),)),)))
    text = card["body"][0]["text"]
    shown = MarkdownIt("js-default").render(text)  # the parser adaptivecards.js uses
    for markup in ("<strong>", "<em>", "<a ", "<li>", "<ol", "<ul"):
        assert markup not in shown, markup
    assert "\\*\\*bold\\*\\*" in text and "\n\\- not a list" in text and "\n1\\. nor this" in text
    # "<at>" is only a mention with msteams.entities on the activity, which our cards never carry.
    assert "msteams" not in json.dumps(card) and "&lt;at&gt;Everyone&lt;/at&gt;" in shown
    assert card["fallbackText"] == evil  # plain text stays plain


def test_links_and_mentions_render_as_markdown() -> None:
    msg = samples.representative_messages()["checkin"]
    card = render.to_card(msg)
    texts = " ".join(b.get("text", "") for b in card["body"])
    assert "**Sam \\*Sponsor\\***" in texts  # a mention reads as the bold, escaped name
    assert "[Privacy](https://example.com/privacy)" in texts
    assert " _Be honest_" in texts and "**- it's private.**" in texts  # markers tight around the words


def test_unsafe_link_urls_are_not_clickable() -> None:
    from bot.model.messages import Link

    card = render.to_card(Message(text="x", blocks=(Paragraph((Link("javascript:alert(1)", "hi"),)),)))
    assert "](" not in card["body"][0]["text"]


def test_message_without_blocks_falls_back_to_its_text(card_validator: jsonschema.Draft6Validator) -> None:
    card = render.to_card(Message(text="Saved."))
    assert card["body"][0]["text"] == "Saved." and card["fallbackText"] == "Saved."
    empty_buttons = render.to_card(Message(text="x", blocks=(buttons(),)))
    assert_valid(card_validator, empty_buttons)
    assert (
        render.to_card(Message(text="x", blocks=(buttons(Button("a", "b" * 200)),)))["body"][0]["actions"][0]["title"]
        == "b" * 80
    )


def test_large_file_is_truncated_and_says_so() -> None:
    att = samples.sample_attachment(5000)
    card = render.file_card(att)
    code = card["body"][2]["items"][0]
    assert code["fontType"] == "Monospace" and len(code["text"]) <= render.MAX_INLINE_FILE_CHARS * 2
    assert "Showing the first" in card["body"][-1]["text"]
    assert len(json.dumps(card)) < 28_000  # Teams' activity size limit


def _trend() -> Message:
    rates = chart("line", "Pilot: weekly engagement (%)", (
        ("Engagement", (("Jan 5", 100), ("Jan 12", None), ("Jan 19", 50))),
        ("Check-ins answered", (("Jan 5", 80), ("Jan 12", 60), ("Jan 19", 70))),
    ), unit="%")
    score = chart("bar", "Pilot: average momentum", (("Momentum (1-5)", (("Jan 5", 3), ("Jan 19", 4.5))),),
                  unit="/5", decimals=1)
    mix = chart("donut", "Answers", (("Answers", (("We met", 6), ("Light touch", 3), ("Not yet", 0))),))
    grouped = chart("bar", "Two series", (("A", (("x", 1),)), ("B", (("x", 2),))))
    empty = chart("line", "Nothing yet", (("Engagement", (("Jan 5", None),)),))
    return Message(text="Program health", blocks=(Heading("Program health: Pilot"), rates, score, mix, grouped, empty))


def test_charts_render_as_teams_chart_elements_with_a_text_fallback(
    chart_validator: jsonschema.Draft6Validator, card_validator: jsonschema.Draft6Validator
) -> None:
    card = render.to_card(_trend())
    assert_valid(chart_validator, card)
    body = card["body"]
    assert [b["type"] for b in body] == ["TextBlock", "Chart.Line", "Chart.VerticalBar", "Chart.Donut",
                                        "Chart.VerticalBar.Grouped", "Container"]
    line = body[1]
    assert line["title"] == "Pilot: weekly engagement (%)" and line["yAxisTitle"] == "%"
    assert line["data"][0] == {"legend": "Engagement", "values": [{"x": "Jan 5", "y": 100}, {"x": "Jan 19", "y": 50}]}
    assert body[2]["data"] == [{"x": "Jan 5", "y": 3.0}, {"x": "Jan 19", "y": 4.5}]
    assert body[3]["data"] == [{"legend": "We met", "value": 6}, {"legend": "Light touch", "value": 3}]
    # every chart carries its text form for hosts without chart elements; a chart without data is only that
    fb = line["fallback"]
    assert fb["type"] == "Container" and fb["items"][0]["text"] == "Pilot: weekly engagement (%)"
    assert fb["items"][1]["fontType"] == "Monospace"
    assert fb["items"][1]["text"] == "  Engagement          █·▁  50%  ↓50\n  Check-ins answered  █▁▅  70%  ↑10"
    assert body[5]["items"][0]["text"] == "Nothing yet"
    # the plain 1.5 schema refuses the chart elements (the extension is what allows them) ...
    assert list(card_validator.iter_errors(card))
    # ... and a chart's fallback alone is a valid 1.5 card
    assert_valid(card_validator, {**card, "body": [b.get("fallback", b) for b in body]})


def test_the_schema_extension_still_refuses_a_wrong_chart(chart_validator: jsonschema.Draft6Validator) -> None:
    assert not list(chart_validator.iter_errors(render.to_card(_trend())))
    wrong_value = render.to_card(_trend())
    wrong_value["body"][1]["data"][0]["values"][0]["y"] = "a lot"  # not a number
    unknown = render.to_card(_trend())
    unknown["body"][2]["legend"] = "a property Chart.VerticalBar does not have"
    no_data = render.to_card(_trend())
    del no_data["body"][3]["data"]
    for card in (wrong_value, unknown, no_data):
        assert list(chart_validator.iter_errors(card))
