"""Plain English for a global reader: the idioms Momentum never says (``data/idioms.yml``).

``banned_idioms(text)`` names every banned phrase a text contains; the test over the journey files and
chat.yml and the demo's measurement (``benchmarks/journey_quality.py``) both read it.
"""

from __future__ import annotations

import re
from functools import cache

from bot.content._data import load_yaml


@cache
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    raw = load_yaml("idioms.yml")
    entries = raw.get("idioms") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, str) and e for e in entries):
        raise ValueError("idioms.yml: expected `idioms:` with a list of phrases")
    return tuple((e, re.compile(e, re.IGNORECASE)) for e in entries)


def idioms() -> tuple[str, ...]:
    """Every banned entry, as written in the data file."""
    return tuple(e for e, _ in _patterns())


def banned_idioms(text: str) -> list[str]:
    """The banned entries ``text`` contains, in the file's order (empty: plain words)."""
    plain = text.replace("\u2019", "'").replace("\u2018", "'")
    return [e for e, p in _patterns() if p.search(plain)]
