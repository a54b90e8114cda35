"""Routes, sign-in, sessions and CSRF of the web console.

- Sign-in: ``/admin/login?token=...`` (the link an admin gets in chat with ``console``) shows a button; the
  POST spends the link (so a chat client's link preview, which only GETs, never uses it up) and starts a
  session with a fresh random id (no fixation), in an HttpOnly, SameSite=Lax cookie. Sessions end after
  8 hours idle, at logout, or when the person's admin rights go.
- One session, one workspace: a session opens only the workspace (and acts only as the platform identity)
  whose link started it. Each workspace's session has a cookie of its own (``momentum_console_w<id>``),
  so someone who runs two workspaces signs in to each with its own link; nothing is inferred from an
  email. Any other workspace answers 404, like a page that does not exist.
- Login CSRF: the sign-in page sets a short-lived pre-session cookie (SameSite=Strict) and puts a token
  derived from it in the form; a sign-in POST without both (a form on another site) is refused before
  the link is looked at, so it changes nothing.
- Cookies follow ``MOMENTUM_PUBLIC_URL``'s scheme, never the request's Host header (which a proxy may set
  to anything): on https they are ``Secure`` with the ``__Host-`` prefix (Path=/, no Domain, so a sibling
  subdomain cannot plant one). No proxy header (X-Forwarded-*) is read.
- CSRF: every form carries a token derived from the session id (HMAC-SHA256 keyed by the session id, which
  only the browser and this server know: the cookie is HttpOnly and the database stores only its hash).
  A synchronizer token, checked on every POST, plus an Origin check when the browser sends one. No
  maintained CSRF library exists for aiohttp (aiohttp-csrf has been unmaintained since 2019), and this is
  the OWASP "HMAC-based token" pattern in a dozen lines.
- Strict input: ids and page numbers are ASCII digits of bounded length (else 404 or 400); every answer,
  errors included, carries the security headers; an unexpected error is a 500 page, never a traceback.
- The event loop never waits on the database: every read and write is a unit of work on the executor.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import jinja2
from aiohttp import web
from markupsafe import Markup
from sqlalchemy import func
from sqlmodel import Session, col, select
from yarl import URL

from bot.app import Momentum
from bot.chat.preview import sample_messages
from bot.content.journey import KINDS
from bot.domain import analytics, console, csvio
from bot.model.config import WEEKDAYS
from bot.model.interactions import Interaction, InteractionKind, Response
from bot.model.messages import (
    Buttons,
    Checkbox,
    Choice,
    Fields,
    Footnote,
    Heading,
    Link,
    Mention,
    Message,
    Paragraph,
    Text,
    TextInput,
    plain,
)
from storage.models import AuditLog, Outcome, Person, Workspace

_LOGGER = logging.getLogger(__name__)

COOKIE = "momentum_console_w"  # + the workspace id: one session per workspace
LOGIN_COOKIE = "momentum_login"  # the pre-session cookie of the sign-in page
LOGIN_TTL = 600  # seconds: as long as a sign-in link lives
MAX_SESSIONS = 8  # console cookies read from one browser (one per workspace signed in)
PAGE = 50
MAX_PAGE = 100_000
ID = "[0-9]{1,9}"  # a database id in a URL: ASCII digits, below 2**31 (PostgreSQL's integer)
DIGITS = re.compile(r"[0-9]{1,9}")
MAX_UPLOAD = 1024**2
T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

@dataclass
class Console:
    m: Momentum
    env: jinja2.Environment


KEY: web.AppKey[Console] = web.AppKey("console", Console)


def redirect(location: str) -> web.Response:
    """A 303 See Other (after a POST, the browser GETs the next page)."""
    return web.Response(status=303, headers={"Location": location})


@dataclass(frozen=True)
class Signed:
    admin: console.Admin
    session_id: str
    workspaces: dict[int, str]  # id -> name: the workspaces this browser holds a session for

    @property
    def csrf(self) -> str:
        return csrf_token(self.session_id)


SIGNED: web.RequestKey[Signed] = web.RequestKey("signed", Signed)
WS: web.RequestKey[tuple[int, str]] = web.RequestKey("ws", tuple)  # type: ignore[arg-type]
FORM: web.RequestKey[Any] = web.RequestKey("form", object)


def csrf_token(session_id: str) -> str:
    return hmac.new(session_id.encode(), b"momentum-console-csrf", hashlib.sha256).hexdigest()


# --- units of work (run on the database executor) -----------------------------------------------------


def _unit(m: Momentum, fn: Callable[..., T], *args: Any) -> T:
    with m.db.session() as s:
        return fn(s, *args)


async def run(request: web.Request, fn: Callable[..., T], *args: Any) -> T:
    m = request.app[KEY].m
    return await m.db.run(_unit, m, fn, *args)


def _current(s: Session, sessions: dict[int, str], now: datetime,
             emails: frozenset[str]) -> tuple[dict[int, tuple[console.Admin, str]], dict[int, str]]:
    valid = console.current_all(s, sessions, now, emails)
    names = dict(s.exec(select(Workspace.id, Workspace.name).where(  # type: ignore[call-overload]
        col(Workspace.id).in_(sorted(valid)))).all()) if valid else {}
    return valid, {w: names.get(w) or f"Workspace {w}" for w in sorted(valid)}


# --- rendering ----------------------------------------------------------------------------------------


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.0f}%"


def _num(v: float | None, digits: int = 1) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _date(v: datetime | Any) -> str:
    if v is None:
        return "never"
    return v.strftime("%Y-%m-%d") if hasattr(v, "strftime") else str(v)


def _spans(spans: tuple[Any, ...]) -> list[dict[str, Any]]:
    """Inline spans as the chat clients show them: bold and italic text, links by their label, @mentions."""
    out: list[dict[str, Any]] = []
    for x in spans:
        if isinstance(x, Text):
            out.append({"text": x.text, "bold": x.bold, "italic": x.italic})
        elif isinstance(x, Link):
            out.append({"text": x.label, "url": x.url if x.url.startswith(("https://", "http://")) else ""})
        elif isinstance(x, Mention):
            out.append({"text": "@" + x.name, "mention": True})
    return out


def message_html(msg: Message) -> list[dict[str, Any]]:
    """The neutral blocks as simple dicts the gallery template draws (escaped by Jinja)."""
    out: list[dict[str, Any]] = []
    for b in msg.blocks:
        if isinstance(b, Heading):
            out.append({"type": "heading", "text": b.text})
        elif isinstance(b, Paragraph):
            out.append({"type": "para", "text": plain(b.spans), "spans": _spans(b.spans)})
        elif isinstance(b, Fields):
            out.append({"type": "fields", "items": list(b.items)})
        elif isinstance(b, Buttons):
            out.append({"type": "buttons", "labels": [x.label for x in b.buttons]})
        elif isinstance(b, Choice):
            out.append({"type": "choice", "label": b.label, "labels": [o.label for o in b.options]})
        elif isinstance(b, TextInput):
            out.append({"type": "input", "label": b.label})
        elif isinstance(b, Checkbox):
            out.append({"type": "checkbox", "label": b.label})
        elif isinstance(b, Footnote):
            out.append({"type": "foot", "text": plain(b.spans), "spans": _spans(b.spans)})
    return out


def make_env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("adapters.admin", "templates"),
                             autoescape=jinja2.select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)
    env.filters.update(pct=_pct, num=_num, day=_date)
    return env


def render(request: web.Request, template: str, status: int = 200, **ctx: Any) -> web.Response:
    env = request.app[KEY].env
    signed: Signed | None = request.get(SIGNED)
    html = env.get_template(template).render(signed=signed, ws=request.get(WS), path=request.path, **ctx)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def problem(request: web.Request, status: int, title: str, text: str) -> web.Response:
    return render(request, "problem.html", status=status, title=title, text=text)


# --- middlewares --------------------------------------------------------------------------------------

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

PROBLEMS = {  # what an error status says (pages of their own say more)
    400: ("That address isn't right", "Part of that address isn't something the console understands. "
          "Go back and try again."),
    404: ("Not found", "There's nothing here, or it isn't yours to see."),
    405: ("Not allowed", "That page can't be used that way. Go back and use the page's own buttons."),
    413: ("Too large", "That is larger than the console accepts (1 MB). Split it and try again."),
}


def _secure_headers(request: web.Request, resp: web.StreamResponse) -> web.StreamResponse:
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"  # sign-in links never leak through Referer
    resp.headers["X-Frame-Options"] = "DENY"
    if not request.path.startswith("/admin/static/"):
        resp.headers["Cache-Control"] = "no-store"
    return resp


@web.middleware
async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The security headers on every answer, errors included; an HTTP error is a console page of its
    status (no aiohttp default body), and an unexpected error a 500 page (logged once, never shown)."""
    try:
        resp = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            return _secure_headers(request, exc)
        title, text = PROBLEMS.get(exc.status, ("Can't do that", "That request can't be answered. Go back and "
                                                                  "try again."))
        resp = problem(request, exc.status, title, text)
        if "Allow" in exc.headers:
            resp.headers["Allow"] = exc.headers["Allow"]
    except Exception:
        _LOGGER.exception("console error on %s %s", request.method, request.path)  # the path: no query, no token
        resp = problem(request, 500, "Something went wrong",
                       "The console couldn't answer that. Nothing was changed; try again in a minute.")
    return _secure_headers(request, resp)


