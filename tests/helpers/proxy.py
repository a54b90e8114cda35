"""A small forward proxy on loopback (asyncio streams) that counts what goes through it, as an egress proxy
would see it: ``CONNECT host:port`` tunnels (https) and absolute-form requests (``POST http://host/path``).

Each absolute-form request is sent upstream on a connection of its own with ``Connection: close`` and the
answer is relayed until the upstream closes; the client's connection is then closed too (one request per
connection keeps the relaying exact, and aiohttp reconnects by itself). Chunked request bodies are refused
(501): the clients under test send a Content-Length.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
                   "ALL_PROXY", "all_proxy")


@dataclass
class ProxyRequest:
    method: str
    target: str  # "host:port" for CONNECT, the absolute URL otherwise


@dataclass
class ForwardProxy:
    requests: list[ProxyRequest] = field(default_factory=list)
    upstreams: list[tuple[str, int]] = field(default_factory=list)  # our end of each upstream connection
    port: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def targets(self, method: str | None = None) -> list[str]:
        return [r.target for r in self.requests if method is None or r.method == method]

    async def start(self) -> ForwardProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._one(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        if not line:
            return
        method, target, version = line.decode("latin-1").split()
        headers: list[tuple[str, str]] = []
        while (raw := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = raw.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
        self.requests.append(ProxyRequest(method, target))
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            self.upstreams.append(up_writer.get_extra_info("sockname")[:2])
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            try:
                await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
            finally:
                up_writer.close()
            return
        lower = {k.lower(): v for k, v in headers}
        if "chunked" in lower.get("transfer-encoding", "").lower():
            writer.write(b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        body = await reader.readexactly(int(lower.get("content-length", "0")))
        url = urllib.parse.urlsplit(target)
        up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port or 80)
        self.upstreams.append(up_writer.get_extra_info("sockname")[:2])
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        kept = [(k, v) for k, v in headers if k.lower() not in {"connection", "proxy-connection", "keep-alive",
                                                                 "proxy-authorization"}]
        head = f"{method} {path} {version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in kept)
        up_writer.write((head + "Connection: close\r\n\r\n").encode("latin-1") + body)
        await up_writer.drain()
        try:
            await _pipe(up_reader, writer)
        finally:
            up_writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        with contextlib.suppress(Exception):
            if writer.can_write_eof():
                writer.write_eof()


@contextlib.asynccontextmanager
async def proxied(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ForwardProxy]:
    """A running proxy named by HTTP_PROXY and HTTPS_PROXY (every other proxy variable unset)."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    p = await ForwardProxy().start()
    monkeypatch.setenv("HTTP_PROXY", p.url)
    monkeypatch.setenv("HTTPS_PROXY", p.url)
    try:
        yield p
    finally:
        await p.stop()
