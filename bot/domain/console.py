"""Sign-in to the web console: single-use links sent in chat, and the sessions they open.

Synchronous units of work (``fn(session, ..., now)``); the web adapter (``adapters/admin``) runs them on
the database executor. Only SHA-256 hashes of link tokens and session ids are stored, so a copy of the
database signs nobody in. Admin rights follow the chat rule (``bot.domain.people.is_admin``) and are checked
again on every request: an admin whose rights are removed is signed out at their next click.

A session belongs to one workspace and one platform identity: the person whose link opened it. It opens
that workspace only, and admin rights come from that workspace alone. An email is never a link between
two workspaces (anyone who controls an address in one workspace would read another company's program).
Someone who runs two workspaces signs in to each with its own link: a separate session per workspace.

No words of people (notes, wins, goals, agendas) are read here.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date as date_type
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from bot.content.kinds import PromptKind, checkin_strategy, stage_for, variant_for
from bot.content.timing import week_index
from bot.domain import analytics, csvio
from bot.domain import people as directory
from bot.model.config import WEEKDAYS, parse_hhmm
from storage.models import (
    AuditLog,
    ConsoleLink,
    ConsoleSession,
    Outcome,
    Person,
    PersonAttribute,
    Program,
    Prompt,
)

LINK_TTL = timedelta(minutes=10)
SESSION_IDLE = timedelta(hours=8)
TOUCH_EVERY = timedelta(minutes=1)  # how often a session's last-seen time is written


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def issue_link(s: Session, person_id: int, now: datetime, public_url: str) -> str:
    """A fresh single-use sign-in link for ``person_id``; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    s.add(ConsoleLink(token_hash=digest(token), person_id=person_id, expires_at=now + LINK_TTL, created_at=now))
    s.execute(delete(ConsoleLink).where(col(ConsoleLink.expires_at) < now - timedelta(days=1)))  # old links
    return f"{public_url.rstrip('/')}/admin/login?token={token}"


@dataclass(frozen=True)
class Admin:
    person_id: int
    name: str
    workspace_id: int  # the one workspace this session opens: the person's own


@dataclass(frozen=True)
class SignIn:
    session_id: str | None  # the new session's id (the cookie's value), None when refused
    reason: str  # ok | unknown | used | expired | not_admin
    workspace_id: int | None = None  # the workspace the session opens


def may_open(person: Person | None, admin_emails: frozenset[str]) -> bool:
    """Whether ``person`` may open the console of their own workspace (the only one they can open)."""
    return person is not None and not person.forgotten and directory.is_admin(person, admin_emails)


def redeem(s: Session, token: str, now: datetime, admin_emails: frozenset[str],
           old_sessions: Mapping[int, str] | None = None) -> SignIn:
    """Use a link once: a fresh session for its admin in their own workspace (a new id every time: no
    fixation; the browser's earlier session for that workspace, in ``old_sessions`` by workspace id, ends).
    Whatever the outcome the link is spent, and the attempt is audited."""
    link = s.exec(select(ConsoleLink).where(ConsoleLink.token_hash == digest(token))).first() if token else None
    if link is None:
        return SignIn(None, "unknown")
    # spend it atomically: of two concurrent uses only one updates the row
    spent = s.execute(update(ConsoleLink).where(col(ConsoleLink.id) == link.id, col(ConsoleLink.used_at).is_(None))
                      .values(used_at=now)).rowcount  # type: ignore[attr-defined]
    person = s.get(Person, link.person_id)
    reason = ("used" if not spent else "expired" if link.expires_at <= now
              else "not_admin" if not may_open(person, admin_emails) else "ok")
    old_session = (old_sessions or {}).get(person.workspace_id) if person is not None else None
    if old_session:
        end(s, old_session)
    if person is not None:
        s.add(AuditLog(workspace_id=person.workspace_id, actor_id=person.id, action="console.sign_in",
                       ok=reason == "ok", detail=None if reason == "ok" else {"reason": reason}, at=now))
    if reason != "ok":
        return SignIn(None, reason)
    sid = secrets.token_urlsafe(32)
    s.add(ConsoleSession(id_hash=digest(sid), person_id=link.person_id, created_at=now, last_seen_at=now))
    return SignIn(sid, "ok", person.workspace_id if person is not None else None)