def secure(m: Momentum) -> bool:
    """Cookies are Secure when the console is served over https, as ``MOMENTUM_PUBLIC_URL`` says (never
    decided by the request's Host header, which a proxy may set to ``localhost``)."""
    return m.settings.public_url.lower().startswith("https://")


def cookie_name(m: Momentum, base: str) -> str:
    return ("__Host-" if secure(m) else "") + base


def _cookie_path(m: Momentum) -> str:
    return "/" if secure(m) else "/admin"  # __Host- cookies must have Path=/


def set_cookie(m: Momentum, resp: web.StreamResponse, base: str, value: str, samesite: str = "Lax",
               max_age: int | None = None) -> None:
    resp.set_cookie(cookie_name(m, base), value, httponly=True, secure=secure(m), samesite=samesite,
                    path=_cookie_path(m), max_age=max_age)


def del_cookie(m: Momentum, resp: web.StreamResponse, base: str) -> None:
    resp.del_cookie(cookie_name(m, base), path=_cookie_path(m), secure=secure(m), httponly=True,
                    samesite="Lax")


def session_cookies(request: web.Request) -> dict[int, str]:
    """The browser's console sessions: workspace id -> session id, from cookies ``momentum_console_w<id>``."""
    m = request.app[KEY].m
    prefix = cookie_name(m, COOKIE)
    out: dict[int, str] = {}
    for name, value in request.cookies.items():
        rest = name.removeprefix(prefix)
        if rest != name and DIGITS.fullmatch(rest) and 20 <= len(value) <= 100 and len(out) < MAX_SESSIONS:
            out[int(rest)] = value
    return out


