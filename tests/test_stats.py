"""``followup stats``: probably-benign adherence on small programmes counted by hand."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import Cli, probably_benign_exam

AS_OF = "2025-06-01"  # policy defaults: on time = back by due + 30 days, lost = > 90 days late


def probably_benign(cli: Cli, patient: str, *days: str) -> None:
    cli("patient", "add", patient)
    for day in days:
        probably_benign_exam(cli, patient, day)


def figures(cli: Cli, *args: str) -> dict:
    return json.loads(cli("stats", "--as-of", AS_OF, "--format", "json", *args).stdout)


def steps(cli: Cli, *args: str) -> dict[str, tuple[int, int, int, int, int]]:
    """step -> (due, on_time, late, lost, open)."""
    return {
        s["step"]: (s["due"], s["on_time"], s["late"], s["lost"], s["open"])
        for s in figures(cli, *args)["probably_benign"]
    }


@pytest.fixture
def programme(cli: Cli) -> Cli:
    # R1: 6-month step due 2024-07-15, back 2024-08-14 (due + 30: on time); 12-month step due
    #     2025-02-14, back 2025-03-17 (due + 31: late); 24-month step due 2026-03-17 (not yet).
    probably_benign(cli, "R1", "2024-01-15", "2024-08-14", "2025-03-17")
    # R2: every step back on its due date: 6 (2022-07-10), 12 (2023-01-10), 24 (2024-01-10)
    #     months; the next follow-up (due 2025-01-10) is past the protocol: not a step.
    probably_benign(cli, "R2", "2022-01-10", "2022-07-10", "2023-01-10", "2024-01-10")
    # R3: due 2025-03-03, 90 days before the as-of date: still open. R4: due 2025-03-02,
    #     91 days: lost.
    probably_benign(cli, "R3", "2024-09-03")
    probably_benign(cli, "R4", "2024-09-02")
    # R5: suspicious: an open biopsy recommendation, not a probably-benign step.
    cli("patient", "add", "R5")
    cli("exam", "add", "R5", "--date", "2025-05-20", "--facility", "N", "--category", "4")
    return cli


def test_steps_counted_by_hand(programme: Cli):
    assert steps(programme) == {
        "6 months": (4, 2, 0, 1, 1),
        "12 months": (2, 1, 1, 0, 0),
        "24 months": (1, 1, 0, 0, 0),
    }


def test_actions_and_flags(programme: Cli):
    result = figures(programme)
    assert result["as_of"] == AS_OF and result["from"] is None and result["to"] is None
    assert result["actions"]["biopsy"] == 1
    assert result["actions"]["short-interval-follow-up"] == 4  # R1..R4 (R2 yearly now)
    flags = result["flags"]
    # Overdue: R2 (due 2025-01-10), R3 (90 days), R4 (91 days); lost: R2 and R4.
    assert (flags["overdue"], flags["lost-to-follow-up"]) == (3, 2)
    assert flags["biopsy-recommended"] == 1
    assert flags["stable-probably-benign"] == 1  # R2's episode spans 24 months


def test_due_dates_restrict_the_steps(programme: Cli):
    assert steps(programme, "--to", "2024-12-31") == {
        "6 months": (2, 2, 0, 0, 0),
        "12 months": (1, 1, 0, 0, 0),
        "24 months": (1, 1, 0, 0, 0),
    }
    assert steps(programme, "--from", "2025-01-01", "--to", "2025-03-02") == {
        "6 months": (1, 0, 0, 1, 0),
        "12 months": (1, 0, 1, 0, 0),
        "24 months": (0, 0, 0, 0, 0),
    }


def test_steps_not_yet_due_are_not_counted(programme: Cli):
    early = json.loads(programme("stats", "--as-of", "2024-08-01", "--format", "json").stdout)[
        "probably_benign"
    ]
    # On 2024-08-01 only R1's 6-month step (due 2024-07-15) and R2's three steps were due.
    assert [s["due"] for s in early] == [2, 1, 1]
    assert early[0]["open"] == 1  # R1 came back later, on 2024-08-14


def test_csv_and_table(programme: Cli):
    rows = list(
        csv.DictReader(io.StringIO(programme("stats", "--as-of", AS_OF, "--format", "csv").stdout))
    )
    assert list(rows[0]) == [
        "section",
        "step",
        "due",
        "on_time",
        "late",
        "lost",
        "open",
        "due_pct",
        "on_time_pct",
        "late_pct",
        "lost_pct",
        "open_pct",
    ]
    first = rows[0]
    assert (first["section"], first["step"], first["due"], first["lost"]) == (
        "probably-benign step",
        "6 months",
        "4",
        "1",
    )
    assert {"section": "next action", "step": "biopsy", "due": "1"}.items() <= next(
        r for r in rows if r["step"] == "biopsy"
    ).items()
    table = programme("stats", "--as-of", AS_OF).stdout
    assert "ON TIME" in table and "24 months" in table and "lost-to-follow-up" in table


def test_empty_programme(cli: Cli):
    cli("init")
    result = figures(cli)
    assert [s["due"] for s in result["probably_benign"]] == [0, 0, 0]
    assert set(result["flags"].values()) == {0}


def test_reversed_dates_are_a_usage_error(cli: Cli):
    assert "swap them" in cli("stats", "--from", "2025-02-01", "--to", "2025-01-01", code=2).stderr


def test_the_stats_table_shows_every_figure_of_a_step() -> None:
    """present/ names the columns itself (no database there): they must stay the keys of
    the store's step rows, or a figure would vanish from the table."""
    from followup.present.report_tables import STATS_COLUMNS
    from followup.store.adherence import STEP_COLUMNS

    assert STATS_COLUMNS[: 1 + len(STEP_COLUMNS)] == ("section", *STEP_COLUMNS)


