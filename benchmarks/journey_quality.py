"""Journey quality: what people actually receive over a program year, measured from the demo's JSONL.

    python benchmarks/journey_quality.py                  # 52 weeks x 20 pairs, each program kind
    python benchmarks/journey_quality.py --from a.jsonl   # measure journals you already have
    python benchmarks/journey_quality.py --strict         # exit 1 when any target fails

For each program kind and seat (senior = pair.sponsor_id, junior = pair.sponsoree_id) it reports
messages per person per week, distinct texts, repeats of one suggested action, same-text runs,
visible words, holiday prompts, proposed slots inside both people's working hours, grounded
digests and messages in the Christmas-New Year week, each beside its target with PASS/FAIL.

``compute(records)`` is the whole measurement (tests feed it hand-made records).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

KINDS = ("sponsorship", "mentoring", "reverse-mentoring")
SEATS = ("junior", "senior")
DIGEST_KINDS = ("nudge", "digest")
PERSON_WORDS = ("agenda", "shared_note")  # messages that carry what the partner wrote
WINDOW_WEEKS = 8
WORK_START, WORK_END = 9, 18  # local hours, Monday-Friday
TARGET_MSGS = {"junior": 1.2, "senior": 1.0}
TARGET_WORDS_P95 = 60
TARGET_HOLIDAYS = 4.0
TARGET_ACTION_YEAR = 3
_SENTENCE = re.compile(r"(?<=[.!?])\s")


def first_sentence(text: str) -> str:
    line = text.strip().split("\n", 1)[0]
    return _SENTENCE.split(line, 1)[0].strip()


def action_key(rec: dict[str, Any]) -> str:
    action = rec.get("action")
    return f"action:{action}" if action else f"text:{first_sentence(rec.get('text', ''))}"


def words(text: str) -> int:
    return len(text.split())


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[rank - 1])


def max_in_window(weeks: Sequence[int], span: int) -> int:
    """The most entries of ``weeks`` inside any window of ``span`` consecutive weeks."""
    ordered = sorted(weeks)
    best, lo = 0, 0
    for hi, w in enumerate(ordered):
        while w - ordered[lo] >= span:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def longest_run(texts: Sequence[str]) -> int:
    best = run = 0
    prev: str | None = None
    for t in texts:
        run = run + 1 if t == prev else 1
        best, prev = max(best, run), t
    return best


def inside_working_hours(slot_utc: str, tz: str) -> bool:
    at = datetime.fromisoformat(slot_utc.replace("Z", "+00:00")).astimezone(ZoneInfo(tz))
    return at.weekday() < 5 and WORK_START <= at.hour < WORK_END


def windows_overlap(slot_utc: str, zones: Sequence[str]) -> bool:
    """Whether the people's working days (09-18 local, Mon-Fri) overlap at all in the slot's week."""
    day = datetime.fromisoformat(slot_utc.replace("Z", "+00:00"))
    start = day.replace(hour=0, minute=0, second=0, microsecond=0)
    for half_hours in range(7 * 48):
        t = start.timestamp() + half_hours * 1800
        at = datetime.fromtimestamp(t, tz=ZoneInfo("UTC")).isoformat()
        if all(inside_working_hours(at, z) for z in zones):
            return True
    return False


def in_christmas_week(local_time: str) -> bool:
    d = datetime.fromisoformat(local_time).date()
    return date(d.year, 12, 25) <= d or d <= date(d.year, 1, 1)


def program_weeks(records: Iterable[dict[str, Any]]) -> int:
    """The program's length in weeks, from the journal (the wrap-up lands in the last week)."""
    return max([1, *(int(r.get("week", 0)) for r in records)])


def compute(records: Iterable[dict[str, Any]], weeks: int | None = None) -> dict[str, Any]:
    """Every figure, by program kind then seat: ``{kind: {seat: {metric: value}}}``.

    ``weeks`` (the program length) defaults to the largest week number in the records.
    """
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_kind[str(r.get("program_kind") or "unknown")].append(r)
    return {kind: _kind(recs, weeks or program_weeks(recs)) for kind, recs in sorted(by_kind.items())}


