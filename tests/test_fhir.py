"""``followup export fhir`` / ``import fhir``: a valid R4 Bundle, and a lossless round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from followup import rules
from followup.exchange import fhir_codes as fhir
from tests.conftest import SHARED_DATA, Cli

AS_OF = "2025-06-01"
IG_DATA = SHARED_DATA / "hl7_breast_radiology_ig"


def exam(cli: Cli, day: str, facility: str, *extra: str) -> None:
    cli("exam", "add", "P1", "--date", day, "--facility", facility, *extra)


def build_patient(cli: Cli) -> Cli:
    """Exams added in date order, so exam ids (shown by status) match after a re-import."""
    cli(
        "patient",
        "add",
        "P1",
        "--name",
        "Ana Silva",
        "--birth-date",
        "1968-05-02",
        "--email",
        "ana@example.org",
        "--phone",
        "+1 555 0100",
        "--no-reminders",
    )
    exam(cli, "2022-03-01", "northside  IMAGING", "--category", "1", "--kind", "screening")
    exam(cli, "2023-09-15", "Eastside Clinic", "--category", "0", "--note", "line 1\nline 2")
    exam(
        cli,
        "2024-01-31",
        "Eastside Clinic",
        "--category",
        "3",
        "--laterality",
        "left",
        "--kind",
        "diagnostic",
        "--morphology",
        "punctate",
        "--distribution",
        "grouped",
        "--category",
        "benign",
        "--laterality",
        "right",
        "--morphology",
        "skin-ish",
        "--distribution",
        "diffuse",
    )
    exam(
        cli,
        "2024-08-01",
        "Eastside Clinic",
        "--category",
        "3",
        "--laterality",
        "bilateral",
        "--follow-up-months",
        "5",
        "--morphology",
        "fine pleomorphic",
        "--note",
        "=not a formula",
    )
    cli("films", "transfer", "P1", "--from", "Northside Imaging", "--to", "Eastside Clinic",
        "--date", "2024-08-15")  # fmt: skip
    return cli


@pytest.fixture
def patient(cli: Cli) -> Cli:
    return build_patient(cli)


def export(cli: Cli) -> dict:
    return json.loads(cli("export", "fhir", "P1").stdout)


def resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_bundle_is_valid_fhir_r4(patient: Cli):
    bundle = export(patient)
    parsed = Bundle.model_validate(bundle)  # strict: unknown elements are refused
    assert parsed.type == "collection"
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("Patient") == 1 and kinds.count("Location") == 2
    assert kinds.count("Procedure") == 4 and kinds.count("Observation") == 5
    assert kinds.count("ServiceRequest") == 1
    references = {e["fullUrl"] for e in bundle["entry"]}
    for observation in resources(bundle, "Observation"):
        assert observation["partOf"][0]["reference"] in references
        assert observation["subject"]["reference"] in references


def test_patient_and_exam_coding(patient: Cli):
    bundle = export(patient)
    (person,) = resources(bundle, "Patient")
    assert person["identifier"] == [{"system": fhir.PATIENT_ID_SYSTEM, "value": "P1"}]
    assert person["birthDate"] == "1968-05-02" and person["name"] == [{"text": "Ana Silva"}]
    assert {"system": "phone", "value": "+1 555 0100"} in person["telecom"]
    assert person["extension"][1] == {
        "url": fhir.EXT_FILM_TRANSFER,
        "extension": [
            {"url": "from", "valueString": "northside IMAGING"},
            {"url": "to", "valueString": "Eastside Clinic"},
            {"url": "date", "valueDate": "2024-08-15"},
        ],
    }
    procedures = resources(bundle, "Procedure")
    assert [p["performedDateTime"] for p in procedures] == [
        "2022-03-01",
        "2023-09-15",
        "2024-01-31",
        "2024-08-01",
    ]
    assert procedures[0]["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "24606-6",
        "display": "MG Breast Screening",
    }
    assert procedures[2]["code"]["coding"][0]["code"] == "24605-8"
    assert "coding" not in procedures[1]["code"]  # kind unknown: no LOINC code is invented
    assert procedures[1]["note"] == [{"text": "line 1\nline 2"}]
    assert procedures[0]["location"]["display"] == "northside IMAGING"  # the stored spelling
    (plan,) = resources(bundle, "ServiceRequest")
    assert plan["occurrenceDateTime"] == "2025-01-01"  # the radiologist's 5 months
    assert plan["code"]["text"] == "short-interval-follow-up"
    assert plan["supportingInfo"][0]["reference"] == f"urn:uuid:{procedures[3]['id']}"
    assert plan["bodySite"][0]["coding"][0]["code"] == "63762007"  # both breasts


def test_observation_codes(patient: Cli):
    observations = resources(export(patient), "Observation")
    first = observations[1]  # 2023-09-15: incomplete
    codes = {c["system"]: c["code"] for c in first["valueCodeableConcept"]["coding"]}
    assert codes == {
        fhir.BIRADS_SYSTEM: "Category0",
        fhir.RADLEX_SYSTEM: "RDE1586_category0IncompleteNeedAdditionalImaging",
        "http://snomed.info/sct": "397138000",
    }
    left = observations[2]
    assert left["valueCodeableConcept"]["text"] == "probably-benign"
    assert {c["code"] for c in left["valueCodeableConcept"]["coding"]} >= {"397143007"}
    assert left["bodySite"]["coding"][0]["code"] == "80248007"
    components = {
        c["code"]["coding"][0]["code"]: c["valueCodeableConcept"] for c in left["component"]
    }
    assert components["RDE1565"]["coding"][0]["code"] == "RDE1565_punctate"
    assert [c["code"] for c in components["RDE1568"]["coding"]] == ["RDE1568_grouped", "129766004"]
    right = observations[3]
    odd = next(c for c in right["component"] if c["code"]["coding"][0]["code"] == "RDE1565")
    assert odd["valueCodeableConcept"] == {"text": "skin-ish"}  # free text: no code invented


def _ig_codes(name: str, url: str) -> set[str]:
    """The codes of one of the IG's code systems, after checking it is the system we cite."""

    def walk(concepts: list[dict]) -> set[str]:
        return {c["code"] for c in concepts} | {
            code for c in concepts for code in walk(c.get("concept", []))
        }

    data = json.loads((IG_DATA / name).read_text(encoding="utf-8"))
    assert data["url"] == url
    return walk(data["concept"])