def _sign_in_please(request: web.Request, stale: dict[int, str]) -> web.Response:
    m = request.app[KEY].m
    resp = problem(request, 401, "Please sign in",
                   "Ask Momentum for a sign-in link in chat: /momentum console on Slack, or type console "
                   "to the bot in Teams. Links work once, for 10 minutes.")
    for ws in stale:
        del_cookie(m, resp, f"{COOKIE}{ws}")
    return resp


@web.middleware
async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every page but sign-in and static files needs a session; a workspace page needs that workspace's
    own session (a session of another workspace opens nothing: 404); a POST needs the session's CSRF
    token."""
    rel = request.path.removeprefix("/admin")
    if rel.startswith("/static/") or rel in ("/login", "/signed-out"):
        return await handler(request)
    m = request.app[KEY].m
    cookies = session_cookies(request)
    valid, names = (await m.db.run(_unit, m, _current, cookies, m.now(), m.settings.admin_emails)
                    if cookies else ({}, {}))
    if not valid:
        return _sign_in_please(request, cookies)
    ws = request.match_info.get("ws")
    if ws is None:  # /admin/: the first workspace this browser is signed in to
        first = min(valid)
        request[SIGNED] = Signed(valid[first][0], valid[first][1], names)
    else:
        if not DIGITS.fullmatch(ws) or int(ws) not in valid:
            raise web.HTTPNotFound()
        admin, sid = valid[int(ws)]
        request[SIGNED] = Signed(admin, sid, names)
        request[WS] = (int(ws), names[int(ws)])
    if request.method == "POST":
        if _cross_site(request):
            return problem(request, 403, "Refused", "That form came from another site. Nothing was changed.")
        form = await request.post()
        request[FORM] = form
        token = form.get("csrf")
        if not isinstance(token, str) or not hmac.compare_digest(token, csrf_token(request[SIGNED].session_id)):
            return problem(request, 403, "Refused",
                           "That form has expired or did not come from this console. Nothing was changed; "
                           "reload the page and try again.")
    return await handler(request)


def ws_id(request: web.Request) -> int:
    return int(request[WS][0])


def actor(s: Session, admin: console.Admin, workspace_id: int) -> int | None:
    return console.actor_in(s, admin, workspace_id)


def url(request: web.Request, rel: str, **query: Any) -> str:
    q = {k: v for k, v in query.items() if v not in (None, "")}
    return f"/admin/w/{ws_id(request)}{rel}" + (f"?{urlencode(q)}" if q else "")


def number(value: str | None, default: int, top: int) -> int:
    """A number from a query string: ASCII digits, 1..top (larger ones are clamped); anything else is a
    400 (superscripts and other Unicode digits included: ``int()`` would take some and choke on others)."""
    if value is None or value == "":
        return default
    if not DIGITS.fullmatch(value):
        raise web.HTTPBadRequest()
    return max(1, min(int(value), top))


def path_id(request: web.Request, name: str) -> int:
    value = request.match_info[name]
    if not DIGITS.fullmatch(value):
        raise web.HTTPNotFound()
    return int(value)


# --- sign-in ------------------------------------------------------------------------------------------


def login_token(nonce: str) -> str:
    """The sign-in form's token: derived from the pre-session cookie, which another site can neither read
    nor send (SameSite=Strict), so a sign-in form posted from elsewhere cannot carry a matching pair."""
    return hmac.new(nonce.encode(), b"momentum-console-login", hashlib.sha256).hexdigest()


async def login_page(request: web.Request) -> web.StreamResponse:
    m = request.app[KEY].m
    token = request.query.get("token", "")
    if not token or len(token) > 200:
        return problem(request, 400, "That link is incomplete",
                       "Ask Momentum for a new sign-in link in chat (console).")
    nonce = request.cookies.get(cookie_name(m, LOGIN_COOKIE), "")
    if not re.fullmatch(r"[A-Za-z0-9_-]{32,64}", nonce):
        nonce = secrets.token_urlsafe(32)
    resp = render(request, "login.html", token=token, login_csrf=login_token(nonce))
    set_cookie(m, resp, LOGIN_COOKIE, nonce, samesite="Strict", max_age=LOGIN_TTL)
    return resp


def _cross_site(request: web.Request) -> bool:
    """A form posted from another site: its Origin (when the browser sends one) is neither this request's host
    nor ``MOMENTUM_PUBLIC_URL``'s (behind a proxy that rewrites Host, the public URL is what the browser saw)."""
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return False
    public = request.app[KEY].m.settings.public_url
    ours = {request.url.host, URL(public).host if public else None} - {None}
    return URL(origin).host not in ours


