"""Issue 11 point 7: input hygiene, through the CLI, the CSV import and the FHIR import alike
(the checks live in the store and rules, whatever door the text came in by)."""

from __future__ import annotations

import csv
import json
import os
import pty
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Cli, probably_benign_exam

HOSTILE = {
    "ESC": "A\x1b]0;owned\x07na",  # retitles the terminal window
    "clear": "Ana\x1b[2J",
    "NUL": "A\x00na",
    "BEL": "Ana\x07",
    "C1 CSI": "Ana\x9b2J",
    "DEL": "An\x7fa",
    "CR": "Ana\rEvil",
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_control_characters_refused_on_the_command_line(cli: Cli, text: str):
    cli("patient", "add", "P1")
    refusals = [
        ["patient", "add", f"P{text}"],
        ["patient", "add", "P2", "--name", text],
        ["patient", "add", "P2", "--phone", f"555{text}"],
        ["patient", "edit", "P1", "--name", text],
        ["exam", "add", "P1", "--date", "2025-01-31", "--facility", text, "--category", "2"],
        ["exam", "add", "P1", "--date", "2025-01-31", "--facility", "N", "--category", "2",
         "--morphology", text],
    ]  # fmt: skip
    for args in refusals:
        result = cli(*args, code=1)
        assert "a control character" in result.stderr, args
        assert "\x1b" not in result.stderr and "\x07" not in result.stderr  # shown escaped
    assert [
        p["patient_id"] for p in json.loads(cli("patient", "list", "--format", "json").stdout)
    ] == ["P1"]


def test_notes_keep_tabs_and_line_breaks_only(cli: Cli):
    cli("patient", "add", "P1")
    probably_benign_exam(cli, "P1", "2025-01-31")
    exam_id = json.loads(cli("exam", "list", "P1", "--format", "json").stdout)[0]["id"]
    cli("exam", "edit", str(exam_id), "--note", "line one\n\tline two\r\nthree")
    for bad in ("stop\x1b[2J", "nul\x00", "bell\x07"):
        assert (
            "a control character" in cli("exam", "edit", str(exam_id), "--note", bad, code=1).stderr
        )
    note = json.loads(cli("exam", "list", "P1", "--format", "json").stdout)[0]["note"]
    assert note == "line one\n\tline two\r\nthree"


def test_control_characters_refused_in_csv_rows_with_their_line(cli: Cli, tmp_path: Path):
    path = tmp_path / "in.csv"
    path.write_text(
        "patient_id,date,facility,category,name,phone,note,morphology\n"
        "P1,2025-01-10,Northside,2,Ana,,,\n"
        "P2,2025-01-10,Northside,2,A\x1b]0;x\x07na,,,\n"
        "P3,2025-01-10,North\x1bside,2,,,,\n"
        "P4,2025-01-10,Northside,2,,555\x07,,\n"
        'P5,2025-01-10,Northside,2,,,"a\tnote\nover two lines",\n'
        "P6,2025-01-10,Northside,2,,,,punc\x9btate\n",
        encoding="utf-8",
    )
    rejects = tmp_path / "rejects.csv"
    result = cli("import", "exams", str(path), "--skip-invalid", "--rejects", str(rejects))
    assert "2 new patients" in result.stderr and "4 rows rejected" in result.stderr
    with rejects.open(encoding="utf-8", newline="") as handle:
        rejected = [(row["line"], row["reason"].split(":")[0]) for row in csv.DictReader(handle)]
    assert rejected == [("3", "name"), ("4", "facility"), ("5", "phone"), ("8", "morphology")]
    patients = json.loads(cli("patient", "list", "--format", "json").stdout)
    assert [p["patient_id"] for p in patients] == ["P1", "P5"]
    notes = json.loads(cli("exam", "list", "P5", "--format", "json").stdout)
    assert notes[0]["note"] == "a\tnote\nover two lines"


def _bundle(cli: Cli, tmp_path: Path, patient: dict, exam: dict | None = None) -> Path:
    bundle = json.loads(cli("export", "fhir", "P1").stdout)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Patient":
            resource.update({"identifier": [{"value": "P2"}], **patient})
        if resource["resourceType"] == "Location" and exam:
            resource.update(exam)
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path


def test_control_characters_refused_from_fhir(cli: Cli, tmp_path: Path):
    cli("patient", "add", "P1")
    probably_benign_exam(cli, "P1", "2025-01-31")
    cases = [
        ({"name": [{"text": "A\x1b[2Jna"}]}, None),
        ({"telecom": [{"system": "phone", "value": "555\x00"}]}, None),
        ({"telecom": [{"system": "email", "value": "a@b.org\r\nBcc: x@y.org"}]}, None),
        ({}, {"name": "North\x1bside"}),
    ]
    for patient, location in cases:
        result = cli("import", "fhir", str(_bundle(cli, tmp_path, patient, location)), code=1)
        assert "a control character" in result.stderr
    assert [
        p["patient_id"] for p in json.loads(cli("patient", "list", "--format", "json").stdout)
    ] == ["P1"]


def _stored_hostile_name(path: Path) -> None:
    """Data that predates the checks, written behind the CLI's back."""
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE patients SET name = ?", ("A\x1b]0;owned\x07na\x1b[2J",))
        conn.execute("UPDATE facilities SET name = ?", ("North\x9b31mside",))
    conn.close()


def test_stored_control_characters_are_escaped_in_tables(sqlite_cli: Cli):
    sqlite_cli("patient", "add", "P1", "--name", "Ana")
    probably_benign_exam(sqlite_cli, "P1", "2025-01-31")
    _stored_hostile_name(Path(sqlite_cli.url))
    for args in (["patient", "list"], ["due", "--as-of", "2025-07-31"], ["flags"],
                 ["exam", "list", "P1"], ["patient", "list", "--format", "json"]):  # fmt: skip
        out = sqlite_cli(*args).stdout
        assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out, args
    assert "A\\x1b]0;owned\\x07na\\x1b[2J" in sqlite_cli("patient", "list").stdout


def _on_a_terminal(*args: str) -> bytes:
    """Run followup with its standard output on a pseudo-terminal; what the terminal got."""
    leader, follower = pty.openpty()
    env = {**os.environ, "FOLLOWUP_POLICY": "", "COLUMNS": "200"}
    process = subprocess.Popen([sys.executable, "-m", "followup", *args], stdout=follower,
                               stderr=subprocess.PIPE, env=env)  # fmt: skip
    os.close(follower)
    received = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the other end is closed
            break
        if not chunk:
            break
        received += chunk
    os.close(leader)
    process.stderr.close()
    assert process.wait(timeout=120) == 0
    return received


def test_stored_control_characters_never_reach_the_terminal(sqlite_cli: Cli):
    sqlite_cli("patient", "add", "P1", "--name", "Ana")
    probably_benign_exam(sqlite_cli, "P1", "2025-01-31")
    _stored_hostile_name(Path(sqlite_cli.url))
    db = ["--db", sqlite_cli.url]
    for args in (["patient", "show", "P1"], ["status", "P1"], ["patient", "list", "--format",
                 "csv"], ["export", "exams"], ["due", "--as-of", "2025-07-31"]):  # fmt: skip
        shown = _on_a_terminal(*db, *args)
        assert b"\x1b" not in shown and b"\x07" not in shown, args
        assert "\x9b".encode() not in shown
        assert b"\\x1b" in shown or b"\\x9b" in shown


def test_future_birth_date_refused_everywhere(cli: Cli, tmp_path: Path):
    result = cli("patient", "add", "P1", "--birth-date", "2999-01-01", code=1)
    assert "birth date 2999-01-01 is in the future" in result.stderr
    cli("patient", "add", "P1", "--birth-date", "1970-05-01")
    assert (
        "in the future" in cli("patient", "edit", "P1", "--birth-date", "2999-01-01", code=1).stderr
    )
    path = tmp_path / "in.csv"
    path.write_text("patient_id,date,facility,category,birth_date\nP2,2025-01-10,N,2,2999-01-01\n")
    assert (
        "birth date 2999-01-01 is in the future" in cli("import", "exams", str(path), code=1).stderr
    )
    probably_benign_exam(cli, "P1", "2025-01-31")
    bundle = json.loads(cli("export", "fhir", "P1").stdout)
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"].update(identifier=[{"value": "P3"}], birthDate="2999-01-01")
    fhir = tmp_path / "b.json"
    fhir.write_text(json.dumps(bundle))
    assert "in the future" in cli("import", "fhir", str(fhir), code=1).stderr


def test_csv_error_lines_are_the_records_own(sqlite_cli: Cli, tmp_path: Path):
    path = tmp_path / "big-field.csv"
    path.write_text(
        "patient_id,date,facility,category,note\n"
        "P1,2025-01-10,N,2,ok\n"
        f"P2,2025-01-10,N,2,{'x' * (csv.field_size_limit() + 1)}\n",
        encoding="utf-8",
    )
    result = sqlite_cli("import", "exams", str(path), code=1)
    assert result.stderr.startswith("Error: line 3: the file cannot be read as CSV (field larger")
    quoted = tmp_path / "quoted.csv"
    quoted.write_text(
        'patient_id,date,facility,category,note\nP1,2025-01-10,N,2,"two\nlines"\n'
        f"P2,2025-01-10,N,2,{'x' * (csv.field_size_limit() + 1)}\n",
        encoding="utf-8",
    )
    assert (
        "line 4: the file cannot be read"
        in sqlite_cli("import", "exams", str(quoted), code=1).stderr
    )


def test_no_op_edits_answer_alike(cli: Cli):
    cli("patient", "add", "P1", "--name", "Ana", "--email", "ana@example.org")
    probably_benign_exam(cli, "P1", "2025-01-31")
    exam_id = json.loads(cli("exam", "list", "P1", "--format", "json").stdout)[0]["id"]
    patient = cli("patient", "edit", "P1", "--name", "Ana", "--email", "ana@example.org")
    exam = cli("exam", "edit", str(exam_id), "--kind", "diagnostic", "--facility",
               "northside imaging")  # fmt: skip
    assert patient.stdout == "Patient P1 unchanged: every value given is the one already stored.\n"
    assert (
        exam.stdout == f"Exam {exam_id} unchanged: every value given is the one already stored.\n"
    )
    nothing_p = cli("patient", "edit", "P1", code=2).stderr.splitlines()[-1]
    nothing_e = cli("exam", "edit", str(exam_id), code=2).stderr.splitlines()[-1]
    assert nothing_p.split(", e.g.")[0] == nothing_e.split(", e.g.")[0]
    assert nothing_p.startswith("Error: nothing to change; give at least one option")


def test_look_alike_facility_names_warn(cli: Cli, tmp_path: Path):
    cli("patient", "add", "P1")
    probably_benign_exam(cli, "P1", "2025-01-31")
    cyrillic_o = "N\u043erthside Imaging"
    added = cli("exam", "add", "P1", "--date", "2025-03-01", "--facility", cyrillic_o,
                "--category", "2")  # fmt: skip
    assert (
        "Warning: the new facility 'N\\u043erthside Imaging' looks like the known facility "
        "'Northside Imaging'" in added.stderr
    )
    quiet = cli("exam", "add", "P1", "--date", "2025-04-01", "--facility", cyrillic_o,
                "--category", "2")  # fmt: skip
    assert "Warning" not in quiet.stderr  # known now: warned once, when it was created
    path = tmp_path / "in.csv"
    greek = "N\u03bfrthside Imaging"  # a Greek omicron
    path.write_text(f"patient_id,date,facility,category\nP2,2025-01-10,{greek},2\n")
    imported = cli("import", "exams", str(path))
    assert "looks like the known facility" in imported.stderr
    invisible = cli("exam", "add", "P1", "--date", "2025-05-01", "--facility",
                    "Northside\u200b Imaging", "--category", "2")  # fmt: skip
    assert "looks like the known facility" in invisible.stderr
