"""``followup status`` through the CLI: the JSON contract of cli.md and a table people can read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Cli


@pytest.fixture
def ana(cli: Cli) -> Cli:
    """Ana: a benign screening at Southside, then probably benign on the left at Northside."""
    cli("patient", "add", "P1", "--name", "Ana Silva")
    cli(
        "exam",
        "add",
        "P1",
        "--date",
        "2021-01-10",
        "--facility",
        "Southside Clinic",
        "--category",
        "benign",
        "--kind",
        "screening",
    )
    cli(
        "exam",
        "add",
        "P1",
        "--date",
        "2025-01-31",
        "--facility",
        "Northside Imaging",
        "--category",
        "BI-RADS 3",
        "--laterality",
        "left",
        "--kind",
        "diagnostic",
        "--morphology",
        "punctate",
        "--distribution",
        "grouped",
    )
    return cli


def status(cli: Cli, *args: str) -> dict:
    return json.loads(cli("status", "P1", "--format", "json", *args).stdout)


def test_json_has_the_shape_of_cli_md(ana: Cli):
    got = status(ana, "--as-of", "2025-02-01")
    assert got["patient_id"] == "P1"
    assert got["as_of"] == "2025-02-01"
    assert {k: got["next"][k] for k in ("action", "due", "laterality")} == {
        "action": "short-interval-follow-up",
        "due": "2025-07-31",
        "laterality": "left",
    }
    assert "6 months after 2025-01-31" in got["next"]["reason"]
    assert "Northside Imaging" in got["next"]["reason"]
    assert [f["code"] for f in got["flags"]] == [
        "short-comparison-history",
        "facility-switch",
        "category-increased",
    ]
    assert [(e["date"], e["facility"], e["category"], e["laterality"]) for e in got["exams"]] == [
        ("2021-01-10", "Southside Clinic", "benign", None),
        ("2025-01-31", "Northside Imaging", "probably-benign", "left"),
    ]
    assert all(isinstance(e["id"], int) for e in got["exams"])


def test_comparison_flags_name_where_the_films_are(ana: Cli):
    flags = {f["code"]: f["message"] for f in status(ana, "--as-of", "2025-02-01")["flags"]}
    assert "Southside Clinic (2021-01-10)" in flags["short-comparison-history"]
    assert "Southside Clinic" in flags["facility-switch"]


def test_transferred_films_count_as_on_hand(ana: Cli):
    ana("films", "transfer", "P1", "--from", "southside  clinic", "--to", "Northside Imaging")
    codes = [f["code"] for f in status(ana, "--as-of", "2025-02-01")["flags"]]
    assert codes == ["category-increased"]


def test_dated_flags_follow_as_of(ana: Cli):
    def codes(as_of: str) -> list[str]:
        return [f["code"] for f in status(ana, "--as-of", as_of)["flags"]]

    assert "overdue" not in codes("2025-07-31")  # due today is not overdue
    assert "overdue" in codes("2025-08-01")
    assert "lost-to-follow-up" not in codes("2025-10-29")  # 90 days overdue
    assert "lost-to-follow-up" in codes("2025-10-30")  # 91 days


def test_table_reads_well_to_a_patient(ana: Cli):
    out = ana("status", "P1", "--as-of", "2025-08-20").stdout
    assert "Patient P1 (Ana Silva), as of 2025-08-20" in out
    assert "2021-01-10" in out and "punctate, grouped" in out
    assert "Short-interval follow-up mammogram of the left breast" in out
    assert "was due 2025-07-31 (20 days ago: overdue)" in out
    assert "Why: probably benign: first follow-up" in out
    assert "! facility-switch:" in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_suspicious_result_mentions_a_second_opinion(cli: Cli):
    cli("patient", "add", "P1")
    cli(
        "exam",
        "add",
        "P1",
        "--date",
        "2025-03-03",
        "--facility",
        "N",
        "--category",
        "4b",
        "--laterality",
        "right",
        "--kind",
        "diagnostic",
    )
    out = cli("status", "P1", "--as-of", "2025-03-04").stdout
    assert "Biopsy of the right breast, as the radiologist advised" in out
    assert "second opinion" in out
    assert status(cli, "--as-of", "2025-03-04")["next"]["due"] == "2025-04-02"


def test_known_malignancy_has_no_due_date(cli: Cli):
    cli("patient", "add", "P1")
    cli("exam", "add", "P1", "--date", "2025-03-03", "--facility", "N", "--category", "6")
    got = status(cli, "--as-of", "2025-03-04")
    assert got["next"]["action"] == "treatment"
    assert got["next"]["due"] is None and got["next"]["laterality"] is None


def test_patient_without_exams(cli: Cli):
    cli("patient", "add", "P1")
    got = status(cli)
    assert got["next"]["action"] is None and got["exams"] == []
    assert "followup exam add" in cli("status", "P1").stdout


def test_unknown_patient_is_a_clear_error(sqlite_cli: Cli):
    sqlite_cli("init")
    result = sqlite_cli("status", "NOPE", code=1)
    assert "patient add" in result.stderr
    assert "Traceback" not in result.stderr


def test_stored_policy_drives_status(ana: Cli, tmp_path: Path):
    policy = tmp_path / "policy.toml"
    policy.write_text("[policy]\nprobably_benign_months = [4, 6, 12]\n", encoding="utf-8")
    assert status(ana)["next"]["due"] == "2025-07-31"
    ana("policy", "set", str(policy))
    got = status(ana)
    assert got["next"]["due"] == "2025-05-31"
    assert got["policy"] == {"in_force": 1, "preview": None}


def test_policy_preview_changes_nothing_stored(ana: Cli, tmp_path: Path):
    policy = tmp_path / "draft.toml"
    policy.write_text("comparison_years = 2\nlost_after_days = 10\n", encoding="utf-8")
    preview = status(ana, "--as-of", "2025-08-15", "--policy", str(policy))
    assert "lost-to-follow-up" in [f["code"] for f in preview["flags"]]  # 15 days > 10
    assert preview["policy"] == {"in_force": None, "preview": str(policy)}
    table = ana("status", "P1", "--as-of", "2025-08-15", "--policy", str(policy)).stdout
    assert table.startswith(f"Preview under the policy in {policy} (not stored; the defaults")
    stored = status(ana, "--as-of", "2025-08-15")
    assert "lost-to-follow-up" not in [f["code"] for f in stored["flags"]]
    assert "defaults" in ana("policy", "history").stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[policy\n", "is not valid TOML"),
        ("routine_months = 0\n", "'routine_months' must be a whole number of months from 1 to 36"),
        ("routine_monts = 12\n", "unknown policy key"),
    ],
)
def test_malformed_preview_policy_is_a_clear_error(sqlite_cli: Cli, tmp_path: Path, text, message):
    sqlite_cli("patient", "add", "P1")
    policy = tmp_path / "policy.toml"
    policy.write_text(text, encoding="utf-8")
    result = sqlite_cli("status", "P1", "--policy", str(policy), code=1)
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