async def login(request: web.Request) -> web.StreamResponse:
    m = request.app[KEY].m
    form = await request.post()
    nonce = request.cookies.get(cookie_name(m, LOGIN_COOKIE), "")
    given = form.get("login_csrf")
    if (_cross_site(request) or not nonce or not isinstance(given, str)
            or not hmac.compare_digest(given, login_token(nonce))):
        # refused before the link is looked at: a cross-site sign-in changes nothing, not even the link
        return problem(request, 403, "Can't sign you in",
                       "That sign-in didn't start on this console's own page, so nothing was changed. Open your "
                       "sign-in link again (or ask Momentum for a new one in chat: console) and press Sign in.")
    token = form.get("token")
    if not isinstance(token, str) or not token or len(token) > 200:
        return problem(request, 400, "That link is incomplete", "Ask Momentum for a new sign-in link in chat.")
    # a link can only be for one workspace, but which one is known after the look-up: end the browser's
    # earlier session there, whatever it was
    cookies = session_cookies(request)
    result = await m.db.run(_unit, m, console.redeem, token, m.now(), m.settings.admin_emails, cookies)
    if result.session_id is None or result.workspace_id is None:
        text = {
            "expired": "This sign-in link has expired (links work for 10 minutes).",
            "used": "This sign-in link was already used (each link works once).",
            "not_admin": "This link belongs to someone who isn't a Momentum admin, so it can't open the console.",
        }.get(result.reason, "This sign-in link isn't valid.")
        resp = problem(request, 403, "Can't sign you in", text + " Ask Momentum for a new one in chat: console.")
        del_cookie(m, resp, LOGIN_COOKIE)
        return resp
    resp = redirect(f"/admin/w/{result.workspace_id}/")
    del_cookie(m, resp, LOGIN_COOKIE)
    set_cookie(m, resp, f"{COOKIE}{result.workspace_id}", result.session_id)
    return resp


