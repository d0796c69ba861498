"""``followup recompute``: every stored plan rebuilt under the current policy, safely."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Cli, probably_benign_exam

AS_OF = "2025-06-01"
NEW_POLICY = "probably_benign_months = [4, 6, 12]\nbiopsy_days = 14\n"


@pytest.fixture
def programme(cli: Cli) -> Cli:
    """Five patients; under NEW_POLICY P1..P4 are due earlier (4-month first step)."""
    for number, day in enumerate(["2025-01-31", "2025-02-10", "2024-12-20", "2025-03-01"], 1):
        patient = f"P{number}"
        cli("patient", "add", patient)
        probably_benign_exam(cli, patient, day)
    cli("patient", "add", "P5")
    cli("exam", "add", "P5", "--date", "2025-05-02", "--facility", "N", "--category", "4a")
    return cli


def due_dates(cli: Cli, *options: str) -> dict[str, str]:
    out = cli(*options, "due", "--as-of", AS_OF, "--within", "365", "--format", "json").stdout
    return {row["patient_id"]: row["due"] for row in json.loads(out)}


def write_policy(tmp_path: Path) -> tuple[str, str]:
    policy = tmp_path / "policy.toml"
    policy.write_text(NEW_POLICY, encoding="utf-8")
    return ("--policy", str(policy))


def test_recompute_applies_a_new_policy_and_is_idempotent(programme: Cli, tmp_path: Path):
    with_policy = write_policy(tmp_path)
    before = due_dates(programme)
    assert before["P1"] == "2025-07-31" and before["P5"] == "2025-06-01"
    stale = programme(*with_policy, "due", "--as-of", AS_OF)
    assert "followup recompute" in stale.stderr  # plans were computed with the default policy
    assert "Recomputed the plans of 5 patients" in programme(*with_policy, "recompute").stdout
    after = due_dates(programme, *with_policy)
    assert after == {
        "P1": "2025-05-31",
        "P2": "2025-06-10",
        "P3": "2025-04-20",
        "P4": "2025-07-01",
        "P5": "2025-05-16",
    }
    assert "recompute" not in programme(*with_policy, "due", "--as-of", AS_OF).stderr
    programme(*with_policy, "recompute")  # running it again changes nothing
    assert due_dates(programme, *with_policy) == after
    # Back under the default policy the reports warn again, and a recompute restores the dates.
    assert "followup recompute" in programme("due").stderr
    programme("recompute")
    assert due_dates(programme) == before


def test_interrupted_recompute_leaves_consistent_plans(programme: Cli, tmp_path: Path):
    from followup.cli.context import load_policy
    from followup.store.database import open_database
    from followup.store.plans import plans_policy_differs
    from followup.store.recompute import recompute_plans

    policy = load_policy(write_policy(tmp_path)[1])
    before = due_dates(programme)

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt  # after the first batch was committed

    database = open_database(programme.url)
    try:
        with pytest.raises(KeyboardInterrupt):
            recompute_plans(database, policy, interrupt, batch=2)
        with database.transaction(write=False) as session:
            assert plans_policy_differs(session, policy)  # not recorded: reports still warn
        halfway = due_dates(programme, "--policy", write_policy(tmp_path)[1])
        assert halfway["P1"] == "2025-05-31" and halfway["P2"] == "2025-06-10"  # batch 1: new
        assert halfway["P3"] == before["P3"] and halfway["P5"] == before["P5"]  # untouched
        seen: list[tuple[int, int]] = []
        assert recompute_plans(database, policy, lambda d, t: seen.append((d, t)), batch=2) == 5
        assert seen == [(2, 5), (4, 5), (5, 5)]
        with database.transaction(write=False) as session:
            assert not plans_policy_differs(session, policy)
    finally:
        database.close()
    assert due_dates(programme, "--policy", write_policy(tmp_path)[1])["P3"] == "2025-04-20"


def test_recompute_matches_the_plans_kept_by_exam_changes(programme: Cli):
    """Rebuilt plans equal those refresh_plan stored as the exams were added."""
    from sqlalchemy import select

    from followup.store.database import open_database
    from followup.store.models import PlanFlag, PlanRecord

    def stored() -> tuple[list, list]:
        database = open_database(programme.url)
        try:
            with database.transaction(write=False) as session:
                plans = [
                    tuple(getattr(p, c.key) for c in PlanRecord.__table__.columns)
                    for p in session.scalars(select(PlanRecord).order_by(PlanRecord.patient_id))
                ]
                flags = session.execute(
                    select(PlanFlag.patient_id, PlanFlag.code, PlanFlag.message).order_by(
                        PlanFlag.patient_id, PlanFlag.code
                    )
                ).all()
                return plans, [tuple(f) for f in flags]
        finally:
            database.close()

    kept = stored()
    programme("recompute")
    assert stored() == kept
    assert len(kept[0]) == 5 and kept[1]


def test_recompute_of_an_empty_database(cli: Cli):
    cli("init")
    assert "Recomputed the plans of 0 patients" in cli("recompute").stdout
