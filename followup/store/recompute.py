"""Recomputing every stored plan under the policy in force: after ``policy set`` or a rules
upgrade (``followup recompute``).

The work is recorded in the database, not in the process doing it: ``plans_state`` names the
next patient to recompute (``followup.store.policies``). Each batch is one transaction that
locks that row, rewrites a range of patients and moves the mark on, so an interruption
leaves every plan consistent and the mark where it was; whichever command next needs the
plans finishes the job from there, and two commands finishing at once share the batches
instead of doing them twice. Patients added meanwhile are planned under the policy in force
when they are, so the last batch only needs to reach the largest patient id it sees (ids
are never reused and only grow).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select, union
from sqlalchemy.orm import Session

from followup import rules
from followup.store.bulk import BulkLoader
from followup.store.database import Database
from followup.store.models import Biopsy, Exam, FilmTransfer, Patient, PlanRecord
from followup.store.policies import (
    PolicyState,
    lock_state,
    mark_recompute,
    read_state,
    set_recompute_from,
)

RECOMPUTE_BATCH = 20_000  # patient ids per transaction


def pending(database: Database) -> PolicyState | None:
    """The state when a recompute is waiting to be finished, else None (a cheap read)."""
    with database.transaction(write=False) as session:
        state = read_state(session)
    return None if state.plans_current else state


def finish_recompute(
    database: Database,
    progress: Callable[[int, int], None],
    batch: int | None = None,
) -> int:
    """Recompute the plans a pending recompute has not reached yet, one batch of patient ids
    (RECOMPUTE_BATCH) per transaction; returns the plans written. ``progress(done, total)``
    is told the patient ids covered so far."""
    batch = batch or RECOMPUTE_BATCH
    written = 0
    while True:
        with database.transaction() as session:
            step = _next_batch(session, batch)
            if step is None:
                return written
            state, last, top = step
            written += rewrite_plans(session, state.policy, state.recompute_next or 1, last)
            set_recompute_from(session, None if last >= top else last + 1)
        progress(last, top)


def _next_batch(session: Session, batch: int) -> tuple[PolicyState, int, int] | None:
    """The state (locked), the last patient id of the next batch and the largest id."""
    state = lock_state(session)
    if state.plans_current:
        return None
    top = session.scalar(select(func.max(Patient.id))) or 0
    first = state.recompute_next or 1
    return state, min(first + batch - 1, top), top


def recompute_plans(
    database: Database,
    progress: Callable[[int, int], None],
    batch: int | None = None,
) -> int:
    """Rebuild every plan under the policy in force (``followup recompute``): marked first,
    so that an interrupted run is finished by the next command that reads plans."""
    with database.transaction() as session:
        mark_recompute(session)
    return finish_recompute(database, progress, batch)


def rewrite_plans(session: Session, policy: rules.Policy, first: int, last: int) -> int:
    """Recompute the stored plans of patients ``first..last`` (ids) who have exams, film
    transfers or a stored plan, with the loader's plan writer: ``followup recompute`` rebuilds
    every plan this way, a range of patients per transaction. Returns the plans written."""
    loader = BulkLoader(session, policy)
    in_range = [
        select(table.patient_id).where(table.patient_id.between(first, last))
        for table in (Exam, FilmTransfer, Biopsy, PlanRecord)
    ]
    loader.replan(union(*in_range))
    return loader.finish().plans_written