async def logout(request: web.Request) -> web.StreamResponse:
    """Sign out of this workspace's session (the browser's sessions for other workspaces stay)."""
    m = request.app[KEY].m
    signed: Signed = request[SIGNED]
    await run(request, console.end, signed.session_id)
    resp = redirect("/admin/signed-out")
    del_cookie(m, resp, f"{COOKIE}{signed.admin.workspace_id}")
    return resp


async def signed_out(request: web.Request) -> web.StreamResponse:
    return problem(request, 200, "Signed out", "You're signed out. Ask Momentum for a new link to come back.")


async def home(request: web.Request) -> web.StreamResponse:
    signed: Signed = request[SIGNED]
    return web.Response(status=302, headers={"Location": f"/admin/w/{signed.admin.workspace_id}/"})


# --- pages --------------------------------------------------------------------------------------------


async def overview(request: web.Request) -> web.StreamResponse:
    m = request.app[KEY].m
    progs = await run(request, analytics.overview, ws_id(request), m.now())
    return render(request, "overview.html", programs=progs)


def _program_page(s: Session, ws: int, pid: int, now: datetime, dim: str, k: int) -> dict[str, Any] | None:
    prog = analytics.program(s, ws, pid)
    if prog is None:
        return None
    dims = analytics.dimensions(s, ws)
    dim = dim if dim in dims else dims[0]
    return {
        "program": prog,
        "weeks": analytics.series(s, ws, pid, now),
        "health": next(iter(analytics.overview(s, ws, now, pid)), None),
        "dims": dims, "dim": dim,
        "breakdown": analytics.breakdown(s, ws, dim, now, program_id=pid, min_group=k),
    }


def chart_data(weeks: list[analytics.Week]) -> dict[str, Any]:
    labels = [w.start.isoformat() for w in weeks]
    return {
        "labels": labels,
        "engagement": [None if w.engagement is None else round(w.engagement, 1) for w in weeks],
        "response": [None if w.response_rate is None else round(w.response_rate, 1) for w in weeks],
        "momentum": [None if w.momentum is None else round(w.momentum, 2) for w in weeks],
        "answers": {k: [w.answers[k] for w in weeks] for k in analytics.ANSWERS},
        "outbox": {"sent": [w.sent for w in weeks], "failed": [w.failed for w in weeks],
                   "dead": [w.dead for w in weeks]},
    }


async def program_page(request: web.Request) -> web.StreamResponse:
    m = request.app[KEY].m
    data = await run(request, _program_page, ws_id(request), path_id(request, "pid"), m.now(),
                     request.query.get("by", ""), m.settings.min_group)
    if data is None:
        raise web.HTTPNotFound()
    charts = json.dumps(chart_data(data["weeks"]))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):  # safe inside <script>
        charts = charts.replace(ch, esc)
    return render(request, "program.html", charts=Markup(charts), **data)


async def cohorts(request: web.Request) -> web.StreamResponse:
    m = request.app[KEY].m
    rows = await run(request, analytics.cohorts, ws_id(request), m.now())
    return render(request, "cohorts.html", cohorts=rows)


def _page(request: web.Request) -> int:
    return number(request.query.get("page"), 1, MAX_PAGE)


