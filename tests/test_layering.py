"""The layering contracts (adapters -> bot -> storage; inside bot: facade -> chat -> domain -> outbox ->
content -> model) and the core's platform neutrality, checked by import-linter with the contracts in
pyproject.toml; and the house rules a contract cannot state: no import cycles inside bot/, no
function-local imports, a docstring on every subpackage. A violation fails the suite."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_are_kept() -> None:
    exe = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(exe), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 kept, 0 broken" in run.stdout


def test_contracts_name_the_forbidden_platform_libraries() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    for name in ("slack_bolt", "slack_sdk", "microsoft_agents", "aiohttp"):
        assert f'"{name}"' in text
    # botbuilder is gone from the project: no dependency names it any more.
    assert "botbuilder" not in text and "msrest" not in text


def test_the_core_has_no_import_cycles() -> None:
    graph = grimp.build_graph("bot")
    modules = sorted(graph.modules)
    cycles = []
    for mod in modules:
        for imported in graph.find_modules_directly_imported_by(mod):
            if imported != mod and graph.find_shortest_chain(importer=imported, imported=mod):
                cycles.append(f"{mod} <-> {imported}")
    assert cycles == []


def test_the_core_imports_at_the_top_of_each_module() -> None:
    """No function-local imports (they hide cycles); ``if TYPE_CHECKING:`` blocks are not needed either."""
    found = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        tree = ast.parse(path.read_text())
        top = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in top:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def test_every_core_subpackage_says_what_it_holds() -> None:
    packages = [p for p in (ROOT / "bot").iterdir() if (p / "__init__.py").exists()]
    assert {p.name for p in packages} >= {"model", "content", "outbox", "domain", "chat"}
    for pkg in packages:
        doc = ast.get_docstring(ast.parse((pkg / "__init__.py").read_text()))
        assert doc and len(doc.splitlines()) == 1, pkg.name
