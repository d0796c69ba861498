"""Dated film transfers through the command line (issue 13 point 6; clinical-rules.md §6;
cli.md ``films transfer --date``, ``films list``)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tests.conftest import Cli

A, B = "Old Town Clinic", "Northside Imaging"


def flags(cli: Cli) -> set[str]:
    out = cli("status", "P1", "--as-of", "2025-02-01", "--format", "json").stdout
    return {f["code"] for f in json.loads(out)["flags"]}


def films(cli: Cli) -> list[tuple]:
    rows = json.loads(cli("films", "list", "P1", "--format", "json").stdout)
    return [(r["id"], r["date"], r["from"], r["to"]) for r in rows]


@pytest.fixture
def moved(cli: Cli) -> Cli:
    """Three exams at Old Town (2021, 2022, mid-2024), then one at Northside in 2025."""
    cli("patient", "add", "P1")
    for day in ("2021-01-05", "2022-01-05", "2024-06-05"):
        cli("exam", "add", "P1", "--date", day, "--facility", A, "--category", "1")
    cli("exam", "add", "P1", "--date", "2025-01-10", "--facility", B, "--category", "1")
    return cli


def test_films_made_after_the_transfer_date_are_not_on_hand(moved: Cli):
    cli = moved
    assert {"facility-switch", "short-comparison-history"} <= flags(cli)
    out = cli("films", "transfer", "P1", "--from", A, "--to", B, "--date", "2022-06-01").stdout
    assert f"the films of {A} up to 2022-06-01 are on hand at {B}" in out
    # 2021 and 2022 are on hand (span of 4 years), the 2024 exam before hers is not
    assert "short-comparison-history" not in flags(cli)
    assert "facility-switch" in flags(cli)
    out = cli("films", "transfer", "P1", "--from", A, "--to", B, "--date", "2024-07-01").stdout
    assert "(was up to 2022-06-01)" in out
    assert "facility-switch" not in flags(cli)
    assert films(cli) == [(1, "2024-07-01", A, B)]
    log = json.loads(cli("audit-log", "P1", "--format", "json").stdout)
    assert log[-1]["changes"] == [{"field": "date", "before": "2022-06-01", "after": "2024-07-01"}]
    err = cli("films", "transfer", "P1", "--from", A, "--to", B, "--date", "2023-01-01",
              code=1).stderr  # fmt: skip
    assert "already recorded as on hand" in err and "adds nothing" in err


def test_transfer_dates_are_checked_and_default_to_today(moved: Cli):
    cli = moved
    err = cli("films", "transfer", "P1", "--from", A, "--to", B, "--date", "2999-01-01",
              code=1).stderr  # fmt: skip
    assert "transfer date 2999-01-01 is in the future" in err
    err = cli("films", "transfer", "P1", "--from", A, "--to", B, "--date", "2020-01-01",
              code=1).stderr  # fmt: skip
    assert "first exam at Old Town Clinic is of 2021-01-05" in err
    assert (
        "is not a valid date"
        in cli(
            "films", "transfer", "P1", "--from", A, "--to", B, "--date", "2024-13-01", code=2
        ).stderr
    )
    assert films(cli) == []
    cli("films", "transfer", "P1", "--from", A, "--to", B)
    assert films(cli) == [(1, date.today().isoformat(), A, B)]
    table = cli("films", "list", "P1").stdout
    assert "Old Town Clinic" in table and date.today().isoformat() in table
