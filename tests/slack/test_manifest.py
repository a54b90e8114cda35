"""manifest.yml: valid against Slack's schema, generated from the code, scopes match the methods called."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import yaml

from adapters.slack.manifest import render_manifest
from adapters.slack.scopes import BOT_EVENTS, BOT_SCOPES, EVENT_SCOPES, FEATURE_SCOPES, METHOD_SCOPES
from bot.chat.catalog import usage_hint
from tests.conftest import require_schema

ROOT = Path(__file__).resolve().parents[2]
SLACK_SRC = ROOT / "adapters" / "slack"


def _manifest() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_validates_against_slack_schema() -> None:
    schema = json.loads(require_schema("slack-manifest-1.0.0.schema.json").read_text())
    jsonschema.validate(_manifest(), schema)


def test_manifest_file_is_what_the_code_renders() -> None:
    assert (ROOT / "manifest.yml").read_text() == render_manifest("https://example.com")
    text = render_manifest("https://momentum.acme.org/")
    m = yaml.safe_load(text)
    assert "example.com" not in text
    assert m["settings"]["event_subscriptions"]["request_url"] == "https://momentum.acme.org/slack/events"
    assert m["settings"]["interactivity"]["request_url"] == "https://momentum.acme.org/slack/events"
    assert m["features"]["slash_commands"][0]["url"] == "https://momentum.acme.org/slack/events"
    assert m["oauth_config"]["redirect_urls"] == ["https://momentum.acme.org/slack/oauth_redirect"]


def test_manifest_features() -> None:
    m = _manifest()
    assert m["_metadata"]["major_version"] == 1
    home = m["features"]["app_home"]
    assert home["home_tab_enabled"] and home["messages_tab_enabled"] and not home["messages_tab_read_only_enabled"]
    assert m["features"]["bot_user"]["display_name"] == "Momentum"
    (cmd,) = m["features"]["slash_commands"]
    assert cmd["command"] == "/momentum" and cmd["usage_hint"] == usage_hint() and cmd["description"]
    assert m["settings"]["interactivity"]["is_enabled"]


def _methods_called_in_source() -> set[str]:
    """Every Web API method named in an ``api.call(team, "x.y", ...)`` in the adapter."""
    found: set[str] = set()
    for path in SLACK_SRC.glob("*.py"):
        text = path.read_text()
        found |= set(re.findall(r'\.call\(\s*[^,()]+,\s*"([a-z]+\.[A-Za-z.]+)"', text))
    return found


def test_scopes_match_the_methods_the_code_calls() -> None:
    called = _methods_called_in_source()
    assert called, "no api.call(...) found"
    # Bolt itself calls auth.test (authorize) and oauth.v2.access (OAuth callback).
    assert called | {"oauth.v2.access"} == set(METHOD_SCOPES)
    needed = {s for m in called for s in METHOD_SCOPES[m]} | {s for v in EVENT_SCOPES.values() for s in v}
    needed |= set(FEATURE_SCOPES)
    m = _manifest()
    assert sorted(m["oauth_config"]["scopes"]["bot"]) == sorted(needed) == sorted(BOT_SCOPES)
    assert "user" not in m["oauth_config"]["scopes"]


def test_events_match_the_listeners() -> None:
    m = _manifest()
    assert m["settings"]["event_subscriptions"]["bot_events"] == list(BOT_EVENTS)
    runtime = (SLACK_SRC / "listeners.py").read_text()  # where the Bolt app is built
    listened = set(re.findall(r'app\.event\("([a-z_]+)"\)', runtime))
    # message.im arrives as the "message" event with channel_type "im".
    assert {e.replace("message.im", "message") for e in BOT_EVENTS} == listened
