"""Recomputing the stored plans: after ``policy set``, ``followup recompute``, or an
interruption of either, every report reads plans made under the policy in force."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import Cli, probably_benign_exam

AS_OF = "2025-06-01"
NEW_POLICY = "probably_benign_months = [4, 6, 12]\nbiopsy_days = 14\n"
NEW_DATES = {
    "P1": "2025-05-31",
    "P2": "2025-06-10",
    "P3": "2025-04-20",
    "P4": "2025-07-01",
    "P5": "2025-05-16",
}


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


def due_dates(cli: Cli) -> dict[str, str]:
    out = cli("due", "--as-of", AS_OF, "--within", "365", "--format", "json").stdout
    return {row["patient_id"]: row["due"] for row in json.loads(out)}


def stored_dues(url: str) -> dict[str, str]:
    """The plans table itself, read without any command finishing a recompute first."""
    from followup.store.database import Database, resolve_url

    database = Database(resolve_url(url))
    try:
        with database.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT p.external_id, pl.due FROM plans pl"
                    " JOIN patients p ON p.id = pl.patient_id"
                )
            ).all()
    finally:
        database.close()
    return {patient: str(due) for patient, due in rows}


def write_policy(tmp_path: Path, content: str = NEW_POLICY) -> str:
    policy = tmp_path / "policy.toml"
    policy.write_text(content, encoding="utf-8")
    return str(policy)


def test_policy_set_recomputes_and_recompute_keeps_the_stored_policy(
    programme: Cli, tmp_path: Path
):
    before = due_dates(programme)
    assert before["P1"] == "2025-07-31" and before["P5"] == "2025-06-01"
    out = programme("policy", "set", write_policy(tmp_path)).stdout
    assert "Recomputed the plans of 5 patients" in out
    assert due_dates(programme) == NEW_DATES
    # `recompute` (after a rules upgrade) rebuilds under the stored policy, not the defaults.
    assert "Recomputed the plans of 5 patients" in programme("recompute").stdout
    assert due_dates(programme) == NEW_DATES
    programme("policy", "set", write_policy(tmp_path, ""))  # back to the defaults
    assert due_dates(programme) == before


def test_interrupted_policy_set_is_finished_by_the_next_report(
    programme: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Batches of two patients; the second one is interrupted (Ctrl-C)."""
    from followup.store import recompute

    real, calls = recompute.rewrite_plans, []

    def interrupted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args[2:])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    before = due_dates(programme)
    monkeypatch.setattr(recompute, "RECOMPUTE_BATCH", 2)
    monkeypatch.setattr(recompute, "rewrite_plans", interrupted)
    assert "Aborted" in programme("policy", "set", write_policy(tmp_path), code=1).stderr
    halfway = stored_dues(programme.url)
    assert halfway["P1"] == NEW_DATES["P1"] and halfway["P2"] == NEW_DATES["P2"]  # batch 1
    assert halfway["P3"] == before["P3"] and halfway["P5"] == before["P5"]  # not reached
    shown = programme("policy", "show").stdout  # stored, then the plans: still being done
    assert shown.startswith("# Policy 1, set ") and "still being recomputed" in shown
    monkeypatch.setattr(recompute, "rewrite_plans", real)
    assert due_dates(programme) == NEW_DATES  # the report finished the job first
    assert calls == [(1, 2), (3, 4)]
    assert stored_dues(programme.url) == NEW_DATES


@pytest.mark.parametrize("command", [("flags",), ("stats",), ("remind", "--dry-run")])
def test_every_plan_reader_finishes_a_pending_recompute(programme: Cli, command: tuple[str, ...]):
    from followup.store.database import open_database
    from followup.store.policies import set_policy

    database = open_database(programme.url)
    try:
        with database.transaction() as session:  # stored, nothing recomputed yet
            set_policy(session, NEW_POLICY.encode(), "f")
    finally:
        database.close()
    assert stored_dues(programme.url)["P3"] == "2025-06-20"
    programme(*command, "--as-of", AS_OF)
    assert stored_dues(programme.url) == NEW_DATES


def test_a_report_function_refuses_plans_still_being_recomputed(programme: Cli):
    """Defence in depth: a command that forgot to finish the recompute fails loudly."""
    from datetime import date

    from followup.store.database import open_database
    from followup.store.policies import PlansPending, policy_in_force, set_policy
    from followup.store.reports import DueQuery, due_rows

    database = open_database(programme.url)
    try:
        with database.transaction() as session:
            set_policy(session, NEW_POLICY.encode(), "f")
        with database.transaction(write=False) as session, pytest.raises(PlansPending):
            list(due_rows(session, DueQuery(date(2025, 6, 1)), policy_in_force(session)))
    finally:
        database.close()


def test_two_commands_finishing_at_once_share_the_batches(programme: Cli):
    from followup.store.database import open_database
    from followup.store.policies import set_policy
    from followup.store.recompute import finish_recompute

    databases = [open_database(programme.url) for _ in range(2)]
    written: list[int] = []
    errors: list[BaseException] = []

    def finish(database) -> None:  # type: ignore[no-untyped-def]
        try:
            written.append(finish_recompute(database, lambda done, total: None, batch=1))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    try:
        with databases[0].transaction() as session:
            set_policy(session, NEW_POLICY.encode(), "f")
        threads = [threading.Thread(target=finish, args=(d,)) for d in databases]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        for database in databases:
            database.close()
    assert not errors
    assert sum(written) == 5  # each patient once, whoever did her batch
    assert stored_dues(programme.url) == NEW_DATES


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
