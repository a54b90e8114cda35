"""A Slack stand-in in a process of its own, for the Slack benchmarks: it plays Slack's two roles on
loopback, the fake Web API (tests/slack/fake_slack.py, which also takes ``response_url`` posts) and the
sender of signed requests to the app under test, and measures what Slack would see: the HTTP ack
latency of each request and when each answer arrived at its ``response_url`` (or in the
acknowledgement itself: a message in the HTTP answer is shown by Slack at once).

It runs in its own process with its own event loop, so neither the load nor the fake Web API takes
time on the event loop being measured (real Slack is another machine). The benchmark sends it jobs
over a pipe: ``SlackLoad.start()``, ``await load.run(job)``, ``load.stop()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing as mp
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FORM = "application/x-www-form-urlencoded"


@dataclass
class Job:
    """Signed requests to ``url``: ``items`` are dicts built into Slack bodies by ``body_of``; each with
    a ``key`` gets its own ``response_url``, and ``wait_answers`` waits until every key was answered."""

    url: str
    items: list[dict[str, Any]]
    concurrency: int
    wait_answers: bool = False
    answer_timeout_s: float = 120.0


@dataclass
class Result:
    ack_s: list[float] = field(default_factory=list)  # per item, in item order
    answer_s: dict[str, float] = field(default_factory=dict)  # key -> from send to its response_url post
    elapsed_s: float = 0.0  # first send to last ack
    answered_s: float = 0.0  # first send to last answer (wait_answers)
    statuses: dict[int, int] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)  # Web API calls by method during the job
    in_ack: int = 0  # requests answered in their acknowledgement (a message in the HTTP answer)


def body_of(item: dict[str, Any], response_url: str) -> tuple[str, str]:
    """(body, content type) of a slash command, an interactivity payload or an Events API event."""
    kind = item["type"]
    if kind == "command":
        form = {"team_id": "T1", "team_domain": "acme", "channel_id": item.get("channel", "C1"),
                "user_id": item["user"], "user_name": "someone", "command": "/momentum", "text": item["text"],
                "api_app_id": "A1", "response_url": response_url, "trigger_id": "1337.42.abcd"}
        return urllib.parse.urlencode(form), FORM
    if kind == "interactive":
        payload = dict(item["payload"])
        if "response_url" in payload or payload.get("type") == "block_actions":
            payload["response_url"] = response_url
        return urllib.parse.urlencode({"payload": json.dumps(payload)}), FORM
    if kind == "event":
        envelope = {"token": "legacy", "team_id": "T1", "api_app_id": "A1", "event": item["event"],
                    "type": "event_callback", "event_id": item["event_id"], "event_time": int(time.time()),
                    "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}]}
        return json.dumps(envelope), "application/json"
    raise ValueError(kind)


def _serve(conn: Connection, users: list[tuple[str, str, str]]) -> None:
    asyncio.run(_main(conn, users))


async def _main(conn: Connection, users: list[tuple[str, str, str]]) -> None:
    import aiohttp
    from aiohttp import web

    from tests.slack.conftest import Signer
    from tests.slack.fake_slack import Call, FakeSlack

    arrived: dict[str, float] = {}
    waiters: dict[str, asyncio.Event] = {}

    class TimedFakeSlack(FakeSlack):
        async def _response_url(self, request: web.Request) -> web.Response:
            key = request.match_info["key"]
            arrived.setdefault(key, time.perf_counter())
            await request.read()  # answers are timed, not kept (thousands of them)
            self.calls.append(Call("response_url", {"key": key}, None))
            if key in waiters:
                waiters[key].set()
            return web.Response(text="ok")

    fake = await TimedFakeSlack().start()
    for uid, name, email in users:
        fake.add_user(uid, name, email, tz="UTC")
    loop = asyncio.get_running_loop()
    conn.send(fake.api_url)
    signer = Signer()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        while True:
            job = await loop.run_in_executor(None, conn.recv)
            if job is None:
                break
            if job == "calls":
                conn.send([(c.method, c.body) for c in fake.calls])
                del fake.calls[:]
                continue
            conn.send(await _run_job(job, fake, session, signer, arrived, waiters))
    await fake.stop()


async def _run_job(job: Job, fake: Any, session: Any, signer: Any, arrived: dict[str, float],
                   waiters: dict[str, asyncio.Event]) -> Result:
    before = len(fake.calls)
    res = Result(ack_s=[0.0] * len(job.items))
    sent: dict[str, float] = {}
    for item in job.items:
        if item.get("key"):
            waiters[item["key"]] = asyncio.Event()
            arrived.pop(item["key"], None)  # keys repeat across runs (backends, rounds): time this run's answer
    queue = iter(range(len(job.items)))

    async def client() -> None:
        for i in queue:
            item = job.items[i]
            body, ctype = body_of(item, fake.response_url(item.get("key") or "nokey"))
            headers = signer.headers(body, content_type=ctype)
            t = time.perf_counter()
            if item.get("key"):
                sent[item["key"]] = t
            async with session.post(job.url, data=body.encode(), headers=headers) as r:
                shown = await r.read()
                res.statuses[r.status] = res.statuses.get(r.status, 0) + 1
            res.ack_s[i] = time.perf_counter() - t
            if shown.startswith(b"{") and b'"blocks"' in shown:
                # answered in the acknowledgement itself (Slack shows it at once): that is its answer
                res.in_ack += 1
                if item.get("key"):
                    arrived.setdefault(item["key"], time.perf_counter())
                    waiters[item["key"]].set()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(job.concurrency)))
    res.elapsed_s = time.perf_counter() - t0
    if job.wait_answers:
        keys = list(sent)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(waiters[k].wait() for k in keys)), job.answer_timeout_s)
        res.answer_s = {k: arrived[k] - sent[k] for k in keys if k in arrived}
        if res.answer_s:
            res.answered_s = max(arrived[k] for k in res.answer_s) - t0
    for call in fake.calls[before:]:
        res.calls[call.method] = res.calls.get(call.method, 0) + 1
    waiters.clear()
    return res


class SlackLoad:
    """The Slack stand-in's process; ``api_url`` is its fake Web API."""

    def __init__(self, users: list[tuple[str, str, str]]) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, users), daemon=True)
        self.users = users
        self.api_url = ""

    def start(self) -> SlackLoad:
        self.proc.start()
        self.api_url = self.conn.recv()
        return self

    async def run(self, job: Job) -> Result:
        self.conn.send(job)
        result: Result = await asyncio.get_running_loop().run_in_executor(None, self.conn.recv)
        return result

    async def calls(self) -> list[tuple[str, dict[str, Any]]]:
        """Every Web API call the fake recorded since the last job (and forgets them)."""
        self.conn.send("calls")
        got: list[tuple[str, dict[str, Any]]] = await asyncio.get_running_loop().run_in_executor(None, self.conn.recv)
        return got

    def stop(self) -> None:
        self.conn.send(None)
        self.proc.join(10)
