"""Real data written by others: the CBIS-DDSM calcification case descriptions (CC BY 3.0,
Sawyer-Lee et al., TCIA 2016, DOI 10.7937/K9/TCIA.2016.7O02S9CY).

The files have no dates or facility, so the import supplies them. Expected counts and plans are
computed here straight from the files and clinical-rules.md, not from followup's code.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta

from tests.conftest import SHARED_DATA, Cli

FILES = [
    SHARED_DATA / "cbis_ddsm" / "calc_case_description_train_set.csv",
    SHARED_DATA / "cbis_ddsm" / "calc_case_description_test_set.csv",
]
EXAM_DAY = date(2016, 1, 15)
OPTIONS = (
    "--default-date",
    EXAM_DAY.isoformat(),
    "--default-facility",
    "CBIS-DDSM",
    "--as-of",
    "2016-02-01",
)
# clinical-rules.md §1: the "most worrisome" order, and what each BI-RADS number asks for.
WORRY = {"1": 0, "2": 1, "3": 2, "0": 3, "4": 4, "5": 5}
EXPECTED = {
    "0": ("additional-imaging", EXAM_DAY + timedelta(days=30)),
    "2": ("routine-screening", EXAM_DAY + relativedelta(months=12)),
    "3": ("short-interval-follow-up", EXAM_DAY + relativedelta(months=6)),
    "4": ("biopsy", EXAM_DAY + timedelta(days=30)),
    "5": ("biopsy", EXAM_DAY + timedelta(days=30)),
}


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def _findings(rows: list[dict[str, str]]) -> dict[str, dict[tuple[str, str], str]]:
    """patient -> (side, abnormality id) -> BI-RADS; views of one finding folded, the most
    worrisome assessment kept."""
    found: dict[str, dict[tuple[str, str], str]] = defaultdict(dict)
    for row in rows:
        key = (row["left or right breast"].lower(), row["abnormality id"])
        seen = found[row["patient_id"]].get(key)
        if seen is None or WORRY[row["assessment"]] > WORRY[seen]:
            found[row["patient_id"]][key] = row["assessment"]
    return found


def _expected_plan(findings: dict[tuple[str, str], str]) -> tuple[str, str, str]:
    worst = max(findings.values(), key=WORRY.__getitem__)
    action, due = EXPECTED[worst]
    # Revised clinical-rules.md §2: each breast has its own plan; both breasts with the same
    # action on the same day (here: 4 on one, 5 on the other) make a bilateral plan.
    sides = {side for (side, _), birads in findings.items() if EXPECTED[birads][0] == action}
    side = "bilateral" if len(sides) > 1 or action == "routine-screening" else sides.pop()
    return action, due.isoformat(), side


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, list[str]]:
    cli = Cli(str(tmp_path_factory.mktemp("cbis") / "cbis.db"))
    summaries = [cli("import", "exams", str(path), *OPTIONS).stderr for path in FILES]
    return cli, summaries


def test_counts_match_the_files(imported: tuple[Cli, list[str]]) -> None:
    _, summaries = imported
    for path, summary in zip(FILES, summaries, strict=True):
        rows = _read(path)
        findings = _findings(rows)
        expected_findings = sum(len(f) for f in findings.values())
        assert len(findings) < len(rows)  # per-image rows really were folded
        assert (
            f"read {len(rows):,} rows; imported {len(findings):,} exams with "
            f"{expected_findings:,} findings ({len(findings):,} new patients"
        ) in summary
        assert "0 rows rejected" in summary
    assert "1 new facilities" in summaries[0]
    assert "0 new facilities" in summaries[1]


def test_every_plan_follows_clinical_rules(imported: tuple[Cli, list[str]]) -> None:
    """All 753 patients through ``due`` (one list), a sample through ``status``."""
    cli, _ = imported
    expected = {}
    for path in FILES:
        for patient, findings in _findings(_read(path)).items():
            expected[patient] = _expected_plan(findings)
    due = json.loads(
        cli("due", "--as-of", "2016-02-01", "--within", "400", "--format", "json").stdout
    )
    got = {d["patient_id"]: (d["action"], d["due"], d["laterality"]) for d in due}
    assert got == expected
    actions = {a for a, _, _ in expected.values()}
    assert actions == {
        "additional-imaging",
        "routine-screening",
        "short-interval-follow-up",
        "biopsy",
    }
    by_action: dict[str, list[str]] = defaultdict(list)
    for patient in sorted(expected):
        by_action[expected[patient][0]].append(patient)
    sample = [p for patients in by_action.values() for p in patients[:3]]
    for patient in sample:
        status = json.loads(
            cli("status", patient, "--as-of", "2016-02-01", "--format", "json").stdout
        )
        nxt = status["next"]
        assert (nxt["action"], nxt["due"], nxt["laterality"]) == expected[patient]


def test_descriptors_become_our_terms(imported: tuple[Cli, list[str]]) -> None:
    cli, _ = imported
    rows = json.loads(cli("exam", "list", "P_00005", "--format", "json").stdout)
    assert [(r["category"], r["laterality"], r["morphology"], r["distribution"]) for r in rows] == [
        ("probably-benign", "right", "amorphous", "grouped")
    ]
    combos = {
        r["patient_id"]
        for r in _read(FILES[0])
        if r["calc type"] == "PLEOMORPHIC-FINE_LINEAR_BRANCHING"
    }
    patient = sorted(combos)[0]
    morphologies = {
        r["morphology"] for r in json.loads(cli("exam", "list", patient, "--format", "json").stdout)
    }
    assert "fine pleomorphic, fine linear branching" in morphologies


def test_reimport_is_all_duplicates(imported: tuple[Cli, list[str]]) -> None:
    cli, _ = imported
    again = cli("import", "exams", str(FILES[1]), *OPTIONS).stderr
    assert "imported 0 exams with 0 findings (0 new patients, 0 new facilities); 151 dup" in again