def test_every_ig_code_exists_in_the_ig():
    birads = _ig_codes("CodeSystem-BiRadsAssessmentCategoryCS.json", fhir.BIRADS_SYSTEM)
    radlex = _ig_codes("CodeSystem-RadLexCDE.json", fhir.RADLEX_SYSTEM)
    recommendations = _ig_codes(
        "CodeSystem-ServiceRecommendationsCS.json", fhir.RECOMMENDATION_SYSTEM
    )
    for birads_code, radlex_code, _ in fhir.CATEGORY_CODES.values():
        assert birads_code in birads and radlex_code in radlex
    # The two categories of the revised clinical-rules.md §1 have no code of their own in
    # the IG: they are coded with ours (and incomplete-priors as a BI-RADS 0 too).
    unmapped = set(rules.Category) - set(fhir.CATEGORY_CODES)
    assert unmapped == {rules.Category.INCOMPLETE_PRIORS, rules.Category.POST_PROCEDURE}
    assert fhir.PRIORS_CODES[0] in birads
    for code, _, answer in fhir.SUBDIVISION_CODES.values():  # 4A/4B/4C
        assert code in birads and answer in radlex
    assert fhir.DENSITY_CODE[1] in radlex and set(fhir.DENSITY_CODES.values()) <= radlex
    assert set(fhir.MORPHOLOGY_CODES.values()) <= radlex
    assert {radlex for radlex, _ in fhir.DISTRIBUTION_CODES.values()} <= radlex
    assert {"RDE1565", "RDE1568", "RDE1586"} <= radlex
    assert {code for code, _ in fhir.RECOMMENDATIONS.values()} <= recommendations
    distribution_vs = json.loads(
        (IG_DATA / "ValueSet-CalcificationDistributionVS.json").read_text(encoding="utf-8")
    )
    snomed = {c["code"] for c in distribution_vs["compose"]["include"][0]["concept"]}
    assert {code for _, code in fhir.DISTRIBUTION_CODES.values()} <= snomed


