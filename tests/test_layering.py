"""The layering contract (adapters -> bot -> storage) and the core's platform neutrality, checked by
import-linter with the contracts in pyproject.toml. A violation fails the suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_are_kept() -> None:
    exe = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(exe), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 kept, 0 broken" in run.stdout


def test_contracts_name_the_forbidden_platform_libraries() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    for name in ("slack_bolt", "slack_sdk", "microsoft_agents", "aiohttp"):
        assert f'"{name}"' in text
    # botbuilder is gone from the project: no dependency names it any more.
    assert "botbuilder" not in text and "msrest" not in text
