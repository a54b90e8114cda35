"""Every Teams card rendered by the official Adaptive Cards renderer (npm ``adaptivecards``, with the
``markdown-it`` it renders TextBlock markdown with) in headless Chromium, read as a person sees it.

Needs Debian's ``chromium`` and ``npm ci`` in ``tests/browser`` (``.ci/run`` installs both). Outside CI
the test skips, saying what is missing; under CI (``CI=true``) a missing piece fails it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_previews import preview

ROOT = Path(__file__).resolve().parents[1]
MODULES = ROOT / "tests" / "browser" / "node_modules"
SCRIPTS = (
    MODULES / "markdown-it" / "dist" / "markdown-it.min.js",
    MODULES / "adaptivecards" / "dist" / "adaptivecards.min.js",
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

RENDER = """
(cards) => {
  const out = {};
  for (const [name, json] of Object.entries(cards)) {
    const card = new AdaptiveCards.AdaptiveCard();
    const errors = [];
    card.parse(json, new AdaptiveCards.SerializationContext());
    const validation = card.validateProperties();
    for (const e of validation.validationEvents) {
      if (e.phase !== undefined && e.message) errors.push(e.message);
    }
    const element = card.render();
    const holder = document.createElement("div");
    holder.id = "card-" + name;
    holder.appendChild(element);
    document.body.appendChild(holder);
    out[name] = {
      text: element.innerText,
      strong: element.querySelectorAll("strong").length,
      links: element.querySelectorAll("a").length,
      lists: element.querySelectorAll("li").length,
      strongTexts: Array.from(element.querySelectorAll("strong")).map((s) => s.innerText),
      errors: errors,
    };
  }
  return out;
}
"""


def _missing() -> str | None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package (pip install -e '.[dev]')"
    if _chromium() is None:
        return "Debian's chromium (apt-get install chromium)"
    if not all(p.is_file() for p in SCRIPTS):
        return "the renderer's npm packages (cd tests/browser && npm ci)"
    return None


def _chromium() -> str | None:
    return os.environ.get("MOMENTUM_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    missing = _missing()
    if missing:
        if IN_CI:
            raise AssertionError(f"CI needs {missing} for the Adaptive Cards renderer test")
        pytest.skip(f"needs {missing}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        tab = browser.new_page(viewport={"width": 480, "height": 900})
        tab.set_content("<!DOCTYPE html><html><body style='font-family: sans-serif'></body></html>")
        for script in SCRIPTS:
            tab.add_script_tag(path=str(script))
        assert tab.evaluate("typeof AdaptiveCards.AdaptiveCard === 'function' && typeof markdownit === 'function'")
        yield tab
        browser.close()


def render(page: Any, cards: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(RENDER, cards)
    return result


def test_every_teams_card_renders_without_literal_markup_in_the_official_renderer(
    page: Any, tmp_path: Path
) -> None:
    cards = preview(tmp_path, "teams")
    shown = render(page, cards)
    bad: dict[str, list[str]] = {}
    for name, view in shown.items():
        problems = [f"renderer: {e}" for e in view["errors"]]
        text = view["text"]
        for literal, why in (("**", "literal **"), ("`", "backtick"), ("\\", "backslash")):
            if literal in text:
                problems.append(f"{why} in {text[:120]!r}")
        if problems:
            bad[name] = problems
    assert not bad, json.dumps(bad, indent=1)
    assert sum(v["strong"] for v in shown.values()) > 20  # bold spans really render bold
    assert shown["help"]["links"] == 0  # "time <weekday> <HH:MM>" is not an autolink
    recorded = shown["checkin-answered-met"]
    assert "Recorded:" in recorded["strongTexts"] and "Recorded: We met" in recorded["text"].replace("\n", " ")
    report = shown["report"]["text"]  # this renderer knows no Teams chart element: each chart's fallback shows
    assert "Pilot 2026: each week (%)" in report and "Average (1-5)" in report
    assert "Answered that week" in report and any(bar in report for bar in "▁▂▃▄▅▆▇█")
    page.screenshot(path=str(tmp_path / "cards.png"), full_page=True)


def test_text_a_person_wrote_renders_as_typed(page: Any) -> None:
    from adapters.teams.render import to_card
    from bot.model.messages import Message, Paragraph, Text

    typed = (
        "**not bold** _nor italic_ [no link](https://evil.example) snake_case 5 * 3 quarter(s) <b>x</b> "
        "<mailto:x@evil.example>"
    )
    card = to_card(Message(text=typed, blocks=(Paragraph((Text(typed),)),)))
    view = render(page, {"typed": card})["typed"]
    assert view["errors"] == []
    assert view["strong"] == 0 and view["links"] == 0 and view["lists"] == 0
    assert view["text"].strip().replace("\u2060", "") == typed  # the word joiner is invisible