def _status(cli: Cli) -> dict:
    return json.loads(cli("status", "P1", "--as-of", AS_OF, "--format", "json").stdout)


def test_round_trip_loses_nothing(patient: Cli, tmp_path: Path):
    """Export, import into a fresh database, export again: the same JSON, the same status."""
    target = tmp_path / "P1.json"
    patient("export", "fhir", "P1", "-o", str(target))
    assert target.stat().st_mode & 0o777 == 0o600
    fresh = Cli(str(tmp_path / "fresh.db"))
    out = fresh("import", "fhir", str(target)).stdout
    assert "4 exams added" in out and "new patient" in out and "1 film transfers" in out
    assert fresh("export", "fhir", "P1").stdout == target.read_text(encoding="utf-8")
    assert _status(fresh) == _status(patient)
    shown = json.loads(fresh("patient", "show", "P1", "--format", "json").stdout)
    original = json.loads(patient("patient", "show", "P1", "--format", "json").stdout)
    assert shown == original


def test_reimport_skips_exact_duplicates(patient: Cli, tmp_path: Path):
    target = tmp_path / "P1.json"
    patient("export", "fhir", "P1", "-o", str(target))
    out = patient("import", "fhir", str(target)).stdout
    assert "0 exams added, 4 already recorded, 0 film transfers" in out


def test_import_adds_only_new_exams(patient: Cli, tmp_path: Path):
    target = tmp_path / "P1.json"
    patient("export", "fhir", "P1", "-o", str(target))
    fresh = Cli(str(tmp_path / "fresh.db"))
    bundle = json.loads(target.read_text(encoding="utf-8"))
    first = resources(bundle, "Procedure")[0]
    partial = {
        **bundle,
        "entry": [
            e
            for e in bundle["entry"]
            if e["resource"]["resourceType"] in ("Patient", "Location")
            or e["resource"] is first
            or e["resource"].get("partOf", [{}])[0].get("reference") == f"urn:uuid:{first['id']}"
        ],
    }
    (tmp_path / "part.json").write_text(json.dumps(partial), encoding="utf-8")
    assert "1 exams added" in fresh("import", "fhir", str(tmp_path / "part.json")).stdout
    assert "3 exams added, 1 already" in fresh("import", "fhir", str(target)).stdout
    assert fresh("export", "fhir", "P1").stdout == target.read_text(encoding="utf-8")


def test_conflicting_patient_is_refused_whole(patient: Cli, tmp_path: Path):
    target = tmp_path / "P1.json"
    patient("export", "fhir", "P1", "-o", str(target))
    other = Cli(str(tmp_path / "other.db"))
    other("patient", "add", "P1", "--name", "Someone Else")
    result = other("import", "fhir", str(target), code=1)
    assert "different name, birth_date, email, phone, reminders" in result.stderr
    assert "nothing was imported" in result.stderr
    assert json.loads(other("exam", "list", "P1", "--format", "json").stdout) == []


