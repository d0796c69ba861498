"""``followup import exams FILE.csv`` through the CLI: reading, mapping, checks, all or nothing."""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import stat
import threading
from datetime import date
from pathlib import Path

import pytest

from followup.exchange import csv_pipeline
from tests.conftest import Cli

HEADER = "MRN,Exam Date,Site,BI-RADS,Side,Exam Type,Calc Type,Comments\r\n"
AS_OF = ("--as-of", "2025-03-01")


@pytest.fixture(autouse=True, params=["in-process", "reader-process"])
def reading(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every import test runs both ways: read in the writing process (small files) and in a
    second process (large files, from READER_PROCESS_BYTES)."""
    if request.param == "reader-process":
        monkeypatch.setattr(csv_pipeline, "READER_PROCESS_BYTES", 0)
    return str(request.param)


def _write(tmp_path: Path, text: str, name: str = "in.csv", bom: bool = False) -> str:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return str(path)


def _findings(cli: Cli, patient: str) -> list[dict]:
    """One dict per finding (``exam list`` prints a line per finding)."""
    return json.loads(cli("exam", "list", patient, "--format", "json").stdout)


def _status(cli: Cli, patient: str) -> dict:
    return json.loads(cli("status", patient, *AS_OF, "--format", "json").stdout)


def _patients(cli: Cli) -> list[str]:
    return [p["patient_id"] for p in json.loads(cli("patient", "list", "--format", "json").stdout)]


def test_rows_become_exams_with_findings_and_plans(cli: Cli, tmp_path: Path) -> None:
    """BOM, CRLF, a quoted newline, common header names, several findings in one exam."""
    text = (
        HEADER
        + 'P1,2025-01-31,Northside Imaging,3,L,diagnostic,PUNCTATE,"two lines\r\nof note"\r\n'
        + "P1,2025-01-31,northside  imaging,2,right,,,\r\n"
        + "P1,2025-01-31,Northside Imaging,2,right,,,\r\n"  # the same finding again: folded
        + "P2,2024-12-01,Southside Clinic,BI-RADS 4b,right,,FINE_LINEAR_BRANCHING,\r\n"
    )
    result = cli("import", "exams", _write(tmp_path, text, bom=True), *AS_OF)
    assert (
        "read 4 rows; imported 2 exams with 3 findings (2 new patients, 2 new facilities); "
        "0 duplicate exams skipped; 0 rows rejected" in result.stderr
    )
    p1 = _findings(cli, "P1")
    assert {(f["id"], f["category"], f["laterality"]) for f in p1} == {
        (p1[0]["id"], "probably-benign", "left"),
        (p1[0]["id"], "benign", "right"),
    }
    assert p1[0]["facility"] == "Northside Imaging"
    assert p1[0]["note"] == "two lines\r\nof note"
    assert p1[0]["kind"] == "diagnostic"
    status = _status(cli, "P1")["next"]
    assert (status["action"], status["due"], status["laterality"]) == (
        "short-interval-follow-up",
        "2025-07-31",
        "left",
    )
    status = _status(cli, "P2")["next"]
    assert (status["action"], status["due"]) == ("biopsy", "2024-12-31")
    assert _findings(cli, "P2")[0]["morphology"] == "fine linear branching"


@pytest.mark.parametrize("ending", ["\n", "\r", "\r\n"])
def test_any_line_ending_and_line_numbers_count_physical_lines(
    sqlite_cli: Cli, tmp_path: Path, ending: str
) -> None:
    """The bad row starts on physical line 5: the quoted note of line 2 spans two lines."""
    rows = [
        "patient_id,date,facility,category,note",
        'P1,2025-01-31,N,2,"a note' + ending + 'on two lines"',
        "P2,2025-01-31,N,2,",
        "P3,2025-02-30,N,2,",
    ]
    path = _write(tmp_path, ending.join(rows) + ending)
    result = sqlite_cli("import", "exams", path, *AS_OF, code=1)
    assert "line 5: date: '2025-02-30' is not a valid date" in result.stderr
    assert "--skip-invalid --rejects FILE" in result.stderr
    assert _patients(sqlite_cli) == []  # all or nothing


def test_all_or_nothing_names_the_line_and_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    text = HEADER + "P1,2025-01-31,N,3,left,,,\r\nP2,2025-01-31,N,7,left,,,\r\n"
    result = cli("import", "exams", _write(tmp_path, text), *AS_OF, code=1)
    assert "Error: line 3: category: unknown category '7'" in result.stderr
    assert "nothing was imported" in result.stderr
    assert _patients(cli) == []


def test_checks_are_those_of_exam_add(sqlite_cli: Cli, tmp_path: Path) -> None:
    """Future date (against --as-of), empty facility, bad side, bad kind, interval out of range."""
    text = (
        "patient_id,date,facility,category,laterality,kind,follow_up_months\n"
        "P1,2025-03-02,N,2,,,\n"
        "P2,2025-01-01, ,2,,,\n"
        "P3,2025-01-01,N,2,up,,\n"
        "P4,2025-01-01,N,2,,routine,\n"
        "P5,2025-01-01,N,2,,,48\n"
        "P6,1899-12-31,N,2,,,\n"
        "P 7,2025-01-01,N,2,,,\n"
        "P8,2025-01-01,N,,,,\n"
        "P9,2025-01-01,N,2,,,6\n"
    )
    rejects = tmp_path / "rejects.csv"
    result = sqlite_cli(
        "import", "exams", _write(tmp_path, text), *AS_OF, "--skip-invalid", "--rejects", rejects
    )
    assert "imported 1 exams" in result.stderr
    assert "8 rows rejected (written to" in result.stderr
    with rejects.open(newline="") as f:
        rows = list(csv.DictReader(f))
    reasons = {r["patient_id"]: (r["line"], r["reason"]) for r in rows}
    assert reasons["P1"] == (
        "2",
        "date: exam date 2025-03-02 is in the future (today is 2025-03-01); "
        "check the year and month",
    )
    assert "facility is empty" in reasons["P2"][1]
    assert "unknown side 'up'" in reasons["P3"][1]
    assert "unknown exam kind 'routine'" in reasons["P4"][1]
    assert "48 months is outside 1-36" in reasons["P5"][1]
    assert "before 1900" in reasons["P6"][1]
    assert "'P 7' is not usable" in reasons["P 7"][1]
    assert reasons["P8"] == ("9", "category is empty; every row needs one")
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600
    assert list(rows[0])[:4] == ["patient_id", "date", "facility", "category"]
    assert _patients(sqlite_cli) == ["P9"]
    assert _findings(sqlite_cli, "P9")[0]["follow_up_months"] == 6


def test_skip_invalid_needs_rejects(sqlite_cli: Cli, tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER)
    result = sqlite_cli("import", "exams", path, "--skip-invalid", code=2)
    assert "--skip-invalid and --rejects FILE go together" in result.stderr
    sqlite_cli("import", "exams", path, "--rejects", str(tmp_path / "r.csv"), code=2)


def test_rejected_formula_cells_are_neutralised(sqlite_cli: Cli, tmp_path: Path) -> None:
    text = "patient_id,date,facility,category\n=HYPERLINK(1),2025-01-01,N,9\n"
    rejects = tmp_path / "r.csv"
    sqlite_cli(
        "import", "exams", _write(tmp_path, text), *AS_OF, "--skip-invalid", "--rejects", rejects
    )
    assert rejects.read_text().splitlines()[1].startswith("'=HYPERLINK(1),")


def test_dry_run_counts_and_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    cli("patient", "add", "P1")
    text = HEADER + "P1,2025-01-31,N,2,left,,,\r\nP2,2025-01-31,N,3,left,,,\r\n"
    result = cli("import", "exams", _write(tmp_path, text), *AS_OF, "--dry-run")
    assert "Dry run, nothing written: read 2 rows; would import 2 exams" in result.stderr
    assert "(1 new patients, 1 new facilities)" in result.stderr
    assert _patients(cli) == ["P1"]
    assert _findings(cli, "P1") == []


def test_reimport_skips_duplicates_and_adds_to_existing_patients(cli: Cli, tmp_path: Path) -> None:
    cli("patient", "add", "P1", "--name", "Ana")
    cli("exam", "add", "P1", "--date", "2024-01-31", "--facility", "N", "--category", "2")
    text = HEADER + "P1,2024-01-31,N,2,,,,\r\nP1,2025-01-31,N,3,left,diagnostic,,\r\n"
    path = _write(tmp_path, text)
    first = cli("import", "exams", path, *AS_OF)
    assert "imported 1 exams with 1 findings (0 new patients, 0 new facilities); 1 duplicate" in (
        first.stderr
    )
    second = cli("import", "exams", path, *AS_OF)
    assert "imported 0 exams with 0 findings" in second.stderr
    assert "2 duplicate exams skipped" in second.stderr
    assert len(_findings(cli, "P1")) == 2
    assert _status(cli, "P1")["next"]["due"] == "2025-07-31"  # the plan saw the new exam
    patient = json.loads(cli("patient", "show", "P1", "--format", "json").stdout)
    assert patient["name"] == "Ana"


def test_map_overrides_and_defaults(sqlite_cli: Cli, tmp_path: Path) -> None:
    text = "Record,Result,Where,id\nR1,4a,,9\n"
    path = _write(tmp_path, text)
    sqlite_cli(
        "import",
        "exams",
        path,
        *AS_OF,
        "--map",
        "record=patient_id",
        "--map",
        "Result=category",
        "--map",
        "Where=facility",
        "--map",
        "id=ignore",
        "--default-date",
        "2025-02-01",
        "--default-facility",
        "Harbor  Clinic",
    )
    (finding,) = _findings(sqlite_cli, "R1")
    assert (finding["date"], finding["facility"], finding["category"]) == (
        "2025-02-01",
        "Harbor Clinic",
        "suspicious",
    )


def test_mapping_usage_errors(sqlite_cli: Cli, tmp_path: Path) -> None:
    path = _write(tmp_path, "Record,Result,date,site\nR1,2,2025-01-01,N\n")
    missing = sqlite_cli("import", "exams", path, code=2)
    assert "no column for patient_id, category" in missing.stderr
    assert "'Record', 'Result', 'date', 'site'" in missing.stderr
    unknown = sqlite_cli("import", "exams", path, "--map", "Record=mrn", code=2)
    assert "unknown field 'mrn'; use one of patient_id, date, facility" in unknown.stderr
    no_column = sqlite_cli("import", "exams", path, "--map", "Nope=note", code=2)
    assert "the file has no column 'Nope'" in no_column.stderr
    both = _write(tmp_path, "mrn,patient,date,site,category\n", name="both.csv")
    ambiguous = sqlite_cli("import", "exams", both, code=2)
    assert "columns 'mrn' and 'patient' both look like patient_id" in ambiguous.stderr
    no_date = _write(tmp_path, "mrn,site,category\n", name="nodate.csv")
    assert "date (or --default-date)" in sqlite_cli("import", "exams", no_date, code=2).stderr
    old = sqlite_cli("import", "exams", no_date, "--default-date", "1899-01-01", code=2)
    assert "Invalid value for --default-date: exam date 1899-01-01 is before 1900" in old.stderr


def test_conflicting_exam_fields_and_empty_file(sqlite_cli: Cli, tmp_path: Path) -> None:
    # (A screening and a diagnostic row of one day are two exams now, clinical-rules.md §5:
    # the exam-level value that conflicts within one exam is the interval.)
    text = "mrn,date,site,category,interval\nP1,2025-01-01,N,2,6\nP1,2025-01-01,N,3,12\n"
    result = sqlite_cli("import", "exams", _write(tmp_path, text), *AS_OF, code=1)
    assert "line 3: follow_up_months 12 differs from 6 on line 2 of the same exam" in (
        result.stderr
    )
    empty = sqlite_cli("import", "exams", _write(tmp_path, "", name="e.csv"), code=1)
    assert "is empty; a header row is needed" in empty.stderr


def test_not_utf8_is_a_clear_error(sqlite_cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("mrn,date,site,category\nP1,2025-01-01,Clínica,2\n".encode("latin-1"))
    result = sqlite_cli("import", "exams", str(path), *AS_OF, code=1)
    assert "the file is not UTF-8 text (near line 1); nothing was imported" in result.stderr
    assert not Path(sqlite_cli.url).exists()  # nothing imported: not even a database made


def test_scattered_rows_of_one_exam_are_refused(sqlite_cli: Cli, tmp_path: Path) -> None:
    text = "mrn,date,site,category\nP1,2025-01-01,N,2\nP1,2025-02-01,N,2\nP1,2025-01-01,n,3\n"
    result = sqlite_cli("import", "exams", _write(tmp_path, text), *AS_OF, code=1)
    assert (
        "line 4: patient P1's exam of 2025-01-01 at this facility started on line 2 and other "
        "rows came in between; put the rows of one exam together" in result.stderr
    )


def test_same_exam_with_other_findings_is_refused_not_skipped(cli: Cli, tmp_path: Path) -> None:
    """Only exact duplicates are skipped: a stored exam that says something else stops the
    import (all or nothing), naming the exam to correct."""
    first = HEADER + "P1,2025-01-31,Northside Imaging,3,L,diagnostic,,\r\n"
    cli("import", "exams", _write(tmp_path, first), *AS_OF)
    again = (
        HEADER
        + "P2,2025-01-02,Northside Imaging,1,,,,\r\n"
        + "P1,2025-01-31,northside imaging,4,L,diagnostic,,\r\n"
    )
    result = cli("import", "exams", _write(tmp_path, again, name="again.csv"), *AS_OF, code=1)
    assert "already has exam" in result.stderr and "other findings" in result.stderr
    assert "followup exam edit" in result.stderr
    assert _patients(cli) == ["P1"]  # nothing of the second file was written
    assert [f["category"] for f in _findings(cli, "P1")] == ["probably-benign"]


def test_a_late_bad_row_of_a_large_import_stops_the_plan_worker_too(
    cli: Cli, tmp_path: Path
) -> None:
    """Past the first batch, plans are computed in a second process: a bad row at the end
    still writes nothing, and leaves no process behind."""
    lines = ["patient_id,date,facility,category"]
    lines += [f"P{n},{2020 + k}-03-0{k + 1},North,negative" for n in range(5000) for k in range(4)]
    lines.append("P9999,2024-03-01,North,maybe")
    path = _write(tmp_path, "\n".join(lines) + "\n")
    error = cli("import", "exams", path, "--as-of", "2025-06-30", code=1).stderr
    assert f"line {len(lines)}: category" in error
    assert not multiprocessing.active_children()
    assert _patients(cli) == []
    path = _write(tmp_path, "\n".join(lines[:-1]) + "\n", name="good.csv")
    cli("import", "exams", path, "--as-of", "2025-06-30")
    assert not multiprocessing.active_children()
    assert _status(cli, "P4999")["next"]["due"] == "2024-03-04"


def test_a_pipe_is_read_once_from_its_start(cli: Cli, tmp_path: Path) -> None:
    """``import exams <(unzip -p export.zip)``: a pipe cannot be opened twice or told its
    position; it is read in this process, header and rows from one stream."""
    fifo = tmp_path / "export.csv"
    os.mkfifo(fifo)
    rows = "".join(f"P{n},2024-0{1 + n % 9}-15,North,benign\n" for n in range(3000))
    text = "patient_id,date,facility,category\n" + rows

    def feed() -> None:
        with fifo.open("w") as out:
            out.write(text)

    writer = threading.Thread(target=feed)
    writer.start()
    result = cli("import", "exams", str(fifo), *AS_OF)
    writer.join()
    assert "read 3,000 rows; imported 3,000 exams" in result.stderr
    assert _patients(cli)[:2] == ["P0", "P1"]


def test_an_exam_repeated_with_other_findings_stops_the_import(cli: Cli, tmp_path: Path) -> None:
    text = HEADER + "P1,2025-01-31,N,1,,,,\nP2,2025-01-31,N,1,,,,\nP1,2025-01-31,N,4,left,,,\n"
    error = cli("import", "exams", _write(tmp_path, text), *AS_OF, code=1).stderr
    assert "P1 has two exams on 2025-01-31 at N with different findings" in error
    assert _patients(cli) == []


def test_a_script_imports_without_click(db_url: str, tmp_path: Path) -> None:
    """The pipeline is a library: a dry run writes nothing, a run writes the exams and plans,
    and a refused row is an exception carrying its line and reason."""
    from followup.exchange.csv_pipeline import CsvImport, RowRefused
    from followup.store.database import open_database

    text = "patient_id,date,facility,category\nP1,2025-01-31,North,3\nP2,2025-02-01,North,1\n"
    path = _write(tmp_path, text)
    database = open_database(db_url)
    try:
        with CsvImport(path, today=date(2025, 3, 1)) as job:
            dry = job.run(database, dry_run=True)
        assert (dry.dry_run, dry.rows, dry.loaded.exams_added) == (True, 2, 2)
        with CsvImport(path, today=date(2025, 3, 1)) as job:
            done = job.run(database)
        assert (done.dry_run, done.loaded.exams_added, done.loaded.plans_written) == (False, 2, 2)
        bad = _write(tmp_path, text + "P3,2025-02-02,North,maybe\n", name="bad.csv")
        with CsvImport(bad, today=date(2025, 3, 1)) as job, pytest.raises(RowRefused) as refused:
            job.run(database)
        assert refused.value.line == 4 and "category" in refused.value.reason
    finally:
        database.close()
    assert _patients(Cli(db_url)) == ["P1", "P2"]
