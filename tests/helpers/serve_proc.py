"""A real ``momentum serve`` in a subprocess, pointed at a fake Slack on loopback (tests and benchmarks of
shutdown and the inbox): start, send signed slash commands and clicks, SIGTERM / SIGKILL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.slack.conftest import BOT_TOKEN, SIGNING_SECRET, Signer
from tests.slack.fake_slack import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
FORM = "application/x-www-form-urlencoded"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Serve:
    """One ``momentum serve`` process; ``start`` waits for /healthz."""

    database_url: str
    fake: FakeSlack
    workdir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "DATABASE_URL",
                                                                             "MOMENTUM_"))}
        env = {
            **base,
            "DATABASE_URL": self.database_url,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": self.fake.api_url,
            "SLACK_RESPONSE_URL_BASE": self.fake.response_url_base,
            "MOMENTUM_SECRET_KEY": "serve-test-secret",
            "MOMENTUM_INBOX_LEASE_S": "2",
            "MOMENTUM_INBOX_SWEEP_S": "0.5",
            "LOG_LEVEL": "INFO",
        }
        for family in ("POST", "OPEN", "USERS", "VIEWS", "FILES"):
            env[f"SLACK_RATE_{family}_PER_MIN"] = "60000"
        env.update(self.extra_env)
        return env

    async def start(self, timeout: float = 60.0) -> None:
        self.port = free_port()
        self.log = self.workdir / f"serve-{self.port}.log"
        exe = Path(sys.executable).with_name("momentum")
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([str(exe), "serve", "--port", str(self.port)], cwd=self.workdir,
                                         env=self.env(), stdout=out, stderr=subprocess.STDOUT)
        end = time.monotonic() + timeout
        async with aiohttp.ClientSession() as s:
            while time.monotonic() < end:
                if self.proc.poll() is not None:
                    raise AssertionError(f"serve exited with {self.proc.returncode}:\n{self.output()}")
                try:
                    async with s.get(self.url + "/healthz", timeout=aiohttp.ClientTimeout(total=2)) as r:
                        if r.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"serve did not start within {timeout:.0f} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log and self.log.exists() else ""

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    async def terminate(self, timeout: float) -> float:
        """SIGTERM; seconds until the process was gone (raises when it is not gone within ``timeout``)."""
        assert self.proc is not None
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        while self.proc.poll() is None:
            if time.monotonic() - t0 > timeout:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise AssertionError(f"serve did not stop within {timeout:.0f} s of SIGTERM:\n{self.output()}")
            await asyncio.sleep(0.02)
        return time.monotonic() - t0

    def stop_quietly(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def command_body(fake: FakeSlack, text: str, *, user: str, key: str, team: str = "T1") -> str:
    form = {"token": "legacy", "team_id": team, "team_domain": "acme", "channel_id": "C1", "user_id": user,
            "user_name": user.lower(), "command": "/momentum", "text": text, "api_app_id": "A1",
            "response_url": fake.response_url(key), "trigger_id": f"1337.{key}"}
    return urllib.parse.urlencode(form)


def click_body(fake: FakeSlack, *, user: str, channel: str, ts: str, button: dict[str, Any], key: str,
               team: str = "T1") -> str:
    payload = {"type": "block_actions", "team": {"id": team, "domain": "acme"}, "user": {"id": user, "team_id": team},
               "api_app_id": "A1", "trigger_id": f"1337.{key}",
               "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
               "channel": {"id": channel}, "message": {"ts": ts},
               "response_url": fake.response_url(key), "actions": [{**button, "block_id": "b1", "action_ts": "1.2"}]}
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


async def post_signed(session: aiohttp.ClientSession, url: str, body: str, signer: Signer | None = None) -> int:
    headers = (signer or Signer()).headers(body, content_type=FORM)
    async with session.post(url + "/slack/events", data=body.encode(), headers=headers) as r:
        await r.read()
        return r.status
