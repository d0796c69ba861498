"""Where things live (DEVELOPERS.md, "Layout"): checked on the source, so a shortcut fails here
before it spreads."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "followup"
RULES_INPUTS = ("Exam", "Finding", "FilmTransfer", "Biopsy")


def _calls(path: Path) -> set[str]:
    """``rules.X`` names called in the module at ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "rules"
    }


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_stored_rows_become_rules_values_in_one_module() -> None:
    """The rules' inputs are built from stored rows by store/rules_inputs.py alone: a second
    converter would drift from it (issue 12: there were four)."""
    builders = {
        path.name for path in (ROOT / "store").glob("*.py") if _calls(path) & set(RULES_INPUTS)
    }
    assert builders == {"rules_inputs.py"}


def test_commands_query_no_models_themselves() -> None:
    """A command asks the store; it never reads ORM models (a web view must get the same
    answers through the same functions)."""
    reading = {
        path.name
        for path in (ROOT / "cli").glob("*.py")
        if "followup.store.models" in _imports(path) or "sqlalchemy" in _imports(path)
    }
    assert reading == set()


def test_what_people_read_needs_neither_the_database_nor_click() -> None:
    """present/ turns plain values into text: importing all of it loads no SQLAlchemy, no
    Click, nothing of the store or the commands."""
    modules = sorted(f"followup.present.{p.stem}" for p in (ROOT / "present").glob("[!_]*.py"))
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'click')"
        " or m.startswith(('followup.store', 'followup.cli'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
