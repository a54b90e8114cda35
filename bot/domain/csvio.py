"""CSV in and out: validate-all-then-import pairs, and the admin export (no private notes)."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

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
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, what is wrong), for the console

    @property
    def errors(self) -> list[str]:
        """Each problem as one sentence that names its line (chat)."""
        return [t("csv.line", line=n, problems=text) if n else text for n, text in self.problems]


MAX_FIELD = 1000  # characters in one cell: an email, a name or a unit is far shorter


class Unreadable(ValueError):
    """The file cannot be read as CSV; ``line`` is where reading stopped, ``text`` says what to fix."""

    def __init__(self, line: int, text: str) -> None:
        super().__init__(f"{line}: {text}")
        self.line, self.text = line, text


def normalise(text: str) -> str:
    """The text as the reader wants it: no byte-order mark, and one kind of line end (Excel for Mac's
    "CSV (Macintosh)" ends lines with a lone CR)."""
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").strip()


def dialect_of(text: str) -> Any:
    """Comma, semicolon or tab, from the header line."""
    try:
        return csv.Sniffer().sniff(text.split("\n", 1)[0][:MAX_FIELD * 4], delimiters=",;\t")
    except csv.Error:
        return csv.excel


def read(text: str) -> list[tuple[int, list[str]]]:
    """The CSV's records with the line each starts on (as an editor numbers them), from text already
    ``normalise``d. Raises ``Unreadable`` at the first line that is not CSV text: a NUL character, a
    value longer than ``MAX_FIELD`` characters, or quotes that never close."""
    nul = text.find("\0")
    if nul >= 0:
        raise Unreadable(text.count("\n", 0, nul) + 1, t("csv.nul"))
    reader = csv.reader(io.StringIO(text), dialect_of(text), strict=True)
    out: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for raw in reader:
            if any(len(c) > MAX_FIELD for c in raw):
                raise Unreadable(start, t("csv.too_long", max=f"{MAX_FIELD:,}"))
            out.append((start, raw))
            start = reader.line_num + 1
    except csv.Error as exc:
        too_long = "field larger than field limit" in str(exc)
        raise Unreadable(start, t("csv.too_long", max=f"{MAX_FIELD:,}") if too_long else t("csv.unreadable")) from None
    return out


def parse(text: str, default_program: str | None) -> Parsed:
    """Parse and check shape: headers, emails, duplicates. Lines are numbered as in the file."""
    out = Parsed()
    text = normalise(text)
    if not text:
        out.problems.append((0, t("csv.empty")))
        return out
    try:
        records = read(text)
    except Unreadable as exc:
        out.problems.append((exc.line, exc.text))
        return out
    header = [h.strip().lower().replace(" ", "_") for h in (records[0][1] if records else [])]
    col: dict[str, int] = {}
    for key, names in HEADERS.items():
        for n in names:
            if n in header:
                col[key] = header.index(n)
                break
    missing = [k for k in ("sponsor", "sponsoree") if k not in col]
    if missing:
        out.problems.append((1, t("csv.header")))
        return out
    seen: dict[str, int] = {}
    for count, (idx, raw) in enumerate(records[1:], start=1):
        if not any(c.strip() for c in raw):
            continue
        if count > MAX_ROWS:
            out.problems.append((idx, t("csv.too_many", max=MAX_ROWS)))
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
            out.problems.append((idx, t("csv.problem_separator").join(problems)))
        else:
            out.rows.append(Row(idx, sp, se, prog, get("unit") or None, get("sponsor_unit") or None))
    if not out.rows and not out.problems:
        out.problems.append((0, t("csv.no_pairs")))
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
