"""Biopsies through the command line (issue 13 point 3; clinical-rules.md §4; cli.md
``biopsy add|list|edit|delete``): validated in the store, audited, ids never reused, and the
plan follows each result."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Cli

N = ("--facility", "Northside Imaging")
AS_OF = "2025-03-12"


def status(cli: Cli, as_of: str = AS_OF) -> dict:
    return json.loads(cli("status", "P2", "--as-of", as_of, "--format", "json").stdout)


def step(shown: dict) -> tuple:
    return shown["next"]["action"], shown["next"]["due"], shown["next"]["laterality"]


def codes(shown: dict) -> set[str]:
    return {f["code"] for f in shown["flags"]}


@pytest.fixture
def suspicious(cli: Cli) -> Cli:
    """P2: a 4B finding of the left breast on a diagnostic exam of 2025-03-01."""
    cli("patient", "add", "P2")
    cli("exam", "add", "P2", "--date", "2025-03-01", *N, "--category", "4b",
        "--laterality", "left", "--kind", "diagnostic")  # fmt: skip
    return cli


def test_a_biopsy_from_pending_to_its_result(suspicious: Cli):
    cli = suspicious
    shown = status(cli)
    assert step(shown) == ("biopsy", "2025-03-31", "left")
    assert shown["breasts"]["left"]["biopsy_open"] is True
    out = cli("biopsy", "add", "P2", "--date", "2025-03-10", "--side", "left",
              "--result", "pending", "--facility", "northside  imaging").stdout  # fmt: skip
    assert out.startswith("Recorded biopsy 1 for patient P2.")
    assert "Next: pathology-result (left), due 2025-03-20" in out
    shown = status(cli)
    assert step(shown) == ("pathology-result", "2025-03-20", "left")
    assert shown["next"]["biopsy_id"] == 1
    assert shown["biopsies"] == [
        {
            "id": 1,
            "date": "2025-03-10",
            "side": "left",
            "result": "pending",
            "concordant": None,
            "facility": "Northside Imaging",  # the first spelling
            "pathology": None,
        }
    ]
    assert "pathology-result" in {r["action"] for r in json.loads(
        cli("due", "--as-of", AS_OF, "--format", "json").stdout)}  # fmt: skip
    stored = cli("export", "plans", "--format", "json").stdout
    cli("recompute")  # the bulk path reads biopsies as the one-patient path does
    assert cli("export", "plans", "--format", "json").stdout == stored
    # a pending result turns overdue 10 days after the biopsy (§4 boundary)
    assert "overdue" not in codes(status(cli, "2025-03-20"))
    assert "overdue" in codes(status(cli, "2025-03-21"))

    err = cli("biopsy", "edit", "1", "--result", "benign", code=1).stderr
    assert "must say whether it is concordant with the imaging" in err
    assert status(cli)["biopsies"][0]["result"] == "pending"  # nothing half-written

    cli("biopsy", "edit", "1", "--result", "benign", "--concordant", "--pathology", "fibroadenoma")
    shown = status(cli)
    assert step(shown) == ("short-interval-follow-up", "2025-09-10", "left")
    assert (shown["biopsies"][0]["concordant"], shown["biopsies"][0]["pathology"]) == (
        True,
        "fibroadenoma",
    )
    assert shown["breasts"]["left"]["biopsy_open"] is False

    cli("biopsy", "edit", "1", "--discordant")
    shown = status(cli)
    assert step(shown) == ("surgical-consultation", "2025-04-09", "left")
    assert "discordant-biopsy" in codes(shown)

    cli("biopsy", "edit", "1", "--result", "high-risk", "--pathology", "ADH")
    shown = status(cli)
    assert step(shown) == ("surgical-consultation", "2025-04-09", "left")
    assert "high-risk-lesion" in codes(shown)

    cli("biopsy", "edit", "1", "--result", "malignant", "--pathology", "invasive ductal")
    shown = status(cli)
    assert step(shown) == ("treatment", None, None)

    table = " ".join(cli("status", "P2", "--as-of", AS_OF).stdout.split())
    assert "biopsy malignant left invasive ductal" in table  # a new result, no concordance
    assert "suspicious (BI-RADS 4B)" in table

    log = json.loads(cli("audit-log", "P2", "--format", "json").stdout)
    biopsy_entries = [(e["action"], e["biopsy_id"]) for e in log if e["biopsy_id"]]
    assert biopsy_entries == [("biopsy.add", 1)] + [("biopsy.edit", 1)] * 4
    assert {"field": "result", "before": "high-risk", "after": "malignant"} in log[-1]["changes"]

    cli("biopsy", "delete", "1", "--yes")
    assert step(status(cli)) == ("biopsy", "2025-03-31", "left")  # the recommendation is back
    assert (
        json.loads(cli("audit-log", "P2", "--format", "json").stdout)[-1]["before"]["pathology"]
        == "invasive ductal"
    )


def test_biopsy_input_is_refused_with_what_to_fix(suspicious: Cli):
    cli = suspicious
    day = ("--date", "2025-03-10", "--side", "left")
    err = cli("biopsy", "add", "P2", *day, "--result", "benign", code=1).stderr
    assert "record it as concordant or discordant" in err
    err = cli("biopsy", "add", "P2", *day, "--result", "pending", "--concordant", code=1).stderr
    assert "a pending biopsy has no concordance yet" in err
    err = cli("biopsy", "add", "P2", "--date", "2999-01-01", "--side", "left",
              "--result", "pending", code=1).stderr  # fmt: skip
    assert "biopsy date 2999-01-01 is in the future" in err
    err = cli("biopsy", "add", "P2", "--date", "2025-03-10", "--side", "both",
              "--result", "pending", code=2).stderr  # fmt: skip
    assert "a biopsy is of one breast" in err
    err = cli("biopsy", "add", "P2", *day, "--result", "maybe", code=2).stderr
    assert "unknown biopsy result 'maybe'" in err
    err = cli("biopsy", "add", "NOPE", *day, "--result", "pending", code=1).stderr
    assert "followup patient add NOPE" in err
    cli("biopsy", "add", "P2", *day, "--result", "pending")
    err = cli("biopsy", "add", "P2", *day, "--result", "malignant", code=1).stderr
    assert "already has biopsy 1 of the left breast on 2025-03-10" in err
    assert "followup biopsy edit 1" in err
    assert "no biopsy with id 7" in cli("biopsy", "edit", "7", "--note", "x", code=1).stderr
    assert "nothing to change" in cli("biopsy", "edit", "1", code=2).stderr
    assert "unchanged" in cli("biopsy", "edit", "1", "--result", "pending").stdout
    rows = json.loads(cli("biopsy", "list", "P2", "--format", "json").stdout)
    assert [(r["id"], r["result"]) for r in rows] == [(1, "pending")]


def test_biopsy_ids_are_never_reused(sqlite_cli: Cli):
    cli = sqlite_cli
    cli("patient", "add", "P1")
    for day in ("2025-01-10", "2025-02-10"):
        cli("biopsy", "add", "P1", "--date", day, "--side", "right", "--result", "pending")
    cli("biopsy", "delete", "2", "--yes")
    out = cli("biopsy", "add", "P1", "--date", "2025-03-10", "--side", "right",
              "--result", "pending").stdout  # fmt: skip
    assert out.startswith("Recorded biopsy 3 ")


def test_an_exam_after_a_discordant_biopsy_resumes_the_ordinary_rules(sqlite_cli: Cli):
    """§4: "An exam of that breast dated after the biopsy resumes the ordinary rules": a
    negative screening after a discordant benign biopsy drops the surgical consultation (a
    reading the rules' author noted for the spec owner; this is what the store and CLI do)."""
    cli = sqlite_cli
    cli("patient", "add", "P2")
    cli("exam", "add", "P2", "--date", "2025-03-01", *N, "--category", "4b",
        "--laterality", "left", "--kind", "diagnostic")  # fmt: skip
    cli("biopsy", "add", "P2", "--date", "2025-03-10", "--side", "left",
        "--result", "benign", "--discordant")  # fmt: skip
    assert step(status(cli, "2025-03-12"))[0] == "surgical-consultation"
    cli("exam", "add", "P2", "--date", "2025-06-01", *N, "--category", "1", "--kind", "screening")
    shown = status(cli, "2025-06-02")
    assert step(shown) == ("routine-screening", "2026-06-01", "bilateral")
    assert "discordant-biopsy" not in codes(shown)
