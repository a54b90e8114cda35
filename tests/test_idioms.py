"""Plain English for a global reader: no word of the bot uses a banned idiom (bot/content/data/idioms.yml)."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources

import pytest
import yaml

from bot.content.idioms import banned_idioms, idioms
from bot.content.journey import KINDS, builtin


def _journey_words() -> Iterator[tuple[str, str]]:
    for kind in KINDS:
        for slot, lines in builtin(kind).words.items():  # the kind's words merged over _base.yml
            for ln in lines:
                yield f"{kind}:{slot}:{ln.key}", ln.text
                if ln.done:
                    yield f"{kind}:{slot}:{ln.key}:done", ln.done


def _chat_words() -> Iterator[tuple[str, str]]:
    """chat.yml, and the other word files people read (the admin's digest and report words, commands, faults)."""
    for name in ("chat.yml", "admin.yml", "commands.yml", "faults.yml", "words.yml"):
        text = resources.files("bot.content").joinpath("data", name).read_text(encoding="utf-8")

        def walk(path: str, node: object, name: str = name) -> Iterator[tuple[str, str]]:
            if isinstance(node, dict):
                for k, v in node.items():
                    yield from walk(f"{path}.{k}" if path else str(k), v)
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    yield from walk(f"{path}[{i}]", v)
            else:
                yield f"{name}:{path}", str(node)

        yield from walk("", yaml.safe_load(text))


def test_no_journey_word_nor_chat_word_uses_a_banned_idiom() -> None:
    found = [(where, banned_idioms(text), text) for where, text in (*_journey_words(), *_chat_words())
             if banned_idioms(text)]
    assert found == []


def test_the_words_checked_are_all_of_them() -> None:
    """The check reads every slot of every kind and every chat word (not an empty or partial walk)."""
    journey = dict(_journey_words())
    chat = dict(_chat_words())
    assert len(chat) > 300 and "chat.yml:prompts.review_form.next" in chat and "admin.yml:digest.forward_line" in chat
    for kind in KINDS:
        assert f"{kind}:checkin.opener:checkin.opener#0" in journey
        assert any(k.startswith(f"{kind}:label.forward") for k in journey)  # base words, per kind


@pytest.mark.parametrize(("text", "hits"), [
    ("Sam, how's the thread with Aisha this week?", ["how's the thread"]),
    ("HI SAM, A QUICK PULSE ON YOU AND AISHA.", ["a quick pulse"]),
    ("Calendars drift. Suggest a short call.", ["calendars? drift"]),
    ("Noted: I made the intro. It goes into your pair\u2019s story.", ["pair's story"]),  # curly apostrophe
    ("One course correction?", ["course correction"]),
    ("One line is plenty.", ["is plenty"]),
    ("Ask for their goal: it lands in your next digest.", [r"\bland(s|ed|ing)?\b"]),
    ("Open one door for Aisha.", [r"\bdoors?\b"]),
    ("Small signals keep the thread warm.", ["thread (warm|two-way)", "keeps? the thread"]),
])
def test_banned_idioms_names_each_phrase_found(text: str, hits: list[str]) -> None:
    assert banned_idioms(text) == hits


@pytest.mark.parametrize("plain", [
    "Sam, did you and Aisha talk, message or meet this week?",
    "Send Aisha one line about what you are working on. She does not need to reply.",
    "Forward Aisha a short thread or post from your team, with one line of context.",
    "Kenya has a public holiday, Eid al-Fitr, on Fri 20 Mar.",
    "Introduce Aisha to one leader who should know her work.",
])
def test_plain_words_pass(plain: str) -> None:
    assert banned_idioms(plain) == []


def test_the_list_holds_the_issue_phrases() -> None:
    listed = idioms()
    for phrase in ("how's the thread", "a quick pulse", "busy, not uninterested", "course correction",
                   "is plenty", "quick one", "busy stretch", "raise the bar", "safety net", "in a line"):
        assert any(phrase in e for e in listed), phrase


def test_plain_words_keep_their_variety() -> None:
    """Rewriting idioms out never made two texts of one slot the same: each slot keeps distinct lines."""
    for kind in KINDS:
        for slot, lines in builtin(kind).words.items():
            texts = [ln.text for ln in lines]
            assert len(texts) == len(set(texts)), (kind, slot)
