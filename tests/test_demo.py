"""The newcomer's first command: a demo programme and its due report."""

from __future__ import annotations

import json
import os
import re
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from followup.cli import main
from tests.conftest import Cli

AS_OF = date(2026, 6, 1)


def run_demo(path: Path, *args: str):  # type: ignore[no-untyped-def]
    env = {"FOLLOWUP_DB": "", "FOLLOWUP_POLICY": ""}
    return CliRunner().invoke(main, ["demo", "--db", str(path), *args], env=env)


def test_demo_builds_a_private_file_and_prints_the_due_report(tmp_path: Path):
    path = tmp_path / "demo.db"
    result = run_demo(path, "--patients", "60", "--as-of", AS_OF.isoformat())
    assert result.exit_code == 0, result.output
    assert "OVERDUE" in result.stdout and "P00000" in result.stdout
    assert f"followup --db {path} status P" in result.stdout
    assert os.stat(path).st_mode & 0o777 == 0o600
    patients = Cli(str(path))("patient", "list", "--format", "json").stdout
    assert patients.count('"patient_id"') == 60


def test_demo_runs_again_and_refuses_a_real_database(tmp_path: Path):
    path = tmp_path / "demo.db"
    assert run_demo(path, "--patients", "5").exit_code == 0
    assert run_demo(path, "--patients", "7").exit_code == 0
    assert Cli(str(path))("patient", "list", "--format", "json").stdout.count("patient_id") == 7
    real = tmp_path / "followup.db"
    Cli(str(real))("patient", "add", "P1")
    refused = run_demo(real)
    assert refused.exit_code == 1
    assert "not a followup demo database" in refused.stderr
    assert "P1" in Cli(str(real))("patient", "list").stdout


def test_the_demo_hints_at_its_audit_whose_figures_are_plausible(tmp_path: Path):
    """Issue 15 point 5: the printed audit command reads the latest year whose windows have
    ended, and a demo of 5,000 patients (BCSC-like rates) has every figure in its range."""
    path = tmp_path / "demo.db"
    out = run_demo(path, "--patients", "5000", "--as-of", AS_OF.isoformat()).stdout
    [hint] = [line for line in out.splitlines() if " audit --from " in line]
    assert hint.startswith(f"  followup --db {path} audit --from 2024-06-02 --to 2025-06-01")
    assert "too few cancers" not in out
    args = hint.split("#")[0].split()[3:]
    shown = json.loads(
        Cli(str(path))(*args, "--as-of", AS_OF.isoformat(), "--format", "json").stdout
    )
    [total] = shown["groups"]
    assert total["screening_exams"] > 3000 and total["cancers"] > 10
    assert total["outside_range"] == [] and total["open_outcomes"] < total["screening_exams"] / 50
    assert 0.08 < total["recall_rate"] < 0.14 and 3 < total["cancer_detection_per_1000"] < 8
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    shown = readme.split(f"$ followup audit --from 2024-06-02 --to 2025-06-01 --as-of {AS_OF}\n")
    table = shown[1].split("...\n", 1)[1].split("$ followup", 1)[0]  # README's, kept true
    assert table in Cli(str(path))(*args, "--as-of", AS_OF.isoformat()).stdout
    small = run_demo(tmp_path / "small.db", "--patients", "60", "--as-of", AS_OF.isoformat())
    assert "60 patients have too few cancers" in small.stdout


def test_demo_shows_the_pathway_and_writes_its_letters_beside_the_database(tmp_path: Path):
    """Issue 14 point 9: some patients contacted, scheduled, closed; the letters due today
    produced into demo-letters.pdf beside the demo, as a real `letters` run (recorded)."""
    path = tmp_path / "demo.db"
    result = run_demo(path, "--patients", "400", "--as-of", AS_OF.isoformat())
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stdout.splitlines() if x.startswith("Pathway: "))
    called, scheduled, closed = (int(n) for n in re.findall(r"\d+", line))
    assert called > 0 and scheduled > 0 and closed > 0
    letters = tmp_path / "demo-letters.pdf"
    assert f"written to {letters}" in result.stdout
    assert os.stat(letters).st_mode & 0o777 == 0o600
    from pypdf import PdfReader

    pages = len(PdfReader(letters).pages)
    assert pages > 10
    cli = Cli(str(path))
    shown = json.loads(cli("letters", "--dry-run", "--format", "json", "--as-of",
                           AS_OF.isoformat()).stdout)  # fmt: skip
    assert all(row["problem"] for row in shown)  # what is left lacks an address
    assert "letters --dry-run" in result.stdout
