"""Export -> import is lossless (issue 11 point 4): hostile text survives the spreadsheet
neutralising, every CR and LF is quoted, and re-importing an export adds nothing."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Cli

AS_OF = "2025-06-01"
NOTES = {
    "formula": "=1+1",
    "lone CR": "line one\rline two",
    "LF": "line one\nline two",
    "CRLF": "line one\r\nline two",
    "leading spaces": "   indented note",
    "minus": "-5 mm since last year",
    "quoted formula": "'=already quoted",
    "tab": "\tstarts with a tab",
}


def build(cli: Cli) -> Cli:
    cli("patient", "add", "P1", "--name", "  Ana Silva", "--phone", "+1 555 0100")
    cli("patient", "add", "P2", "--name", "=HYPERLINK(1)", "--phone", "@555")
    cli("exam", "add", "P1", "--date", "2023-01-10", "--facility", "+Clinic",
        "--category", "2", "--kind", "screening", "--note", NOTES["formula"])  # fmt: skip
    cli("exam", "add", "P1", "--date", "2024-01-10", "--facility", "-Dash Imaging",
        "--category", "3", "--laterality", "left", "--kind", "diagnostic",
        "--note", NOTES["lone CR"])  # fmt: skip
    others = [note for name, note in NOTES.items() if name not in ("formula", "lone CR")]
    for month, note in enumerate(others, 1):
        day = f"2022-{month:02d}-05"
        cli("exam", "add", "P2", "--date", day, "--facility", "@Home Clinic",
            "--category", "1", "--note", note)  # fmt: skip
    return cli


@pytest.fixture
def hostile(cli: Cli) -> Cli:
    return build(cli)


def export(cli: Cli, path: Path) -> str:
    cli("export", "exams", "--format", "csv", "-o", str(path), "--force")
    return path.read_bytes().decode("utf-8")


def unquoted_line_breaks(text: str) -> list[str]:
    """The CR and LF characters outside quotes other than each row's final LF: where a
    spreadsheet (LibreOffice splits rows on a bare CR too) would start a new row."""
    found, quoted = [], False
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char in "\r\n" and not quoted and not (char == "\n" and text[index - 1] != "\r"):
            found.append(f"{char!r} at {index}")
    return found


def records(cli: Cli) -> dict[str, object]:
    """Everything a person reads about the patients: details, exams, plans and flags."""
    patients = json.loads(cli("patient", "list", "--format", "json").stdout)
    ids = [p["patient_id"] for p in patients]
    listed = {i: json.loads(cli("exam", "list", i, "--format", "json").stdout) for i in ids}
    return {
        "patients": patients,
        "exams": {i: [{k: v for k, v in r.items() if k != "id"} for r in listed[i]] for i in ids},
        "status": {
            i: json.loads(cli("status", i, "--as-of", AS_OF, "--format", "json").stdout)
            for i in ids
        },
        "facilities": sorted({r["facility"] for rows in listed.values() for r in rows}),
    }


def test_every_line_break_is_quoted_and_every_formula_neutralised(hostile: Cli, tmp_path: Path):
    text = export(hostile, tmp_path / "exams.csv")
    assert unquoted_line_breaks(text) == []
    assert '"line one\rline two"' in text  # the lone CR: quoted too (it was left bare)
    with open(tmp_path / "exams.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    assert len(body) == 8 and {len(row) for row in body} == {len(header)}  # no row split
    cells = [cell for row in body for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    notes = {row[header.index("note")] for row in body}
    assert "'=1+1" in notes and "''=already quoted" in notes and "'-5 mm since last year" in notes
    assert "'+Clinic" in {row[header.index("facility")] for row in body}


def test_reimport_into_the_same_database_adds_nothing(hostile: Cli, tmp_path: Path):
    path = tmp_path / "exams.csv"
    export(hostile, path)
    before = records(hostile)
    result = hostile("import", "exams", str(path), "--as-of", AS_OF)
    assert (
        "imported 0 exams with 0 findings (0 new patients, 0 new facilities); "
        "8 duplicate exams skipped; 0 rows rejected" in result.stderr
    )
    assert records(hostile) == before  # no facility, exam, plan or flag changed


def test_import_into_a_fresh_database_gives_the_same_records(hostile: Cli, tmp_path: Path):
    path = tmp_path / "exams.csv"
    text = export(hostile, path)
    fresh = Cli(str(tmp_path / "fresh.db"))
    fresh("import", "exams", str(path), "--as-of", AS_OF)
    assert records(fresh) == records(hostile)
    assert export(fresh, tmp_path / "again.csv") == text  # byte for byte


def test_libreoffice_opens_the_export_without_running_a_formula(sqlite_cli: Cli, tmp_path: Path):
    """The third-party check of the issue: LibreOffice converts the export to CSV again;
    nothing was evaluated (=1+1 is not 2) and no row was split."""
    office = shutil.which("libreoffice") or shutil.which("soffice")
    if office is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")
    export(build(sqlite_cli), tmp_path / "exams.csv")
    out = tmp_path / "converted"
    subprocess.run(
        [office, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile",
         "--infilter=CSV:44,34,76,1", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76",
         "--outdir", str(out), str(tmp_path / "exams.csv")],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    with open(out / "exams.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    with open(tmp_path / "exams.csv", encoding="utf-8", newline="") as handle:
        ours = list(csv.reader(handle))
    assert len(rows) == len(ours) == 9  # the header and 8 findings: no row split
    cells = {cell for row in rows for cell in row}
    assert "2" not in {row[ours[0].index("note")] for row in rows}  # =1+1 was not run
    assert "'=1+1" in cells or "=1+1" in cells
