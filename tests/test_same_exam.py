"""One rule for "the same exam" (issue 12 point 2, issue 11 point 12, clinical-rules.md §5):
patient, day, facility and kind; identical records are duplicates, differing ones are
refused naming both, whichever door they come by (exam add, CSV import, FHIR import)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from followup import rules
from followup.store import models
from tests.conftest import Cli

AS_OF = ("--as-of", "2025-06-01")
DAY = ("--date", "2025-01-31", "--facility", "Northside Imaging")
SCREENING = (*DAY, "--category", "0", "--kind", "screening")
DIAGNOSTIC = (*DAY, "--category", "3", "--laterality", "left", "--kind", "diagnostic")
HEADER = "patient_id,date,facility,kind,category,laterality,follow_up_months,note\n"


def exams(cli: Cli, patient: str = "P1") -> list[dict]:
    return json.loads(cli("exam", "list", patient, "--format", "json").stdout)


def status(cli: Cli) -> dict:
    return json.loads(cli("status", "P1", *AS_OF, "--format", "json").stdout)


@pytest.fixture
def p1(cli: Cli) -> Cli:
    cli("patient", "add", "P1")
    return cli


def write(tmp_path: Path, text: str, name: str = "in.csv") -> str:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return str(tmp_path / name)


def test_a_screening_and_its_diagnostic_work_up_are_two_exams(p1: Cli):
    p1("exam", "add", "P1", *SCREENING)
    p1("exam", "add", "P1", *DIAGNOSTIC)
    assert [e["kind"] for e in exams(p1)] == ["screening", "diagnostic"]
    plan = status(p1)["next"]  # §5: the diagnostic answers the screening's incomplete
    assert plan["action"] == "short-interval-follow-up" and plan["due"] == "2025-07-31"
    again = p1("exam", "add", "P1", *SCREENING, code=1).stderr
    assert (
        "already has exam 1 on 2025-01-31 at Northside Imaging (screening), which says the same"
        in again
    )
    other = p1("exam", "add", "P1", *DAY, "--category", "2", "--kind", "screening", code=1).stderr
    assert "already has exam 1" in other and "with other findings" in other
    moved = p1("exam", "edit", "2", "--kind", "screening", code=1).stderr
    assert "already has exam 1" in moved and "followup exam edit 1" in moved
    assert len(exams(p1)) == 2


def test_an_exam_of_unknown_kind_is_an_identity_of_its_own(p1: Cli):
    """A kind that was not recorded is a kind of its own: two such records of one day and
    place are one exam, and neither is the screening exam of that day."""
    p1("exam", "add", "P1", *DAY, "--category", "1")
    p1("exam", "add", "P1", *SCREENING)
    assert "already has exam 1" in p1("exam", "add", "P1", *DAY, "--category", "1", code=1).stderr
    assert [e["kind"] for e in exams(p1)] == [None, "screening"]


def test_csv_rows_of_two_kinds_are_two_exams_and_reimport_skips_both(cli: Cli, tmp_path: Path):
    text = (
        HEADER
        + "P1,2025-01-31,Northside Imaging,screening,0,,,\n"
        + "P1,2025-01-31,Northside Imaging,,1,right,,\n"  # no kind: a row of the exam above
        + "P1,2025-01-31,northside imaging,diagnostic,3,left,,work-up\n"
    )
    path = write(tmp_path, text)
    first = cli("import", "exams", path, *AS_OF).stderr
    assert "imported 2 exams with 3 findings" in first
    assert [(e["kind"], e["category"]) for e in exams(cli)] == [
        ("screening", "incomplete"),
        ("screening", "negative"),
        ("diagnostic", "probably-benign"),
    ]
    assert "2 duplicate exams skipped" in cli("import", "exams", path, *AS_OF).stderr


@pytest.mark.parametrize(
    ("csv_row", "fhir_change", "differs"),
    [
        ("3,left,,work-up", None, None),  # the same record: a duplicate
        ("3,left,,another note", ("note", [{"text": "another note"}]), "note"),
        ("3,left,4,work-up", ("months", 4), "follow-up interval"),
        ("4,left,,work-up", ("category", "Category4"), "findings"),
    ],
)
def test_every_door_gives_the_same_answer(
    p1: Cli, tmp_path: Path, csv_row: str, fhir_change: tuple | None, differs: str | None
):
    """exam add, CSV and FHIR: an identical record of a stored exam is a duplicate, one that
    says otherwise (findings, interval or note) is refused with one line naming the stored
    exam and what differs; the kind is the identity's, never the content's."""
    p1("exam", "add", "P1", *DIAGNOSTIC, "--note", "work-up")
    bundle = json.loads(p1("export", "fhir", "P1").stdout)
    csv_text = HEADER + f"P1,2025-01-31,Northside Imaging,diagnostic,{csv_row}\n"
    if fhir_change is not None:
        _change(bundle, *fhir_change)
    (tmp_path / "P1.json").write_text(json.dumps(bundle), encoding="utf-8")
    fhir_args = ("import", "fhir", str(tmp_path / "P1.json"), *AS_OF)
    csv_args = ("import", "exams", write(tmp_path, csv_text), *AS_OF)
    if differs is None:
        assert "1 duplicate exams skipped" in p1(*csv_args).stderr
        assert "0 exams added, 1 already recorded" in p1(*fhir_args).stdout
    else:
        csv_error = p1(*csv_args, code=1).stderr
        fhir_error = p1(*fhir_args, code=1).stderr
        for error in (csv_error, fhir_error):
            assert len(error.strip().splitlines()) == 1 and f"other {differs}" in error
        assert "already has exam 1 on 2025-01-31 at Northside Imaging (diagnostic)" in csv_error
        assert (
            "the diagnostic exam of 2025-01-31 at Northside Imaging differs from the stored "
            "exam 1" in fhir_error
        )
    assert len(exams(p1)) == 1


def _change(bundle: dict, what: str, value: object) -> None:
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Procedure" and what == "note":
            resource["note"] = value
        elif resource["resourceType"] == "Procedure" and what == "months":
            resource["extension"] = [
                {"url": "urn:followup:extension:follow-up-months", "valueInteger": value}
            ]
        elif resource["resourceType"] == "Observation" and what == "category":
            resource["valueCodeableConcept"] = {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/us/breast-radiology/CodeSystem/"
                        "BiRadsAssessmentCategoryCS",
                        "code": value,
                    }
                ]
            }


def test_fhir_round_trip_of_two_exams_of_one_day(p1: Cli, tmp_path: Path):
    p1("exam", "add", "P1", *SCREENING)
    p1("exam", "add", "P1", *DIAGNOSTIC)
    target = tmp_path / "P1.json"
    p1("export", "fhir", "P1", "-o", str(target))
    procedures = [
        e["resource"]["id"]
        for e in json.loads(target.read_text(encoding="utf-8"))["entry"]
        if e["resource"]["resourceType"] == "Procedure"
    ]
    assert len(set(procedures)) == 2  # one resource id each
    fresh = Cli(str(tmp_path / "fresh.db"))
    assert "2 exams added" in fresh("import", "fhir", str(target)).stdout
    assert fresh("export", "fhir", "P1").stdout == target.read_text(encoding="utf-8")
    assert "0 exams added, 2 already recorded" in p1("import", "fhir", str(target)).stdout


def test_descriptors_and_size_class_are_read_alike_by_every_door(p1: Cli, tmp_path: Path):
    """Checked once, in the rules: the CLI reads other systems' spellings as the CSV does,
    and refuses an unknown size class with the same words."""
    p1("exam", "add", "P1", *DIAGNOSTIC, "--morphology", "PLEOMORPHIC",
       "--distribution", "clustered", "--size-class", "MICRO")  # fmt: skip
    (stored,) = exams(p1)
    assert (stored["morphology"], stored["distribution"], stored["size_class"]) == (
        "fine pleomorphic",
        "grouped",
        "micro",
    )
    cli_error = p1("exam", "add", "P1", *SCREENING, "--size-class", "huge", code=1).stderr
    text = "patient_id,date,facility,category,size_class\nP1,2025-02-01,N,2,huge\n"
    csv_error = p1("import", "exams", write(tmp_path, text), *AS_OF, code=1).stderr
    for error in (cli_error, csv_error):
        assert "unknown size class 'huge'; use macro or micro" in error


def test_the_models_values_come_from_the_rules():
    assert models.SIDES == rules.SIDES and models.KINDS == rules.KINDS
    assert sorted(models.STORED_CATEGORIES) == sorted(rules.CATEGORIES)  # all of them (0009)
    assert models.SUBDIVISIONS == rules.SUBDIVISIONS and models.IMAGED == rules.IMAGED
    assert models.DENSITIES == rules.DENSITIES and models.BIOPSY_RESULTS == rules.BIOPSY_RESULTS
