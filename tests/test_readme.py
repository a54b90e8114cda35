"""The README stays true: every environment variable is documented, the quick start is two commands,
and .ci/run calls the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

from adapters.slack.settings import SlackSettings
from adapters.teams.settings import TeamsSettings
from bot.model.config import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_every_setting_is_in_the_configuration_table() -> None:
    for model in (Settings, SlackSettings, TeamsSettings):
        for name, field in model.model_fields.items():
            alias = field.validation_alias
            assert isinstance(alias, str), name
            assert f"`{alias}`" in README or alias in README, f"{alias} is not documented in README.md"


def test_quick_start_is_two_commands_and_ci_runs_the_same_tests() -> None:
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line for line in block.strip().splitlines() if line.strip()]
    assert len(commands) == 2
    assert "momentum demo" in commands[0] and "pytest" in commands[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci, ".ci/run must run the README's test command verbatim"


def test_readme_commands_exist() -> None:
    from adapters.cli import app

    names = {c.name or c.callback.__name__ for c in app.registered_commands if c.callback}  # type: ignore[union-attr]
    groups = {g.name for g in app.registered_groups}
    for cmd in set(re.findall(r"`momentum ([a-z-]+)", README)):
        assert cmd in names | groups, cmd
