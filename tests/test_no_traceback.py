"""Issue 11 point 5: no traceback, ever. Each hostile input that once printed one is driven
through the CLI; each now gets a one-line error (or a clean result) and its exit status.
(The policy-file cases are tests/ of the stored policy.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Cli, probably_benign_exam


def _clean_error(result, code: int = 1) -> str:
    """The one ``Error: ...`` line of a refused command; no traceback anywhere."""
    assert "Traceback" not in result.output and "Exception" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def p1(cli: Cli) -> Cli:
    cli("patient", "add", "P1", "--name", "Ana", "--email", "ana@example.org")
    probably_benign_exam(cli, "P1", "2025-01-31")
    return cli


def _followup(*args: str | bytes, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "FOLLOWUP_DB": "", "FOLLOWUP_POLICY": ""}
    return subprocess.run(
        [sys.executable, "-m", "followup", *args],
        capture_output=True, env=env, timeout=120, **kwargs,
    )  # fmt: skip


def test_invalid_utf8_in_an_argument(sqlite_url: str):
    for args in (
        ["patient", "add", b"P\xff"],
        ["exam", "add", "P1", "--facility", b"N\xe9", "--date", "2025-01-01", "--category", "2"],
    ):
        result = _followup("--db", sqlite_url, *args)
        assert result.returncode == 2, result.stderr
        stderr = result.stderr.decode()
        assert "is not valid UTF-8 text" in stderr and "Traceback" not in stderr
    assert not Path(sqlite_url).exists()


@pytest.mark.parametrize("exam_id", ["99999999999999999999", str(2**63), str(2**31), "0"])
def test_ids_no_column_can_hold(p1: Cli, exam_id: str):
    for args in (["exam", "edit", exam_id, "--note", "x"], ["exam", "delete", exam_id, "--yes"]):
        line = _clean_error(p1(*args, code=1))
        assert line.startswith(f"Error: no exam with id {exam_id};")


def test_fhir_nested_100000_deep(p1: Cli, tmp_path: Path):
    deep = tmp_path / "deep.json"
    deep.write_text('{"resourceType": "Bundle", "entry": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert "nested too deeply" in _clean_error(p1("import", "fhir", str(deep), code=1))


def _bundle(cli: Cli, tmp_path: Path, **patient: object) -> Path:
    bundle = json.loads(cli("export", "fhir", "P1").stdout)
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"].update(patient)
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path


def test_fhir_lone_surrogate_escape(p1: Cli, tmp_path: Path):
    path = _bundle(p1, tmp_path, identifier=[{"value": "P2"}], name=[{"text": "Ana"}])
    path.write_text(path.read_text().replace('"text": "Ana"', '"text": "A\\udcffna"'))
    line = _clean_error(p1("import", "fhir", str(path), code=1))
    assert "the name holds bytes that are not UTF-8 text at character 2" in line
    assert "P2" not in p1("patient", "list").stdout


def test_fhir_integer_patient_identifier(p1: Cli, tmp_path: Path):
    path = _bundle(p1, tmp_path, identifier=[{"value": 12345}])
    line = _clean_error(p1("import", "fhir", str(path), code=1))
    assert "identifier value 12345 is not text" in line


def test_nul_from_fhir_is_refused_as_input(p1: Cli, tmp_path: Path):
    """PostgreSQL cannot store NUL: it is refused as input, on both databases, by the store."""
    for field in ({"name": [{"text": "A\u0000na"}]}, {"identifier": [{"value": "P\u00002"}]}):
        path = _bundle(p1, tmp_path, **({"identifier": [{"value": "P2"}]} | field))
        line = _clean_error(p1("import", "fhir", str(path), code=1))
        assert "a control character (NUL)" in line


def test_nul_from_csv_is_refused_as_input(cli: Cli, tmp_path: Path):
    path = tmp_path / "nul.csv"
    rows = [
        "P\x001,2025-01-10,Northside,2,,",
        "P2,2025-01-10,North\x00side,2,,",
        "P3,2025-01-10,Northside,2,A\x00na,",
        "P4,2025-01-10,Northside,2,,a note\x00",
    ]
    path.write_text("patient_id,date,facility,category,name,note\n" + "\n".join(rows) + "\n")
    line = _clean_error(cli("import", "exams", str(path), code=1))
    assert line.startswith("Error: line 2: patient_id: the patient id holds a control character")
    rejects = tmp_path / "rejects.csv"
    result = cli("import", "exams", str(path), "--skip-invalid", "--rejects", str(rejects))
    assert "4 rows rejected" in result.stderr
    assert rejects.read_text().count("a control character (NUL)") == 4


@pytest.mark.parametrize(
    "url",
    ["mysql://u@h/db", "file:///tmp/x.db", "notascheme://x", "postgresql+asyncpg://u@h/db",
     "sqlite+pysqlcipher:///x.db"],
)  # fmt: skip
def test_database_urls_followup_cannot_use(url: str):
    result = Cli(url)("due", code=1)
    line = _clean_error(result)
    assert "not supported" in line or "through psycopg" in line or "not a database URL" in line


@pytest.mark.parametrize("option", ["-o", "--rejects"])
def test_output_naming_a_folder_or_a_missing_one(p1: Cli, tmp_path: Path, option: str):
    source = tmp_path / "in.csv"
    source.write_text("patient_id,date,facility,category\nP2,2025-01-10,N,2\n")
    command = (
        ["due", "-o"]
        if option == "-o"
        else ["import", "exams", str(source), "--skip-invalid", "--rejects"]
    )
    assert "is a folder" in _clean_error(p1(*command, str(tmp_path), code=1))
    missing = str(tmp_path / "missing" / "out.csv")
    assert "does not exist" in _clean_error(p1(*command, missing, code=1))


def test_dates_at_the_end_of_the_calendar(p1: Cli, tmp_path: Path):
    far = p1("due", "--as-of", "9999-12-31", "--format", "json").stdout
    assert json.loads(far)[0]["patient_id"] == "P1"
    wide = p1("due", "--as-of", "2025-02-01", "--within", "999999999", "--format", "json")
    assert [r["patient_id"] for r in json.loads(wide.stdout)] == ["P1"]
    assert p1("due", "--as-of", "0001-01-01", "--format", "json").stdout == "[]\n"
    p1("flags", "--as-of", "9999-12-31")
    p1("flags", "--as-of", "0001-01-01", "--code", "lost-to-follow-up")
    maildir = tmp_path / "mail"
    # the ladder starts with a run in the upcoming window of her 2025-07-31 due date; at the
    # end of time the last step (which fell in 2025, after that start) is the one in force
    p1("remind", "--as-of", "2025-07-01", "--transport", f"maildir:{maildir}")
    dry = p1("remind", "--as-of", "9999-12-31", "--dry-run", "--format", "json").stdout
    assert [(r["patient_id"], r["step"]) for r in json.loads(dry)] == [("P1", "overdue-3")]
    sent = p1("remind", "--as-of", "9999-12-31", "--transport", f"maildir:{maildir}",
              "--format", "json")  # fmt: skip
    assert json.loads(sent.stdout)["sent"] == 1


@pytest.fixture(scope="module")
def big_programme(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Reports larger than a pipe's buffer, so that the reader's going away is seen."""
    path = tmp_path_factory.mktemp("pipes") / "demo.db"
    Cli(str(path))("demo", "--patients", "3000", "--as-of", "2025-06-01")
    return path


