"""SlackSettings: what is configured, and ConfigError messages that name the variable."""

from __future__ import annotations

import pytest

from adapters.slack.settings import load_slack_settings
from bot.model.config import ConfigError

SECRET = "0123456789abcdef0123456789abcdef"  # a signing secret of the shape Slack issues (32 hex digits)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "SLACK_SIGNING_SECRET",
        "SLACK_BOT_TOKEN",
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_API_URL",
        "SLACK_SCOPES",
        "MOMENTUM_SECRET_KEY",
    ):
        monkeypatch.delenv(name, raising=False)


def test_nothing_set_means_slack_off() -> None:
    s = load_slack_settings()
    assert not s.configured and not s.oauth_enabled
    assert s.api_base_url == "https://slack.com/api/"


def test_single_workspace_and_api_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    s = load_slack_settings()
    assert s.configured and not s.oauth_enabled
    assert s.api_base_url == "http://127.0.0.1:9/api/"  # urljoin needs the trailing slash
    assert "xoxb-1" not in repr(s)


def test_oauth_needs_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("SLACK_CLIENT_ID", "1.2")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "c")
    with pytest.raises(ConfigError, match="MOMENTUM_SECRET_KEY"):
        load_slack_settings()
    monkeypatch.setenv("MOMENTUM_SECRET_KEY", "k")
    s = load_slack_settings()
    assert s.configured and s.oauth_enabled


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SLACK_SIGNING_SECRET": SECRET, "SLACK_CLIENT_ID": "1.2"}, "SLACK_CLIENT_SECRET"),
        ({"SLACK_SIGNING_SECRET": SECRET, "SLACK_CLIENT_SECRET": "c"}, "SLACK_CLIENT_ID"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_SIGNING_SECRET": SECRET}, "SLACK_BOT_TOKEN"),
        ({"SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN"),
        (
            {"SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"},
            "SLACK_APP_TOKEN",
        ),
        (
            {"SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_API_URL": "ftp://x"},
            "SLACK_API_URL",
        ),
        (
            {"SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SCOPES": "chat:write"},
            "SLACK_SCOPES",
        ),
        (
            {
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_CLIENT_ID": "1",
                "SLACK_CLIENT_SECRET": "2",
                "MOMENTUM_SECRET_KEY": "k",
            },
            "SLACK_BOT_TOKEN",
        ),
        (
            {"SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_RATE_POST_PER_MIN": "0"},
            "SLACK_RATE_POST_PER_MIN",
        ),
    ],
)
def test_bad_combinations_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], variable: str
) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ConfigError, match=variable):
        load_slack_settings()
