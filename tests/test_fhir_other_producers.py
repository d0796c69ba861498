"""``import fhir`` of other producers' bundles (issue 11 point 12): the HL7 Breast Radiology
IG's own example, DiagnosticReport conclusions, other identifier systems, several patients;
never a silent "0 exams added"."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA, Cli

EXAMPLE = SHARED_DATA / "hl7_breast_radiology_ig" / "example-Bundle-SimpleNarrativeOnlyReport.json"
MRN = "urn:oid:2.16.840.1.113883.19.5"
IG = "http://hl7.org/fhir/us/breast-radiology/CodeSystem"


def example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def resource(bundle: dict, kind: str) -> dict:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind)


def save(tmp_path: Path, bundle: dict, name: str = "bundle.json") -> str:
    (tmp_path / name).write_text(json.dumps(bundle), encoding="utf-8")
    return str(tmp_path / name)


def test_the_ig_example_says_what_it_lacks_then_imports_its_conclusion(
    sqlite_cli: Cli, tmp_path: Path
):
    cli = sqlite_cli
    path = str(EXAMPLE)
    no_id = cli("import", "fhir", path, code=1).stderr
    assert "Patient/Patient1 has no identifier" in no_id and "--patient-id ID" in no_id
    no_date = cli("import", "fhir", path, "--patient-id", "P9", code=1).stderr
    assert (
        "DiagnosticReport/Report has its assessment but no exam date (effectiveDateTime) and "
        "no facility (performer); give --default-date DATE (the bundle's Composition is dated "
        "2020-03-29) and --default-facility NAME; nothing was imported" in no_date
    )
    done = cli("import", "fhir", path, "--patient-id", "P9", "--default-date", "2020-03-29",
               "--default-facility", "IG Example Imaging")  # fmt: skip
    assert "Imported P9 (new patient): 1 exams added" in done.stdout
    assert "Skipped: not read: Composition/Index, Device/Device1" in done.stderr
    (exam,) = json.loads(cli("exam", "list", "P9", "--format", "json").stdout)
    assert (exam["date"], exam["facility"], exam["category"]) == (
        "2020-03-29",
        "IG Example Imaging",
        "benign",  # conclusionCode Category2 of BiRadsAssessmentCategoriesCS (plural)
    )
    assert exam["note"] == "Report Narrative conclusion."
    patient = json.loads(cli("patient", "show", "P9", "--format", "json").stdout)
    assert patient["name"] == "Bullwinkle Moose"


@pytest.mark.parametrize("system", ["BiRadsAssessmentCategoryCS", "BiRadsAssessmentCategoriesCS"])
def test_a_report_with_its_date_performer_and_an_mrn(sqlite_cli: Cli, tmp_path: Path, system: str):
    bundle = example()
    resource(bundle, "Patient")["identifier"] = [
        {"system": MRN, "value": "MRN-77"},
        {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "000-00-0000"},
    ]
    report = resource(bundle, "DiagnosticReport")
    report["effectiveDateTime"] = "2024-05-02T10:30:00-05:00"
    report["performer"] = [{"reference": "Organization/Org1"}]
    report["conclusionCode"][0]["coding"][0] = {"system": f"{IG}/{system}", "code": "Category4B"}
    bundle["entry"].append(
        {
            "fullUrl": "Organization/Org1",
            "resource": {"resourceType": "Organization", "id": "Org1", "name": "Lakeside"},
        }
    )
    path = save(tmp_path, bundle)
    ambiguous = sqlite_cli("import", "fhir", path, code=1).stderr
    assert "identifiers of several systems" in ambiguous
    assert "--patient-identifier-system URI" in ambiguous
    out = sqlite_cli("import", "fhir", path, "--patient-identifier-system", MRN).stdout
    assert "Imported MRN-77 (new patient): 1 exams added" in out
    (exam,) = json.loads(sqlite_cli("exam", "list", "MRN-77", "--format", "json").stdout)
    assert (exam["date"], exam["facility"], exam["category"]) == (
        "2024-05-02",
        "Lakeside",
        "suspicious",
    )


def test_a_report_without_an_assessment_is_named_not_silently_dropped(
    sqlite_cli: Cli, tmp_path: Path
):
    bundle = example()
    del resource(bundle, "DiagnosticReport")["conclusionCode"]
    result = sqlite_cli("import", "fhir", save(tmp_path, bundle), "--patient-id", "P9")
    assert "0 exams added" in result.stdout
    assert (
        "Skipped: DiagnosticReport/Report: no BI-RADS assessment in its conclusionCode"
        in result.stderr
    )


def test_the_help_documents_the_mapping_options(sqlite_cli: Cli):
    text = sqlite_cli("import", "fhir", "--help").stdout
    for option in ("--patient-identifier-system", "--patient-id", "--default-date"):
        assert option in text


def test_a_bundle_of_several_patients(cli: Cli, tmp_path: Path):
    for patient in ("P1", "P2"):
        cli("patient", "add", patient, "--name", f"Patient {patient}")
        cli("exam", "add", patient, "--date", "2024-03-01", "--facility", "North",
            "--category", "2", "--kind", "screening")  # fmt: skip
    one, two = (json.loads(cli("export", "fhir", p).stdout) for p in ("P1", "P2"))
    merged = {**one, "entry": one["entry"] + two["entry"]}
    fresh = Cli(str(tmp_path / "fresh.db"))
    out = fresh("import", "fhir", save(tmp_path, merged)).stdout
    assert "Imported 2 patients (2 new, 0 existing): 2 exams added, 0 already recorded" in out
    assert fresh("export", "fhir", "P2").stdout == cli("export", "fhir", "P2").stdout
    again = cli("import", "fhir", save(tmp_path, merged)).stdout
    assert "Imported 2 patients (0 new, 2 existing): 0 exams added, 2 already recorded" in again
    orphan = copy.deepcopy(merged)
    next(
        e["resource"] for e in orphan["entry"] if e["resource"]["resourceType"] == "Procedure"
    ).pop("subject")
    error = fresh("import", "fhir", save(tmp_path, orphan, "orphan.json"), code=1).stderr
    assert "has no subject naming a Patient of the bundle" in error
