"""The due and flags reports on SQLite and PostgreSQL, through the CLI (stats and recompute:
test_stats.py, test_recompute.py)."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from tests.conftest import Cli

# as of 2025-06-01: P1 due 2025-07-31 (60 days), P2 due 2025-06-15 (14 days),
# P3 due 2025-05-02 (30 days overdue), P4 due 2025-07-01 (exactly +30), P5 treatment.
AS_OF = "2025-06-01"


def exam(cli: Cli, patient: str, day: str, facility: str, category: str, *extra: str) -> None:
    cli(
        "exam",
        "add",
        patient,
        "--date",
        day,
        "--facility",
        facility,
        "--category",
        category,
        *extra,
    )


@pytest.fixture
def programme(cli: Cli) -> Cli:
    cli("patient", "add", "P1", "--name", "Ana")
    exam(
        cli,
        "P1",
        "2025-01-31",
        "Northside Imaging",
        "3",
        "--laterality",
        "left",
        "--kind",
        "diagnostic",
    )
    cli("patient", "add", "P2", "--name", '=HYPERLINK("http://x")')
    exam(cli, "P2", "2025-05-16", "Southside Clinic", "0")
    cli("patient", "add", "P3", "--name", "+1 Bea")
    exam(cli, "P3", "2025-04-02", "Northside Imaging", "4a", "--laterality", "right")
    cli("patient", "add", "P4", "--name", "Cy")
    exam(cli, "P4", "2024-07-01", "northside  IMAGING", "benign")
    cli("patient", "add", "P5", "--name", "Di")
    exam(cli, "P5", "2025-01-10", "Southside Clinic", "6")
    return cli


def due_json(cli: Cli, *args: str) -> list[dict]:
    return json.loads(cli("due", "--as-of", AS_OF, "--format", "json", *args).stdout)


def test_due_window_sort_and_fields(programme: Cli):
    rows = due_json(programme)
    assert [r["patient_id"] for r in rows] == ["P3", "P2", "P4"]  # by due date
    assert rows[0] == {
        "patient_id": "P3",
        "name": "+1 Bea",
        "due": "2025-05-02",
        "action": "biopsy",
        "laterality": "right",
        "facility": "Northside Imaging",
        "overdue": True,
        "days_overdue": 30,
        "flags": ["short-comparison-history", "overdue", "biopsy-recommended"],
        "phone": None,
        "email": None,
        "state": "open",
        "appointment": None,
        "last_contact": None,
        # the other breast's step: nothing hides behind the earlier date (issue 13)
        "also": {"side": "left", "action": "routine-screening", "due": "2026-04-02"},
    }
    assert rows[2]["due"] == "2025-07-01"  # as-of + 30 days is included
    assert [r["patient_id"] for r in due_json(programme, "--within", "29")] == ["P3", "P2"]
    assert [r["patient_id"] for r in due_json(programme, "--within", "60")][-1] == "P1"


def test_due_overdue_only_and_facility(programme: Cli):
    assert [r["patient_id"] for r in due_json(programme, "--overdue")] == ["P3"]
    rows = due_json(programme, "--facility", "NORTHSIDE imaging", "--within", "365")
    assert [r["patient_id"] for r in rows] == ["P3", "P4", "P1"]


def test_due_same_day_sorted_by_patient_id(cli: Cli):
    for patient in ("B2", "A1"):
        cli("patient", "add", patient)
        exam(cli, patient, "2025-01-01", "N", "benign")
    assert [r["patient_id"] for r in due_json(cli, "--within", "365")] == ["A1", "B2"]


def test_due_csv_is_spreadsheet_safe(programme: Cli):
    out = programme("due", "--as-of", AS_OF, "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == [
        "patient_id",
        "name",
        "due",
        "action",
        "laterality",
        "facility",
        "overdue",
        "days_overdue",
        "flags",
        "phone",
        "email",
        "state",
        "appointment",
        "last_contact",
        "also",
    ]
    by_id = {r["patient_id"]: r for r in rows}
    assert by_id["P2"]["name"] == '\'=HYPERLINK("http://x")'
    assert by_id["P3"]["name"] == "'+1 Bea"
    assert by_id["P3"]["days_overdue"] == "30"  # a number stays a number
    assert by_id["P3"]["overdue"] == "true"


def test_due_csv_has_the_generic_writers_cells(programme: Cli):
    """The due CSV puts its lines together itself, for speed; they are the generic writer's,
    typed text needing quotes or neutralising and a patient without a name included."""
    from followup.cli.output import write_csv
    from followup.store.reports import DUE_COLUMNS

    programme("patient", "add", "P6", "--name", 'Doe, "Jo" Smith')
    exam(programme, "P6", "2025-05-01", "-Evil, Inc", "0")
    programme("patient", "add", "P7")
    exam(programme, "P7", "2025-05-02", "@home", "0")
    rows = json.loads(programme("due", "--as-of", AS_OF, "--format", "json").stdout)
    expected = io.StringIO()
    write_csv(rows, DUE_COLUMNS, expected)
    assert len(rows) == 5
    assert programme("due", "--as-of", AS_OF, "--format", "csv").stdout == expected.getvalue()


def test_due_table_marks_overdue_rows(programme: Cli):
    lines = programme("due", "--as-of", AS_OF).stdout.splitlines()
    assert lines[0].split()[:3] == ["OVERDUE", "DUE", "PATIENT"]
    assert lines[1].startswith("! 30 days  ")
    assert lines[1].endswith(  # overdue: left, with the other breast's step
        "short-comparison-history biopsy-recommended         left routine-screening 2026-04-02"
    )
    assert not lines[2].startswith("!")
    # P3 due 2025-05-02: 91 days overdue on 2025-08-01, so lost to follow-up.
    assert "! 91 days lost  2025-05-02" in programme("due", "--as-of", "2025-08-01").stdout


def test_table_cut_to_a_terminal_width():
    from followup.present.tables import write_table

    out = io.StringIO()
    rows = [{"a": "x" * 10, "b": "y" * 50}, {"a": "z", "b": "w"}]
    write_table(rows, ("a", "b"), out, width=30)
    assert [len(line) for line in out.getvalue().splitlines()] == [13, 30, 13]


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("json", "[]\n"),
        (
            "csv",
            "patient_id,name,due,action,laterality,facility,overdue,days_overdue,flags,phone,"
            "email,state,appointment,last_contact,also\n",
        ),
    ],
)
def test_empty_due_report(cli: Cli, fmt: str, expected: str):
    cli("init")
    assert cli("due", "--format", fmt).stdout == expected


def test_empty_due_table(cli: Cli):
    cli("init")
    out = cli("due").stdout
    assert "OVERDUE" in out and "nothing to show" in out


def test_due_output_file_is_private(programme: Cli, tmp_path: Path):
    target = tmp_path / "due.csv"
    programme("due", "--as-of", AS_OF, "--format", "csv", "-o", str(target))
    assert os.stat(target).st_mode & 0o777 == 0o600
    assert target.read_text(encoding="utf-8").count("\n") == 4


def test_flags_report_and_dated_flags(programme: Cli):
    def flags(as_of: str, *args: str) -> list[tuple[str, str]]:
        out = programme("flags", "--as-of", as_of, "--format", "json", *args).stdout
        return [(r["patient_id"], r["code"]) for r in json.loads(out)]

    assert ("P3", "biopsy-recommended") in flags(AS_OF)
    assert ("P2", "additional-imaging-needed") in flags(AS_OF)
    assert flags(AS_OF, "--code", "overdue") == [("P3", "overdue")]
    # P3 due 2025-05-02: 90 days overdue on 2025-07-31, 91 on 2025-08-01.
    assert ("P3", "lost-to-follow-up") not in flags("2025-07-31", "--code", "lost-to-follow-up")
    assert ("P3", "lost-to-follow-up") in flags("2025-08-01", "--code", "lost-to-follow-up")
    rows = json.loads(programme("flags", "--as-of", AS_OF, "--format", "json").stdout)
    assert all(r["message"] for r in rows)
    assert "second opinion" in next(r for r in rows if r["code"] == "biopsy-recommended")["message"]


def test_flags_report_says_what_status_says(programme: Cli):
    """The same flags as `status`, dated ones (whose message names the action: P3 is an
    overdue biopsy) included, each in its reader's voice (clinical-rules.md §6): the report
    speaks to staff, `status` to the patient."""
    for as_of in (AS_OF, "2025-08-01"):
        report = json.loads(programme("flags", "--as-of", as_of, "--format", "json").stdout)
        for patient in ("P1", "P2", "P3"):
            status = json.loads(
                programme("status", patient, "--as-of", as_of, "--format", "json").stdout
            )
            assert [r["code"] for r in report if r["patient_id"] == patient] == [
                f["code"] for f in status["flags"]
            ]
    overdue = next(r for r in report if r["patient_id"] == "P3" and r["code"] == "overdue")
    assert "biopsy" in overdue["message"] and "book the biopsy now" in overdue["message"]
    status = json.loads(programme("status", "P3", "--as-of", as_of, "--format", "json").stdout)
    theirs = {f["code"]: f["message"] for f in status["flags"]}
    assert theirs["overdue"].startswith("Your follow-up was due on")
    assert overdue["message"].startswith("The follow-up due on")


def test_flags_unknown_code_is_usage_error(cli: Cli):
    assert "short-comparison-history" in cli("flags", "--code", "nope", code=2).stderr


def test_due_query_is_a_range_scan_of_the_due_index(db_url: str):
    """The plan of the due query reads ix_plans_due (PostgreSQL: when it cannot scan the table,
    as a tiny test table would tempt it to; on a big one it picks by selectivity)."""
    from datetime import date

    from sqlalchemy import text

    from followup.store.database import open_database
    from followup.store.reports import DueQuery, due_select

    database = open_database(db_url)
    try:
        with database.transaction(write=False) as session:
            sqlite = session.get_bind().dialect.name == "sqlite"
            stmt = due_select(DueQuery(date(2025, 6, 1)), sqlite)
            compiled = stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
            if sqlite:
                plan = session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
            else:
                session.execute(text("SET LOCAL enable_seqscan = off"))
                plan = session.execute(text(f"EXPLAIN {compiled}")).all()
    finally:
        database.close()
    assert "ix_plans_due" in " ".join(str(step[-1]) for step in plan)
