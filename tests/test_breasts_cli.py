"""Each breast's own course through the command line (issue 13 points 1, 4, 5;
clinical-rules.md §1, §2; cli.md ``exam add``, ``status`` and ``due`` JSON shapes)."""

from __future__ import annotations

import csv
import io
import json

from tests.conftest import Cli

N = ("--facility", "Northside Imaging")


def status(cli: Cli, patient: str, as_of: str) -> dict:
    return json.loads(cli("status", patient, "--as-of", as_of, "--format", "json").stdout)


def due(cli: Cli, as_of: str, *args: str) -> list[dict]:
    return json.loads(cli("due", "--as-of", as_of, "--format", "json", *args).stdout)


def test_the_worked_example_of_section_2_end_to_end(cli: Cli):
    """Left probably benign on a bilateral diagnostic exam of 2025-01-10: left due 2025-07-10
    (unilateral), right due 2026-01-10 (routine). The 6-month exam images the left breast only
    and finds it benign: left routine 2026-07-10, and her next step is the right breast's
    routine screening on 2026-01-10, bilateral: her annual screening stays where it was."""
    cli("patient", "add", "P1")
    cli("exam", "add", "P1", "--date", "2025-01-10", *N, "--category", "3",
        "--laterality", "left", "--kind", "diagnostic")  # fmt: skip
    first = status(cli, "P1", "2025-02-01")
    assert {k: first["next"][k] for k in ("action", "due", "laterality")} == {
        "action": "short-interval-follow-up",
        "due": "2025-07-10",
        "laterality": "left",
    }
    assert [(a["side"], a["action"], a["due"], a["laterality"]) for a in first["next"]["also"]] == [
        ("right", "routine-screening", "2026-01-10", "bilateral")
    ]
    left, right = first["breasts"]["left"], first["breasts"]["right"]
    assert (left["category"], left["birads"], left["action"], left["due"]) == (
        "probably-benign",
        "3",
        "short-interval-follow-up",
        "2025-07-10",
    )
    assert (left["episode_step"], left["exam_id"], left["biopsy_open"]) == (1, 1, False)
    assert (right["category"], right["action"], right["due"]) == (
        "negative",
        "routine-screening",
        "2026-01-10",
    )
    assert [r["also"] for r in due(cli, "2025-07-01")] == [
        {"side": "right", "action": "routine-screening", "due": "2026-01-10"}
    ]

    out = cli("exam", "add", "P1", "--date", "2025-07-10", *N, "--imaged", "left",
              "--category", "benign", "--kind", "diagnostic").stdout  # fmt: skip
    assert "Next: routine-screening (bilateral), due 2026-01-10" in out
    after = status(cli, "P1", "2025-08-01")
    assert {k: after["next"][k] for k in ("action", "due", "laterality")} == {
        "action": "routine-screening",
        "due": "2026-01-10",
        "laterality": "bilateral",
    }
    assert after["next"]["also"] == []  # the bilateral screening covers the other breast
    assert (after["breasts"]["left"]["action"], after["breasts"]["left"]["due"]) == (
        "routine-screening",
        "2026-07-10",
    )
    assert after["breasts"]["right"]["due"] == "2026-01-10"
    assert [(e["imaged"], e["laterality"]) for e in after["exams"]] == [
        ("both", "left"),
        ("left", None),
    ]
    (row,) = due(cli, "2025-12-20")
    assert (row["due"], row["action"], row["laterality"], row["also"]) == (
        "2026-01-10",
        "routine-screening",
        "bilateral",
        None,
    )


