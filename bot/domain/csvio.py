"""CSV in and out: validate-all-then-import pairs, and the admin export (no private notes)."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot.content.chat_words import t
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
        out.errors.append(t("csv.empty"))
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
        out.errors.append(t("csv.header"))
        return out
    seen: dict[str, int] = {}
    for idx, raw in enumerate(reader, start=2):
        if not any(c.strip() for c in raw):
            continue
        if idx > MAX_ROWS + 1:
            out.errors.append(t("csv.too_many", line=idx, max=MAX_ROWS))
            break

        def get(key: str, raw: list[str] = raw) -> str:
            i = col.get(key)
            return raw[i].strip() if i is not None and i < len(raw) else ""

        sp, se = get("sponsor").lower(), get("sponsoree").lower()
        prog = get("program") or (default_program or "")
        problems = []
        if not EMAIL.match(sp):
            problems.append(t("csv.bad_sponsor", email=repr(sp)) if sp else t("csv.no_sponsor"))
        if not EMAIL.match(se):
            problems.append(t("csv.bad_sponsoree", email=repr(se)) if se else t("csv.no_sponsoree"))
        if sp and sp == se:
            problems.append(t("csv.same_person"))
        if not prog:
            problems.append(t("csv.no_program"))
        key = f"{se}|{prog.lower()}"
        if se and prog and key in seen:
            problems.append(t("csv.duplicate", email=se, program=prog, line=seen[key]))
        seen.setdefault(key, idx)
        if problems:
            out.errors.append(t("csv.line", line=idx, problems=t("csv.problem_separator").join(problems)))
        else:
            out.rows.append(Row(idx, sp, se, prog, get("unit") or None, get("sponsor_unit") or None))
    if not out.rows and not out.errors:
        out.errors.append(t("csv.no_pairs"))
    return out


def cell(value: object) -> object:
    """Defuse spreadsheet formulas: names come from people's own profiles (OWASP CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


EXPORT_COLUMNS = ["program", "kind", "sponsor_name", "sponsor_email", "sponsoree_name", "sponsoree_email",
                  "status", "started", "last_contact", "checkins_sent", "checkins_answered",
                  "avg_momentum", "wins_shared", "same_unit"]


def _line(values: list[object]) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerow([cell(v) for v in values])
    return buf.getvalue()


YIELD_EVERY = 200  # rows between two hand-overs of the GIL (about 1 ms of work; the switch interval is 5 ms)


def export_lines(s: Session, workspace_id: int, batch: int = 2000) -> Iterator[str]:
    """The export as CSV lines, header first: one query joining pairs, people and programs with the
    activity aggregated per pair in SQL, read in batches (no per-pair queries, no id lists)."""
    yield _line(list(EXPORT_COLUMNS))
    progs = select(col(Program.id)).where(Program.workspace_id == workspace_id)
    pairs = select(col(Pair.id)).where(col(Pair.program_id).in_(progs))
    mom = (select(col(CheckIn.pair_id).label("pair_id"), func.avg(col(CheckIn.momentum)).label("avg"))
           .where(col(CheckIn.pair_id).in_(pairs)).group_by(col(CheckIn.pair_id)).subquery())
    wins = (select(col(Win.pair_id).label("pair_id"), func.count().label("n"))
            .where(col(Win.shared).is_(True), col(Win.pair_id).in_(pairs)).group_by(col(Win.pair_id)).subquery())
    sp, se = aliased(Person), aliased(Person)
    q = (
        sa_select(col(Program.name), col(Program.kind), col(sp.name), col(sp.email), col(se.name), col(se.email),
                  col(Pair.status), col(Pair.start_date), col(Pair.last_touch_at), col(Pair.checkins_sent),
                  col(Pair.checkins_answered), mom.c.avg, wins.c.n, col(Pair.same_unit))
        .select_from(Pair)
        .join(Program, col(Program.id) == col(Pair.program_id))
        .outerjoin(sp, col(sp.id) == col(Pair.sponsor_id))
        .outerjoin(se, col(se.id) == col(Pair.sponsoree_id))
        .outerjoin(mom, mom.c.pair_id == col(Pair.id))
        .outerjoin(wins, wins.c.pair_id == col(Pair.id))
        .where(col(Program.workspace_id) == workspace_id)
        .order_by(col(Pair.id))
        .execution_options(yield_per=batch)
    )
    for i, (prog, kind, sp_name, sp_email, se_name, se_email, status, started, last, sent, answered,
            avg, won, same) in enumerate(s.execute(q)):
        if i % YIELD_EVERY == YIELD_EVERY - 1:
            time.sleep(0)  # a long job in a thread: hand the GIL to the event loop now and then
        yield _line([
            prog, kind, sp_name or "", sp_email or "", se_name or "", se_email or "", status, started.isoformat(),
            last.date().isoformat() if last else "", sent, answered,
            f"{float(avg):.1f}" if avg is not None else "", won or 0, "yes" if same else "no",
        ])


def export(s: Session, workspace_id: int) -> str:
    """One line per pair: who, status, activity counts. No notes, no check-in words."""
    return "".join(export_lines(s, workspace_id))
