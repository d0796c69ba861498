"""Issue 13 through the command line, where the rules tests alone showed it: the failsafe
scenarios at the top of the issue (clinical-rules.md §2-§4), ``exam edit --imaged``, the
same-day order of §5, ``interval-needs-review``, the BI-RADS 4 subdivision in FHIR, and every
new flag in two voices (§6: the patient's in ``status``, the staff's in the reports).

The other scenarios have their end-to-end tests beside the feature: a BI-RADS 5 then a
negative screening elsewhere (test_breasts_cli), the unilateral 6-month follow-up (the worked
example, test_breasts_cli), a biopsy recorded and its result (test_biopsy_cli)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from tests.conftest import Cli

N = ("--facility", "Northside Imaging")


def status(cli: Cli, patient: str, as_of: str) -> dict:
    return json.loads(cli("status", patient, "--as-of", as_of, "--format", "json").stdout)


def step(shown: dict) -> tuple:
    return shown["next"]["action"], shown["next"]["due"], shown["next"]["laterality"]


def breast(shown: dict, side: str) -> tuple:
    found = shown["breasts"][side]
    return found["action"], found["due"], found["exam_id"]


def codes(shown: dict) -> set[str]:
    return {f["code"] for f in shown["flags"]}


# --- the failsafe scenarios of the issue ---------------------------------------------------


def test_probably_benign_left_then_a_right_only_exam_keeps_the_left_finding(cli: Cli):
    """Scenario 2: the right-only exam leaves the left breast's 6-month follow-up in place
    (the old engine answered routine screening, and the left finding was gone)."""
    cli("patient", "add", "P1")
    cli("exam", "add", "P1", "--date", "2025-01-10", *N, "--category", "3",
        "--laterality", "left", "--kind", "diagnostic")  # fmt: skip
    cli("exam", "add", "P1", "--date", "2025-03-01", "--facility", "Southside",
        "--imaged", "right", "--category", "1", "--kind", "screening")  # fmt: skip
    shown = status(cli, "P1", "2025-03-02")
    assert step(shown) == ("short-interval-follow-up", "2025-07-10", "left")
    assert breast(shown, "left") == ("short-interval-follow-up", "2025-07-10", 1)
    assert shown["breasts"]["left"]["episode_step"] == 1
    assert breast(shown, "right") == ("routine-screening", "2026-03-01", 2)
    assert [(a["side"], a["action"], a["due"]) for a in shown["next"]["also"]] == [
        ("right", "routine-screening", "2026-03-01")
    ]
    due = json.loads(cli("due", "--as-of", "2025-07-01", "--format", "json").stdout)
    assert [(r["patient_id"], r["action"], r["due"]) for r in due] == [
        ("P1", "short-interval-follow-up", "2025-07-10")
    ]


def test_4a_and_4c_are_kept_apart_and_a_benign_biopsy_of_the_4c_can_be_discordant(
    sqlite_cli: Cli,
):
    """Scenario 4: 4A and 4C are stored, listed and shown as given (not plain suspicious),
    and the radiologist's reading that a benign biopsy of the 4C is discordant is recorded
    and followed."""
    cli = sqlite_cli
    cli("patient", "add", "P1")
    cli("exam", "add", "P1", "--date", "2025-03-01", *N, "--category", "4a",
        "--laterality", "right", "--category", "4c", "--laterality", "left",
        "--kind", "diagnostic")  # fmt: skip
    rows = json.loads(cli("exam", "list", "P1", "--format", "json").stdout)
    assert [(r["laterality"], r["category"], r["birads"]) for r in rows] == [
        ("right", "suspicious", "4A"),
        ("left", "suspicious", "4C"),
    ]
    shown = status(cli, "P1", "2025-03-02")
    assert (shown["breasts"]["left"]["birads"], shown["breasts"]["right"]["birads"]) == (
        "4C",
        "4A",
    )
    assert step(shown) == ("biopsy", "2025-03-31", "bilateral")
    table = " ".join(cli("status", "P1", "--as-of", "2025-03-02").stdout.split())
    assert "suspicious (BI-RADS 4C)" in table and "suspicious (BI-RADS 4A)" in table
    cli("biopsy", "add", "P1", "--date", "2025-03-10", "--side", "left", "--result", "benign",
        "--discordant", "--pathology", "fibrosis")  # fmt: skip
    shown = status(cli, "P1", "2025-03-12")
    assert breast(shown, "left")[:2] == ("surgical-consultation", "2025-04-09")
    assert breast(shown, "right")[:2] == ("biopsy", "2025-03-31")  # the 4A is still open
    assert {"discordant-biopsy", "biopsy-recommended"} <= codes(shown)


@pytest.mark.parametrize("sub", ["4A", "4B", "4C"])
def test_each_birads_4_subdivision_goes_to_fhir_and_back(sqlite_cli: Cli, tmp_path: Path, sub):
    cli = sqlite_cli
    cli("patient", "add", "P1")
    cli("exam", "add", "P1", "--date", "2025-03-01", *N, "--category", sub.lower(),
        "--laterality", "left", "--kind", "diagnostic")  # fmt: skip
    target = tmp_path / "P1.json"
    cli("export", "fhir", "P1", "-o", str(target))
    bundle = json.loads(target.read_text(encoding="utf-8"))
    found = {
        coding["code"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "Observation"
        for coding in entry["resource"].get("valueCodeableConcept", {}).get("coding", [])
    }
    assert f"Category{sub}" in found
    assert {f"Category{other}" for other in ("4A", "4B", "4C") if other != sub}.isdisjoint(found)
    fresh = Cli(str(tmp_path / "fresh.db"))
    fresh("import", "fhir", str(target))
    (row,) = json.loads(fresh("exam", "list", "P1", "--format", "json").stdout)
    assert (row["category"], row["birads"]) == ("suspicious", sub)


# --- point 1: exam edit --imaged ------------------------------------------------------------


def test_exam_edit_imaged_moves_the_exam_to_one_breast(sqlite_cli: Cli):
    cli = sqlite_cli
    cli("patient", "add", "P1")
    cli("exam", "add", "P1", "--date", "2025-01-10", *N, "--category", "1", "--imaged", "both")
    cli("exam", "add", "P1", "--date", "2025-06-10", *N, "--category", "2", "--kind", "diagnostic")
    shown = status(cli, "P1", "2025-06-11")
    assert breast(shown, "left") == breast(shown, "right") == ("routine-screening", "2026-06-10", 2)
    out = cli("exam", "edit", "2", "--imaged", "right").stdout
    assert "Next: routine-screening (bilateral), due 2026-01-10" in out
    shown = status(cli, "P1", "2025-06-11")
    assert breast(shown, "left") == ("routine-screening", "2026-01-10", 1)  # from exam 1 now
    assert breast(shown, "right") == ("routine-screening", "2026-06-10", 2)
    assert [e["imaged"] for e in shown["exams"]] == ["both", "right"]
    history = json.loads(cli("exam", "history", "2", "--format", "json").stdout)
    assert {"field": "imaged", "before": "both", "after": "right"} in history[-1]["changes"]


# --- point 3: interval-needs-review ---------------------------------------------------------


def test_an_interval_on_a_birads_4_exam_keeps_the_biopsy_and_asks_for_review(sqlite_cli: Cli):
    cli = sqlite_cli
    cli("patient", "add", "P1")
    cli("exam", "add", "P1", "--date", "2025-01-10", *N, "--category", "4",
        "--laterality", "left", "--kind", "diagnostic", "--follow-up-months", "6")  # fmt: skip
    shown = status(cli, "P1", "2025-01-12")
    assert step(shown) == ("biopsy", "2025-02-09", "left")  # not 2025-07-10
    assert {"interval-needs-review", "biopsy-recommended"} <= codes(shown)


# --- point 5: same-day order ----------------------------------------------------------------


def test_a_diagnostic_exam_resolves_the_same_days_incomplete_screening(sqlite_cli: Cli):
    """§5: the screening comes first whatever order they are entered in; the work-up
    answers it; no category-increased between them."""
    cli = sqlite_cli
    for patient, work_up in (("P1", "2"), ("P2", "4")):
        cli("patient", "add", patient)
        cli("exam", "add", patient, "--date", "2024-03-01", *N, "--category", "1")
        cli("exam", "add", patient, "--date", "2025-03-03", *N, "--category", work_up,
            "--laterality", "left", "--kind", "diagnostic")  # fmt: skip
        cli("exam", "add", patient, "--date", "2025-03-03", *N, "--category", "0",
            "--laterality", "left", "--kind", "screening")  # fmt: skip
    shown = status(cli, "P1", "2025-03-04")
    assert step(shown) == ("routine-screening", "2026-03-03", "bilateral")
    assert [(e["kind"], e["category"]) for e in shown["exams"][1:]] == [
        ("screening", "incomplete"),
        ("diagnostic", "benign"),
    ]
    assert codes(shown) & {"additional-imaging-needed", "category-increased"} == set()
    shown = status(cli, "P2", "2025-03-04")
    assert step(shown) == ("biopsy", "2025-04-02", "left")
    (rise,) = [f["message"] for f in shown["flags"] if f["code"] == "category-increased"]
    assert "negative (2024-03-01)" in rise and "incomplete" not in rise


# --- point 7: every new flag in two voices ---------------------------------------------------

NEW_FLAGS = {
    # patient: the flags of issue 13 her records raise
    "P1": {"prior-films-needed"},
    "P2": {"biopsy-recommended", "biopsy-outstanding", "interval-needs-review"},
    "P3": {"discordant-biopsy", "category-increased"},
    "P4": {"high-risk-lesion"},
}
YOU = re.compile(r"\byou(r)?\b", re.IGNORECASE)
TO_DO = re.compile(r"\b(book|request|ask|record|contact|make sure|send)\b", re.IGNORECASE)


def _flagged(cli: Cli) -> Cli:
    cli("patient", "add", "P1")
    cli("exam", "add", "P1", "--date", "2023-05-01", "--facility", "Old Town Clinic",
        "--category", "1")  # fmt: skip
    cli("exam", "add", "P1", "--date", "2025-01-10", *N, "--category", "0-priors",
        "--kind", "screening")  # fmt: skip
    cli("patient", "add", "P2")
    cli("exam", "add", "P2", "--date", "2025-01-10", *N, "--category", "4b",
        "--laterality", "left", "--kind", "diagnostic", "--follow-up-months", "6")  # fmt: skip
    cli("exam", "add", "P2", "--date", "2025-02-10", *N, "--category", "1", "--kind", "screening")
    for patient, result in (("P3", ("benign", "--discordant")), ("P4", ("high-risk",))):
        cli("patient", "add", patient)
        cli("exam", "add", patient, "--date", "2024-01-10", *N, "--category", "2")
        cli("exam", "add", patient, "--date", "2025-01-10", *N, "--category", "4c",
            "--laterality", "right", "--kind", "diagnostic")  # fmt: skip
        cli("biopsy", "add", patient, "--date", "2025-01-20", "--side", "right",
            "--result", *result, "--pathology", "ADH")  # fmt: skip
    return cli


def test_every_new_flag_speaks_to_her_in_status_and_to_staff_in_the_reports(cli: Cli):
    _flagged(cli)
    as_of = "2025-02-11"
    report = json.loads(cli("flags", "--as-of", as_of, "--format", "json").stdout)
    staff = {(r["patient_id"], r["code"]): r["message"] for r in report}
    for patient, expected in NEW_FLAGS.items():
        theirs = {f["code"]: f["message"] for f in status(cli, patient, as_of)["flags"]}
        assert expected <= set(theirs), (patient, sorted(theirs))
        for code in expected:
            hers, ours = theirs[code], staff[(patient, code)]
            assert hers != ours, code
            assert YOU.search(hers), (code, hers)  # her voice
            assert not YOU.search(ours), (code, ours)  # the staff's
            assert TO_DO.search(hers) and TO_DO.search(ours), code  # both say what to do
    table = " ".join(cli("status", "P2", "--as-of", as_of).stdout.split())
    assert "your left breast" in table


# --- points 1 and 4 in CSV: imaged, density, radiologist, subdivision ------------------------


def test_exam_fields_of_issue_13_go_to_csv_and_back(cli: Cli, tmp_path: Path):
    cli("patient", "add", "P1")
    cli("exam", "add", "P1", "--date", "2025-01-10", *N, "--imaged", "left", "--category", "4b",
        "--laterality", "left", "--kind", "diagnostic", "--density", "c",
        "--radiologist", "Dr Okafor")  # fmt: skip
    cli("exam", "add", "P1", "--date", "2025-01-20", *N, "--category", "post-procedure",
        "--laterality", "left", "--imaged", "left")  # fmt: skip
    target = tmp_path / "exams.csv"
    cli("export", "exams", "-o", str(target))
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    wanted = ("category", "subdivision", "imaged", "density", "radiologist")
    assert [tuple(r[k] for k in wanted) for r in rows] == [
        ("suspicious", "4B", "left", "c", "Dr Okafor"),
        ("post-procedure", "", "left", "", ""),
    ]
    fresh = Cli(str(tmp_path / "fresh.db"))
    fresh("import", "exams", str(target))
    for command in (("exam", "list", "P1"), ("status", "P1", "--as-of", "2025-02-01")):
        args = (*command, "--format", "json")
        assert json.loads(fresh(*args).stdout) == json.loads(cli(*args).stdout), command


def test_import_refuses_a_finding_on_a_breast_the_exam_did_not_image(
    sqlite_cli: Cli, tmp_path: Path
):
    cli = sqlite_cli
    source = tmp_path / "in.csv"
    source.write_text(
        "patient_id,date,facility,category,laterality,imaged\n"
        "P1,2025-01-10,Northside Imaging,2,left,left\n"
        "P1,2025-02-10,Northside Imaging,3,right,left\n",
        encoding="utf-8",
    )
    err = cli("import", "exams", str(source), code=1).stderr
    assert "line 3: the probably-benign finding is on the right breast, which this exam did " in err
    assert "nothing was imported" in err and len(err.strip().splitlines()) == 1
    assert json.loads(cli("patient", "list", "--format", "json").stdout) == []
    # --skip-invalid rejects that row alone (it once stopped the whole import)
    rejects = tmp_path / "rejects.csv"
    cli("import", "exams", str(source), "--skip-invalid", "--rejects", str(rejects))
    (rejected,) = csv.DictReader(io.StringIO(rejects.read_text(encoding="utf-8")))
    assert (rejected["line"], rejected["laterality"]) == ("3", "right")
    assert "did not image" in rejected["reason"]
    (row,) = json.loads(cli("exam", "list", "P1", "--format", "json").stdout)
    assert (row["date"], row["imaged"], row["laterality"]) == ("2025-01-10", "left", "left")
    # a later row of the exam that says it imaged one breast, after a row with the other
    source.write_text(
        "patient_id,date,facility,category,laterality,imaged\n"
        "P2,2025-02-10,Northside Imaging,2,right,\n"
        "P2,2025-02-10,Northside Imaging,3,right,left\n",
        encoding="utf-8",
    )
    err = cli("import", "exams", str(source), code=1).stderr
    assert "line 3: the benign finding is on the right breast" in err


def test_a_benign_biopsy_without_concordance_is_refused_from_fhir_too(
    sqlite_cli: Cli, tmp_path: Path
):
    """Point 3: every door refuses it (`biopsy add`: test_biopsy_cli; CSV: test_biopsy_csv),
    naming the biopsy of the bundle, and nothing is imported."""
    cli = sqlite_cli
    cli("patient", "add", "P1")
    cli("exam", "add", "P1", "--date", "2025-01-10", *N, "--category", "4c",
        "--laterality", "left", "--kind", "diagnostic")  # fmt: skip
    cli("biopsy", "add", "P1", "--date", "2025-01-20", "--side", "left", "--result", "benign",
        "--concordant")  # fmt: skip
    bundle = json.loads(cli("export", "fhir", "P1").stdout)
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "DiagnosticReport":
            entry["resource"].pop("extension", None)  # the concordance
    target = tmp_path / "P1.json"
    target.write_text(json.dumps(bundle), encoding="utf-8")
    fresh = Cli(str(tmp_path / "fresh.db"))
    err = fresh("import", "fhir", str(target), code=1).stderr
    assert "patient P1's biopsy of 2025-01-20 (left breast)" in err
    assert "concordant or discordant" in err
    assert json.loads(fresh("patient", "list", "--format", "json").stdout) == []
