"""Biopsies in CSV (issue 13 point 3): `export biopsies` writes what `import biopsies` reads
back, validated as `biopsy add` validates, audited, all or nothing."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.conftest import Cli

N = ("--facility", "Northside Imaging")


def _records(cli: Cli) -> Cli:
    for patient in ("P1", "P2"):
        cli("patient", "add", patient)
        cli("exam", "add", patient, "--date", "2025-01-10", *N, "--category", "4b",
            "--laterality", "left", "--kind", "diagnostic")  # fmt: skip
    cli("biopsy", "add", "P1", "--date", "2025-01-20", "--side", "left", "--result", "benign",
        "--concordant", "--pathology", "fibroadenoma", *N, "--note", "=not a formula")  # fmt: skip
    cli("biopsy", "add", "P2", "--date", "2025-01-22", "--side", "left", "--result", "high-risk",
        "--pathology", "ADH")  # fmt: skip
    cli("biopsy", "add", "P2", "--date", "2025-02-22", "--side", "right", "--result", "pending")
    return cli


def test_biopsies_export_and_import_back(cli: Cli, tmp_path: Path):
    _records(cli)
    target = tmp_path / "biopsies.csv"
    cli("export", "biopsies", "-o", str(target))
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert list(rows[0]) == [
        "patient_id", "date", "side", "result", "concordant", "facility", "pathology", "note"
    ]  # fmt: skip
    assert [(r["patient_id"], r["result"], r["concordant"]) for r in rows] == [
        ("P1", "benign", "true"),
        ("P2", "high-risk", ""),
        ("P2", "pending", ""),
    ]
    assert rows[0]["note"] == "'=not a formula"  # neutralised for spreadsheets
    exams = tmp_path / "exams.csv"
    cli("export", "exams", "-o", str(exams))
    fresh = Cli(str(tmp_path / "fresh.db"))
    fresh("import", "exams", str(exams))
    assert (
        "Dry run: 3 biopsies would be added"
        in fresh("import", "biopsies", str(target), "--dry-run").stdout
    )
    assert json.loads(fresh("biopsy", "list", "P1", "--format", "json").stdout) == []
    assert (
        "Imported 3 biopsies, 0 already recorded."
        in fresh("import", "biopsies", str(target)).stdout
    )
    for patient in ("P1", "P2"):
        theirs = json.loads(fresh("biopsy", "list", patient, "--format", "json").stdout)
        mine = json.loads(cli("biopsy", "list", patient, "--format", "json").stdout)
        assert theirs == mine
        before = cli("status", patient, "--as-of", "2025-03-01", "--format", "json").stdout
        assert (
            fresh("status", patient, "--as-of", "2025-03-01", "--format", "json").stdout == before
        )
    log = json.loads(fresh("audit-log", "P2", "--format", "json").stdout)
    assert [e["action"] for e in log if e["biopsy_id"]] == ["biopsy.add", "biopsy.add"]
    assert "0 biopsies, 3 already recorded" in fresh("import", "biopsies", str(target)).stdout


def test_a_bad_biopsy_row_stops_the_import_naming_its_line(sqlite_cli: Cli, tmp_path: Path):
    cli = sqlite_cli
    cli("patient", "add", "P1")
    source = tmp_path / "in.csv"
    source.write_text(
        "MRN,Biopsy Date,Laterality,Result,Concordance\n"
        "P1,2025-01-20,left,malignant,\n"
        "P1,2025-02-20,right,benign,\n",
        encoding="utf-8",
    )
    err = cli("import", "biopsies", str(source), code=1).stderr
    assert "line 3:" in err and "concordant or discordant" in err and "nothing was imported" in err
    assert json.loads(cli("biopsy", "list", "P1", "--format", "json").stdout) == []
    source.write_text("patient_id,date,side\nP1,2025-01-20,left\n", encoding="utf-8")
    assert "no column for result" in cli("import", "biopsies", str(source), code=2).stderr
    source.write_text("patient_id,date,side,result\nP9,2025-01-20,left,pending\n", encoding="utf-8")
    err = cli("import", "biopsies", str(source), code=1).stderr
    assert "line 2: no patient with id 'P9'" in err
    source.write_text(
        "patient_id,date,side,result,concordant\nP1,2025-01-20,left,benign,maybe\n",
        encoding="utf-8",
    )
    assert "neither true nor false" in cli("import", "biopsies", str(source), code=1).stderr
