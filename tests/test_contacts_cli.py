"""The pathway through the CLI (issue 14 points 1-2, clinical-rules.md §7), on SQLite and
PostgreSQL: contacts, appointments, closing and reopening, and what each does to the status
page, the due and flags reports, and reminders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Cli, probably_benign_exam

AS_OF = "2025-09-01"  # P1's short-interval follow-up was due 2025-07-31: 32 days overdue


@pytest.fixture
def p1(cli: Cli) -> Cli:
    cli("patient", "add", "P1", "--name", "Ana", "--email", "ana@example.org",
        "--phone", "+1 555 0100")  # fmt: skip
    probably_benign_exam(cli, "P1", "2025-01-31")
    return cli


def status(cli: Cli, as_of: str = AS_OF, patient: str = "P1") -> dict:
    return json.loads(cli("status", patient, "--as-of", as_of, "--format", "json").stdout)


def due(cli: Cli, *args: str, as_of: str = AS_OF) -> list[dict]:
    return json.loads(cli("due", "--as-of", as_of, "--format", "json", *args).stdout)


def codes(cli: Cli, as_of: str = AS_OF) -> list[str]:
    return [f["code"] for f in status(cli, as_of)["flags"]]


def contacts(cli: Cli, patient: str = "P1") -> list[dict]:
    return json.loads(cli("contact", "list", patient, "--format", "json").stdout)


def test_a_contact_is_recorded_listed_and_audited(p1: Cli):
    out = p1("contact", "P1", "--outcome", "No answer", "--date", "2025-08-20",
             "--note", "try evenings").stdout  # fmt: skip
    assert out == "Recorded contact 1 with patient P1: no-answer.\n"
    env_cli = Cli(p1.url, env={"FOLLOWUP_USER": "coordinator-7"})
    env_cli("contact", "add", "P1", "--outcome", "left-message", "--date", "2025-08-25")
    (first, second) = contacts(p1)
    assert (first["date"], first["outcome"], first["note"]) == ("2025-08-20", "no-answer",
                                                               "try evenings")  # fmt: skip
    assert second["recorded_by"] == "coordinator-7" and second["recorded_at"]
    assert "no contact recorded" not in p1("contact", "list", "P1").stdout
    log = json.loads(p1("audit-log", "P1", "--format", "json").stdout)
    assert [e["action"] for e in log] == ["exam.add", "contact.add", "contact.add"]
    assert log[2]["by"] == "coordinator-7" and log[2]["after"]["outcome"] == "left-message"
    assert status(p1)["tracking"] == {
        "state": "open",
        "appointment": None,
        "appointment_facility": None,
        "reason": None,
        "closed_on": None,
        "last_contact": {"date": "2025-08-25", "outcome": "left-message"},
    }
    (row,) = due(p1)
    assert (row["state"], row["last_contact"], row["phone"], row["email"]) == (
        "open",
        "2025-08-25",
        "+1 555 0100",
        "ana@example.org",
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--outcome", "maybe"), 2, "use one of reached, no-answer, left-message, letter-sent"),
        (("--outcome", "scheduled"), 2, "--outcome scheduled needs --appointment"),
        (("--outcome", "reached", "--at", "Northside"), 2, "--at goes with --appointment"),
        (("--outcome", "reached", "--appointment", "2025-09-10"), 2, "goes with --outcome sched"),
        (("--outcome", "reached", "--date", "2999-01-01"), 1, "in the future"),
        (
            ("--outcome", "scheduled", "--date", "2025-08-20", "--appointment", "2025-08-19"),
            1,
            "before the contact that made it",
        ),
        (("--outcome", "reached", "--note", "a\x1bb"), 1, "control character"),
    ],
)
def test_wrong_contacts_are_refused_and_nothing_is_written(p1: Cli, args, code, message):
    result = p1("contact", "P1", *args, code=code)
    assert message in result.stderr and "Traceback" not in result.output
    assert contacts(p1) == []


def test_an_unknown_patient_names_patient_add(cli: Cli):
    cli("init")
    assert "followup patient add NOPE" in cli("contact", "NOPE", "--outcome", "reached",
                                              code=1).stderr  # fmt: skip


def test_scheduled_stays_in_due_leaves_to_call_then_missed_puts_her_back(p1: Cli):
    p1("contact", "P1", "--outcome", "scheduled", "--date", "2025-08-20",
       "--appointment", "2025-09-05", "--at", "northside imaging")  # fmt: skip
    (row,) = due(p1)
    assert (row["state"], row["appointment"], row["overdue"]) == ("scheduled", "2025-09-05", True)
    assert due(p1, "--to-call") == []
    assert status(p1)["tracking"]["appointment_facility"] == "Northside Imaging"
    assert (
        "Scheduled: appointment 2025-09-05 at Northside Imaging (in 4 days)"
        in p1("status", "P1", "--as-of", AS_OF).stdout
    )
    # 7 grace days after the appointment she is still scheduled; the 8th, missed
    assert "missed-appointment" not in codes(p1, "2025-09-12")
    assert [r["patient_id"] for r in due(p1, "--to-call", as_of="2025-09-12")] == []
    assert "missed-appointment" in codes(p1, "2025-09-13")
    (row,) = due(p1, as_of="2025-09-13")
    assert row["state"] == "open" and "missed-appointment" in row["flags"]
    assert [r["patient_id"] for r in due(p1, "--to-call", as_of="2025-09-13")] == ["P1"]
    flagged = json.loads(p1("flags", "--as-of", "2025-09-13", "--code", "missed-appointment",
                            "--format", "json").stdout)  # fmt: skip
    assert [(f["patient_id"], f["code"]) for f in flagged] == [("P1", "missed-appointment")]
    assert "2025-09-05" in flagged[0]["message"]
    assert "missed 2025-09-05" in p1("due", "--as-of", "2025-09-13").stdout


def test_an_exam_after_the_call_answers_the_appointment(p1: Cli):
    p1("contact", "P1", "--outcome", "scheduled", "--date", "2025-08-20",
       "--appointment", "2025-09-05")  # fmt: skip
    probably_benign_exam(p1, "P1", "2025-09-04")  # a day early
    assert status(p1, "2025-10-01")["tracking"]["appointment"] is None
    assert "missed-appointment" not in codes(p1, "2025-10-01")


def test_closing_leaves_the_reports_and_reopening_brings_her_back(p1: Cli):
    out = p1("patient", "close", "P1", "--reason", "moved away", "--date", "2025-08-30",
             "--note", "to Porto").stdout  # fmt: skip
    assert out == "Closed the tracking of patient P1: moved-away.\n"
    assert due(p1) == [] and due(p1, "--overdue") == []
    assert json.loads(p1("flags", "--as-of", AS_OF, "--format", "json").stdout) == []
    (row,) = due(p1, "--closed")
    assert (row["state"], row["patient_id"]) == ("closed", "P1")
    assert json.loads(p1("flags", "--as-of", AS_OF, "--closed", "--format", "json").stdout)
    tracking = status(p1)["tracking"]
    assert (tracking["state"], tracking["reason"], tracking["closed_on"]) == (
        "closed",
        "moved-away",
        "2025-08-30",
    )
    assert "Closed on 2025-08-30: she moved away" in p1("status", "P1", "--as-of", AS_OF).stdout
    again = p1("patient", "close", "P1", "--reason", "moved-away", code=1).stderr
    assert "already closed (moved-away on 2025-08-30)" in again
    assert "Reopened" in p1("patient", "reopen", "P1", "--date", "2025-08-31").stdout
    assert [r["patient_id"] for r in due(p1)] == ["P1"]
    assert "nothing to reopen" in p1("patient", "reopen", "P1", code=1).stderr
    actions = [e["action"] for e in json.loads(p1("audit-log", "P1", "--format", "json").stdout)]
    assert actions[1:] == ["patient.close", "patient.reopen"]
    assert [c["outcome"] for c in contacts(p1)] == ["moved-away", "reopened"]


def test_a_closing_outcome_closes_and_a_later_exam_reopens(p1: Cli):
    out = p1("contact", "P1", "--outcome", "care-elsewhere", "--date", "2025-08-30").stdout
    assert out.endswith("(tracking closed).\n")
    assert status(p1)["tracking"]["state"] == "closed"
    result = p1("exam", "add", "P1", "--date", "2025-08-31", "--facility", "Northside Imaging",
                "--category", "benign")  # fmt: skip
    assert "tracking is open again" in result.stderr
    assert status(p1)["tracking"]["state"] == "open"


def test_an_exam_entered_after_the_closing_reopens_whatever_its_date(p1: Cli):
    """§7 "any new exam reopens", and the failsafe duty: a highly suspicious result dated
    before the closing but typed in after it must not leave her hidden from every report."""
    p1("patient", "close", "P1", "--reason", "moved-away", "--date", "2025-08-30")
    result = p1("exam", "add", "P1", "--date", "2025-08-29", "--facility", "Southside",
                "--category", "5", "--kind", "diagnostic")  # fmt: skip
    assert "tracking is open again: an exam or biopsy was recorded after it was closed" in (
        result.stderr
    )
    assert status(p1)["tracking"]["state"] == "open"
    assert [r["patient_id"] for r in due(p1)] == ["P1"]
    assert [c["outcome"] for c in contacts(p1)] == ["moved-away", "reopened"]
    log = json.loads(p1("audit-log", "P1", "--format", "json").stdout)
    assert log[-1]["action"] == "patient.reopen" and "recorded after" in log[-1]["after"]["note"]


def test_an_edit_of_an_exam_entered_before_the_closing_keeps_it_closed(p1: Cli):
    p1("patient", "close", "P1", "--reason", "declined", "--date", "2025-08-30")
    p1("exam", "edit", "1", "--note", "films at Southside")
    assert status(p1)["tracking"]["state"] == "closed"
    assert [c["outcome"] for c in contacts(p1)] == ["declined"]


def test_a_biopsy_entered_after_the_closing_reopens(p1: Cli):
    p1("patient", "close", "P1", "--reason", "care-elsewhere", "--date", "2025-08-30")
    p1("biopsy", "add", "P1", "--date", "2025-08-20", "--side", "left", "--result", "benign",
       "--concordant")  # fmt: skip
    assert status(p1)["tracking"]["state"] == "open"


def test_a_closing_dated_before_her_latest_exam_is_refused(p1: Cli):
    result = p1("patient", "close", "P1", "--reason", "declined", "--date", "2025-01-30", code=1)
    assert "exam dated 2025-01-31" in result.stderr and "--date" in result.stderr
    assert contacts(p1) == []  # rolled back


def test_an_appointment_for_a_closed_patient_is_refused_until_reopened(p1: Cli):
    p1("patient", "close", "P1", "--reason", "declined", "--date", "2025-08-01")
    result = p1("contact", "P1", "--outcome", "scheduled", "--appointment", "2999-01-01",
                code=1)  # fmt: skip
    assert "followup patient reopen P1" in result.stderr
    kept = p1("contact", "P1", "--outcome", "reached", "--date", "2025-08-02")
    assert "stays closed" in kept.stderr
    assert status(p1)["tracking"]["state"] == "closed"


def test_deceased_turns_reminders_off_for_good(p1: Cli):
    p1("patient", "close", "P1", "--reason", "deceased", "--date", "2025-08-30")
    assert json.loads(p1("patient", "show", "P1", "--format", "json").stdout)["reminders"] is False
    p1("patient", "reopen", "P1", "--date", "2025-08-31")
    refused = p1("patient", "edit", "P1", "--reminders", code=1).stderr
    assert "deceased (2025-08-30)" in refused and "for good" in refused
    assert json.loads(p1("patient", "show", "P1", "--format", "json").stdout)["reminders"] is False
    p1("patient", "edit", "P1", "--phone", "")  # other edits still work


def test_reminders_skip_closed_and_scheduled_patients(p1: Cli, tmp_path: Path):
    p1("patient", "add", "P2", "--email", "p2@example.org")
    probably_benign_exam(p1, "P2", "2025-01-31")
    p1("patient", "add", "P3", "--email", "p3@example.org")
    probably_benign_exam(p1, "P3", "2025-01-31")
    p1("patient", "close", "P2", "--reason", "declined", "--date", "2025-08-30")
    p1("contact", "P3", "--outcome", "scheduled", "--date", "2025-08-30",
       "--appointment", "2025-09-10")  # fmt: skip

    def listed() -> list[str]:
        # 2025-08-30: the ladder's overdue-2 falls for the three (a first run sends no
        # step that fell before its day)
        out = p1("remind", "--as-of", "2025-08-30", "--dry-run", "--format", "json",
                 "--transport", f"maildir:{tmp_path / 'mail'}").stdout  # fmt: skip
        found = json.loads(out)
        rows = found["reminders"] if isinstance(found, dict) else found
        return sorted(r["patient_id"] for r in rows)

    assert listed() == ["P1"]


def test_a_bulk_import_of_a_later_exam_reopens(p1: Cli, tmp_path: Path):
    p1("patient", "close", "P1", "--reason", "moved-away", "--date", "2025-08-30")
    csv = tmp_path / "exams.csv"
    csv.write_text(
        "patient_id,date,facility,category\nP1,2025-08-31,Northside Imaging,benign\n",
        encoding="utf-8",
    )
    p1("import", "exams", str(csv))
    assert status(p1)["tracking"]["state"] == "open"


def test_a_bulk_import_of_an_earlier_exam_entered_after_the_closing_reopens(
    p1: Cli, tmp_path: Path
):
    p1("patient", "close", "P1", "--reason", "moved-away", "--date", "2025-08-30")
    csv = tmp_path / "exams.csv"
    csv.write_text(
        "patient_id,date,facility,category\nP1,2025-08-01,Northside Imaging,4B\n",
        encoding="utf-8",
    )
    assert "tracking is open again" in p1("import", "exams", str(csv)).stderr
    assert status(p1)["tracking"]["state"] == "open"
    p1("import", "exams", str(csv))  # nothing new: nothing reopens
    p1("patient", "close", "P1", "--reason", "moved-away", "--date", "2025-08-31")
    p1("import", "exams", str(csv))
    assert status(p1)["tracking"]["state"] == "closed"


def test_status_text_of_a_patient_never_contacted(p1: Cli):
    page = p1("status", "P1", "--as-of", AS_OF).stdout
    assert page.endswith("Follow-up pathway\n  Open. No contact is recorded.\n")
