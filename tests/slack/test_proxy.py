"""The Slack clients honour the standard proxy variables (HTTPS_PROXY, HTTP_PROXY, NO_PROXY).

A forward proxy on loopback (``tests/helpers/proxy.py``) counts what goes through it: the Slack Web API
and ``response_url`` answers, over plain http (absolute-form requests) and over https
(CONNECT tunnels, to a fake Slack serving TLS with a certificate made here). With NO_PROXY naming the
host, nothing goes through the proxy (slack_sdk, left alone, would send its calls through HTTPS_PROXY
whatever NO_PROXY says).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp.connector
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from adapters.http import proxy_for
from adapters.slack.api import SlackApi
from adapters.slack.replies import ResponseUrl
from tests.helpers.proxy import PROXY_VARIABLES, ForwardProxy, proxied
from tests.slack.conftest import BOT_TOKEN, SlackServer, slack_settings_for
from tests.slack.fake_slack import FakeSlack


@pytest.fixture
async def proxy(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ForwardProxy]:
    """The proxy, named by HTTP_PROXY and HTTPS_PROXY before anything else starts (as a host sets them)."""
    async with proxied(monkeypatch) as p:
        yield p


async def _token(_: str) -> str:
    return BOT_TOKEN


# --- Slack ------------------------------------------------------------------------------------------


async def test_slack_web_api_and_response_url_go_through_http_proxy(
    proxy: ForwardProxy, slack_server: SlackServer
) -> None:
    status, _ = await slack_server.command("program create Pilot", user="UADMIN")
    await slack_server.settle()
    assert status == 200 and slack_server.fake.responses  # answered, through the proxy
    fake = slack_server.fake
    assert f"{fake.api_url}auth.test" in proxy.targets("POST")  # at start-up
    assert fake.response_url("cmd") in proxy.targets("POST")
    assert all(tuple(peer[:2]) in proxy.upstreams for peer in fake.response_peers)


async def test_no_proxy_sends_slack_calls_direct(proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch,
                                                 fake_slack: FakeSlack) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    api = SlackApi(slack_settings_for(fake_slack), _token)
    try:
        assert (await api.call("T1", "auth.test"))["ok"] is True
        assert (await ResponseUrl(api, fake_slack.response_url("direct"))(text="hi")).status_code == 200
    finally:
        await api.close()
    assert proxy.requests == [] and [c.method for c in fake_slack.calls] == ["auth.test"]
    assert fake_slack.response_keys == ["direct"]


def _certificate(tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1: the server's context and a client context trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake slack")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    client = ssl.create_default_context(cafile=str(tmp / "cert.pem"))
    return server, client


@pytest.fixture
def trusted_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ssl.SSLContext]:
    """The server side of a certificate that aiohttp's default verified context trusts for this test
    (the machine's trust store, as a CA bundle would be installed)."""
    server, client = _certificate(tmp_path)
    monkeypatch.setattr(aiohttp.connector, "_SSL_CONTEXT_VERIFIED", client)
    yield server


async def test_https_slack_calls_tunnel_through_the_proxy_with_connect(
    proxy: ForwardProxy, trusted_tls: ssl.SSLContext
) -> None:
    fake = await FakeSlack().start(ssl_context=trusted_tls)
    api = SlackApi(slack_settings_for(fake), _token)
    try:
        assert fake.api_url.startswith("https://")
        assert (await api.call("T1", "auth.test"))["ok"] is True
        assert (await ResponseUrl(api, fake.response_url("tls"))(text="hi")).status_code == 200
    finally:
        await api.close()
        await fake.stop()
    host = urllib.parse.urlsplit(fake.api_url).netloc
    assert proxy.targets("CONNECT") and set(proxy.targets("CONNECT")) == {host}
    assert [r.method for r in proxy.requests] == ["CONNECT"] * len(proxy.requests)  # nothing in the clear
    assert [c.method for c in fake.calls] == ["auth.test"] and fake.response_keys == ["tls"]
    assert tuple(fake.response_peers[0][:2]) in proxy.upstreams  # the answer came out of the tunnel


def test_bolts_own_client_takes_the_proxy_the_variables_name(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert proxy_for("https://slack.com/api/") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert proxy_for("https://slack.com/api/") == "http://proxy.internal:3128"
    assert proxy_for("http://127.0.0.1:9/api/") is None  # HTTPS_PROXY is for https URLs
    monkeypatch.setenv("NO_PROXY", "slack.com")
    assert proxy_for("https://slack.com/api/") is None
