"""The Teams app package: a manifest valid against the 1.29 schema, real icons, an uploadable zip."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import jsonschema
from PIL import Image

from adapters.teams.package import MAX_COMMANDS, build_manifest, write_package
from adapters.teams.settings import TeamsPackageSettings, TeamsSettings
from bot.chat.catalog import COMMAND_NAMES
from tests.conftest import require_schema

APP_ID = "11111111-2222-4333-8444-555555555555"


def prod_settings() -> TeamsPackageSettings:
    # Packaging needs the app id only: no secret, no tenant.
    return TeamsPackageSettings(MICROSOFT_APP_ID=APP_ID, TEAMS_APP_NAME="Momentum")


def px(img: Image.Image, x: int, y: int) -> tuple[int, ...]:
    value = img.getpixel((x, y))
    assert isinstance(value, tuple)
    return value


def manifest_errors(manifest: dict) -> list[str]:
    schema = json.loads(require_schema("teams-manifest-1.29.schema.json").read_text())
    # Draft4Validator.iter_errors, not check_schema: one \p{L} pattern in the schema is not Python `re`.
    return [f"{list(e.path)}: {e.message[:200]}" for e in jsonschema.Draft4Validator(schema).iter_errors(manifest)]


def test_package_writes_valid_manifest_icons_and_zip(tmp_path: Path) -> None:
    zip_path = write_package(tmp_path, prod_settings(), "https://momentum.example.com/api/messages")
    assert zip_path.exists() and zip_path.suffix == ".zip"
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest_errors(manifest) == []
    assert manifest["manifestVersion"] == "1.29"
    (bot,) = manifest["bots"]
    assert bot["botId"] == APP_ID and bot["scopes"] == ["personal", "team"]
    assert manifest["validDomains"] == ["momentum.example.com"]
    with zipfile.ZipFile(zip_path) as zf:
        assert sorted(zf.namelist()) == ["color.png", "manifest.json", "outline.png"]  # at the root
        assert json.loads(zf.read("manifest.json")) == manifest


def test_command_lists_come_from_the_command_spec_and_fit_teams_limit() -> None:
    manifest = build_manifest(prod_settings())
    lists = {tuple(cl["scopes"]): cl["commands"] for cl in manifest["bots"][0]["commandLists"]}
    assert set(lists) == {("personal",), ("team",)}
    for commands in lists.values():
        assert 1 <= len(commands) <= MAX_COMMANDS
        assert {c["title"] for c in commands} <= COMMAND_NAMES
        assert all(c["description"] for c in commands)
    assert {"help", "checkin", "snooze", "stop"} <= {c["title"] for c in lists[("personal",)]}
    assert {"pair", "program", "report"} <= {c["title"] for c in lists[("team",)]}


def test_icons_are_real_pngs_of_the_right_size(tmp_path: Path) -> None:
    write_package(tmp_path, prod_settings())
    with Image.open(tmp_path / "color.png") as color:
        assert color.format == "PNG" and color.size == (192, 192)
        assert px(color.convert("RGBA"), 2, 2)[3] == 255  # full colour, opaque
    with Image.open(tmp_path / "outline.png") as outline:
        assert outline.format == "PNG" and outline.size == (32, 32)
        rgba = outline.convert("RGBA")
        alphas = [px(rgba, x, y)[3] for x in range(32) for y in range(32)]
        assert px(rgba, 0, 0)[3] == 0  # transparent background
        assert any(a == 255 for a in alphas)  # something is drawn
        drawn = [px(rgba, x, y)[:3] for x in range(32) for y in range(32) if px(rgba, x, y)[3]]
        assert all(px == (255, 255, 255) for px in drawn)  # Teams wants a white outline


def test_dev_package_uses_placeholder_ids_and_is_still_schema_valid(tmp_path: Path) -> None:
    write_package(tmp_path, TeamsSettings())
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest_errors(manifest) == []
    assert manifest["bots"][0]["botId"] == "00000000-0000-0000-0000-000000000000"


def test_teams_package_command_runs_with_the_app_id_alone(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from adapters.cli import app

    for var in ("MICROSOFT_APP_PASSWORD", "MICROSOFT_APP_TENANT_ID", "MICROSOFT_APP_TYPE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MICROSOFT_APP_ID", APP_ID)
    result = CliRunner().invoke(app, ["teams-package", "--out", str(tmp_path), "--url", "https://m.example.com"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["bots"][0]["botId"] == APP_ID and manifest["validDomains"] == ["m.example.com"]
    # Serving still refuses the same environment: the endpoint needs a credential and the tenant.
    import pytest

    from adapters.teams.settings import load_teams_settings
    from bot.model.config import ConfigError

    with pytest.raises(ConfigError) as err:
        load_teams_settings()
    assert "MICROSOFT_APP_PASSWORD" in str(err.value) and "MICROSOFT_APP_TENANT_ID" in str(err.value)
    assert isinstance(TeamsSettings, type)