def _kind(records: list[dict[str, Any]], weeks: int) -> dict[str, Any]:
    messages = [r for r in records if r.get("type") == "message"]
    taps = [r for r in records if r.get("type") == "tap"]
    tz_of: dict[tuple[str, str], str] = {}  # (pair, seat) -> time zone
    for r in messages:
        tz_of[(r.get("pair", ""), r.get("seat", ""))] = r.get("tz", "UTC")
    years = weeks / 52
    out: dict[str, Any] = {}
    for seat in SEATS:
        mine = [r for r in messages if r.get("seat") == seat]
        if not mine:
            continue
        per_person: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in mine:
            per_person[r["recipient"]].append(r)
        rates = [len(v) / weeks for v in per_person.values()]
        repeats_year = repeats_window = run = 0
        holidays: list[float] = []
        keyed_only = any(r.get("action") for r in mine)  # the core names its suggested actions
        for recs in per_person.values():
            keyed: dict[str, list[int]] = defaultdict(list)
            for r in recs:
                if keyed_only and not r.get("action"):
                    continue  # no suggested action in it (a partner's note, an agenda, an alert)
                keyed[action_key(r)].append(int(r.get("week", 0)))
            for ws in keyed.values():
                repeats_year = max(repeats_year, max_in_window(ws, 52))
                repeats_window = max(repeats_window, max_in_window(ws, WINDOW_WEEKS))
            by_prompt: dict[str, list[str]] = defaultdict(list)
            for r in recs:
                if r.get("prompt_kind") in PERSON_WORDS:
                    continue  # what the partner wrote, not the bot's words
                by_prompt[r.get("prompt_kind", "")].append(r.get("text", ""))
            run = max([run, *(longest_run(v) for v in by_prompt.values())])
            holidays.append(sum(1 for r in recs if r.get("prompt_kind") == "holiday" or r.get("holiday") is True)
                            / years)
        counts = [words(r.get("text", "")) for r in mine]
        slots_total = slots_inside = slots_possible = slots_possible_inside = 0
        for r in mine:
            for slot in r.get("slots") or ():
                zones = [tz_of.get((r.get("pair", ""), s)) or r.get("tz", "UTC") for s in SEATS]
                slots_total += 1
                inside = all(inside_working_hours(slot, z) for z in zones)
                slots_inside += inside
                if windows_overlap(slot, zones):
                    slots_possible += 1
                    slots_possible_inside += inside
        digests = [r for r in mine if r.get("prompt_kind") in DIGEST_KINDS]
        # Grounded where there was something to ground on (a new ask, win or goal): "groundable".
        judged = ([r for r in digests if r.get("groundable") is True] if any("groundable" in r for r in digests)
                  else [r for r in digests if "grounded" in r])
        xmas = [r for r in mine if r.get("local_time") and in_christmas_week(r["local_time"])]
        out[seat] = {
            "role": mine[0].get("role", seat),
            "persons": len(per_person),
            "weeks": weeks,
            "messages": len(mine),
            "taps": sum(1 for t in taps if t.get("seat") == seat),
            "msgs_per_week_mean": sum(rates) / len(rates),
            "msgs_per_week_max": max(rates),
            "distinct_texts": len({r.get("text", "") for r in mine}),
            "action_repeats_max": repeats_year,
            "action_repeats_8w_max": repeats_window,
            "same_text_run_max": run,
            "words_p50": percentile(counts, 50),
            "words_p95": percentile(counts, 95),
            "words_max": max(counts),
            "holidays_per_person_year_max": max(holidays),
            "holidays_per_person_year_mean": sum(holidays) / len(holidays),
            "slots": slots_total,
            "slots_inside_share": (slots_inside / slots_total) if slots_total else None,
            "slots_possible": slots_possible,
            "slots_possible_inside_share": (slots_possible_inside / slots_possible) if slots_possible else None,
            "digests": len(digests),
            "grounded_share": (sum(1 for r in judged if r.get("grounded") is True) / len(judged)) if judged else None,
            "christmas_week_messages": len(xmas),
            "christmas_week_persons": len({r["recipient"] for r in xmas}),
        }
    return out


