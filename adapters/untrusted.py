"""What every edge does to a body from outside before anything reads it: JSON nested no deeper than
``MAX_DEPTH``, and no NUL anywhere.

Depth: Slack's and Teams' real payloads nest about 10 levels (Block Kit in a view's state, a card in an
activity); 64 leaves room for any card. Deeper is refused with a 4xx before the SDKs or the core walk it
(a thousand levels is Python's recursion limit: a 500 somewhere else). ``json.loads`` itself stops at
that limit with ``RecursionError``, which becomes the same refusal.

NUL: PostgreSQL refuses it in text (psycopg raises ``DataError``), SQLite keeps it, and no person types
one. Every string, keys included, has it replaced by U+FFFD (the replacement character), so what is
stored, audited or answered is the same on both databases.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64
NUL = "\x00"
REPLACEMENT = "\ufffd"


class TooDeep(ValueError):
    """JSON nested deeper than ``MAX_DEPTH``."""

    def __init__(self) -> None:
        super().__init__(f"nested deeper than {MAX_DEPTH} levels")


def loads(raw: str | bytes) -> Any:
    """``json.loads`` for a body from outside: ``TooDeep`` past ``MAX_DEPTH``, the rest ``clean``."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise TooDeep() from None
    return clean(value)


def clean(value: Any, depth: int = 0) -> Any:
    """``value`` with every NUL replaced by U+FFFD (the same object when there was none), ``TooDeep``
    when containers nest deeper than ``MAX_DEPTH``. Recursion is bounded by ``MAX_DEPTH``."""
    if isinstance(value, str):
        return value.replace(NUL, REPLACEMENT) if NUL in value else value
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            raise TooDeep()
        out = {clean(k): clean(v, depth + 1) for k, v in value.items()}
        return value if all(a is b for a, b in zip(out.values(), value.values(), strict=True)) and \
            all(a is b for a, b in zip(out, value, strict=True)) else out
    if isinstance(value, list):
        if depth >= MAX_DEPTH:
            raise TooDeep()
        items = [clean(v, depth + 1) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value