def test_a_finding_on_a_breast_the_exam_did_not_image_is_refused(sqlite_cli: Cli):
    cli = sqlite_cli
    cli("patient", "add", "P1")
    err = cli("exam", "add", "P1", "--date", "2025-01-10", *N, "--imaged", "left",
              "--category", "3", "--laterality", "right", code=1).stderr  # fmt: skip
    assert "the right breast, which this exam did not image" in err
    assert "imaged the left breast only" in err
    assert cli("exam", "list", "P1", "--format", "json").stdout.strip() == "[]"
    cli("exam", "add", "P1", "--date", "2025-01-10", *N, "--category", "3",
        "--laterality", "right")  # fmt: skip
    err = cli("exam", "edit", "1", "--imaged", "left", code=1).stderr
    assert "which this exam did not image" in err
    assert "unknown imaged side 'middle'" in cli(
        "exam", "add", "P1", "--date", "2025-02-01", *N, "--category", "2",
        "--imaged", "middle", code=2,
    ).stderr  # fmt: skip


def test_density_radiologist_and_subdivision_are_kept_shown_and_edited(sqlite_cli: Cli):
    cli = sqlite_cli
    cli("patient", "add", "P1")
    cli("exam", "add", "P1", "--date", "2025-03-01", *N, "--category", "4c",
        "--laterality", "left", "--kind", "diagnostic", "--density", "C",
        "--radiologist", "  Dr   Okafor ")  # fmt: skip
    (row,) = json.loads(cli("exam", "list", "P1", "--format", "json").stdout)
    assert (row["category"], row["birads"], row["density"], row["radiologist"]) == (
        "suspicious",
        "4C",
        "c",
        "Dr Okafor",
    )
    shown = status(cli, "P1", "2025-03-02")
    (exam,) = shown["exams"]
    assert (exam["birads"], exam["kind"], exam["density"], exam["radiologist"]) == (
        "4C",
        "diagnostic",
        "c",
        "Dr Okafor",
    )
    assert exam["findings"][0]["subdivision"] == "4C"
    assert shown["breasts"]["left"]["birads"] == "4C"
    table = cli("status", "P1", "--as-of", "2025-03-02").stdout
    assert "suspicious (BI-RADS 4C)" in table and "read by Dr Okafor" in table
    assert "density c" in table
    cli("exam", "edit", "1", "--clear-density", "--radiologist", "", "--category", "4a",
        "--laterality", "left")  # fmt: skip
    (row,) = json.loads(cli("exam", "list", "P1", "--format", "json").stdout)
    assert (row["birads"], row["density"], row["radiologist"]) == ("4A", None, None)
    history = json.loads(cli("exam", "history", "1", "--format", "json").stdout)
    changed = {c["field"] for c in history[-1]["changes"]}
    assert {"density", "radiologist", "findings"} <= changed
    err = cli("exam", "add", "P1", "--date", "2025-04-01", *N, "--category", "4b",
              "--density", "e", code=2).stderr  # fmt: skip
    assert "unknown breast density 'e'" in err


def test_a_screening_exam_never_closes_an_open_biopsy_recommendation(cli: Cli):
    """§4: the breast keeps `biopsy` with its original due date, and biopsy-outstanding;
    a later diagnostic re-assessment of that breast closes it."""
    cli("patient", "add", "P1")
    cli("exam", "add", "P1", "--date", "2025-01-10", *N, "--category", "5",
        "--laterality", "left", "--kind", "diagnostic")  # fmt: skip
    cli("exam", "add", "P1", "--date", "2025-02-10", "--facility", "Southside",
        "--category", "negative", "--kind", "screening")  # fmt: skip
    shown = status(cli, "P1", "2025-03-01")
    assert (shown["next"]["action"], shown["next"]["due"], shown["next"]["laterality"]) == (
        "biopsy",
        "2025-02-09",
        "left",
    )
    assert shown["breasts"]["left"]["biopsy_open"] is True
    codes = [f["code"] for f in shown["flags"]]
    assert {"biopsy-recommended", "biopsy-outstanding", "overdue"} <= set(codes)
    assert ("P1", "biopsy") in {(r["patient_id"], r["action"]) for r in due(cli, "2025-03-01")}
    cli("exam", "add", "P1", "--date", "2025-02-20", *N, "--category", "2",
        "--laterality", "left", "--kind", "diagnostic")  # fmt: skip
    shown = status(cli, "P1", "2025-03-01")
    assert shown["next"]["action"] == "routine-screening"
    assert shown["breasts"]["left"]["biopsy_open"] is False


