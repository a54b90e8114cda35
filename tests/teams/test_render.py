"""Every card the Teams adapter can send is a valid Adaptive Card 1.5; user text is escaped."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from adapters.teams import render
from bot.model.messages import Button, Message, Paragraph, Text, buttons
from tests.conftest import require_schema
from tests.teams import samples


@pytest.fixture(scope="module")
def card_validator() -> jsonschema.Draft6Validator:
    schema = json.loads(require_schema("adaptive-card-1.5.schema.json").read_text())
    return jsonschema.Draft6Validator(schema)


def assert_valid(validator: jsonschema.Draft6Validator, card: dict[str, Any]) -> None:
    errors = sorted(validator.iter_errors(card), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message[:200]}" for e in errors]
    assert card["version"] == "1.5" and card["fallbackText"]


def test_every_message_kind_renders_a_valid_card(card_validator: jsonschema.Draft6Validator) -> None:
    messages = samples.sample_messages()
    assert len(messages) > 10  # the core's preview samples: every kind it can send
    for name, message in messages.items():
        card = render.to_card(message)
        assert_valid(card_validator, card)
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