def test_conflicting_exam_rolls_everything_back(patient: Cli, tmp_path: Path):
    target = tmp_path / "P1.json"
    patient("export", "fhir", "P1", "-o", str(target))
    bundle = json.loads(target.read_text(encoding="utf-8"))
    resources(bundle, "Procedure")[3]["note"] = [{"text": "changed"}]
    resources(bundle, "Procedure")[0]["performedDateTime"] = "2021-01-01"  # a new exam first
    target.write_text(json.dumps(bundle), encoding="utf-8")
    result = patient("import", "fhir", str(target), code=1)
    assert "the exam of 2024-08-01 at Eastside Clinic differs from the stored exam" in result.stderr
    exams = json.loads(patient("exam", "list", "P1", "--format", "json").stdout)
    assert "2021-01-01" not in {e["date"] for e in exams}  # the new one was rolled back


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not JSON"),
        ('{"resourceType": "Patient"}', "not a FHIR Bundle"),
        ('{"resourceType": "Bundle", "type": "collection", "entry": []}', "0 Patient resources"),
        (
            '{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient", '
            '"identifier": [{"value": "P1"}], "birthDate": "1970-13-01"}}]}',
            "the bundle cannot be read",
        ),
        (
            '{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient", '
            '"identifier": "P1"}}]}',
            "the bundle cannot be read",
        ),
    ],
)
def test_unreadable_bundles(sqlite_cli: Cli, tmp_path: Path, content: str, message: str):
    target = tmp_path / "bad.json"
    target.write_text(content, encoding="utf-8")
    assert message in sqlite_cli("import", "fhir", str(target), code=1).stderr


def test_future_exam_is_refused(patient: Cli, tmp_path: Path):
    target = tmp_path / "P1.json"
    patient("export", "fhir", "P1", "-o", str(target))
    fresh = Cli(str(tmp_path / "fresh.db"))
    result = fresh("import", "fhir", str(target), "--as-of", "2024-05-01", code=1)
    assert "2024-08-01" in result.stderr
    assert fresh("patient", "list", "--format", "json").stdout.strip() == "[]"


def test_unknown_patient_export(sqlite_cli: Cli):
    sqlite_cli("init")
    assert "no patient with id 'P9'" in sqlite_cli("export", "fhir", "P9", code=1).stderr


def build_breasts_and_biopsies(cli: Cli) -> Cli:
    """Issue 13 in one patient: a one-breast exam, 4A/4B/4C, the 2024 categories, density,
    radiologist, a dated film transfer, and biopsies of every kind of result."""
    cli("patient", "add", "P2", "--name", "Bea Okafor")
    add = ("exam", "add", "P2", "--facility", "Northside Imaging")
    cli(*add, "--date", "2023-02-01", "--category", "0-priors", "--kind", "screening",
        "--density", "d", "--radiologist", "Dr Ana Silva")  # fmt: skip
    cli(*add, "--date", "2024-03-01", "--category", "4c", "--laterality", "left",
        "--category", "4a", "--laterality", "right", "--kind", "diagnostic")  # fmt: skip
    cli(*add, "--date", "2024-03-12", "--category", "post-procedure", "--imaged", "left")
    cli("exam", "add", "P2", "--date", "2024-09-12", "--facility", "Southside",
        "--category", "2", "--imaged", "right", "--kind", "diagnostic")  # fmt: skip
    cli("films", "transfer", "P2", "--from", "Northside Imaging", "--to", "Southside",
        "--date", "2024-09-01")  # fmt: skip
    biopsy = ("biopsy", "add", "P2", "--side")
    cli(*biopsy, "left", "--date", "2024-03-12", "--result", "malignant", "--pathology",
        "DCIS", "--facility", "Northside Imaging", "--note", "clip placed")  # fmt: skip
    cli(*biopsy, "right", "--date", "2024-03-12", "--result", "benign", "--concordant",
        "--pathology", "fibroadenoma")  # fmt: skip
    cli(*biopsy, "right", "--date", "2024-04-20", "--result", "high-risk", "--pathology", "ADH")
    cli(*biopsy, "right", "--date", "2024-05-20", "--result", "benign", "--discordant")
    cli(*biopsy, "right", "--date", "2024-06-20", "--result", "pending")
    return cli