def test_percentages_beside_the_counts(programme: Cli):
    result = figures(programme)
    six = result["probably_benign"][0]
    assert (six["due"], six["on_time_pct"], six["lost_pct"], six["open_pct"]) == (
        4,
        50.0,
        25.0,
        25.0,
    )
    # five patients with a plan, all tracked: shares of five
    assert (result["patients"], result["tracked"]) == (5, 5)
    assert result["actions_pct"]["biopsy"] == 20.0
    assert result["flags_pct"]["overdue"] == 60.0
    assert result["tracking"]["open"] == 5 and result["tracking_pct"]["open"] == 100.0
    table = programme("stats", "--as-of", AS_OF).stdout
    assert "2 (50.0%)" in table and "3 (60.0%)" in table  # 6-month on time; overdue
    empty = figures(programme, "--from", "2030-01-01")["probably_benign"][0]
    assert empty["due"] == 0 and empty["on_time_pct"] is None  # no base, no percentage


def test_pathway_counts_and_closed_patients_leave_the_action_and_flag_counts(programme: Cli):
    programme("patient", "close", "R4", "--reason", "moved-away", "--date", "2025-05-01")
    programme("contact", "R3", "--outcome", "scheduled", "--date", "2025-05-25",
              "--appointment", "2025-06-10")  # fmt: skip
    result = figures(programme)
    assert result["tracking"] == {
        "open": 3,
        "scheduled": 1,
        "closed": 1,
        "declined": 0,
        "moved-away": 1,
        "deceased": 0,
        "care-elsewhere": 0,
        "to-call": 1,  # R2: R3 is scheduled, R4 closed
    }
    assert result["tracking_pct"]["closed"] == 20.0 and result["tracking_pct"]["to-call"] == 25.0
    assert result["flags"]["overdue"] == 2  # R2, R3
    assert result["actions"]["short-interval-follow-up"] == 3


def test_by_facility_and_one_facility(programme: Cli):
    programme("patient", "add", "S1")
    probably_benign_exam(programme, "S1", "2024-09-01")  # at Northside Imaging, lost
    programme("exam", "add", "S1", "--date", "2025-05-01", "--facility", "Southside",
              "--category", "benign")  # fmt: skip
    grouped = figures(programme, "--by", "facility")
    assert grouped["by"] == "facility"
    groups = {g["group"]: g for g in grouped["groups"]}
    assert set(groups) == {"N", "Northside Imaging", "Southside"}
    assert groups["Southside"]["patients"] == 1 and groups["N"]["actions"]["biopsy"] == 1
    # S1's 6-month step counted from her Northside exam: due 2025-03-01, back 2025-05-01, late
    assert groups["Northside Imaging"]["probably_benign"][0]["late"] == 1
    assert groups["Southside"]["probably_benign"][0]["due"] == 0
    one = figures(programme, "--facility", "northside imaging")
    assert one["facility"] == "Northside Imaging" and one["patients"] == 4
    assert one["probably_benign"] == groups["Northside Imaging"]["probably_benign"]
    rows = list(csv.DictReader(io.StringIO(
        programme("stats", "--as-of", AS_OF, "--by", "facility", "--format", "csv").stdout
    )))  # fmt: skip
    assert list(rows[0])[:2] == ["group", "section"] and {r["group"] for r in rows} == set(groups)
    refused = programme("stats", "--facility", "Nowhere", code=1).stderr
    assert "no facility is named 'Nowhere'" in refused
    assert "exclude each other" in programme("stats", "--facility", "N", "--by", "facility",
                                             code=2).stderr  # fmt: skip