async def stalled(request: web.Request) -> web.StreamResponse:
    m = request.app[KEY].m
    page = _page(request)
    total, rows = await run(request, analytics.stalled, ws_id(request), m.now(), None, PAGE, (page - 1) * PAGE)
    return render(request, "stalled.html", total=total, rows=rows, page=page, pages=max(1, -(-total // PAGE)),
                  done=request.query.get("done", ""))


def _nudge(s: Session, admin: console.Admin, ws: int, pair_id: int, now: datetime) -> str:
    return console.nudge(s, ws, pair_id, actor(s, admin, ws), now)


async def nudge(request: web.Request) -> web.StreamResponse:
    m = request.app[KEY].m
    signed: Signed = request[SIGNED]
    try:
        done = await run(request, _nudge, signed.admin, ws_id(request), path_id(request, "pair"), m.now())
    except Exception as exc:  # a concurrent click hit the outbox's unique key first
        if type(exc).__name__ != "IntegrityError":
            raise
        done = "already"
    return redirect(url(request, "/stalled", done=done))


async def pairs_page(request: web.Request) -> web.StreamResponse:
    m = request.app[KEY].m
    page = _page(request)
    status = request.query.get("status", "")
    status = status if status in analytics.PAIR_STATUSES else ""
    prog = request.query.get("program", "")
    pid = number(prog, 0, 2**31 - 1) if prog else None
    total, rows = await run(request, analytics.pairs, ws_id(request), m.now(), pid, status or None, PAGE,
                            (page - 1) * PAGE)
    progs = await run(request, analytics.programs, ws_id(request))
    return render(request, "pairs.html", total=total, rows=rows, page=page, pages=max(1, -(-total // PAGE)),
                  pair_status=status, program_id=pid, programs=progs, statuses=analytics.PAIR_STATUSES)


async def _form_text(request: web.Request, field: str, upload: str, what: str = "CSV (UTF-8)") -> str:
    """A pasted text field, or the uploaded file in its place (UTF-8)."""
    form = request[FORM]
    f = form.get(upload)
    if isinstance(f, web.FileField):
        raw = f.file.read(MAX_UPLOAD + 1)
        if len(raw) > MAX_UPLOAD:
            raise ValueError("That file is larger than 1 MB; split it.")
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError(f"That file isn't UTF-8 text; save it as {what}.") from None
    v = form.get(field, "")
    return v if isinstance(v, str) else ""


async def import_page(request: web.Request) -> web.StreamResponse:
    return render(request, "import.html", lines=None, csv="", result=None)


async def import_preview(request: web.Request) -> web.StreamResponse:
    try:
        text = await _form_text(request, "csv", "file")
    except ValueError as exc:
        return render(request, "import.html", status=400, lines=None, csv="", result=None, error=str(exc))
    lines = await run(request, console.preview_import, ws_id(request), text)
    ok = bool(lines) and all(x.ok for x in lines)
    return render(request, "import.html", status=200 if ok else 422, lines=lines, csv=text, ok=ok, result=None)


def _who(s: Session, admin: console.Admin, ws: int) -> tuple[str, str, str] | None:
    w = s.get(Workspace, ws)
    pid = console.actor_in(s, admin, ws)
    p = s.get(Person, pid) if pid is not None else None
    return (w.platform, w.external_id, p.external_id) if w is not None and p is not None else None


async def as_command(request: web.Request, text: str) -> Response | None:
    """Run a chat command as the signed-in admin in this workspace, through the core's one entry point
    (the same validation, all-or-nothing import, look-ups and audit as in chat)."""
    m = request.app[KEY].m
    signed: Signed = request[SIGNED]
    who = await run(request, _who, signed.admin, ws_id(request))
    if who is None:
        return None
    platform, workspace, user = who
    return await m.handle(Interaction(platform=platform, workspace=workspace, user=user, kind=InteractionKind.COMMAND,
                                      text=text))


async def import_commit(request: web.Request) -> web.StreamResponse:
    form = request[FORM]
    text = form.get("csv", "")
    if not isinstance(text, str) or not text.strip():
        return render(request, "import.html", status=400, lines=None, csv="", result=None,
                      error="There's nothing to import; paste or upload a CSV first.")
    lines = await run(request, console.preview_import, ws_id(request), text)
    if not lines or not all(x.ok for x in lines):
        return render(request, "import.html", status=422, lines=lines, csv=text, ok=False, result=None)
    resp = await as_command(request, "import\n" + text)
    if resp is None or resp.reply is None:
        return problem(request, 409, "Can't import", "Your admin account isn't in this workspace.")
    ok = not resp.errors  # the chat import also keeps the extra columns as attributes (once)
    return render(request, "import.html", status=200 if ok else 422, lines=None, csv="" if ok else text,
                  result=message_html(resp.reply), imported=ok)


def _export(s: Session, admin: console.Admin, ws: int, now: datetime) -> str:
    data = csvio.export(s, ws)
    s.add(AuditLog(workspace_id=ws, actor_id=actor(s, admin, ws), action="pairs.export", detail={"via": "console"},
                   at=now))
    return data


async def export(request: web.Request) -> web.StreamResponse:
    m = request.app[KEY].m
    signed: Signed = request[SIGNED]
    data = await run(request, _export, signed.admin, ws_id(request), m.now())
    return web.Response(text=data, content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="momentum-pairs-{m.now():%Y%m%d}.csv"'})


async def export_page(request: web.Request) -> web.StreamResponse:
    return render(request, "export.html")


def _audit(s: Session, ws: int, action: str, ok: str, offset: int) -> tuple[int, list[dict[str, Any]], list[str]]:
    cond: list[Any] = [AuditLog.workspace_id == ws]
    if action:
        cond.append(col(AuditLog.action).startswith(action, autoescape=True))
    if ok in ("yes", "no"):
        cond.append(col(AuditLog.ok).is_(ok == "yes"))
    total = int(s.exec(select(func.count()).select_from(AuditLog).where(*cond)).one())
    rows = s.exec(select(AuditLog, Person.name).outerjoin(Person, col(Person.id) == col(AuditLog.actor_id))  # type: ignore[call-overload]
                  .where(*cond).order_by(col(AuditLog.id).desc()).limit(PAGE).offset(offset)).all()
    actions = list(s.exec(select(AuditLog.action).where(AuditLog.workspace_id == ws).group_by(col(AuditLog.action))
                          .order_by(col(AuditLog.action))).all())
    out = [{"at": a.at, "who": name or "system", "action": a.action, "target": a.target, "ok": a.ok,
            "detail": ", ".join(f"{k}: {v}" for k, v in (a.detail or {}).items()
                                if isinstance(v, (int, float, str, bool)))}
           for a, name in rows]
    return total, out, actions


async def audit(request: web.Request) -> web.StreamResponse:
    page = _page(request)
    action = request.query.get("action", "")[:64]
    ok = request.query.get("ok", "")
    total, rows, actions = await run(request, _audit, ws_id(request), action, ok, (page - 1) * PAGE)
    return render(request, "audit.html", total=total, rows=rows, actions=actions, action=action, ok=ok, page=page,
                  pages=max(1, -(-total // PAGE)))


def _settings(s: Session, ws: int, pid: int) -> Any:
    return analytics.program(s, ws, pid)


async def settings_page(request: web.Request) -> web.StreamResponse:
    m = request.app[KEY].m
    prog = await run(request, _settings, ws_id(request), path_id(request, "pid"))
    if prog is None:
        raise web.HTTPNotFound()
    return render(request, "settings.html", program=prog, problems=[], saved=request.query.get("saved", ""),
                  quiet=m.settings.quiet_hours, weekdays=_weekdays())


def _weekdays() -> list[str]:
    return list(WEEKDAYS)


def _update(s: Session, admin: console.Admin, ws: int, pid: int, fields: dict[str, str], now: datetime) -> list[str]:
    return console.update_program(s, ws, pid, fields, actor(s, admin, ws), now)


async def settings_save(request: web.Request) -> web.StreamResponse:
    m = request.app[KEY].m
    signed: Signed = request[SIGNED]
    pid = path_id(request, "pid")
    prog = await run(request, _settings, ws_id(request), pid)
    if prog is None:
        raise web.HTTPNotFound()
    form = request[FORM]
    what = form.get("what", "cadence")
    if what == "journey":
        try:
            body = await _form_text(request, "journey", "journey_file", "UTF-8 text (a YAML journey file)")
        except ValueError as exc:
            body, problems = "", [str(exc)]
        else:
            problems = []
        reset = form.get("reset") == "1"
        if not problems and (reset or body.strip()):
            resp = await as_command(request, f"program journey {prog.name} reset" if reset
                                    else f"program journey {prog.name}\n{body}")
            text = resp.reply.as_plain_text() if resp is not None and resp.reply is not None else "Nothing changed."
            if text.startswith(f"{prog.name} now uses") or text.startswith(f"{prog.name} uses the built-in"):
                return redirect(url(request, f"/programs/{pid}/settings", saved="journey"))
            problems = [text]
        elif not problems:
            problems = ["Choose a journey file (YAML) or paste one."]
    else:
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        problems = await run(request, _update, signed.admin, ws_id(request), pid, fields, m.now())
        if not problems:
            return redirect(url(request, f"/programs/{pid}/settings", saved="cadence"))
    return render(request, "settings.html", status=422, program=prog, problems=problems, saved="",
                  quiet=m.settings.quiet_hours, weekdays=_weekdays())


def _gallery() -> dict[str, list[tuple[str, list[dict[str, Any]]]]]:
    out: dict[str, list[tuple[str, list[dict[str, Any]]]]] = {}
    for kind in KINDS:
        msgs = sample_messages((kind,))
        prefix = "" if kind == "sponsorship" else f"{kind}-"
        out[kind] = [(name.removeprefix(prefix), message_html(msg)) for name, msg in msgs.items()
                     if kind == "sponsorship" or name.startswith(prefix)]
    return out


_GALLERY: dict[str, list[tuple[str, list[dict[str, Any]]]]] | None = None


async def gallery(request: web.Request) -> web.StreamResponse:
    global _GALLERY
    if _GALLERY is None:
        _GALLERY = _gallery()  # pure: composed from the journeys' words, no database
    kind = request.query.get("kind", "sponsorship")
    kind = kind if kind in _GALLERY else "sponsorship"
    return render(request, "gallery.html", kinds=list(_GALLERY), kind=kind, messages=_GALLERY[kind])


def _outcomes(s: Session, ws: int, k: int, now: datetime) -> list[tuple[Any, list[analytics.OutcomeRates]]]:
    progs = analytics.programs(s, ws)
    n = int(s.exec(select(func.count()).select_from(Outcome).where(Outcome.workspace_id == ws)).one())
    return [(p, analytics.outcomes(s, ws, p.id, min_group=k)) for p in progs if p.id is not None] if n else []


async def outcomes_page(request: web.Request, problems: list[str] | None = None, status: int = 200) -> web.Response:
    m = request.app[KEY].m
    rows = await run(request, _outcomes, ws_id(request), m.settings.min_group, m.now())
    return render(request, "outcomes.html", status=status, rows=rows, problems=problems or [],
                  k=m.settings.min_group, saved=request.query.get("saved", ""))


def _upload(s: Session, admin: console.Admin, ws: int, text: str, now: datetime) -> list[str]:
    return console.import_outcomes(s, ws, text, actor(s, admin, ws), now)


async def outcomes_upload(request: web.Request) -> web.StreamResponse:
    m = request.app[KEY].m
    signed: Signed = request[SIGNED]
    try:
        text = await _form_text(request, "csv", "file")
    except ValueError as exc:
        return await outcomes_page(request, [str(exc)], 400)
    problems = await run(request, _upload, signed.admin, ws_id(request), text, m.now())
    if problems:
        return await outcomes_page(request, problems, 422)
    return redirect(url(request, "/outcomes", saved="1"))


# --- the application ----------------------------------------------------------------------------------


def build_console(m: Momentum) -> web.Application:
    """The console as an aiohttp sub-application; ``adapters.server`` mounts it at ``/admin``."""
    app = web.Application(middlewares=[headers, auth], client_max_size=MAX_UPLOAD + 64 * 1024)
    app[KEY] = Console(m, make_env())
    r = app.router
    r.add_get("/login", login_page)
    r.add_post("/login", login)
    r.add_get("/signed-out", signed_out)
    r.add_get("/", home)
    w = "/w/{ws:" + ID + "}"
    r.add_post(w + "/logout", logout)
    r.add_get(w + "/", overview)
    r.add_get(w + "/programs/{pid:" + ID + "}", program_page)
    r.add_get(w + "/programs/{pid:" + ID + "}/settings", settings_page)
    r.add_post(w + "/programs/{pid:" + ID + "}/settings", settings_save)
    r.add_get(w + "/cohorts", cohorts)
    r.add_get(w + "/stalled", stalled)
    r.add_post(w + "/stalled/{pair:" + ID + "}/nudge", nudge)
    r.add_get(w + "/pairs", pairs_page)
    r.add_get(w + "/import", import_page)
    r.add_post(w + "/import/preview", import_preview)
    r.add_post(w + "/import/commit", import_commit)
    r.add_get(w + "/export", export_page)
    r.add_get(w + "/export.csv", export)
    r.add_get(w + "/audit", audit)
    r.add_get(w + "/gallery", gallery)
    r.add_get(w + "/outcomes", outcomes_page)
    r.add_post(w + "/outcomes", outcomes_upload)
    static = Path(str(resources.files("adapters.admin").joinpath("static")))
    r.add_static("/static", static)
    return app
