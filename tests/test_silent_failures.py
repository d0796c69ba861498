"""Issue 11 point 6: what used to fail silently fails loudly, through the CLI: a command that
only reads never creates a database; in-memory and empty database options are refused; a
facility filter must name a facility; films only move from where the patient was seen; an
import never lets a future exam in; ``followup --db X demo`` builds X."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import Cli, probably_benign_exam

READ_ONLY = [
    ["due"],
    ["due", "--format", "json"],
    ["flags"],
    ["stats"],
    ["status", "P1"],
    ["remind", "--dry-run"],
    ["export", "exams"],
    ["export", "plans"],
    ["export", "fhir", "P1"],
    ["patient", "list"],
    ["patient", "show", "P1"],
    ["exam", "list", "P1"],
    ["calendar", "P1"],
    ["recompute"],
    ["db", "current"],
    ["db", "backup", "copy.db"],
]


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_a_command_that_only_reads_never_creates_a_database(tmp_path: Path, command: list[str]):
    missing = tmp_path / "typo" / "clinic.db"
    args = [str(tmp_path / a) if a == "copy.db" else a for a in command]
    result = Cli(str(missing))(*args, code=1)
    assert result.stderr.startswith(f"Error: there is no database at {missing};")
    assert "followup --db" in result.stderr and "init`" in result.stderr
    assert not missing.exists() and not missing.parent.exists()


def test_remind_from_cron_with_a_mistyped_database_fails_loudly(tmp_path: Path):
    """The README's cron line sends stdout to /dev/null: only the exit status and stderr tell."""
    typo = tmp_path / "clinc.db"
    env = {**os.environ, "FOLLOWUP_DB": str(typo), "FOLLOWUP_POLICY": ""}
    result = subprocess.run(
        [sys.executable, "-m", "followup", "remind", "--transport", f"maildir:{tmp_path / 'md'}"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"there is no database at {typo}" in result.stderr
    assert not typo.exists()


def test_an_empty_existing_database_is_not_given_a_schema_by_a_read(tmp_path: Path):
    empty = tmp_path / "empty.db"
    empty.touch()
    result = Cli(str(empty))("due", code=1)
    assert "is empty (no followup schema)" in result.stderr and "followup init" in result.stderr
    assert empty.stat().st_size == 0
    Cli(str(empty))("init")
    Cli(str(empty))("due")


def test_a_command_that_writes_still_creates_it(tmp_path: Path):
    new = tmp_path / "new.db"
    Cli(str(new))("patient", "add", "P1")
    assert new.exists()


@pytest.mark.parametrize("url", ["", "sqlite://", "sqlite:///", "sqlite:///:memory:"])
def test_empty_and_in_memory_databases_are_refused(url: str):
    runner = CliRunner()
    from followup.cli import main

    env = {"FOLLOWUP_DB": "", "FOLLOWUP_POLICY": ""}
    for command in (["patient", "add", "P1"], ["due"]):
        result = runner.invoke(main, ["--db", url, *command], env=env)
        assert result.exit_code in (1, 2), result.output
        assert ("--db is empty" if url == "" else "is an in-memory database") in result.stderr
        assert "Added patient" not in result.stdout


def test_due_facility_must_be_a_known_one(cli: Cli):
    cli("patient", "add", "P1")
    probably_benign_exam(cli, "P1", "2025-01-31")
    cli("patient", "add", "P2")
    cli("exam", "add", "P2", "--date", "2025-02-01", "--facility", "Southside Clinic",
        "--category", "3")  # fmt: skip
    near = cli("due", "--facility", "Northside", "--as-of", "2025-07-01", code=1)
    assert (
        near.stderr
        == "Error: no facility is named 'Northside'; did you mean 'Northside Imaging'?\n"
    )
    typo = cli("due", "--facility", "Sothside Clinc", code=1)
    assert "did you mean 'Southside Clinic'" in typo.stderr
    far = cli("due", "--facility", "Elsewhere", code=1)
    assert "the known facilities are 'Northside Imaging', 'Southside Clinic'" in far.stderr
    rows = cli("due", "--facility", "northside  imaging", "--as-of", "2025-07-01",
               "--format", "json").stdout  # fmt: skip
    assert [r["patient_id"] for r in json.loads(rows)] == ["P1"]


def test_films_only_move_from_a_facility_the_patient_attended(cli: Cli):
    cli("patient", "add", "P1")
    probably_benign_exam(cli, "P1", "2025-01-31")
    cli("patient", "add", "P2")
    cli("exam", "add", "P2", "--date", "2024-01-10", "--facility", "Old Town Clinic",
        "--category", "2")  # fmt: skip
    result = cli("films", "transfer", "P1", "--from", "Old Town Clinic", "--to",
                 "Northside Imaging", code=1)  # fmt: skip
    assert result.stderr == (
        "Error: patient P1 has no exam at Old Town Clinic, so there are no films of hers to "
        "transfer from it; her facilities: 'Northside Imaging'\n"
    )
    status = json.loads(cli("status", "P1", "--format", "json").stdout)
    assert status["exams"][0]["facility"] == "Northside Imaging"


def test_import_as_of_in_the_future_lets_no_future_exam_in(cli: Cli, tmp_path: Path):
    path = tmp_path / "future.csv"
    path.write_text("patient_id,date,facility,category\nP1,2999-01-01,Northside,2\n")
    for command in (["import", "exams", str(path)], ["import", "fhir", str(path)]):
        result = cli(*command, "--as-of", "2999-12-31", code=2)
        assert "is after today" in result.stderr and "never dated in the future" in result.stderr
    cli("init")
    assert cli("patient", "list", "--format", "json").stdout == "[]\n"


def test_global_db_names_the_demo(tmp_path: Path):
    target = tmp_path / "elsewhere.db"
    env_db = tmp_path / "records.db"
    Cli(str(env_db))("patient", "add", "REAL")
    from followup.cli import main

    env = {"FOLLOWUP_DB": str(env_db), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    runner = CliRunner()
    result = runner.invoke(main, ["--db", str(target), "demo", "--patients", "5"], env=env)
    assert result.exit_code == 0, result.output
    assert target.exists() and f"in {target}" in result.stdout
    assert "REAL" in Cli(str(env_db))("patient", "list").stdout  # FOLLOWUP_DB: untouched
    default = runner.invoke(main, ["demo", "--patients", "5"], env=env)  # $FOLLOWUP_DB unused
    assert default.exit_code == 0, default.output
    assert (tmp_path / "xdg" / "followup" / "demo.db").exists()
    twice = runner.invoke(main, ["--db", str(target), "demo", "--db", str(env_db)], env=env)
    assert twice.exit_code == 2 and "--db is given twice" in twice.stderr
