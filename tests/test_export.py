"""``followup export exams|plans``: streamed CSV/JSON, spreadsheet-safe, re-importable."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from tests.conftest import Cli

EXAM_HEADER = (
    "patient_id,name,email,phone,birth_date,date,facility,kind,category,laterality,"
    "morphology,distribution,size_class,follow_up_months,note,subdivision,imaged,density,"
    "radiologist"
)
AS_OF = "2025-06-01"


def exam(cli: Cli, patient: str, day: str, facility: str, *extra: str) -> None:
    cli("exam", "add", patient, "--date", day, "--facility", facility, *extra)


@pytest.fixture
def records(cli: Cli) -> Cli:
    """P1: two exams, the second with two findings; P2: one exam, a formula-like note."""
    cli("patient", "add", "P1", "--name", "Ana", "--email", "ana@example.org")
    exam(
        cli,
        "P1",
        "2024-07-30",
        "Northside Imaging",
        "--category",
        "3",
        "--laterality",
        "left",
        "--kind",
        "diagnostic",
        "--morphology",
        "punctate",
        "--distribution",
        "grouped",
    )
    exam(
        cli,
        "P1",
        "2025-01-31",
        "Northside Imaging",
        "--category",
        "3",
        "--laterality",
        "left",
        "--category",
        "benign",
        "--laterality",
        "right",
        "--morphology",
        "round",
        "--morphology",
        "vascular",
        "--follow-up-months",
        "6",
        "--note",
        "compare, 2024",
    )
    cli("patient", "add", "P2", "--name", "Bea", "--birth-date", "1961-02-03")
    exam(
        cli,
        "P2",
        "2025-03-01",
        "Southside Clinic",
        "--category",
        "4a",
        "--note",
        '=HYPERLINK("http://x")',
    )
    return cli


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_exams_csv_one_row_per_finding_and_safe(records: Cli):
    out = records("export", "exams").stdout  # csv is the default
    assert out.splitlines()[0] == EXAM_HEADER
    rows = _csv(out)
    assert [(r["patient_id"], r["date"], r["category"], r["laterality"]) for r in rows] == [
        ("P1", "2024-07-30", "probably-benign", "left"),
        ("P1", "2025-01-31", "probably-benign", "left"),
        ("P1", "2025-01-31", "benign", "right"),
        ("P2", "2025-03-01", "suspicious", ""),
    ]
    assert rows[0]["morphology"] == "punctate" and rows[0]["distribution"] == "grouped"
    assert rows[2]["morphology"] == "vascular"
    assert rows[1]["follow_up_months"] == "6" and rows[2]["note"] == "compare, 2024"
    assert rows[3]["note"] == '\'=HYPERLINK("http://x")'  # a formula cell is neutralised
    assert rows[3]["birth_date"] == "1961-02-03"


def test_exams_json_keeps_types(records: Cli):
    rows = json.loads(records("export", "exams", "--format", "json").stdout)
    assert len(rows) == 4
    assert rows[1]["follow_up_months"] == 6 and rows[0]["follow_up_months"] is None
    assert rows[3]["note"] == '=HYPERLINK("http://x")'  # JSON is not a spreadsheet
    assert rows[0]["email"] == "ana@example.org"


def test_exported_exams_import_back_unchanged(records: Cli, tmp_path: Path):
    """The CSV re-imports with `import exams` defaults: same exams, same plans."""
    target = tmp_path / "exams.csv"
    records("export", "exams", "-o", str(target))
    fresh = Cli(str(tmp_path / "fresh.db"))
    fresh("import", "exams", str(target), "--as-of", AS_OF)
    original = _csv(target.read_text(encoding="utf-8"))
    again = _csv(fresh("export", "exams").stdout)
    # P2's note was neutralised on the way out; every other cell survives exactly.
    assert again[:3] == original[:3]
    for patient in ("P1", "P2"):
        before = json.loads(records("status", patient, "--as-of", AS_OF, "--format", "json").stdout)
        after = json.loads(fresh("status", patient, "--as-of", AS_OF, "--format", "json").stdout)
        assert after["next"] == before["next"]
        assert after["flags"] == before["flags"]


def test_plans_csv_and_json(records: Cli):
    rows = _csv(records("export", "plans", "--format", "csv").stdout)
    assert list(rows[0]) == [
        "patient_id",
        "name",
        "action",
        "due",
        "laterality",
        "facility",
        "category",
        "reason",
        "exam_date",
        "flags",
        "also",
    ]
    p1, p2 = rows
    assert (p1["action"], p1["due"], p1["laterality"]) == (
        "short-interval-follow-up",
        "2025-07-31",
        "bilateral",
    )
    assert p2["action"] == "biopsy" and p2["category"] == "suspicious"
    assert "biopsy-recommended" in p2["flags"].split()
    data = json.loads(records("export", "plans", "--format", "json").stdout)
    assert data[1]["flags"] == p2["flags"].split()  # JSON: a list of codes
    assert data[0]["facility"] == "Northside Imaging" and data[0]["exam_date"] == "2025-01-31"


def test_output_file_is_private(records: Cli, tmp_path: Path):
    target = tmp_path / "plans.json"
    target.write_text("old", encoding="utf-8")
    os.chmod(target, 0o644)
    refused = records("export", "plans", "--format", "json", "-o", str(target), code=1)
    assert "already exists; add --force" in refused.stderr
    assert target.read_text(encoding="utf-8") == "old"
    records("export", "plans", "--format", "json", "-o", str(target), "--force")
    assert os.stat(target).st_mode & 0o777 == 0o600
    assert len(json.loads(target.read_text(encoding="utf-8"))) == 2


@pytest.mark.parametrize("what", ["exams", "plans"])
def test_empty_database(cli: Cli, what: str):
    cli("init")
    assert cli("export", what, "--format", "json").stdout == "[]\n"
    assert cli("export", what).stdout.count("\n") == 1  # the header only


def test_format_must_be_csv_or_json(cli: Cli):
    result = cli("export", "exams", "--format", "table", code=2)
    assert "'table' is not one of" in result.stderr
