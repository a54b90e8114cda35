"""Journey files checked as an admin meets the check: `momentum journey check FILE` and `program journey
<name>` in chat. Typos are refused at their line with a did-you-mean, unreadable files in one sentence,
and a file with thousands of problems answers with the first 50 and a count, in bounded output."""

from __future__ import annotations

import ast
from importlib import resources
from pathlib import Path

from sqlmodel import select

from bot.app import Momentum
from bot.content.journey import EXTRAS, MAX_PROBLEMS, REQUIRED, _base, allowed_placeholders
from storage.models import Program
from tests.fakes import ADMIN, command, person, setup_program
from tests.test_cli import ROOT, momentum

SAM = person("USAM", "Sam Rivera", "America/New_York", country="US")
AISHA = person("UAISHA", "Aisha Khan", "Europe/London", country="GB")


def builtin_text(kind: str = "sponsorship") -> str:
    return resources.files("bot.content").joinpath("journeys", f"{kind}.yml").read_text(encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    """The 1-based line where ``needle`` first appears."""
    return text[:text.index(needle)].count("\n") + 1


def check(tmp_path: Path, text: str | bytes, name: str = "ours.yml") -> tuple[int, str]:
    f = tmp_path / name
    if isinstance(text, bytes):
        f.write_bytes(text)
    else:
        f.write_text(text, encoding="utf-8")
    run = momentum("journey", "check", str(f), cwd=tmp_path)
    return run.returncode, run.stdout + run.stderr


def test_a_misspelled_placeholder_is_refused_at_its_line_with_the_name_meant(tmp_path: Path) -> None:
    text = builtin_text().replace("{sponsoree}", "{sponsoreee}", 1)
    code, out = check(tmp_path, text)
    line = line_of(text, "{sponsoreee}")
    assert code == 1
    assert f"line {line}: words.kickoff.welcome: unknown placeholder {{sponsoreee}}, did you mean {{sponsoree}}?" \
        in out, out
    assert "Traceback" not in out and len(out.strip().splitlines()) == 1
    # a placeholder nobody fills and nothing like: the names this text can use are listed instead
    code, out = check(tmp_path, builtin_text().replace("{sponsoree}", "{manager_email}", 1))
    assert code == 1 and "unknown placeholder {manager_email}; this text can use {me}, {partner}," in out, out


def test_a_placeholder_is_allowed_only_where_its_slot_is_filled_with_it(tmp_path: Path) -> None:
    """{when} is passed to the prep opener, not to the kickoff: there it would go out as "{when}"."""
    text = builtin_text()
    opener = line_of(text, "  prep.opener:")
    ok_text = text.replace("{sponsor}", "{when}", 1)  # the first {sponsor} is in the kickoff
    code, out = check(tmp_path, ok_text)
    assert code == 1 and "words.kickoff.welcome: unknown placeholder {when}" in out, out
    assert f"line {opener}" not in out


def test_an_unknown_kind_is_refused_with_the_kinds_and_a_guess(tmp_path: Path) -> None:
    text = builtin_text()
    code, out = check(tmp_path, text.replace("kind: sponsorship", "kind: coaching"))
    line = line_of(text, "kind: sponsorship")
    assert code == 1
    assert (f"line {line}: unknown kind coaching: a journey is one of sponsorship, mentoring, reverse-mentoring."
            in out), out
    code, out = check(tmp_path, text.replace("kind: sponsorship", "kind: mentorin"))
    assert code == 1 and f"line {line}: unknown kind mentorin, did you mean mentoring?" in out, out


def test_a_misspelled_slot_is_named_at_its_own_line_not_reported_missing(tmp_path: Path) -> None:
    text = builtin_text().replace("  checkin.opener:", "  checkin.openr:", 1)
    code, out = check(tmp_path, text)
    line = line_of(text, "  checkin.openr:")
    assert code == 1
    assert out.strip().splitlines() == [
        f"{tmp_path / 'ours.yml'}: line {line}: unknown slot checkin.openr, did you mean checkin.opener?"], out


def test_files_that_are_not_utf8_or_nest_too_deep_are_refused_in_one_sentence(tmp_path: Path) -> None:
    code, out = check(tmp_path, "kind: sponsorship\ntitle: Caf\xe9\n".encode("latin-1"))
    assert code == 1 and "isn't UTF-8 text" in out and "save it as UTF-8" in out, out
    assert "Traceback" not in out and len(out.strip().splitlines()) == 1
    for deep in ("kind: sponsorship\nwords: " + "[" * 5000 + "]" * 5000 + "\n",
                 "kind: sponsorship\nwords:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(40)) + "    x\n"):
        code, out = check(tmp_path, deep)
        assert code == 1 and "line " in out and "nested more than 12 levels deep" in out, out
        assert "Traceback" not in out and len(out.strip().splitlines()) == 1


def test_a_file_with_thousands_of_problems_shows_the_first_fifty_and_a_count(tmp_path: Path) -> None:
    """24,000 bad texts in a 680 KB file: the answer is 50 problems and one line counting the rest
    (reporting is linear: it used to take minutes and hundreds of MB)."""
    n = 24_000
    text = builtin_text().rstrip("\n") + "\n  checkin.light:\n" + "".join(
        f"    - Hi {{sponsoreee}}, light touch {i}\n" for i in range(n))
    assert len(text) > 600_000
    code, out = check(tmp_path, text)
    lines = out.strip().splitlines()
    first = line_of(text, "Hi {sponsoreee}, light touch 0")
    assert code == 1
    assert len(lines) == MAX_PROBLEMS + 1
    assert lines[0].endswith(f"line {first}: words.checkin.light: unknown placeholder {{sponsoreee}}, "
                             "did you mean {sponsoree}?"), lines[0]
    assert all("unknown placeholder {sponsoreee}" in ln for ln in lines[:-1])
    assert lines[-1] == f"\u2026 and {n - MAX_PROBLEMS:,} more problems (fix these first, then check again)."
    assert len(out) < (MAX_PROBLEMS + 1) * 200


def test_a_file_over_a_megabyte_is_refused_unread(tmp_path: Path) -> None:
    code, out = check(tmp_path, builtin_text() + "#" * 1_000_001)
    assert code == 1 and "larger than 1000 KB" in out and len(out.strip().splitlines()) == 1, out


async def test_in_chat_a_typo_is_refused_and_the_program_keeps_its_words(lite: Momentum) -> None:
    await setup_program(lite, [(SAM, AISHA)], extra="--weeks 12")
    bad = builtin_text().replace("{sponsoree}", "{sponsoreee}", 1)
    r = await command(lite, ADMIN, "program journey Pilot\n" + bad)
    assert r.reply is not None
    text = r.reply.as_plain_text()
    assert "nothing was changed" in text and "unknown placeholder {sponsoreee}, did you mean {sponsoree}?" in text
    deep = "kind: sponsorship\nwords: " + "[" * 3000 + "]" * 3000
    r = await command(lite, ADMIN, "program journey Pilot\n" + deep)
    assert r.reply is not None and "nested more than 12 levels deep" in r.reply.as_plain_text(), r.reply
    assert "Sorry" not in r.reply.as_plain_text()
    with lite.db.session() as s:
        assert s.exec(select(Program)).one().journey_yaml is None


# --- the table of placeholders holds to what the composers pass ---------------------------------

def _passed() -> dict[str, set[str]]:
    """slot -> the keyword names passed with it: ws/w/reply_text(ctx, "slot", k=...) and
    fill/plain_fill(line.text, k=...) where ``line = pick(ctx, "slot", ...)``."""
    out: dict[str, set[str]] = {}
    for path in (ROOT / "bot/content/prompts.py", ROOT / "bot/chat/buttons.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            picked: dict[str, list[tuple[int, str]]] = {}  # name -> (line, slot) of each assignment
            for node in ast.walk(fn):
                if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                        and getattr(node.value.func, "id", "") == "pick" and len(node.value.args) > 1
                        and isinstance(node.value.args[1], ast.Constant)):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            picked.setdefault(target.id, []).append((node.lineno, node.value.args[1].value))
            for node in ast.walk(fn):
                if not isinstance(node, ast.Call):
                    continue
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                names = {k.arg for k in node.keywords if k.arg}
                if name in ("w", "ws", "reply_text") and len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
                    out.setdefault(node.args[1].value, set()).update(names)
                elif (name in ("fill", "plain_fill") and node.args and isinstance(node.args[0], ast.Attribute)
                      and node.args[0].attr == "text" and isinstance(node.args[0].value, ast.Name)
                      and node.args[0].value.id in picked):
                    before = [slot for line, slot in sorted(picked[node.args[0].value.id]) if line <= node.lineno]
                    if before:  # the last assignment above the call
                        out.setdefault(before[-1], set()).update(names)
    return out


def test_every_placeholder_a_composer_fills_is_allowed_in_its_slot() -> None:
    passed = _passed()
    assert {"prep.opener", "checkin.holiday", "review.so_far", "digest.new.win", "reply.done"} <= passed.keys()
    problems = {slot: sorted(names - allowed_placeholders(slot)) for slot, names in passed.items()
                if names - allowed_placeholders(slot)}
    assert problems == {}
    # and the table allows nothing for a slot the composers fill without it
    extra = {slot: sorted(EXTRAS[slot] - names) for slot, names in passed.items()
             if slot in EXTRAS and EXTRAS[slot] - names}
    assert extra == {}
    known = set(_base()["words"]) | set(REQUIRED) | {"digest.action.ask", "digest.action.win", "digest.action.goal"}
    assert set(EXTRAS) <= known
