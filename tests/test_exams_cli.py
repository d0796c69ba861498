"""``followup exam ...`` and ``films transfer`` through the CLI, with every refusal of cli.md."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

ADD = ("exam", "add", "P1")


@pytest.fixture
def p1(cli):
    cli("patient", "add", "P1")
    return cli


def _exams(cli, patient="P1"):
    return json.loads(cli("exam", "list", patient, "--format", "json").stdout)


def test_add_and_list(p1):
    out = p1(
        *ADD,
        "--date",
        "2025-01-31",
        "--facility",
        "Northside Imaging",
        "--category",
        "BI-RADS 3",
        "--laterality",
        "L",
        "--kind",
        "diagnostic",
        "--morphology",
        "punctate",
        "--distribution",
        "grouped",
    ).stdout
    assert "Recorded exam" in out
    assert "2025-07-31" in out  # the next step is shown at once
    (row,) = _exams(p1)
    assert row["category"] == "probably-benign"
    assert row["laterality"] == "left"
    assert row["facility"] == "Northside Imaging"
    assert row["morphology"] == "punctate"


def test_several_findings_in_one_exam(p1):
    p1(
        *ADD,
        "--date",
        "2025-01-31",
        "--facility",
        "N",
        "--category",
        "3",
        "--laterality",
        "left",
        "--category",
        "benign",
        "--laterality",
        "right",
    )
    rows = _exams(p1)
    assert [(r["category"], r["laterality"]) for r in rows] == [
        ("probably-benign", "left"),
        ("benign", "right"),
    ]
    result = p1(
        *ADD,
        "--date",
        "2025-02-01",
        "--facility",
        "N",
        "--category",
        "3",
        "--category",
        "2",
        "--laterality",
        "left",
        code=2,
    )
    assert "once per --category" in result.stderr


def test_facility_names_fold_case_and_space(p1):
    p1(*ADD, "--date", "2024-01-10", "--facility", "Northside Imaging", "--category", "2")
    p1(*ADD, "--date", "2025-01-10", "--facility", "  northside   IMAGING ", "--category", "2")
    assert {r["facility"] for r in _exams(p1)} == {"Northside Imaging"}


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--date", "2025-02-30"), 2, "not a valid date"),
        (("--date", "31/01/2025"), 2, "YYYY-MM-DD"),
        (("--date", (date.today() + timedelta(days=1)).isoformat()), 1, "in the future"),
        (("--date", "1899-12-31"), 1, "before 1900"),
        (("--category", "maybe"), 2, "probably-benign"),
        (("--laterality", "middle"), 2, "left, right, bilateral"),
        (("--facility", "   "), 1, "facility is empty"),
        (("--follow-up-months", "0"), 1, "outside 1-36"),
        (("--follow-up-months", "37"), 1, "outside 1-36"),
        (("--kind", "routine"), 2, "screening, diagnostic"),
    ],
)
def test_refusals_write_nothing(p1, args, code, message):
    base = {"--date": "2025-01-31", "--facility": "N", "--category": "2"}
    extra = dict(zip(args[::2], args[1::2], strict=True))
    argv = [x for k, v in {**base, **extra}.items() for x in (k, v)]
    result = p1(*ADD, *argv, code=code)
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert _exams(p1) == []


def test_unknown_patient_and_duplicate_exam(p1):
    result = p1(
        "exam", "add", "P9", "--date", "2025-01-31", "--facility", "N", "--category", "2", code=1
    )
    assert "followup patient add P9" in result.stderr
    p1(*ADD, "--date", "2025-01-31", "--facility", "N", "--category", "2")
    result = p1(*ADD, "--date", "2025-01-31", "--facility", " n ", "--category", "3", code=1)
    assert "already has exam" in result.stderr and "followup exam edit" in result.stderr
    assert len(_exams(p1)) == 1


def test_edit_and_delete_are_audited(p1):
    from sqlalchemy import create_engine, text

    p1(*ADD, "--date", "2025-01-31", "--facility", "N", "--category", "3", "--laterality", "left")
    (row,) = _exams(p1)
    out = p1("exam", "edit", str(row["id"]), "--follow-up-months", "4").stdout
    assert "2025-05-31" in out
    assert _exams(p1)[0]["follow_up_months"] == 4
    p1("exam", "edit", str(row["id"]), "--category", "2")
    assert _exams(p1)[0]["category"] == "benign"
    p1("exam", "delete", str(row["id"]), "--yes")
    assert _exams(p1) == []
    assert "no exam with id" in p1("exam", "delete", str(row["id"]), "--yes", code=1).stderr
    from followup.store.database import resolve_url

    engine = create_engine(resolve_url(p1.url))
    with engine.connect() as conn:
        actions = conn.execute(text("SELECT action, detail FROM audit_log ORDER BY id")).all()
    engine.dispose()
    assert [a for a, _ in actions] == ["exam.add", "exam.edit", "exam.edit", "exam.delete"]
    assert json.loads(actions[0][1])["after"]["findings"][0]["category"] == "probably-benign"
    assert json.loads(actions[1][1])["before"]["follow_up_months"] is None
    assert json.loads(actions[3][1])["before"]["findings"][0]["category"] == "benign"


def test_edit_refusals(p1):
    p1(*ADD, "--date", "2025-01-31", "--facility", "N", "--category", "2")
    p1(*ADD, "--date", "2025-03-31", "--facility", "N", "--category", "2")
    first, second = (r["id"] for r in _exams(p1))
    assert (
        "already has exam" in p1("exam", "edit", str(second), "--date", "2025-01-31", code=1).stderr
    )
    assert (
        "outside 1-36" in p1("exam", "edit", str(first), "--follow-up-months", "99", code=1).stderr
    )
    assert "nothing to change" in p1("exam", "edit", str(first), code=2).stderr
    assert [r["date"] for r in _exams(p1)] == ["2025-01-31", "2025-03-31"]


def test_films_transfer(p1):
    p1(*ADD, "--date", "2021-01-10", "--facility", "Old Town Clinic", "--category", "2")
    p1(*ADD, "--date", "2025-01-10", "--facility", "Northside", "--category", "2")
    before = json.loads(p1("status", "P1", "--as-of", "2025-02-01", "--format", "json").stdout)
    assert "facility-switch" in {f["code"] for f in before["flags"]}
    out = p1("films", "transfer", "P1", "--from", "old town clinic", "--to", "Northside").stdout
    assert "Old Town Clinic" in out
    after = json.loads(p1("status", "P1", "--as-of", "2025-02-01", "--format", "json").stdout)
    codes = {f["code"] for f in after["flags"]}
    assert "facility-switch" not in codes and "short-comparison-history" not in codes
    assert (
        "already recorded"
        in p1(
            "films", "transfer", "P1", "--from", "Old Town Clinic", "--to", "northside", code=1
        ).stderr
    )
    assert (
        "no exam of any patient"
        in p1("films", "transfer", "P1", "--from", "Nowhere", "--to", "Northside", code=1).stderr
    )
