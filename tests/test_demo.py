"""The newcomer's first command: a demo programme and its due report."""

from __future__ import annotations

import os
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