def current(s: Session, session_id: str | None, now: datetime, admin_emails: frozenset[str],
            workspace_id: int | None = None) -> Admin | None:
    """The signed-in admin, or None (no session, idle for ``SESSION_IDLE``, no longer an admin, or, when
    ``workspace_id`` is given, a session of another workspace)."""
    if not session_id:
        return None
    row = s.exec(select(ConsoleSession).where(ConsoleSession.id_hash == digest(session_id))).first()
    if row is None:
        return None
    if row.last_seen_at <= now - SESSION_IDLE:
        s.delete(row)
        return None
    person = s.get(Person, row.person_id)
    if person is None or not may_open(person, admin_emails):
        s.delete(row)
        return None
    if workspace_id is not None and person.workspace_id != workspace_id:
        return None  # a session of another workspace opens nothing here (and stays valid where it belongs)
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        s.add(row)
    assert person.id is not None
    return Admin(person.id, person.name, person.workspace_id)


def current_all(s: Session, sessions: dict[int, str], now: datetime,
                admin_emails: frozenset[str]) -> dict[int, tuple[Admin, str]]:
    """The browser's sessions (workspace id -> session id, from its cookies) that are valid for the
    workspace they are kept under: workspace id -> (admin, session id)."""
    out: dict[int, tuple[Admin, str]] = {}
    for ws, sid in sessions.items():
        admin = current(s, sid, now, admin_emails, ws)
        if admin is not None:
            out[ws] = (admin, sid)
    return out


def end(s: Session, session_id: str) -> None:
    s.execute(delete(ConsoleSession).where(col(ConsoleSession.id_hash) == digest(session_id)))


def actor_in(s: Session, admin: Admin, workspace_id: int) -> int | None:
    """The admin's own person in ``workspace_id`` (for the audit log): the session's person, in the
    session's workspace only."""
    return admin.person_id if admin.workspace_id == workspace_id else None


# --- what admins do in the console (each a unit of work) ----------------------------------------------


def nudge(s: Session, workspace_id: int, pair_id: int, actor_id: int | None, now: datetime) -> str:
    """Queue a kind nudge for a stalled pair: an extra check-in to the sponsoree, through the outbox
    (for a stalled pair its one suggestion is the restart step). At most one a week per pair: the
    outbox's unique key (pair, recipient, kind, period) makes a second click a no-op.
    Returns ``queued``, ``already`` or ``not_stalled``; every outcome is audited."""

    pair = analytics.stalled_pair(s, workspace_id, pair_id, now)
    if pair is None:
        s.add(AuditLog(workspace_id=workspace_id, actor_id=actor_id, action="console.nudge", target=str(pair_id),
                       ok=False, detail={"pair_id": pair_id, "reason": "not_stalled"}, at=now))
        return "not_stalled"
    iso = now.isocalendar()
    period = f"console-{iso.year}w{iso.week:02d}"
    exists = s.exec(select(Prompt.id).where(Prompt.pair_id == pair.id, Prompt.recipient_id == pair.sponsoree_id,
                                            Prompt.kind == PromptKind.CHECKIN.value, Prompt.period == period)).first()
    if exists is not None:
        s.add(AuditLog(workspace_id=workspace_id, actor_id=actor_id, action="console.nudge", target=str(pair_id),
                       ok=False, detail={"pair_id": pair_id, "reason": "already"}, at=now))
        return "already"
    prog = s.get(Program, pair.program_id)
    assert prog is not None and pair.id is not None
    week = max(0, week_index(pair.start_date, now))
    s.add(Prompt(pair_id=pair.id, recipient_id=pair.sponsoree_id, workspace_id=workspace_id,
                 kind=PromptKind.CHECKIN.value,
                 strategy=checkin_strategy(week), phase=stage_for(prog.kind, week), period=period, week=week,
                 variant=variant_for(pair.id, PromptKind.CHECKIN, period), due_at=now, next_attempt_at=now,
                 created_at=now))
    s.add(AuditLog(workspace_id=workspace_id, actor_id=actor_id, action="console.nudge", target=str(pair_id),
                   detail={"pair_id": pair_id}, at=now))
    s.flush()  # the unique key answers a concurrent click here
    return "queued"


@dataclass(frozen=True)
class PreviewLine:
    line: int
    ok: bool
    text: str  # what the line does, or what is wrong with it


