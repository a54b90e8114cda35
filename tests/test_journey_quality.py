"""Journey quality: the metrics on hand-made journals, the demo's JSONL contract, and its personas."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from adapters.console.journal import links, message_record, role_for, visible_text
from adapters.console.people import PEOPLE, draw_pairs
from adapters.console.personas import Persona, draw_scenarios
from benchmarks.journey_quality import compute, first_sentence, main, max_in_window, render
from bot.model.messages import Button, Buttons, Fields, Footnote, Heading, Link, Message, Paragraph, Text
from tests.test_cli import momentum

# --- the metrics -----------------------------------------------------------------------------------


def msg(week: int, person: str = "U_A", seat: str = "junior", text: str = "Hello there. More words here.",
        kind: str = "checkin", **extra: Any) -> dict[str, Any]:
    tz = "Europe/London" if seat == "junior" else "America/New_York"
    return {"type": "message", "week": week, "program_kind": "mentoring", "pair": "p1", "recipient": person,
            "seat": seat, "role": "mentee" if seat == "junior" else "mentor", "tz": tz,
            "local_time": f"2026-01-{5 + week % 20:02d}T10:00:00+00:00", "prompt_kind": kind, "phase": "know",
            "text": text, "buttons": [], "links": [], **extra}


def test_messages_per_week_distinct_texts_and_words() -> None:
    recs = [msg(w, text=f"Week {w} text. Second sentence.") for w in range(1, 11)]
    recs += [msg(w, person="U_B", text="one two three") for w in range(1, 6)]
    recs += [msg(w, person="U_S", seat="senior", text=" ".join(["w"] * 70)) for w in range(1, 11)]
    m = compute(recs)["mentoring"]
    j, s = m["junior"], m["senior"]
    assert j["weeks"] == 10 and j["persons"] == 2
    assert j["msgs_per_week_mean"] == pytest.approx((1.0 + 0.5) / 2) and j["msgs_per_week_max"] == 1.0
    assert j["distinct_texts"] == 11
    assert (j["words_p50"], j["words_max"]) == (5, 5) and j["words_p95"] == 5
    assert s["words_p95"] == 70 and s["role"] == "mentor"
    assert s["same_text_run_max"] == 10  # the same text ten messages running
    table, ok = render(compute(recs))
    assert not ok and "FAIL" in table and "mentoring / senior (mentor)" in table


def test_action_repeats_use_the_action_key_else_the_first_sentence() -> None:
    recs = [msg(w, text=f"Different words {w}.", action="share-article") for w in (1, 5, 20, 40)]
    recs += [msg(w, person="U_B", text=f"Same opening. Then {w}.") for w in (1, 30)]
    j = compute(recs, weeks=52)["mentoring"]["junior"]
    assert j["action_repeats_max"] == 4 and j["action_repeats_8w_max"] == 2
    assert j["same_text_run_max"] == 1
    assert first_sentence("Same opening. Then 3.") == "Same opening."
    assert max_in_window([1, 5, 20, 40], 8) == 2 and max_in_window([1, 9], 8) == 1 and max_in_window([], 8) == 0


def test_holidays_slots_grounded_and_christmas() -> None:
    recs = [msg(1, kind="holiday"), msg(2, holiday=True), msg(3), msg(26)]
    recs.append(msg(4, person="U_S", seat="senior", kind="nudge", grounded=True,
                    slots=["2026-01-13T15:00:00Z", "2026-01-13T02:00:00Z"]))  # 10:00 NY/15:00 London; 21:00 NY
    recs.append(msg(5, person="U_S", seat="senior", kind="nudge", grounded=False))
    recs.append(msg(6, person="U_S", seat="senior", kind="nudge", local_time="2026-12-28T09:00:00-05:00"))
    m = compute(recs, weeks=26)["mentoring"]
    assert m["junior"]["holidays_per_person_year_max"] == pytest.approx(4.0)
    s = m["senior"]
    assert s["slots"] == 2 and s["slots_inside_share"] == 0.5
    assert s["digests"] == 3 and s["grounded_share"] == 0.5  # only digests that carry the field are judged
    assert s["christmas_week_messages"] == 1 and m["junior"]["christmas_week_messages"] == 0
    assert m["junior"]["slots_inside_share"] is None and m["junior"]["grounded_share"] is None
    table, _ = render({"mentoring": m})
    assert "n/a" in table and "50% of 2" in table


def test_the_benchmark_reads_given_files_and_strict_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "j.jsonl"
    f.write_text("\n".join(json.dumps(msg(w)) for w in range(1, 5)) + "\n", encoding="utf-8")
    assert main(["--from", str(f)]) == 0
    out = capsys.readouterr().out
    assert "machine:" in out and "elapsed:" in out and "mentoring / junior" in out
    f.write_text("\n".join(json.dumps(msg(w, text="same")) for w in range(1, 5)) + "\n", encoding="utf-8")
    assert main(["--from", str(f), "--strict"]) == 1


# --- the journal ----------------------------------------------------------------------------------


def test_the_journal_keeps_visible_text_and_links_not_button_labels() -> None:
    m = Message("fallback", (
        Heading("Aisha this week"),
        Paragraph((Text("Read "), Link("https://example.com/a", "this piece"), Text(" today."))),
        Fields((("Goals", "Lead the migration"),)),
        Buttons((Button("x.do", "Do it", "1:do", "primary"),)),
        Footnote((Text("Private to you."),)),
    ), kind="nudge")
    assert visible_text(m) == "Aisha this week\nRead this piece today.\nGoals: Lead the migration\nPrivate to you."
    assert links(m) == ["https://example.com/a"]
    object.__setattr__(m, "meta", {"action": "intro", "holiday": False, "slots": ("2026-01-01T10:00:00Z",),
                                   "grounded": True, "other": 1})
    rec = message_record(m, week=1, program_kind="mentoring", pair="p1", recipient="U_A", seat="senior",
                         tz="UTC", local_time="2026-01-01T10:00:00+00:00", prompt_kind="nudge", phase="know")
    assert rec["buttons"] == ["Do it"] and rec["role"] == role_for("mentoring", "senior")
    assert (rec["action"], rec["holiday"], rec["slots"], rec["grounded"]) == ("intro", False,
                                                                              ["2026-01-01T10:00:00Z"], True)
    assert "other" not in rec


# --- people and personas ----------------------------------------------------------------------------


def test_people_and_pairs_span_countries() -> None:
    assert len(PEOPLE) >= 100 and len({p.country for p in PEOPLE}) >= 20 and len({p.tz for p in PEOPLE}) >= 20
    assert len({p.external_id for p in PEOPLE}) == len(PEOPLE) == len({p.email for p in PEOPLE})
    pairs = draw_pairs(50, random.Random(3))
    assert all(a.country != b.country for a, b in pairs)
    assert len({p.external_id for pair in pairs for p in pair}) == 100
    assert draw_pairs(5, random.Random(3)) == draw_pairs(5, random.Random(3))
    assert len(set(draw_scenarios(6, random.Random(1)))) == 6


def row(*buttons: Button) -> Message:
    return Message("m", (Buttons(buttons),))


def test_taps_follow_action_ids_and_values_not_labels() -> None:
    p = Persona("U_A", "steady", random.Random(1), met_p=1.0, light_p=0.0, momentum=(4, 4))
    m = row(Button("checkin.status", "Ja", "7:not_yet"), Button("checkin.status", "Yes we did", "7:met", "primary"),
            Button("checkin.status", "Kind of", "7:light"))
    assert p.pick(m, 1, 0, set()).value == "7:met"  # type: ignore[union-attr]
    mom = Message("m", tuple(Buttons((Button("checkin.momentum", str(n * 7), f"7:{n}"),)) for n in range(1, 6)))
    assert p.pick(mom, 1, 1, set()).value == "7:4"  # type: ignore[union-attr]
    danger = row(Button("ghost.stop", "Stop", "7:stop", "danger"))
    assert p.pick(danger, 1, 0, set()) is None
    quitter = Persona("U_B", "fading", random.Random(1), silent_from=2, quitting=True)
    assert quitter.pick(danger, 3, 0, set()).action_id == "ghost.stop"  # type: ignore[union-attr]
    assert quitter.pick(danger, 3, 0, set()) is None  # once
    digest = row(Button("digest.thanks", "Brilliant", "7:x", "primary"), Button("digest.later", "Later", "7:y"))
    picks = {(b.action_id if b else None) for b in (p.pick(digest, 1, 0, set()) for _ in range(60))}
    assert "digest.thanks" in picks and None in picks
    unknown = row(Button("brand.new", "Shiny", "7:z", "primary"), Button("brand.no", "Nope", "7:n", "danger"))
    got = {(b.action_id if b else None) for b in (p.pick(unknown, 1, 0, set()) for _ in range(40))}
    assert got == {"brand.new", None}


# --- the demo's JSONL, end to end --------------------------------------------------------------------

REQUIRED = {"type": str, "week": int, "program_kind": str, "pair": str, "recipient": str, "seat": str, "role": str,
            "tz": str, "local_time": str, "prompt_kind": str, "phase": str, "text": str, "buttons": list,
            "links": list}
TAP = {"type": str, "week": int, "pair": str, "person": str, "button": str}


def test_demo_jsonl_carries_every_field_and_one_seed_is_byte_identical(tmp_path: Path) -> None:
    args = ("demo", "--pairs", "2", "--weeks", "6", "--kind", "mentoring", "--seed", "1", "--jsonl")
    a = momentum(*args, str(tmp_path / "a.jsonl"), cwd=tmp_path)
    b = momentum(*args, str(tmp_path / "b.jsonl"), cwd=tmp_path)
    assert a.returncode == 0 and b.returncode == 0, a.stderr[-2000:]
    raw = (tmp_path / "a.jsonl").read_bytes()
    assert raw == (tmp_path / "b.jsonl").read_bytes() and a.stdout == b.stdout
    records = [json.loads(line) for line in raw.decode().splitlines()]
    messages = [r for r in records if r["type"] == "message"]
    taps = [r for r in records if r["type"] == "tap"]
    assert messages and taps
    for r in messages:
        for key, typ in REQUIRED.items():
            assert isinstance(r[key], typ), (key, r)
        admin = r["prompt_kind"] in ("stall_alert", "forward_alert", "admin_digest")  # the program team
        assert r["program_kind"] == "mentoring" and r["seat"] in (("admin",) if admin else ("senior", "junior"))
        assert r["role"] == role_for("mentoring", r["seat"]) and r["text"]
    for r in taps:
        for key, typ in TAP.items():
            assert isinstance(r[key], typ), (key, r)
    assert {r["pair"] for r in messages if r["prompt_kind"] != "admin_digest"} == {"p1", "p2"}  # a digest: no pair
    assert {"checkin", "kickoff"} <= {r["prompt_kind"] for r in messages}
    run = momentum("demo", "--pairs", "2", "--seed", "2", "--jsonl", str(tmp_path / "c.jsonl"), "--weeks", "6",
                   "--kind", "mentoring", cwd=tmp_path)
    assert (tmp_path / "c.jsonl").read_bytes() != raw and run.returncode == 0


@pytest.mark.parametrize(("args", "needle"), [(("--pairs", "51"), "--pairs must be between 1 and 50"),
                                             (("--pairs", "0"), "--pairs must be between 1 and 50"),
                                             (("--kind", "coaching"), "--kind must be one of")])
def test_demo_refuses_bad_options_in_one_line(tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    run = momentum("demo", *args, cwd=tmp_path)
    assert run.returncode == 2 and needle in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_the_truth_table_counts_each_kind_of_false_sentence() -> None:
    """Hand-made journals: each contradiction the truth table looks for is counted, and a true journal
    counts none."""
    from benchmarks.journey_quality import truth

    def msg(at: str, kind: str, text: str, seat: str = "senior", **meta: object) -> dict[str, object]:
        return {"type": "message", "program_kind": "sponsorship", "pair": "p1", "recipient": "US" if seat == "senior"
                else "UE", "seat": seat, "local_time": at, "prompt_kind": kind, "text": text, **meta}

    def tap(at: str, action: str, answer: str = "", person: str = "UE") -> dict[str, object]:
        return {"type": "tap", "program_kind": "sponsorship", "pair": "p1", "person": person, "seat": "junior",
                "action_id": action, "answer": answer, "local_time": at}

    false = [
        msg("2026-01-05T09:00:00+00:00", "nudge", "A\nYou met 1x", phase="coach", facts=["You met 1x"]),
        {"type": "update", "program_kind": "sponsorship", "pair": "p1", "recipient": "US", "prompt_kind": "nudge",
         "text": "A\nNothing new", "local_time": "2026-01-05T10:00:00+00:00"},
        tap("2026-01-06T09:00:00+00:00", "checkin.status", "met"),
        msg("2026-01-19T09:00:00+00:00", "nudge", "Nothing new", phase="know", nothing_new=True,
            quiet_since_at="2026-01-01T00:00:00+00:00"),
        msg("2026-01-20T09:00:00+00:00", "stall_alert", "quiet", seat="admin",
            quiet_since_at="2026-01-01T00:00:00+00:00"),
        msg("2026-01-21T23:30:00+00:00", "shared_note", "a note", seat="senior"),
        tap("2026-01-22T09:00:00+00:00", "review.later", person="US"),
    ]
    t = truth(false)["sponsorship"]
    assert (t["updates"], t["updates_kept"]) == (1, 0)
    assert t["nothing_new_false"] == 1 and t["no_contact_false"] == 2 and t["alerts_in_touch"] == 1
    assert t["phase_regressions"] == 1 and t["partner_outside_day"] == 1
    assert (t["promises"], t["promises_kept"]) == (1, 0)
    true = [
        msg("2026-01-05T09:00:00+00:00", "nudge", "A\nYou met 1x", phase="coach", facts=["You met 1x"]),
        {"type": "update", "program_kind": "sponsorship", "pair": "p1", "recipient": "US", "prompt_kind": "nudge",
         "text": "A\nYou met 1x\n\u2713 Done", "local_time": "2026-01-05T10:00:00+00:00"},
        msg("2026-01-19T09:00:00+00:00", "nudge", "quiet", phase="coach", quiet_since_at="2026-01-05T09:00:00+00:00"),
        msg("2026-01-21T10:30:00+00:00", "shared_note", "a note", seat="senior"),
        tap("2026-01-22T09:00:00+00:00", "review.later", person="US"),
        msg("2026-01-25T09:00:00+00:00", "review", "again", phase="coach"),
    ]
    t = truth(true)["sponsorship"]
    assert t["updates_kept"] == t["updates"] == 1 and t["nothing_new_false"] == t["no_contact_false"] == 0
    assert t["phase_regressions"] == 0 and t["partner_outside_day"] == 0 and t["promises_kept"] == t["promises"] == 1