def test_the_2024_categories_through_the_cli(sqlite_cli: Cli):
    """incomplete-priors: `prior-films` and a flag naming where earlier films are; a
    post-procedure exam is in the timeline but never governs."""
    cli = sqlite_cli
    cli("patient", "add", "P1")
    cli("exam", "add", "P1", "--date", "2023-05-01", "--facility", "Old Town Clinic",
        "--category", "1")  # fmt: skip
    cli("exam", "add", "P1", "--date", "2025-01-10", *N, "--category", "need priors",
        "--kind", "screening")  # fmt: skip
    shown = status(cli, "P1", "2025-01-12")
    assert (shown["next"]["action"], shown["next"]["due"]) == ("prior-films", "2025-02-09")
    flag = next(f for f in shown["flags"] if f["code"] == "prior-films-needed")
    assert "Old Town Clinic" in flag["message"] and "2023-05-01" in flag["message"]
    assert shown["exams"][-1]["category"] == "incomplete-priors"
    cli("exam", "add", "P1", "--date", "2025-01-20", *N, "--category", "2",
        "--kind", "diagnostic")  # fmt: skip
    cli("exam", "add", "P1", "--date", "2025-02-01", *N, "--category", "post-procedure",
        "--laterality", "left")  # fmt: skip
    shown = status(cli, "P1", "2025-02-02")
    assert (shown["next"]["action"], shown["next"]["due"]) == ("routine-screening", "2026-01-20")
    assert (shown["exams"][-1]["category"], shown["exams"][-1]["birads"]) == (
        "post-procedure",
        None,
    )
    assert "post-procedure" in cli("status", "P1", "--as-of", "2025-02-02").stdout


def test_status_speaks_to_her_and_shows_each_breast(sqlite_cli: Cli):
    cli = sqlite_cli
    cli("patient", "add", "P1", "--name", "Ana")
    cli("exam", "add", "P1", "--date", "2025-01-10", *N, "--category", "3",
        "--laterality", "left", "--kind", "diagnostic")  # fmt: skip
    table = " ".join(cli("status", "P1", "--as-of", "2025-02-01").stdout.split())
    assert "Each breast" in table
    assert "Left: Short-interval follow-up mammogram of the left breast, due 2025-07-10" in table
    assert "Also, for the right breast: Next routine screening mammogram of both breasts" in table
    assert "if you had mammograms elsewhere" in table  # her voice, not the staff's
    flags = json.loads(cli("flags", "--as-of", "2025-02-01", "--format", "json").stdout)
    assert "ask the patient where she had earlier mammograms" in flags[0]["message"]


def test_due_report_shows_the_other_breasts_step_in_every_format(sqlite_cli: Cli):
    cli = sqlite_cli
    cli("patient", "add", "P1")
    cli("exam", "add", "P1", "--date", "2025-01-10", *N, "--category", "3",
        "--laterality", "left", "--kind", "diagnostic")  # fmt: skip
    cli("patient", "add", "P2")
    cli("exam", "add", "P2", "--date", "2024-07-20", *N, "--category", "1")
    rows = {r["patient_id"]: r["also"] for r in due(cli, "2025-07-01")}
    assert rows == {
        "P1": {"side": "right", "action": "routine-screening", "due": "2026-01-10"},
        "P2": None,
    }
    out = cli("due", "--as-of", "2025-07-01", "--format", "csv").stdout
    records = {r["patient_id"]: r for r in csv.DictReader(io.StringIO(out))}
    assert records["P1"]["also"] == "right routine-screening 2026-01-10"
    assert records["P2"]["also"] == ""
    table = cli("due", "--as-of", "2025-07-01").stdout
    assert "right routine-screening 2026-01-10" in table
