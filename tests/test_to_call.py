"""The lists a coordinator works from (issue 14 point 3): ``due --to-call`` in the order of
clinical-rules.md §7, ``due --upcoming``, and the CSV of both, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.conftest import Cli

AS_OF = "2025-06-01"


def exam(cli: Cli, patient: str, day: str, category: str, facility: str = "Northside Imaging"):
    cli("exam", "add", patient, "--date", day, "--facility", facility, "--category", category,
        "--laterality", "left", "--kind", "diagnostic")  # fmt: skip


@pytest.fixture
def worklist(cli: Cli) -> Cli:
    """Overdue on 2025-06-01, with their actions and due dates:

    R1 routine-screening due 2025-05-20 (12 days)   B1 biopsy due 2025-04-01 (61 days)
    R2 routine-screening due 2025-03-01 (92 days)   B2 biopsy due 2025-05-15 (17 days)
    S1 short-interval due 2025-05-25 (7 days)       U1 routine due 2025-06-20 (upcoming)
    """
    for patient, day, category in (
        ("R1", "2024-05-20", "benign"),
        ("R2", "2024-03-01", "negative"),
        ("B1", "2025-03-02", "4a"),
        ("B2", "2025-04-15", "5"),
        ("S1", "2024-11-25", "3"),
        ("U1", "2024-06-20", "benign"),
    ):
        cli("patient", "add", patient, "--phone", f"+1 555 01{len(patient)}{patient[-1]}")
        exam(cli, patient, day, category)
    return cli


def ids(cli: Cli, *args: str, as_of: str = AS_OF) -> list[str]:
    out = cli("due", "--as-of", as_of, "--format", "json", *args).stdout
    return [row["patient_id"] for row in json.loads(out)]


def test_to_call_biopsy_type_first_then_most_recently_overdue(worklist: Cli):
    assert ids(worklist, "--to-call") == ["B2", "B1", "S1", "R1", "R2"]
    assert ids(worklist) == ["R2", "B1", "B2", "R1", "S1", "U1"]  # the due report: by due date


def test_called_lately_left_out_for_recontact_days_letters_do_not_count(worklist: Cli):
    worklist("contact", "B2", "--outcome", "no-answer", "--date", "2025-05-19")  # 13 days ago
    worklist("contact", "B1", "--outcome", "wrong-number", "--date", "2025-05-18")  # 14 days
    worklist("contact", "R1", "--outcome", "letter-sent", "--date", "2025-05-31")
    assert ids(worklist, "--to-call") == ["B1", "S1", "R1", "R2"]
    assert "B2" in ids(worklist)  # still in the due report, with its last contact


def test_recontact_days_is_the_clinics_policy(worklist: Cli, tmp_path: Path):
    worklist("contact", "B2", "--outcome", "no-answer", "--date", "2025-05-27")  # 5 days ago
    policy = tmp_path / "clinic.toml"
    policy.write_text("[policy]\nrecontact_days = 5\n", encoding="utf-8")
    worklist("policy", "set", str(policy))
    assert "recontact_days = 5" in worklist("policy", "show").stdout
    assert ids(worklist, "--to-call")[0] == "B2"
    policy.write_text("[policy]\nrecontact_days = 0\n", encoding="utf-8")
    refused = worklist("policy", "set", str(policy), code=1).stderr
    assert "'recontact_days' must be a whole number of days from 1 to 365" in refused


def test_to_call_leaves_out_scheduled_and_closed_keeps_missed(worklist: Cli):
    worklist("contact", "B1", "--outcome", "scheduled", "--date", "2025-05-01",
             "--appointment", "2025-06-05")  # fmt: skip
    worklist("patient", "close", "R2", "--reason", "declined", "--date", "2025-05-01")
    assert ids(worklist, "--to-call") == ["B2", "S1", "R1"]
    assert ids(worklist, "--to-call", as_of="2025-06-13") == ["B2", "B1", "S1", "R1"]  # missed


def test_upcoming_and_facility(worklist: Cli):
    assert ids(worklist, "--upcoming") == ["U1"]
    assert ids(worklist, "--upcoming", "--within", "10") == []
    exam(worklist, "R1", "2025-05-30", "benign", facility="Southside")  # R1 is not due now
    assert "R1" not in ids(worklist, "--to-call")
    assert ids(worklist, "--to-call", "--facility", "northside  IMAGING") == [
        "B2",
        "B1",
        "S1",
        "R2",
    ]
    assert (
        "did you mean 'Northside Imaging'"
        in worklist("due", "--to-call", "--facility", "Northside", code=1).stderr
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--overdue", "--upcoming"), "exclude each other"),
        (("--to-call", "--upcoming"), "overdue patients only"),
        (("--to-call", "--closed"), "closed ones are never called"),
    ],
)
def test_contradictory_options_are_usage_errors(cli: Cli, args, message):
    assert message in cli("due", *args, code=2).stderr


@pytest.mark.parametrize("mode", [(), ("--to-call",), ("--closed",)])
def test_due_csv_has_the_generic_writers_cells(worklist: Cli, mode):
    """The CSV writer puts its lines together itself; they are the generic writer's, typed
    cells that need neutralising (a phone starting with +) or quotes included."""
    from followup.cli.output import write_csv
    from followup.store.reports import DUE_COLUMNS

    worklist("patient", "edit", "S1", "--email", "s1@example.org", "--name", 'Doe, "Jo"')
    worklist("contact", "S1", "--outcome", "reached", "--date", "2025-05-01")
    worklist("patient", "close", "R2", "--reason", "moved-away", "--date", "2025-05-01")
    args = ("due", "--as-of", AS_OF, *mode)
    rows = json.loads(worklist(*args, "--format", "json").stdout)
    expected = io.StringIO()
    write_csv(rows, DUE_COLUMNS, expected)
    out = worklist(*args, "--format", "csv").stdout
    assert out == expected.getvalue()
    parsed = list(csv.DictReader(io.StringIO(out)))
    assert parsed[0]["phone"].startswith("'+1 555")
    assert ("R2" in [r["patient_id"] for r in parsed]) == (mode == ("--closed",))


def test_table_shows_phone_and_pathway(worklist: Cli):
    worklist("contact", "B1", "--outcome", "scheduled", "--date", "2025-05-01",
             "--appointment", "2025-06-05")  # fmt: skip
    table = worklist("due", "--as-of", AS_OF).stdout
    header, *lines = table.splitlines()
    assert header.split()[:5] == ["OVERDUE", "DUE", "PATIENT", "NAME", "PHONE"]
    b1 = next(line for line in lines if " B1 " in line)
    assert "scheduled 2025-06-05" in b1 and "2025-05-01" in b1 and "+1 555 0121" in b1
