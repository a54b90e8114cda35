"""What the bot says in chat outside the journeys: replies, refusals, confirmations, form labels.

The words live in ``bot/content/data/chat.yml``, grouped by area (``admin:``, ``commands:``,
``buttons:`` ...); a word is addressed by its dotted path, ``t("admin.pair.done", sponsor=...)``.
Placeholders are ``str.format`` names (``{sponsor}``; a format spec such as ``{at:%H:%M}`` is
allowed, attribute and index look-ups are not). The file is read and checked once, on first use:
every entry must be a string with well-formed named placeholders.

``t`` refuses an unknown key (``KeyError`` naming it) and a call whose fields do not match the
word's placeholders (``WordFieldsError`` naming the missing or unexpected ones), so a forgotten
value never shows up as a literal ``{name}``. ``tests/test_chat_words.py`` checks every call site
against the file without running it.

People's words (names, notes, goals) passed as fields are plain values: ``t`` formats them in once
and never reads them as a template. ``spans`` keeps them as spans of their own, apart from the
bot's text.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache
from typing import Any

from bot.content._data import load_yaml
from bot.model.messages import Inline, Span, Text

FILE = "chat.yml"


class WordFieldsError(TypeError):
    """A word was asked for with fields that do not match its placeholders."""


class WordsFileError(ValueError):
    """``chat.yml`` has an entry that is not a usable word."""


def placeholders(template: str, key: str = "?") -> frozenset[str]:
    """The named fields of ``template``; positional, attribute and index fields are refused."""
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise WordsFileError(f"{FILE}: {key}: {exc}") from None
    for _literal, field, _spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier():
            raise WordsFileError(f"{FILE}: {key}: placeholder {{{field}}} must be a plain name")
        if conversion is not None:
            raise WordsFileError(f"{FILE}: {key}: placeholder {{{field}!{conversion}}} may not convert")
        names.add(field)
    return frozenset(names)


def _flatten(tree: Mapping[str, Any], prefix: str, out: dict[str, str]) -> None:
    for name, value in tree.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            _flatten(value, key + ".", out)
        elif isinstance(value, str):
            out[key] = value
        else:
            raise WordsFileError(f"{FILE}: {key} must be text or a group of words, not {type(value).__name__}")


@cache
def table() -> dict[str, tuple[str, frozenset[str]]]:
    """Every word by its dotted key, with its placeholders (read and checked once)."""
    raw = load_yaml(FILE)
    if not isinstance(raw, Mapping):
        raise WordsFileError(f"{FILE} must be a mapping of areas")
    flat: dict[str, str] = {}
    _flatten(raw, "", flat)
    return {key: (text, placeholders(text, key)) for key, text in flat.items()}


def _entry(key: str) -> tuple[str, frozenset[str]]:
    try:
        return table()[key]
    except KeyError:
        raise KeyError(f"no chat word {key!r} in bot/content/data/{FILE}") from None


def _check(key: str, wanted: frozenset[str], fields: Mapping[str, object]) -> None:
    if wanted != fields.keys():
        missing = sorted(wanted - fields.keys())
        extra = sorted(fields.keys() - wanted)
        raise WordFieldsError(f"chat word {key!r}: missing {missing}, unexpected {extra}")


def t(key: str, /, **fields: object) -> str:
    """The word at ``key`` with ``fields`` filled in."""
    text, wanted = _entry(key)
    _check(key, wanted, fields)
    return text.format_map(fields) if wanted else text


def spans(key: str, /, **fields: str | Span) -> Inline:
    """The word at ``key`` as spans: the bot's text and each field's value in spans of their own (a
    ``Mention`` or ``Link`` value is kept as it is). Placeholders here take no format spec."""
    text, wanted = _entry(key)
    _check(key, wanted, fields)
    out: list[Span] = []
    for literal, field, _spec, _conv in string.Formatter().parse(text):
        if literal:
            out.append(Text(literal))
        if field is not None:
            value = fields[field]
            out.append(Text(value) if isinstance(value, str) else value)
    return tuple(out)


def keys() -> frozenset[str]:
    return frozenset(table())