# --- the table --------------------------------------------------------------------------------------

def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def checks(seat: str, m: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(metric, figure, target, verdict) rows for one seat; verdict PASS, FAIL or '' (report only)."""

    def v(ok: bool | None) -> str:
        return "" if ok is None else ("PASS" if ok else "FAIL")

    limit = TARGET_MSGS[seat]
    return [
        ("messages / person / week (mean, max)", f"{m['msgs_per_week_mean']:.2f}, {m['msgs_per_week_max']:.2f}",
         f"mean <= {limit}", v(m["msgs_per_week_mean"] <= limit)),
        ("distinct texts", f"{m['distinct_texts']} of {m['messages']}", "report", ""),
        ("same action per person: max a year", str(m["action_repeats_max"]), f"<= {TARGET_ACTION_YEAR}",
         v(m["action_repeats_max"] <= TARGET_ACTION_YEAR)),
        (f"same action per person: max in {WINDOW_WEEKS} weeks", str(m["action_repeats_8w_max"]), "<= 1",
         v(m["action_repeats_8w_max"] <= 1)),
        ("longest same-text run (same prompt kind)", str(m["same_text_run_max"]), "<= 1",
         v(m["same_text_run_max"] <= 1)),
        ("visible words p50 / p95 / max", f"{m['words_p50']:.0f} / {m['words_p95']:.0f} / {m['words_max']}",
         f"p95 <= {TARGET_WORDS_P95}", v(m["words_p95"] <= TARGET_WORDS_P95)),
        ("holiday prompts / person-year (max, mean)",
         f"{m['holidays_per_person_year_max']:.1f}, {m['holidays_per_person_year_mean']:.1f}",
         f"<= {TARGET_HOLIDAYS:.0f}", v(m["holidays_per_person_year_max"] <= TARGET_HOLIDAYS)),
        ("proposed slots inside both people's hours", f"{_pct(m['slots_inside_share'])} of {m['slots']}",
         "report", ""),
        ("  ... where their working days overlap at all",
         f"{_pct(m.get('slots_possible_inside_share'))} of {m.get('slots_possible', 0)}", "100%",
         v(None if m.get("slots_possible_inside_share") is None else m["slots_possible_inside_share"] >= 1.0)),
        ("digests with a grounded action (of those with news)", f"{_pct(m['grounded_share'])} of {m['digests']}",
         "100%" if m["grounded_share"] is not None else "n/a",
         v(None if m["grounded_share"] is None else m["grounded_share"] >= 1.0)),
        ("messages in the Dec 25 - Jan 1 week", f"{m['christmas_week_messages']} "
                                                f"({m['christmas_week_persons']} people)", "report", ""),
    ]


def render(result: dict[str, Any]) -> tuple[str, bool]:
    """The tables as text, and whether every target passed."""
    lines: list[str] = []
    ok = True
    for kind, seats in result.items():
        for seat, m in seats.items():
            lines.append(f"\n{kind} / {seat} ({m['role']}): {m['persons']} people, {m['weeks']} weeks, "
                         f"{m['messages']} messages, {m['taps']} taps")
            lines.append(f"  {'metric':44} {'figure':>20}  {'target':>14}  result")
            for name, figure, target, verdict in checks(seat, m):
                lines.append(f"  {name:44} {figure:>20}  {target:>14}  {verdict}".rstrip())
                ok = ok and verdict != "FAIL"
    return "\n".join(lines), ok


# --- the truth table: does every sentence match what happened? ---------------------------------------

READER_DAY = (8, 20)  # local hours (Mon-Fri) a partner-triggered message may arrive: the default quiet hours
PARTNER_TRIGGERED = ("shared_note", "agenda", "ask_goal")
TRUTH_UPDATES_KEPT = 0.98
TRUTH_IDIOMS = 0.05
QUIET_GRACE_S = 60  # a contact within a minute of the claimed last contact is that contact


def _utc(local_time: str) -> datetime:
    return datetime.fromisoformat(local_time).astimezone(ZoneInfo("UTC"))


def _phases(kind: str) -> list[str]:
    from bot.content.journey import builtin

    return [p.key for p in builtin(kind).phases]


def _idioms(text: str) -> list[str]:
    from bot.content.idioms import banned_idioms  # the list in bot/content/data/idioms.yml

    return banned_idioms(text)


def truth(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per program kind: updates that keep the original facts; "nothing new" and "no contact" claims the
    record contradicts; alerts for pairs in touch; phase regressions; promises kept; partner-triggered
    messages outside the reader's day; messages with a banned idiom."""
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_kind[str(r.get("program_kind") or "unknown")].append(r)
    return {kind: _truth(recs, kind) for kind, recs in sorted(by_kind.items())}


def _truth(records: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    contact: dict[str, list[datetime]] = defaultdict(list)  # pair -> when contact happened
    news: dict[str, list[datetime]] = defaultdict(list)  # pair -> when news for the sponsor happened
    for r in records:
        pair, at = r.get("pair", ""), r.get("local_time")
        if not pair or not at:
            continue
        if r["type"] == "tap" and r.get("action_id") == "checkin.status" and r.get("answer") in ("met", "light"):
            contact[pair].append(_utc(at))
            if r.get("answer") == "met":
                news[pair].append(_utc(at))
        elif r["type"] == "message" and r.get("contact") is True:
            contact[pair].append(_utc(at))
        elif r["type"] == "submit" and r.get("ok") and r.get("seat") == "junior" and (
                r.get("form") == "goal.form" or (r.get("form") == "win.form"
                                                  and str(r.get("fields", {}).get("share", "true")) != "false")):
            news[pair].append(_utc(at))
    updates = kept = 0
    last: dict[tuple[str, str, str], dict[str, Any]] = {}
    nothing_new_false = quiet_false = alerts_in_touch = alerts = 0
    digest_before: dict[tuple[str, str], datetime] = {}
    order = _phases(kind)
    reached: dict[tuple[str, str], int] = {}
    regressions = phased = 0
    outside = partner_msgs = idiom_msgs = messages = kickoffs = kickoffs_outside = 0
    examples: dict[str, list[str]] = defaultdict(list)
    for r in records:
        if r["type"] == "message":
            messages += 1
            key = (r.get("pair", ""), r.get("recipient", ""), r.get("prompt_kind", ""))
            last[key] = r
            at = _utc(r["local_time"])
            pair = r.get("pair", "")
            if _idioms(r.get("text", "")):
                idiom_msgs += 1
            if r.get("prompt_kind") == "nudge":
                since = digest_before.get((pair, r["recipient"]))
                if r.get("nothing_new") and any((since is None or t > since) and t <= at for t in news[pair]):
                    nothing_new_false += 1
                    examples["nothing new"].append(r.get("text", "")[:120])
                digest_before[(pair, r["recipient"])] = at
            q = r.get("quiet_since_at")
            if q:
                q_at = datetime.fromisoformat(q)
                wrong = any((t - q_at).total_seconds() > QUIET_GRACE_S and t <= at for t in contact[pair])
                quiet_false += wrong
                if wrong:
                    examples["no contact"].append(r.get("text", "")[:120])
            if r.get("prompt_kind") == "stall_alert" and q:
                alerts += 1
                alerts_in_touch += any(0 <= (at - t).days < 21 for t in contact[pair])
            if r.get("phase") in order and r.get("seat") in SEATS:
                idx, who = order.index(r["phase"]), (pair, r["recipient"])
                phased += 1
                if idx < reached.get(who, 0):
                    regressions += 1
                reached[who] = max(idx, reached.get(who, 0))
            if r.get("prompt_kind") in ("kickoff", "followup"):  # "at a good local time"
                kickoffs += 1
                local = datetime.fromisoformat(r["local_time"])
                kickoffs_outside += local.weekday() >= 5 or not WORK_START <= local.hour < WORK_END
            if r.get("prompt_kind") in PARTNER_TRIGGERED:
                partner_msgs += 1
                local = datetime.fromisoformat(r["local_time"])
                if local.weekday() >= 5 or not READER_DAY[0] <= local.hour < READER_DAY[1]:
                    outside += 1
        elif r["type"] == "update":
            m = last.get((r.get("pair", ""), r.get("recipient", ""), r.get("prompt_kind", "")))
            if m is None:
                continue
            updates += 1
            facts = m.get("facts") or [x for x in m.get("text", "").split("\n") if x]
            if all(f in r.get("text", "") for f in facts):
                kept += 1
            else:
                examples["update"].append(f"{m.get('text', '')[:80]!r} -> {r.get('text', '')[:80]!r}")
    promised, kept_promises = _promises(records)
    return {
        "updates": updates, "updates_kept": kept,
        "nothing_new_false": nothing_new_false, "no_contact_false": quiet_false,
        "alerts": alerts, "alerts_in_touch": alerts_in_touch,
        "phased": phased, "phase_regressions": regressions,
        "promises": promised, "promises_kept": kept_promises,
        "partner_messages": partner_msgs, "partner_outside_day": outside,
        "kickoffs": kickoffs, "kickoffs_outside": kickoffs_outside,
        "messages": messages, "idiom_messages": idiom_msgs,
        "examples": {k: v[:3] for k, v in examples.items()},
    }


def _promises(records: list[dict[str, Any]]) -> tuple[int, int]:
    """Promises made by a tap, kept by a later message: "remind me in 3 days" brings the review back to
    that person 3 days later (within a day); a goal the sponsoree shares appears in the sponsor's next
    digest."""
    promised = kept = 0
    msgs = [r for r in records if r["type"] == "message"]
    for r in records:
        if r["type"] == "tap" and r.get("action_id") == "review.later":
            promised += 1
            at = _utc(r["local_time"])
            kept += any(m["recipient"] == r["person"] and m.get("prompt_kind") == "review"
                        and 2 * 86400 <= (_utc(m["local_time"]) - at).total_seconds() <= 4 * 86400 for m in msgs)
        elif r["type"] == "tap" and r.get("action_id") == "nudge.ask_goal":
            # "Your next summary will show their goal, or say that they have not answered yet"
            promised += 1
            at = _utc(r["local_time"])
            nxt = next((m for m in msgs if m.get("pair") == r.get("pair") and m["recipient"] == r["person"]
                        and m.get("prompt_kind") == "nudge" and _utc(m["local_time"]) > at), None)
            goals = [str(x.get("fields", {}).get("goal", "")) for x in records if x["type"] == "submit"
                     and x.get("form") == "goal.form" and x.get("pair") == r.get("pair") and x.get("ok")
                     and at < _utc(x["local_time"]) < (_utc(nxt["local_time"]) if nxt else at)]
            kept += nxt is None or bool(nxt.get("ask_unanswered")) or any(
                " ".join(g.split()[:3]) in nxt.get("text", "") for g in goals if g)
        elif r["type"] == "submit" and r.get("form") == "goal.form" and r.get("ok"):
            goal = str(r.get("fields", {}).get("goal", ""))
            if not goal:
                continue
            promised += 1
            at = _utc(r["local_time"])
            nxt = next((m for m in msgs if m.get("pair") == r.get("pair") and m.get("prompt_kind") == "nudge"
                        and _utc(m["local_time"]) > at), None)
            head = " ".join(goal.split()[:3])
            kept += nxt is not None and head in nxt.get("text", "")
    return promised, kept


def truth_rows(t: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    def v(ok: bool | None) -> str:
        return "" if ok is None else ("PASS" if ok else "FAIL")

    kept = t["updates_kept"] / t["updates"] if t["updates"] else None
    idioms = t["idiom_messages"] / t["messages"] if t["messages"] else 0.0
    return [
        ("updates that keep the original facts", f"{_pct(kept)} of {t['updates']}",
         f">= {TRUTH_UPDATES_KEPT:.0%}", v(None if kept is None else kept >= TRUTH_UPDATES_KEPT)),
        ('"nothing new" claims the record contradicts', str(t["nothing_new_false"]), "0",
         v(t["nothing_new_false"] == 0)),
        ('"no contact since" claims the record contradicts', str(t["no_contact_false"]), "0",
         v(t["no_contact_false"] == 0)),
        ("silence alerts for pairs in touch (21 days)", f"{t['alerts_in_touch']} of {t['alerts']}", "0",
         v(t["alerts_in_touch"] == 0)),
        ("phase regressions (of phased messages)", f"{t['phase_regressions']} of {t['phased']}", "0",
         v(t["phase_regressions"] == 0)),
        ("promises kept (reminders, goals in the next digest)", f"{t['promises_kept']} of {t['promises']}",
         "all", v(t["promises_kept"] == t["promises"])),
        ("partner-triggered messages outside the reader's day",
         f"{t['partner_outside_day']} of {t['partner_messages']}", "0", v(t["partner_outside_day"] == 0)),
        ("kickoffs and follow-ups outside the reader's working day",
         f"{t.get('kickoffs_outside', 0)} of {t.get('kickoffs', 0)}", "0", v(t.get("kickoffs_outside", 0) == 0)),
        ("messages with a banned idiom", f"{_pct(idioms)} of {t['messages']}", f"<= {TRUTH_IDIOMS:.0%}",
         v(idioms <= TRUTH_IDIOMS)),
    ]


def render_truth(result: dict[str, Any]) -> tuple[str, bool]:
    lines: list[str] = []
    ok = True
    for kind, t in result.items():
        lines.append(f"\n{kind}: the truth table")
        lines.append(f"  {'check':52} {'figure':>16}  {'target':>8}  result")
        for name, figure, target, verdict in truth_rows(t):
            lines.append(f"  {name:52} {figure:>16}  {target:>8}  {verdict}".rstrip())
            ok = ok and verdict != "FAIL"
    return "\n".join(lines), ok


def machine() -> str:
    from benchmarks._seed import machine as described  # one machine line for every benchmark

    return described()


def read(paths: Iterable[Path]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in paths:
        with path.open(encoding="utf-8") as f:
            out.extend(json.loads(line) for line in f if line.strip())
    return out


def run_kind(kind: str, weeks: int, pairs: int, seed: int, workdir: Path) -> tuple[Path, float]:
    """One demo run, in process, journaled to ``workdir``; returns the file and the seconds it took."""
    from adapters.console.demo import run_demo

    path = workdir / f"{kind}.jsonl"
    t0 = time.perf_counter()
    with path.open("w", encoding="utf-8") as stream:
        code = run_demo(weeks, workdir / f"{kind}.db", pairs=pairs, kind=kind, seed=seed, jsonl=stream,
                        out=lambda _s: None)
    if code:
        raise SystemExit(f"demo for {kind} exited with {code}")
    return path, time.perf_counter() - t0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--from", dest="files", nargs="+", type=Path, help="measure these JSONL files instead")
    ap.add_argument("--weeks", type=int, default=52)
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--kind", action="append", choices=KINDS, help="only these kinds (repeatable)")
    ap.add_argument("--out", type=Path, help="keep the JSONL files in this directory")
    ap.add_argument("--strict", action="store_true", help="exit 1 when any target fails")
    args = ap.parse_args(argv)
    print(machine())
    t0 = time.perf_counter()
    if args.files:
        records = read(args.files)
        print(f"read {len(records)} records from {len(args.files)} file(s)")
    else:
        workdir = args.out or Path(tempfile.mkdtemp(prefix="journey-quality-"))
        workdir.mkdir(parents=True, exist_ok=True)
        records = []
        for kind in args.kind or KINDS:
            path, took = run_kind(kind, args.weeks, args.pairs, args.seed, workdir)
            print(f"demo {kind}: {args.weeks} weeks x {args.pairs} pairs in {took:.1f} s -> {path}")
            records.extend(read([path]))
    table, ok = render(compute(records))
    print(table)
    truth_table, truthful = render_truth(truth(records))
    print(truth_table)
    ok = ok and truthful
    print(f"\nelapsed: {time.perf_counter() - t0:.1f} s; {'all targets pass' if ok else 'some targets FAIL'}")
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    raise SystemExit(main())