def preview_import(s: Session, workspace_id: int, text: str) -> list[PreviewLine]:
    """Check a pairs CSV line by line without changing anything (``bot.domain.csvio.parse`` plus what the
    import checks against the workspace: the program exists). People not stored yet are looked up
    on the platform when the import is committed; the preview says so."""

    progs = {p.name.lower(): p.name for p in s.exec(select(Program).where(
        Program.workspace_id == workspace_id, Program.status == "active")).all()}
    default = next(iter(progs.values())) if len(progs) == 1 else None
    parsed = csvio.parse(text, default)
    out = [PreviewLine(line or 1, False, problem) for line, problem in parsed.problems]
    emails = {e for r in parsed.rows for e in (r.sponsor, r.sponsoree)}
    known = set(s.exec(select(Person.email).where(Person.workspace_id == workspace_id,
                                                  col(Person.email).in_(sorted(emails)))).all()) if emails else set()
    for r in parsed.rows:
        if r.program.lower() not in progs:
            out.append(PreviewLine(r.line, False, f"there's no program {r.program!r}"))
            continue
        unknown = [e for e in (r.sponsor, r.sponsoree) if e not in known]
        note = f" ({', '.join(unknown)}: looked up in the workspace when you import)" if unknown else ""
        out.append(PreviewLine(r.line, True, f"pair {r.sponsor} with {r.sponsoree} in {progs[r.program.lower()]}"
                                             f"{f', unit {r.unit}' if r.unit else ''}{note}"))
    extra = attribute_columns(text)
    if extra and parsed.rows:
        out.append(PreviewLine(1, True, "also keeps each sponsoree's " + ", ".join(extra)
                               + " (for breakdowns, shown only in groups)"))
    return sorted(out, key=lambda x: (x.line, x.ok))


OUTCOME_COLUMNS = ("email", "promoted_on", "changed_role_on", "left_on")


def import_outcomes(s: Session, workspace_id: int, text: str, actor_id: int | None, now: datetime) -> list[str]:
    """Replace the workspace's HR outcomes with this CSV (email, promoted_on, changed_role_on, left_on;
    dates as YYYY-MM-DD, empty when it did not happen). All or nothing: returns the problems, line by
    line, and changes nothing when there is one. Only an aggregate of it is ever shown."""

    body = csvio.normalise(text)
    try:
        rows = csvio.read(body)
    except csvio.Unreadable as exc:
        problems = [f"Line {exc.line}: {exc.text}"]
        s.add(AuditLog(workspace_id=workspace_id, actor_id=actor_id, action="outcomes.upload", ok=False,
                       detail={"errors": 1}, at=now))
        return problems
    if not rows:
        return ["Line 1: the file is empty; the header is email,promoted_on,changed_role_on,left_on."]
    header = [h.strip().lower() for h in rows[0][1]]
    if "email" not in header:
        return ["Line 1: the header needs an email column (and promoted_on, changed_role_on, left_on)."]
    idx = {c: header.index(c) for c in OUTCOME_COLUMNS if c in header}
    problems = []
    seen: set[str] = set()
    parsed: list[Outcome] = []
    for n, raw in rows[1:]:
        if not any(x.strip() for x in raw):
            continue

        def get(c: str, raw: list[str] = raw) -> str:
            i = idx.get(c)
            return raw[i].strip() if i is not None and i < len(raw) else ""

        email = get("email").lower()
        if not csvio.EMAIL.match(email):
            problems.append(f"Line {n}: {email!r} is not an email address" if email else f"Line {n}: no email")
            continue
        if email in seen:
            problems.append(f"Line {n}: {email} appears twice")
            continue
        seen.add(email)
        dates: dict[str, date_type | None] = {}
        for c in OUTCOME_COLUMNS[1:]:
            v = get(c)
            try:
                dates[c] = date_type.fromisoformat(v) if v else None
            except ValueError:
                problems.append(f"Line {n}: {c} {v!r} is not a date like 2026-03-31")
        parsed.append(Outcome(workspace_id=workspace_id, email=email, uploaded_at=now,
                              promoted_on=dates.get("promoted_on"), changed_role_on=dates.get("changed_role_on"),
                              left_on=dates.get("left_on")))
    if not parsed and not problems:
        problems.append("The file has a header but no people.")
    if problems:
        s.add(AuditLog(workspace_id=workspace_id, actor_id=actor_id, action="outcomes.upload", ok=False,
                       detail={"errors": len(problems)}, at=now))
        return problems
    s.execute(delete(Outcome).where(col(Outcome.workspace_id) == workspace_id))
    s.add_all(parsed)
    s.add(AuditLog(workspace_id=workspace_id, actor_id=actor_id, action="outcomes.upload",
                   detail={"people": len(parsed)}, at=now))
    return []


