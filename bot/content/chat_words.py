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

Adapters keep their own words beside them (``adapters/teams/words.yml``) and read them with a
``Words`` of their own, checked the same way.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from bot.model.messages import Inline, Span, Text

FILE = "chat.yml"
# libyaml's loader when PyYAML was built with it (about ten times faster than the pure-Python one).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class WordFieldsError(TypeError):
    """A word was asked for with fields that do not match its placeholders."""


class WordsFileError(ValueError):
    """A words file has an entry that is not a usable word."""


def placeholders(template: str, key: str = "?") -> frozenset[str]:
    """The named fields of ``template``; positional, attribute and index fields are refused."""
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise WordsFileError(f"{key}: {exc}") from None
    for _literal, field, _spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier():
            raise WordsFileError(f"{key}: placeholder {{{field}}} must be a plain name")
        if conversion is not None:
            raise WordsFileError(f"{key}: placeholder {{{field}!{conversion}}} may not convert")
        names.add(field)
    return frozenset(names)


def _flatten(tree: Mapping[str, Any], prefix: str, out: dict[str, str], file: str = FILE) -> None:
    for name, value in tree.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            _flatten(value, key + ".", out, file)
        elif isinstance(value, str):
            out[key] = value
        else:
            raise WordsFileError(f"{file}: {key} must be text or a group of words, not {type(value).__name__}")


class Words:
    """One words file, flattened to dotted keys and checked once."""

    def __init__(self, raw: Any, file: str) -> None:
        if not isinstance(raw, Mapping):
            raise WordsFileError(f"{file} must be a mapping of areas")
        flat: dict[str, str] = {}
        _flatten(raw, "", flat, file)
        self.file = file
        self.table = {key: (text, placeholders(text, f"{file}: {key}")) for key, text in flat.items()}

    @classmethod
    def from_file(cls, path: Path) -> Words:
        return cls(yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER), str(path.name))

    def _entry(self, key: str, fields: Mapping[str, object]) -> str:
        try:
            text, wanted = self.table[key]
        except KeyError:
            raise KeyError(f"no word {key!r} in {self.file}") from None
        if wanted != fields.keys():
            missing = sorted(wanted - fields.keys())
            extra = sorted(fields.keys() - wanted)
            raise WordFieldsError(f"word {key!r} in {self.file}: missing {missing}, unexpected {extra}")
        return text

    def t(self, key: str, /, **fields: object) -> str:
        """The word at ``key`` with ``fields`` filled in."""
        text = self._entry(key, fields)
        return text.format_map(fields) if fields else text

    def spans(self, key: str, /, **fields: str | Span) -> Inline:
        """The word at ``key`` as spans: the bot's text and each field's value in spans of their own (a
        ``Mention`` or ``Link`` value is kept as it is). Placeholders here take no format spec."""
        text = self._entry(key, fields)
        out: list[Span] = []
        for literal, field, _spec, _conv in string.Formatter().parse(text):
            if literal:
                out.append(Text(literal))
            if field is not None:
                value = fields[field]
                out.append(Text(value) if isinstance(value, str) else value)
        return tuple(out)


@cache
def chat() -> Words:
    """The core's chat words (``bot/content/data/chat.yml``), read and checked once."""
    text = resources.files("bot.content").joinpath("data", FILE).read_text(encoding="utf-8")
    return Words(yaml.load(text, Loader=_LOADER), FILE)


def table() -> dict[str, tuple[str, frozenset[str]]]:
    """Every chat word by its dotted key, with its placeholders."""
    return chat().table


def t(key: str, /, **fields: object) -> str:
    """The chat word at ``key`` with ``fields`` filled in."""
    return chat().t(key, **fields)


def spans(key: str, /, **fields: str | Span) -> Inline:
    """The chat word at ``key`` as spans (people's words in spans of their own)."""
    return chat().spans(key, **fields)


def keys() -> frozenset[str]:
    return frozenset(chat().table)


chat()  # read and check the file when the module is imported: a broken word fails at start-up
