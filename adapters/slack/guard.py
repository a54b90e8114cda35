"""Checks every request to ``/slack/events`` before Bolt sees it: signature, age, encoding, replays.

Slack signs each request (``v0=HMAC-SHA256(secret, "v0:{timestamp}:{body}")``) and asks apps to refuse
requests more than five minutes old. Anything unsigned, badly signed, stale, or not UTF-8 gets a
plain 401 (400 for a signed body that is not UTF-8) without a traceback, whatever its bytes. A signed
request seen before within those five minutes is a replay: it is acknowledged and not processed
again. Slack's own event retries (``X-Slack-Retry-Num``) are left to the core, which drops events it
already handled by ``event_id``; commands and interactivity are never retried by Slack.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from slack_sdk.signature import Clock, SignatureVerifier

WINDOW_S = 5 * 60  # Slack: "reject requests older than five minutes"
MAX_REMEMBERED = 100_000  # bounded memory for the replay cache


@dataclass(frozen=True)
class Refusal:
    status: int
    text: str


def dedupe_key(headers: Mapping[str, str]) -> str:
    """The inbox key of a signed request: the same bytes sent again give the same key."""
    ts = headers.get("X-Slack-Request-Timestamp", "")
    sig = headers.get("X-Slack-Signature", "")
    return "slack:req:" + hashlib.sha256(f"{ts}:{sig}".encode()).hexdigest()


class RequestGuard:
    def __init__(self, signing_secret: str, clock: Callable[[], float] = time.time) -> None:
        self._verifier = SignatureVerifier(signing_secret, clock=_Clock(clock))
        self._secret = signing_secret.encode()
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def check(self, body: bytes, headers: Mapping[str, str]) -> Refusal | None:
        """``None`` when the request may go on; otherwise what to answer."""
        ts = headers.get("X-Slack-Request-Timestamp", "")
        sig = headers.get("X-Slack-Signature", "")
        if not ts.isascii() or not ts.isdigit() or len(ts) > 12 or not sig.startswith("v0="):
            return Refusal(401, "invalid signature")
        if abs(self._clock() - int(ts)) > WINDOW_S:
            return Refusal(401, "stale request")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:  # slack_sdk's verifier decodes: check the raw bytes ourselves
            base = b"v0:" + ts.encode() + b":" + body
            mac = "v0=" + hmac.new(self._secret, base, hashlib.sha256).hexdigest()
            return Refusal(400, "bad request") if hmac.compare_digest(mac, sig) else Refusal(401, "invalid signature")
        if not self._verifier.is_valid(text, ts, sig):
            return Refusal(401, "invalid signature")
        if "X-Slack-Retry-Num" in headers and text.lstrip().startswith("{"):
            return None  # an Events API retry: the core dedupes it by event_id
        return self._replay(ts, sig)

    def _replay(self, ts: str, sig: str) -> Refusal | None:
        now = self._clock()
        while self._seen and (next(iter(self._seen.values())) < now - WINDOW_S or len(self._seen) > MAX_REMEMBERED):
            self._seen.popitem(last=False)
        key = dedupe_key({"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig})
        if key in self._seen:
            return Refusal(200, "")  # seen: acknowledged, not processed again
        self._seen[key] = now
        return None


class _Clock(Clock):
    """slack_sdk's verifier takes a clock object with ``now()``."""

    def __init__(self, fn: Callable[[], float]) -> None:
        super().__init__()
        self._fn = fn

    def now(self) -> float:
        return self._fn()
