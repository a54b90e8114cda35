"""Teams settings: validated at start-up with errors naming the variable."""

from __future__ import annotations

import pytest

from adapters.teams.settings import AppType, load_teams_settings
from bot.config import ConfigError


def test_no_app_id_is_local_development_mode() -> None:
    s = load_teams_settings()
    assert s.dev_mode and s.app_type is AppType.MULTI_TENANT


def test_full_single_tenant_settings_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROSOFT_APP_ID", "11111111-2222-4333-8444-555555555555")
    monkeypatch.setenv("MICROSOFT_APP_PASSWORD", "s3cret")
    monkeypatch.setenv("MICROSOFT_APP_TYPE", "singletenant")
    monkeypatch.setenv("MICROSOFT_APP_TENANT_ID", "tenant-guid")
    s = load_teams_settings()
    assert not s.dev_mode and s.app_type is AppType.SINGLE_TENANT
    assert "s3cret" not in repr(s)  # the password never shows in logs or tracebacks


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"MICROSOFT_APP_ID": "x"}, "MICROSOFT_APP_PASSWORD"),
        ({"MICROSOFT_APP_PASSWORD": "x"}, "MICROSOFT_APP_ID"),
        (
            {"MICROSOFT_APP_ID": "x", "MICROSOFT_APP_PASSWORD": "p", "MICROSOFT_APP_TYPE": "SingleTenant"},
            "MICROSOFT_APP_TENANT_ID",
        ),
        ({"MICROSOFT_APP_TYPE": "UserAssignedMSI"}, "MICROSOFT_APP_ID"),
        ({"MICROSOFT_APP_ID": "x", "MICROSOFT_APP_TYPE": "UserAssignedMSI"}, "MICROSOFT_APP_TENANT_ID"),
        ({"MICROSOFT_APP_TYPE": "Galactic"}, "MICROSOFT_APP_TYPE"),
        ({"TEAMS_RATE_PER_TENANT": "0"}, "TEAMS_RATE_PER_TENANT"),
        ({"TEAMS_APP_NAME": "x" * 31}, "TEAMS_APP_NAME"),
    ],
)
def test_bad_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], variable: str) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ConfigError) as err:
        load_teams_settings()
    assert variable in str(err.value)
