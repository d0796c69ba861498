"""The README's newcomer commands are the ones CI runs; the code passes ruff."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```(?:sh|bash|console)?\n(.*?)```", text, re.S)
    assert block, "README.md must open with a code block holding the two commands"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_opens_with_two_commands_and_ci_runs_the_second():
    demo, tests = _readme_commands()
    assert "followup demo" in demo
    assert "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert tests in ci.splitlines(), ".ci/run must run README's test command verbatim"


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]])
def test_ruff_clean(args):
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    result = subprocess.run([ruff, *args], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_worked_example_is_what_followup_prints(tmp_path):
    """The patient's log in README.md is real output, kept true by this test."""
    from tests.conftest import Cli

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = text.split("$ followup status P7 --as-of 2025-06-01\n", 1)[1].split("```", 1)[0]
    cli = Cli(str(tmp_path / "readme.db"))
    cli("patient", "add", "P7", "--name", "Maria Lopez", "--email", "maria@example.org")
    cli(
        "exam",
        "add",
        "P7",
        "--date",
        "2023-03-14",
        "--facility",
        "Lakeside Breast Center",
        "--category",
        "negative",
        "--kind",
        "screening",
    )
    cli(
        "exam",
        "add",
        "P7",
        "--date",
        "2025-05-20",
        "--facility",
        "Northside Imaging",
        "--category",
        "BI-RADS 3",
        "--laterality",
        "right",
        "--kind",
        "diagnostic",
        "--morphology",
        "punctate",
        "--distribution",
        "grouped",
    )
    assert cli("status", "P7", "--as-of", "2025-06-01").stdout == shown
