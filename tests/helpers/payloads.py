"""Real Slack and Teams payloads recorded or published by others, read from ``../shared/payloads`` at test time.

Each file is ``{"source": {...}, "payload": ...}`` (INDEX.md there names every source). Nothing is copied
into this repository: tests load a payload and adapt what the platform would make different for us
(ids, URLs, signatures) before sending it to the real endpoint.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = ROOT.parent / "shared" / "payloads"


def payload_dir() -> Path:
    """The payload folder; missing means a broken checkout (CI fails, a laptop skips with the reason)."""
    if not PAYLOADS.is_dir():
        if os.environ.get("CI"):
            raise AssertionError(f"CI needs {PAYLOADS} (../shared/payloads beside the project)")
        pytest.skip(f"{PAYLOADS} not found (../shared/payloads beside the project)")
    return PAYLOADS


def names(platform: str) -> list[str]:
    """Every payload file name for a platform (``slack`` or ``teams``), sorted."""
    folder = PAYLOADS / platform
    return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []


def load(platform: str, name: str) -> Any:
    """A fresh copy of one payload (``payload`` field of ``<platform>/<name>.json``)."""
    path = payload_dir() / platform / f"{name}.json"
    return copy.deepcopy(json.loads(path.read_text(encoding="utf-8"))["payload"])
