"""CSV in and out: validate-all-then-import pairs, and the admin export (no private notes)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import CheckIn, Pair, Person, Program, Win

EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
HEADERS = {
    "sponsor": ("sponsor_email", "sponsor", "mentor_email", "mentor"),
    "sponsoree": ("sponsoree_email", "sponsoree", "mentee_email", "mentee", "protege_email"),
    "program": ("program", "program_name"),
    "unit": ("unit", "sponsoree_unit"),
    "sponsor_unit": ("sponsor_unit",),
}
MAX_ROWS = 5000


@dataclass
class Row:
    line: int
    sponsor: str
    sponsoree: str
    program: str
    unit: str | None = None
    sponsor_unit: str | None = None


@dataclass
class Parsed:
    rows: list[Row] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def parse(text: str, default_program: str | None) -> Parsed:
    """Parse and check shape: headers, emails, duplicates. Lines are numbered as in the file."""
    out = Parsed()
    text = text.strip().lstrip("\ufeff")
    if not text:
        out.errors.append("The CSV is empty. Paste a header line and one line per pair.")
        return out
    try:
        dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # type: ignore[assignment]
    reader = csv.reader(io.StringIO(text), dialect)
    header = [h.strip().lower().replace(" ", "_") for h in next(reader, [])]
    col: dict[str, int] = {}
    for key, names in HEADERS.items():
        for n in names:
            if n in header:
                col[key] = header.index(n)
                break
    missing = [k for k in ("sponsor", "sponsoree") if k not in col]
    if missing:
        out.errors.append(
            "Line 1: the header needs columns sponsor_email and sponsoree_email "
            "(optional: program, unit, sponsor_unit)."
        )
        return out
    seen: dict[str, int] = {}
    for idx, raw in enumerate(reader, start=2):
        if not any(c.strip() for c in raw):
            continue
        if idx > MAX_ROWS + 1:
            out.errors.append(f"Line {idx}: more than {MAX_ROWS} rows; split the file.")
            break

        def get(key: str, raw: list[str] = raw) -> str:
            i = col.get(key)
            return raw[i].strip() if i is not None and i < len(raw) else ""

        sp, se = get("sponsor").lower(), get("sponsoree").lower()
        prog = get("program") or (default_program or "")
        problems = []
        if not EMAIL.match(sp):
            problems.append(f"sponsor email {sp!r} is not an email address" if sp else "sponsor email is empty")
        if not EMAIL.match(se):
            problems.append(f"sponsoree email {se!r} is not an email address" if se else "sponsoree email is empty")
        if sp and sp == se:
            problems.append("sponsor and sponsoree are the same person")
        if not prog:
            problems.append("no program (add a program column, or create exactly one program)")
        key = f"{se}|{prog.lower()}"
        if se and prog and key in seen:
            problems.append(f"{se} is already paired in {prog} on line {seen[key]}")
        seen.setdefault(key, idx)
        if problems:
            out.errors.append(f"Line {idx}: " + "; ".join(problems))
        else:
            out.rows.append(Row(idx, sp, se, prog, get("unit") or None, get("sponsor_unit") or None))
    if not out.rows and not out.errors:
        out.errors.append("The CSV has a header but no pairs.")
    return out


def cell(value: object) -> object:
    """Defuse spreadsheet formulas: names come from people's own profiles (OWASP CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export(s: Session, workspace_id: int) -> str:
    """One line per pair: who, status, activity counts. No notes, no check-in words."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["program", "kind", "sponsor_name", "sponsor_email", "sponsoree_name", "sponsoree_email",
                "status", "started", "last_contact", "checkins_sent", "checkins_answered",
                "avg_momentum", "wins_shared", "same_unit"])
    progs = {p.id: p for p in s.exec(select(Program).where(Program.workspace_id == workspace_id)).all()}
    if not progs:
        return buf.getvalue()
    pairs = s.exec(select(Pair).where(col(Pair.program_id).in_(list(progs))).order_by(col(Pair.id))).all()
    people = {p.id: p for p in s.exec(select(Person).where(Person.workspace_id == workspace_id)).all()}
    mom = dict(s.exec(select(CheckIn.pair_id, func.avg(CheckIn.momentum)).group_by(col(CheckIn.pair_id))).all())
    wins = dict(s.exec(select(Win.pair_id, func.count()).where(col(Win.shared).is_(True))
                       .group_by(col(Win.pair_id))).all())
    for p in pairs:
        prog, sp, se = progs[p.program_id], people.get(p.sponsor_id), people.get(p.sponsoree_id)
        avg = mom.get(p.id or 0)
        w.writerow([cell(v) for v in (
            prog.name, prog.kind, sp.name if sp else "", (sp.email or "") if sp else "",
            se.name if se else "", (se.email or "") if se else "", p.status, p.start_date.isoformat(),
            p.last_touch_at.date().isoformat() if p.last_touch_at else "", p.checkins_sent, p.checkins_answered,
            f"{float(avg):.1f}" if avg is not None else "", wins.get(p.id or 0, 0), "yes" if p.same_unit else "no",
        )])
    return buf.getvalue()