def update_program(s: Session, workspace_id: int, program_id: int, fields: dict[str, str], actor_id: int | None,
                   now: datetime) -> list[str]:
    """Change a program's length and cadence with the chat commands' rules (4-156 weeks, a weekday and
    an HH:MM time per role). Returns the problems; changes nothing when there is one. Prompts already
    planned keep their time; later ones follow the new cadence."""

    prog = s.exec(select(Program).where(Program.id == program_id, Program.workspace_id == workspace_id)).first()
    if prog is None:
        return ["There's no such program."]
    problems: list[str] = []
    changes: dict[str, object] = {}
    try:
        weeks = int(fields.get("length_weeks", str(prog.length_weeks)))
        if not 4 <= weeks <= 156:
            raise ValueError
        changes["length_weeks"] = weeks
    except ValueError:
        problems.append("Length: a program runs between 4 and 156 weeks.")
    for role in ("sponsoree", "sponsor"):
        day = fields.get(f"{role}_weekday", WEEKDAYS[getattr(prog, f"{role}_weekday")]).strip().lower()[:3]
        at = fields.get(f"{role}_time", getattr(prog, f"{role}_time")).strip()
        if day not in WEEKDAYS:
            problems.append(f"The {role}'s day: use a weekday like tue.")
        else:
            changes[f"{role}_weekday"] = WEEKDAYS.index(day)
        try:
            parse_hhmm(at)
            changes[f"{role}_time"] = at
        except ValueError:
            problems.append(f"The {role}'s time: use HH:MM, like 10:00.")
    if problems:
        return problems
    before = {k: getattr(prog, k) for k in changes}
    for k, v in changes.items():
        setattr(prog, k, v)
    s.add(prog)
    diff = {k: v for k, v in changes.items() if before[k] != v}
    s.add(AuditLog(workspace_id=workspace_id, actor_id=actor_id, action="program.settings", target=prog.name,
                   detail=diff or None, at=now))
    return []


ATTRIBUTE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def attribute_columns(text: str) -> list[str]:
    """The CSV's extra columns (beyond the import's own): attributes of the sponsoree, e.g. level."""
    known = {n for names in csvio.HEADERS.values() for n in names}
    first = csvio.normalise(text).split("\n", 1)[0]
    try:
        header = csvio.read(first)[0][1] if first else []
    except (csvio.Unreadable, IndexError):
        return []
    cols = [h.strip().lower().replace(" ", "_") for h in header]
    return [c for c in cols if c not in known and ATTRIBUTE.match(c)]


def import_attributes(s: Session, workspace_id: int, text: str, actor_id: int | None, now: datetime) -> int:
    """After a committed import: store each extra column as an attribute of the line's sponsoree (what
    breakdowns group by); an empty cell removes it. Returns how many values were set."""
    extra = attribute_columns(text)
    if not extra:
        return 0
    try:
        records = [raw for _, raw in csvio.read(csvio.normalise(text))]
    except csvio.Unreadable:
        return 0  # the import itself refused this file
    head = [(h or "").strip().lower().replace(" ", "_") for h in records[0]] if records else []
    norm = [{k: v.strip() for k, v in zip(head, raw, strict=False) if k} for raw in records[1:]]
    emails = {r.get(n, "").lower() for r in norm for n in csvio.HEADERS["sponsoree"] if r.get(n)}
    people = {p.email: p.id for p in s.exec(select(Person).where(
        Person.workspace_id == workspace_id, col(Person.email).in_(sorted(emails)))).all()} if emails else {}
    wanted: dict[tuple[int, str], str] = {}
    for r in norm:
        email = next((r[n].lower() for n in csvio.HEADERS["sponsoree"] if r.get(n)), "")
        pid = people.get(email)
        if pid is None:
            continue
        for name in extra:
            wanted[(pid, name)] = r.get(name, "")[:200]
    if not wanted:
        return 0
    ids = sorted({pid for pid, _ in wanted})
    s.execute(delete(PersonAttribute).where(col(PersonAttribute.person_id).in_(ids),
                                            col(PersonAttribute.name).in_(extra)))
    n = 0
    for (pid, name), value in wanted.items():
        if value:
            s.add(PersonAttribute(workspace_id=workspace_id, person_id=pid, name=name, value=value))
            n += 1
    s.add(AuditLog(workspace_id=workspace_id, actor_id=actor_id, action="people.attributes",
                   detail={"columns": extra, "values": n}, at=now))
    return n