def test_breasts_biopsies_and_dated_transfers_round_trip(cli: Cli, tmp_path: Path):
    """Issue 13 points 3 and 4: a Procedure and a coded pathology DiagnosticReport per biopsy,
    Category4A/4B/4C, the 2024 categories, density, radiologist, the imaged breast and the
    transfer's date, valid FHIR R4, and read back with nothing lost."""
    build_breasts_and_biopsies(cli)
    target = tmp_path / "P2.json"
    cli("export", "fhir", "P2", "-o", str(target))
    bundle = json.loads(target.read_text(encoding="utf-8"))
    Bundle.model_validate(bundle)
    procedures = resources(bundle, "Procedure")
    biopsies = [p for p in procedures if p["code"]["text"] == "Breast biopsy"]
    assert len(biopsies) == 5 and len(procedures) == 9
    reports = {r["id"]: r for r in resources(bundle, "DiagnosticReport")}
    first = biopsies[0]
    assert first["bodySite"][0]["coding"][0]["code"] == "80248007"  # left breast
    assert first["note"] == [{"text": "clip placed"}]
    report = reports[first["report"][0]["reference"].removeprefix("urn:uuid:")]
    assert report["conclusion"] == "DCIS" and report["status"] == "final"
    assert report["category"][0]["coding"][0]["code"] == "LP7839-6"
    assert report["conclusionCode"][0]["coding"][0] == {
        "system": fhir.BIOPSY_RESULT_SYSTEM,
        "code": "malignant",
    }
    assert {r["status"] for r in reports.values()} == {"final", "registered"}
    assert [e["valueBoolean"] for r in reports.values() for e in r.get("extension", [])] == [
        True,
        False,
    ]
    observations = resources(bundle, "Observation")
    values = [o["valueCodeableConcept"] for o in observations]
    codes = [{c["code"] for c in v["coding"]} for v in values]
    assert {"incomplete-priors", "Category0"} <= codes[0]
    assert any("Category4C" in c and "397144001" in c for c in codes)
    assert any("Category4A" in c for c in codes)
    assert any(c == {"post-procedure"} for c in codes)
    density = next(o for o in observations if o["code"]["coding"][0]["code"] == "RDE1587")
    assert density["valueCodeableConcept"]["text"] == "d"
    screening = next(p for p in procedures if p.get("performer"))
    assert screening["performer"][0]["actor"] == {"display": "Dr Ana Silva"}
    one_breast = [p for p in procedures if p.get("bodySite") and p not in biopsies]
    assert [p["bodySite"][0]["text"] for p in one_breast] == ["left", "right"]
    (person,) = resources(bundle, "Patient")
    transfer = next(e for e in person["extension"] if e["url"] == fhir.EXT_FILM_TRANSFER)
    assert {"url": "date", "valueDate": "2024-09-01"} in transfer["extension"]

    fresh = Cli(str(tmp_path / "fresh.db"))
    out = fresh("import", "fhir", str(target)).stdout
    assert "5 biopsies added, 0 already recorded" in out
    assert fresh("export", "fhir", "P2").stdout == target.read_text(encoding="utf-8")
    for command in (("status", "P2"), ("biopsy", "list", "P2"), ("films", "list", "P2")):
        args = (*command, "--format", "json")
        if command[0] == "status":
            args = (*args, "--as-of", AS_OF)
        mine, theirs = json.loads(cli(*args).stdout), json.loads(fresh(*args).stdout)
        if command[0] == "films":  # when each was recorded differs; what was sent does not
            mine = [{k: v for k, v in t.items() if k != "recorded_at"} for t in mine]
            theirs = [{k: v for k, v in t.items() if k != "recorded_at"} for t in theirs]
        assert theirs == mine, command
    again = fresh("import", "fhir", str(target)).stdout
    assert "0 exams added, 4 already recorded" in again and "0 biopsies added, 5" in again
