"""Fuzzed Teams activities against the running endpoint: never a 5xx, never a traceback, 401 without a token.

The endpoint is the real one (the Agents SDK's ``CloudAdapter``, authentication on: Bot Framework JWTs signed
by the loopback key server ``tests/teams/jwks.py``), the core runs on SQLite and on PostgreSQL, replies go to
the fake connector on loopback. Hypothesis takes an activity (a real recorded payload from
``../shared/payloads/teams`` or one of ours: messages, card clicks, installs, uninstalls and every invoke
Teams sends, the 12 that used to get 501 included), replaces, deletes or retypes parts of it (null where a
list belongs, a number where an object belongs, ...), and posts it with a valid token, or with none, a garbage
one, a forged one or one for another service (those must get 401, whatever the body). Some draws post raw
bytes instead.

Per input: status < 500; no log record with a traceback; a refused input (4xx) logged exactly once, as our
warning (the SDK's own lines for it are dropped); the private words put in every activity never logged. A
failure prints the drawn activity and the seed: ``MOMENTUM_FUZZ_SEED=<seed> pytest tests/teams/test_fuzz.py``
replays the run.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import random
import traceback
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from adapters.teams.settings import TeamsSettings
from bot.app import Momentum
from bot.model.clock import FakeClock
from bot.model.config import Settings
from storage.db import Database
from tests.helpers.payloads import load, names
from tests.teams import activities as acts
from tests.teams.conftest import APP_ID, TENANT_ID, TeamsServer, start_server
from tests.teams.fake_connector import FakeConnector
from tests.teams.invokes import FORMERLY_501, INVOKE_VALUES, card_execute, deserialization_cases, invoke
from tests.teams.jwks import KeyServer

FUZZ_SEED = int(os.environ.get("MOMENTUM_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
EXAMPLES = int(os.environ.get("MOMENTUM_FUZZ_EXAMPLES") or 2000)
CANARY = "fuzz-private-note-5e1d"
TEAMS_NAMES = names("teams")
JUNK = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20), st.floats(allow_nan=False),
                 st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
                 st.just(""), st.just([{}]), st.just({"id": 5}),
                 st.text(max_size=8).map(lambda t: f"{t}\x00{t}"))  # NUL: PostgreSQL refuses it in text
AUTH = ["valid"] * 6 + ["none", "garbage", "forged", "other service", "other bot"]
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OURS = {"momentum_action": "checkin.status", "momentum_value": f"1:met {CANARY}"}
FORM = {"momentum_form": "win", "momentum_state": "s", "text": CANARY}


@pytest.fixture
def momentum(db: Database, settings: Settings, clock: FakeClock) -> Momentum:
    """The core on SQLite and on PostgreSQL (PostgreSQL refuses what SQLite keeps: NUL in text, for one)."""
    return Momentum(db, settings, clock)


def our_activities(url: str) -> dict[str, dict[str, Any]]:
    """The activities Momentum reads, shaped as Teams sends them (plus every invoke)."""
    out: dict[str, dict[str, Any]] = {
        "message": acts.message(url, acts.SAM, f"win {CANARY}", mentions=[acts.RIA]),
        "command": acts.message(url, acts.ADMIN, "help"),
        "channel message": acts.channel_message(url, acts.ADMIN, f"me {CANARY}", mentions=[acts.SAM]),
        "button click": acts.card_submit(url, acts.RIA, OURS, "1700000000555"),
        "form submit": acts.card_submit(url, acts.RIA, FORM, "1700000000556"),
        "personal install": acts.personal_install(url, acts.SAM),
        "personal installationUpdate": acts.personal_installation_update(url, acts.RIA),
        "personal uninstall": acts.personal_uninstall(url, acts.RIA),
        "team install": acts.team_install(url, acts.ADMIN),
        "team uninstall": acts.team_uninstall(url, acts.ADMIN),
        "Action.Execute": card_execute(url, acts.SAM, OURS),
        "Action.Execute form": card_execute(url, acts.SAM, FORM),
        "invoke without a name": invoke(url, acts.SAM, None, {"x": 1}),
    }
    for name, value in INVOKE_VALUES.items():
        out[f"invoke {name}"] = invoke(url, acts.SAM, name, value)
    for why, activity in deserialization_cases(url, CANARY).items():  # botbuilder's DeserializationError
        out[f"malformed: {why}"] = activity
    return out


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:4]):
            out += paths(v, (*prefix, i))
    return out


def mutate(activity: Any, path: tuple[Any, ...], op: str, junk: Any) -> Any:
    parent = activity
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if op == "delete" and isinstance(parent, dict):
        parent.pop(last, None)
    else:
        parent[last] = junk
    return activity


class Tokens:
    """Bot Framework tokens (RS256 signing is the slow part of a draw: one per service URL and kind)."""

    def __init__(self, keys: KeyServer) -> None:
        self.keys = keys
        self._made: dict[tuple[str, str], str] = {}

    def header(self, kind: str, service_url: str) -> dict[str, str]:
        if kind == "none":
            return {}
        if kind == "garbage":
            return {"Authorization": "Bearer not.a.jwt"}
        if (kind, service_url) not in self._made:
            if kind == "forged":
                token = self.keys.token(APP_ID, service_url, key=OTHER_KEY)
            elif kind == "other service":
                token = self.keys.token(APP_ID, "https://smba.elsewhere.example/")
            elif kind == "other bot":
                token = self.keys.token("99999999-2222-4333-8444-555555555555", service_url)
            else:
                token = self.keys.token(APP_ID, service_url)
            self._made[(kind, service_url)] = token
        return {"Authorization": f"Bearer {self._made[(kind, service_url)]}"}


Fuzzed = tuple[TeamsServer, Tokens, dict[str, dict[str, Any]]]


@pytest.fixture
async def fuzzed(momentum: Any, teams_fake: FakeConnector, keys: KeyServer, entra_tokens: list[str],
                 caplog: pytest.LogCaptureFixture) -> AsyncIterator[Fuzzed]:
    caplog.set_level(logging.INFO)
    settings_ = TeamsSettings(MICROSOFT_APP_ID=APP_ID, MICROSOFT_APP_PASSWORD="not-a-real-secret",
                              MICROSOFT_APP_TENANT_ID=TENANT_ID, TEAMS_OPENID_METADATA_URL=keys.metadata_url)
    for u in (acts.ADMIN, acts.SAM, acts.RIA):
        teams_fake.add_member(u.teams_id, u.aad, u.name, u.email)
    server, runner = await start_server(momentum, settings_, teams_fake)
    yield server, Tokens(keys), our_activities(teams_fake.url)
    await server.session.close()
    await runner.cleanup()


def draw_activity(data: st.DataObject, url: str, ours: dict[str, dict[str, Any]]) -> tuple[str, Any]:
    source = data.draw(st.sampled_from(["ours", "ours", "recorded"]), label="source")
    if source == "recorded" and TEAMS_NAMES:
        name = data.draw(st.sampled_from(TEAMS_NAMES), label="recorded")
        activity: Any = load("teams", name)
        activity["serviceUrl"] = url  # as Teams would send it to us: our connector is the fake
    else:
        name = data.draw(st.sampled_from(sorted(ours)), label="activity")
        activity = json.loads(json.dumps(ours[name]))
        activity["id"] = f"fuzz-{data.draw(st.integers(0, 10**9), label='id')}"
    for _ in range(data.draw(st.integers(0, 3), label="mutations")):
        candidates = paths(activity)
        if not candidates:
            break
        path = data.draw(st.sampled_from(candidates), label="path")
        activity = mutate(activity, path, data.draw(st.sampled_from(["replace", "delete"]), label="op"),
                          copy.deepcopy(data.draw(JUNK, label="junk")))  # st.just gives one shared object
    return name, activity


@seed(FUZZ_SEED)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                      HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # report the drawn input; no slow shrinking
@given(data=st.data())
async def test_fuzzed_activities_never_get_5xx_or_a_traceback(
    fuzzed: Fuzzed, data: st.DataObject,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, tokens, ours = fuzzed
    url = server.fake.url
    auth = data.draw(st.sampled_from(AUTH), label="auth")
    raw: bytes | None = None
    if data.draw(st.integers(0, 19), label="raw?") == 0:
        name, activity = "raw bytes", None
        raw = data.draw(st.one_of(st.binary(max_size=64), st.sampled_from(
            [b"", b"{", b"[]", b"null", b"\xff\xfe{}", b'{"type": "message"', b"[" * 5000 + b"]" * 5000])),
            label="raw")
    else:
        name, activity = draw_activity(data, url, ours)
    service_url = activity.get("serviceUrl") if isinstance(activity, dict) else None
    headers = tokens.header(auth, service_url if isinstance(service_url, str) else url)
    caplog.clear()  # the level is set once (fixture): per example, at_level would clear every logger's cache
    r = await server.post(activity, raw=raw, headers=headers)  # waits for the roster reads it started
    seen = f"seed {FUZZ_SEED} (replay: MOMENTUM_FUZZ_SEED={FUZZ_SEED}); input {name!r} auth {auth!r}: " \
           f"{activity if raw is None else raw[:80]!r}"
    assert r.status < 500, f"{r.status} for {seen}"
    if auth == "other service" and not isinstance(service_url, str):
        # The token is sound; only the activity's serviceUrl could tell it was minted for another service.
        assert 400 <= r.status < 500, f"{r.status} for {seen}"
    elif auth != "valid":
        assert r.status == 401, f"{r.status} without a valid token for {seen}"
    tracebacks = ["".join(traceback.format_exception(*rec.exc_info)[-3:]) for rec in caplog.records
                  if rec.exc_info]  # type: ignore[misc]
    assert not tracebacks, f"tracebacks {tracebacks} for {seen}"
    if r.status >= 400:
        refusals = [f"{rec.name}: {rec.getMessage()}" for rec in caplog.records if rec.levelno >= logging.WARNING]
        assert len(refusals) == 1 and refusals[0].startswith("adapters.teams.web: teams request refused"), \
            f"{refusals} for a {r.status} for {seen}"
    leaks = [rec.getMessage() for rec in caplog.records if CANARY in rec.getMessage()]
    assert not leaks, f"private words logged {leaks} for {seen}"


def test_the_fuzz_covers_the_invokes_that_used_to_get_501_and_the_deserialization_error() -> None:
    ours = our_activities("http://127.0.0.1:1/")
    assert {f"invoke {n}" for n in FORMERLY_501} <= set(ours)
    assert "malformed: timestamp not a date" in ours  # what botbuilder failed to deserialize
