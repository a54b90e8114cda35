"""Fuzzed Slack bodies against the running server: signed, malformed, never a 5xx, never a traceback.

Hypothesis takes a real payload recorded by others (``../shared/payloads/slack``), then replaces, deletes or
retypes parts of it (null where a list belongs, a number where an object belongs, ...), signs it as Slack
would and posts it in the encoding Slack uses for its kind (JSON events, form-encoded commands and
interactivity), on SQLite and on PostgreSQL. Failures print the drawn payload; ``--hypothesis-seed`` replays
one; ``MOMENTUM_FUZZ_EXAMPLES`` sets how many are drawn (1,500 per backend).
"""

from __future__ import annotations

import json
import logging
import os
import urllib.parse
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bot.app import Momentum
from bot.model.clock import FakeClock
from bot.model.config import Settings
from storage.db import Database
from tests.helpers.payloads import load, names, payload_dir
from tests.slack.conftest import SlackServer

SLACK_NAMES = names("slack")
EXAMPLES = int(os.environ.get("MOMENTUM_FUZZ_EXAMPLES") or 1500)
JUNK = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20), st.floats(allow_nan=False),
                 st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
                 st.text(max_size=8).map(lambda t: f"{t}\x00{t}"))  # NUL: PostgreSQL refuses it in text


@pytest.fixture
def momentum(db: Database, settings: Settings, clock: FakeClock) -> Momentum:
    """The core on SQLite and on PostgreSQL (PostgreSQL refuses what SQLite keeps: NUL in text, for one)."""
    return Momentum(db, settings, clock)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:4]):
            out += paths(v, (*prefix, i))
    return out


def mutate(payload: Any, path: tuple[Any, ...], op: str, junk: Any) -> Any:
    parent = payload
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if op == "delete" and isinstance(parent, dict):
        parent.pop(last, None)
    else:
        parent[last] = junk
    return payload


def encode(name: str, payload: Any) -> tuple[str, str]:
    if name.startswith("slash_command"):
        form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()} \
            if isinstance(payload, dict) else {"text": json.dumps(payload)}
        return urllib.parse.urlencode(form), "application/x-www-form-urlencoded"
    if name.startswith(("block_actions", "view_")):
        return urllib.parse.urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
    return json.dumps(payload), "application/json"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # report the drawn payload; no slow shrinking
@given(data=st.data())
async def test_fuzzed_signed_bodies_never_get_5xx(slack_server: SlackServer, data: st.DataObject,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    payload_dir()  # the recorded payloads: a checkout without them skips (CI fails), as every payload test does
    name = data.draw(st.sampled_from(SLACK_NAMES), label="payload")
    payload = load("slack", name)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        candidates = paths(payload)
        if not candidates:
            break
        path = data.draw(st.sampled_from(candidates), label="path")
        payload = mutate(payload, path, data.draw(st.sampled_from(["replace", "delete"]), label="op"),
                         data.draw(JUNK, label="junk"))
    if isinstance(payload, dict) and isinstance(payload.get("response_url"), str):
        payload["response_url"] = slack_server.fake.response_url("fuzz")  # as Slack would: a URL that answers
    body, content_type = encode(name, payload)
    caplog.clear()
    status, _ = await slack_server.signed(body, content_type)
    await slack_server.settle()
    assert status < 500, (name, payload)
    tracebacks = [r for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR]
    assert not tracebacks, (name, payload, [r.getMessage() for r in tracebacks])
