"""``Response`` <-> JSON, so the inbox can keep the answer the core gave (and a process that crashed
before showing it lets the next one show it without doing the work again). Only the neutral message
model's own dataclasses are rebuilt; nothing else is ever instantiated from stored data."""

from __future__ import annotations

import dataclasses
from typing import Any

from bot.model import messages
from bot.model.interactions import Response

# Every dataclass of the neutral message model, found in the module itself: a type added there (a chart,
# its series) can never be missing here (a stored report with charts once could not be read back).
_TYPES: dict[str, type] = {
    **{cls.__name__: cls for cls in vars(messages).values()
       if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == messages.__name__},
    Response.__name__: Response,
}


def dump(value: Any) -> Any:
    """A JSON-able form of a ``Response`` (or any value inside one)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"@": type(value).__name__}
        for f in dataclasses.fields(value):
            out[f.name] = dump(getattr(value, f.name))
        return out
    if isinstance(value, (list, tuple)):
        return [dump(v) for v in value]
    if isinstance(value, dict):
        return {str(k): dump(v) for k, v in value.items()}
    return value


def _load(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_load(v) for v in value)
    if isinstance(value, dict):
        name = value.get("@")
        if name is None:
            return {k: _load(v) for k, v in value.items()}
        cls = _TYPES.get(str(name))
        if cls is None:
            raise ValueError(f"unknown type {name!r} in a stored response")
        kwargs = {k: _load(v) for k, v in value.items() if k != "@"}
        for k in ("meta", "errors"):  # plain dicts stay dicts
            if isinstance(kwargs.get(k), dict):
                kwargs[k] = dict(kwargs[k])
        return cls(**kwargs)
    return value


def load(data: dict[str, Any]) -> Response:
    resp = _load(data)
    if not isinstance(resp, Response):
        raise ValueError("not a stored response")
    return resp


def load_message(data: dict[str, Any]) -> messages.Message:
    """A message stored with ``dump`` (what a prompt showed when it was sent)."""
    msg = _load(data)
    if not isinstance(msg, messages.Message):
        raise ValueError("not a stored message")
    return msg
