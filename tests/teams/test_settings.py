"""Teams settings: validated at start-up with errors naming the variable."""

from __future__ import annotations

import pytest

from adapters.teams.settings import AppType, load_teams_settings
from bot.model.config import ConfigError


def test_no_app_id_is_local_development_mode() -> None:
    s = load_teams_settings()
    # SingleTenant by default: Azure takes no new multi-tenant bot registrations since 31 July 2025.
    assert s.dev_mode and s.app_type is AppType.SINGLE_TENANT


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
        ({"MICROSOFT_APP_ID": "x", "MICROSOFT_APP_PASSWORD": "p"}, "MICROSOFT_APP_TENANT_ID"),
        ({"MICROSOFT_APP_ID": "x", "MICROSOFT_APP_FEDERATED_CLIENT_ID": "mi"}, "MICROSOFT_APP_TENANT_ID"),
        ({"MICROSOFT_APP_FEDERATED_CLIENT_ID": "mi"}, "MICROSOFT_APP_ID"),
        (
            {"MICROSOFT_APP_ID": "x", "MICROSOFT_APP_TYPE": "UserAssignedMSI", "MICROSOFT_APP_TENANT_ID": "t",
             "MICROSOFT_APP_PASSWORD": "p"},
            "MICROSOFT_APP_PASSWORD",
        ),
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


def test_every_documented_credential_kind_loads_and_maps_to_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    from microsoft_agents.hosting.core.authorization import AuthTypes

    from adapters.teams.auth import auth_configuration

    base = {"MICROSOFT_APP_ID": "11111111-2222-4333-8444-555555555555", "MICROSOFT_APP_TENANT_ID": "tenant-guid"}
    cases = {
        AuthTypes.client_secret: {**base, "MICROSOFT_APP_PASSWORD": "s3cret"},
        AuthTypes.federated_credentials: {**base, "MICROSOFT_APP_FEDERATED_CLIENT_ID": "mi-client-id"},
        AuthTypes.user_managed_identity: {**base, "MICROSOFT_APP_TYPE": "UserAssignedMSI"},
    }
    for expected, env in cases.items():
        s = load_teams_settings(**env)
        config = auth_configuration(s)
        assert expected == config.AUTH_TYPE and base["MICROSOFT_APP_ID"] == config.CLIENT_ID
        assert config.TENANT_ID == "tenant-guid" and config.VALIDATE_ISSUER and not config.ANONYMOUS_ALLOWED
    legacy = load_teams_settings(MICROSOFT_APP_ID="x", MICROSOFT_APP_PASSWORD="p", MICROSOFT_APP_TYPE="MultiTenant")
    assert legacy.app_type is AppType.MULTI_TENANT and auth_configuration(legacy).TENANT_ID == "botframework.com"
    assert auth_configuration(load_teams_settings()).ANONYMOUS_ALLOWED  # development mode only
