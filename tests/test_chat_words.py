"""The bot's chat words live in bot/content/data/chat.yml, never in code; people's words stay escaped.

Three kinds of checks: the accessor itself (unknown keys, missing or unexpected fields, people's words
never read as templates), a static reading of the code with ``ast`` (no English literal handed to
anything that makes text people see; every key used exists with the fields its placeholders name,
and every key in the file is used), and the renderers still escaping people's words that fill a
placeholder.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from adapters.slack import render as slack_render
from adapters.slack import words as slack_words
from adapters.teams import render as teams_render
from adapters.teams import words as teams_words
from bot.app import Momentum
from bot.chat.turn import say
from bot.content import chat_words
from bot.content.chat_words import WordFieldsError, Words, WordsFileError, placeholders, spans, t
from bot.model.messages import Mention, Paragraph, Text
from tests.fakes import command, person, setup_program

ROOT = Path(__file__).resolve().parents[1]
# Where the bot's chat words are used; the guard reads these for literals.
GUARDED = sorted([*ROOT.glob("bot/chat/*.py"), *ROOT.glob("bot/domain/*.py"), ROOT / "bot/content/prompts.py"])
# Each words file and the code that asks it for words.
SOURCES: dict[str, tuple[Words, list[Path]]] = {
    "chat": (chat_words.chat(), sorted(ROOT.glob("bot/**/*.py"))),
    "teams": (teams_words.WORDS, sorted(ROOT.glob("adapters/teams/*.py"))),
    "slack": (slack_words.WORDS, sorted(ROOT.glob("adapters/slack/*.py"))),
}

# Calls whose arguments become text a person sees (the message model, replies, refusals, forms).
USER_VISIBLE = frozenset({
    "say", "reply", "para", "foot", "Heading", "Paragraph", "Footnote", "Text", "Fields", "Button", "Option",
    "Choice", "TextInput", "Checkbox", "Form", "Attachment", "Response", "UserError", "Refused", "NotAdmin",
    "FormErrors", "answered",
})
# What a literal may be in those calls: no letters at all (separators, punctuation), or an identifier
# (action ids, kinds, field ids, keys, file names, MIME types).
IDENTIFIER = re.compile(r"^[a-z0-9_.:/#-]+$")
ACCESSORS = frozenset({"t", "spans"})


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _literals(node: ast.AST) -> Iterator[ast.Constant]:
    """String constants under ``node``, not counting format specs (``{at:%H:%M}``) or strftime patterns."""
    if isinstance(node, ast.FormattedValue):
        yield from _literals(node.value)
        return
    if isinstance(node, ast.Call) and _name(node.func) == "strftime":
        yield from _literals(node.func)
        return
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node
        return
    for child in ast.iter_child_nodes(node):
        yield from _literals(child)


def _allowed(text: str) -> bool:
    return not re.search(r"[A-Za-z]", text) or bool(IDENTIFIER.match(text))


def _offending(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if name in USER_VISIBLE:
            # A refusal's first argument is the reason for the audit log, not what the person reads.
            args = node.args[1:] if name == "Refused" else node.args
            parts: list[ast.AST] = [*args, *(k.value for k in node.keywords if k.arg != "reason")]
        elif name == "build":  # MessageBuilder.build(text=...)
            parts = [k.value for k in node.keywords if k.arg == "text"]
        else:
            continue
        for part in parts:
            for lit in _literals(part):
                if not _allowed(lit.value):
                    found.append(f"{path.relative_to(ROOT)}:{lit.lineno}: {name}(... {lit.value!r} ...)")
    return found


def test_no_words_of_the_bot_are_written_in_code() -> None:
    found = [line for path in GUARDED for line in _offending(path)]
    assert found == [], "move these into bot/content/data/chat.yml:\n" + "\n".join(found)


def test_the_guard_catches_literals_in_every_form_it_should() -> None:
    """The guard itself: English in a reply, an f-string, a refusal, a form label or a build(text=...)
    is found; identifiers, separators, keys and format specs are not."""
    src = '''
reply("Done: all good.")
say(f"Paired {a} with {b}.")
raise UserError("Nope")
TextInput("csv", "CSV", placeholder="one per line")
mb.build(text=f"Your home")
Button(Actions.X, t("views.me.resume"), "resume", "primary")
Fields(((t("a.b"), f"{x} \\u00b7 {y}"), ("-", d.strftime("%a %d %b"))))
say(t("k", at=f"{when:%H:%M}"))
'''
    path = ROOT / "tests" / "_guard_sample.py"
    path.write_text(src, encoding="utf-8")
    try:
        found = _offending(path)
    finally:
        path.unlink()
    assert [f.split(": ", 1)[1] for f in found] == [
        "reply(... 'Done: all good.' ...)", "say(... 'Paired ' ...)", "say(... ' with ' ...)",
        "UserError(... 'Nope' ...)", "TextInput(... 'CSV' ...)", "TextInput(... 'one per line' ...)",
        "build(... 'Your home' ...)",
    ]


# --- keys: every one used exists (with the right fields), every one in the file is used -------------


def _pattern(key: ast.JoinedStr) -> str:
    """``f"rhythm.{every}"`` -> a pattern of the keys it can name (each placeholder: one path segment)."""
    return "".join(re.escape(str(v.value)) if isinstance(v, ast.Constant) else r"[^.]+" for v in key.values)


def _uses(paths: list[Path]) -> Iterator[tuple[str, int, str, bool, set[str] | None]]:
    """(file, line, key or key pattern, is_pattern, keyword names or None when **fields are passed)."""
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            # The Slack runtime reads its words as a mapping: WORDS["sorry"], WORDS["org_install_refused"].
            if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "WORDS"
                    and isinstance(node.slice, ast.Constant)):
                group = re.escape(str(node.slice.value)) + r"(\..+)?"
                yield str(path.relative_to(ROOT)), node.lineno, group, True, None
                continue
            if not (isinstance(node, ast.Call) and _name(node.func) in ACCESSORS and node.args):
                continue
            if isinstance(node.func, ast.Attribute) and not (
                    isinstance(node.func.value, ast.Name) and node.func.value.id in ("chat_words", "words")):
                continue
            names = None if any(k.arg is None for k in node.keywords) else {k.arg for k in node.keywords if k.arg}
            where = str(path.relative_to(ROOT))
            first = node.args[0]
            options = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
            for opt in options:
                if isinstance(opt, ast.Constant) and isinstance(opt.value, str):
                    yield where, node.lineno, opt.value, False, names
                elif isinstance(opt, ast.JoinedStr):
                    yield where, node.lineno, _pattern(opt), True, names
                else:
                    yield where, node.lineno, "(not a literal key) " + ast.unparse(opt), False, names


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_key_used_exists_with_the_fields_it_needs(source: str) -> None:
    words, paths = SOURCES[source]
    table = words.table
    problems = []
    for where, line, key, prefix, names in _uses(paths):
        matched = [k for k in table if re.fullmatch(key, k)] if prefix else [key] if key in table else []
        if not matched:
            problems.append(f"{where}:{line}: no word {key!r}{' (pattern)' if prefix else ''}")
            continue
        for k in matched:
            if names is not None and set(table[k][1]) != names:
                problems.append(f"{where}:{line}: {k!r} takes {sorted(table[k][1])}, given {sorted(names)}")
    assert problems == []


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_word_in_the_file_is_used(source: str) -> None:
    words, paths = SOURCES[source]
    used: set[str] = set()
    for _where, _line, key, prefix, _names in _uses(paths):
        used.update(k for k in words.table if (re.fullmatch(key, k) if prefix else k == key))
    assert sorted(words.table.keys() - used) == []


def test_the_file_has_no_duplicate_keys_and_only_text() -> None:
    class Strict(yaml.SafeLoader):
        pass

    def mapping(loader: Strict, node: yaml.MappingNode) -> dict[object, object]:
        keys = [loader.construct_object(k) for k, _ in node.value]
        dupes = {k for k in keys if keys.count(k) > 1}
        assert not dupes, f"duplicate keys {dupes} at line {node.start_mark.line + 1}"
        return loader.construct_mapping(node)

    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    yaml.load((ROOT / "bot/content/data/chat.yml").read_text(encoding="utf-8"), Strict)
    assert all(isinstance(text, str) and text for text, _ in chat_words.table().values())


# --- the accessor ------------------------------------------------------------------------------------


def test_words_come_filled_from_the_file() -> None:
    assert t("commands.pause.done").startswith("Paused. I won't prompt you")
    assert t("commands.goal.pick", count=3) == "Pick a number from `goal list` (1 to 3)."
    assert t("home.health.percent", value=41.6) == "42%"  # a format spec in the file


def test_an_unknown_key_names_itself() -> None:
    with pytest.raises(KeyError, match=r"commands\.nope"):
        t("commands.nope")


def test_a_missing_or_unexpected_field_is_an_error_not_a_visible_placeholder() -> None:
    with pytest.raises(WordFieldsError, match=r"missing \['count'\]"):
        t("commands.goal.pick")
    with pytest.raises(WordFieldsError, match=r"unexpected \['cnt'\]"):
        t("commands.goal.pick", count=1, cnt=2)
    with pytest.raises(WordFieldsError):
        spans("admin.pair.exists", sponsor="Sam", sponsoree="Aisha")


def test_peoples_words_are_never_read_as_templates() -> None:
    typed = "{partner} {0} {__class__} }{"
    assert t("commands.goal.done", text=typed) == f"Marked done: “{typed}”. Well done!"
    assert spans("commands.goal.done", text=typed) == (Text("Marked done: “"), Text(typed), Text("”. Well done!"))


def test_spans_keep_people_and_mentions_apart_from_the_bots_text() -> None:
    sam = Mention("U0SAM", "Sam")
    out = spans("admin.pair.exists", sponsor=sam, sponsoree="Aisha <b>", program="Pilot")
    assert out[0] is sam and Text("Aisha <b>") in out and all(isinstance(s, Text) for s in out[1:])


@pytest.mark.parametrize("template", ["{}", "{0}", "{a.b}", "{a[0]}", "{a!r}", "{a", "a}"])
def test_a_malformed_placeholder_in_the_file_is_refused(template: str) -> None:
    with pytest.raises(WordsFileError):
        placeholders(template, "k")


def test_a_word_must_be_text() -> None:
    out: dict[str, str] = {}
    with pytest.raises(WordsFileError, match=r"admin\.x"):
        chat_words._flatten({"admin": {"x": 3}}, "", out)
    with pytest.raises(WordsFileError, match="k: placeholder"):
        chat_words.Words({"k": "{0}"}, "x.yml")


# --- people's words filling a placeholder are still escaped by the renderers -----------------------------


def test_peoples_words_in_the_bots_words_stay_escaped_on_slack_and_teams() -> None:
    typed = "<!channel> [click](http://evil.example) <@U0BOSS> & *loud*"
    msg = say(t("commands.goal.done", text=typed), t("admin.pair.exists", sponsor=typed, sponsoree="Aisha",
                                                     program="Pilot"))
    blocks = slack_render.render_blocks(msg)
    slack = " ".join(b["text"]["text"] for b in blocks if b.get("type") == "section")
    assert "<!channel>" not in slack and "<@U0BOSS>" not in slack and "&lt;!channel&gt;" in slack
    assert "&amp;" in slack
    card = teams_render.to_card(msg)
    texts = " ".join(str(b.get("text", "")) for b in card["body"])
    assert "[click](http" not in texts, texts  # not a link on Teams
    para_spans = [s for b in msg.blocks if isinstance(b, Paragraph) for s in b.spans]
    assert all(isinstance(s, Text) for s in para_spans)  # no Mention or Link made from typed words


@pytest.mark.parametrize("path", ["bot/content/data/chat.yml", "adapters/teams/words.yml", "adapters/slack/words.yml"])
def test_the_fast_yaml_loader_reads_the_words_as_the_reference_one_does(path: str) -> None:
    text = (ROOT / path).read_text(encoding="utf-8")
    assert yaml.load(text, Loader=chat_words._LOADER) == yaml.safe_load(text)


async def test_a_goal_typed_with_markup_comes_back_escaped_through_the_core(lite: Momentum) -> None:
    """End to end: the words people type come back inside the bot's words (``goal list``, ``goal done``)
    as text, and Slack's renderer escapes them: no @channel, no mention, no link."""
    sam, aisha = person("USAM", "Sam Rivera"), person("UAISHA", "Aisha Khan")
    await setup_program(lite, [(sam, aisha)])
    typed = "Lead <!channel> & <@UBOSS> {partner}"
    await command(lite, aisha, f"goal {typed}")
    listed = await command(lite, aisha, "goal list")
    done = await command(lite, aisha, "goal done 1")
    assert listed.reply is not None and done.reply is not None
    assert done.reply.text == f"Marked done: “{typed}”. Well done!"  # the placeholder in it stays as typed
    for msg in (listed.reply, done.reply):
        slack = " ".join(b["text"]["text"] for b in slack_render.render_blocks(msg) if b.get("type") == "section")
        assert "<!channel>" not in slack and "<@UBOSS>" not in slack
        assert "&lt;!channel&gt; &amp; &lt;@UBOSS&gt; {partner}" in slack