@pytest.mark.parametrize(
    "command",
    [
        ["due"],
        ["due", "--format", "json"],
        ["due", "--format", "csv"],
        ["flags"],
        ["flags", "--format", "csv"],
        ["export", "exams"],
        ["patient", "list"],
        ["audit", "--from", "2023-06-01", "--to", "2024-05-31", "--by", "radiologist"],
        ["audit", "--from=2023-06-01", "--to=2024-05-31", "--by=radiologist", "--format=json"],
    ],
    ids=" ".join,
)
def test_piped_into_head_ends_quietly(big_programme: Path, command: list[str]):
    """`followup due | head -1`: no "Exception ignored ... closed database", no traceback;
    the exit status of a program stopped by SIGPIPE, as `yes | head -1` gives."""
    env = {**os.environ, "FOLLOWUP_DB": str(big_programme), "FOLLOWUP_POLICY": ""}
    dated = ("due", "flags", "audit")
    args = [*command, "--as-of", "2025-06-01"] if command[0] in dated else command
    if command[0] == "due":
        args += ["--within", "3650"]
    followup = subprocess.Popen(
        [sys.executable, "-m", "followup", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    head = subprocess.run(["head", "-1"], stdin=followup.stdout, capture_output=True, timeout=120)
    followup.stdout.close()
    with followup.stderr:
        stderr = followup.stderr.read().decode()
    assert followup.wait(timeout=120) == 141
    assert head.stdout.count(b"\n") == 1
    assert stderr == ""
