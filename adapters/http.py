"""What every outbound HTTP client of the edges shares: sessions that honour the proxy variables, and
Retry-After read the same way whatever the platform.

Proxies: ``HTTPS_PROXY`` / ``HTTP_PROXY`` (or the lower-case forms) and ``NO_PROXY`` apply per URL as
curl reads them, through aiohttp's ``trust_env``; an https URL goes through the proxy with CONNECT.
"""

from __future__ import annotations

import email.utils
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from typing import Any

import aiohttp


def client_session(**kwargs: Any) -> aiohttp.ClientSession:
    """An aiohttp session for outbound calls: the proxy variables apply (``trust_env``)."""
    return aiohttp.ClientSession(trust_env=True, **kwargs)


def proxy_for(url: str) -> str | None:
    """The proxy the standard variables name for ``url`` (``NO_PROXY`` honoured), for a client that
    takes one proxy for all its calls instead of a session that chooses per URL."""
    parts = urllib.parse.urlsplit(url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme) or None


def retry_after(value: Any) -> float | None:
    """A Retry-After header in seconds (RFC 9110: a number of seconds or an HTTP date); None when it
    is absent or unreadable. Never negative."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        return max(seconds, 0.0) if seconds == seconds else None  # NaN is no answer
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def retry_after_of(headers: Any) -> float | None:
    """Retry-After of a header mapping (any case), or None."""
    if not headers:
        return None
    for k, v in dict(headers).items():
        if str(k).lower() == "retry-after":
            return retry_after(v[0] if isinstance(v, list) and v else v)
    return None
