"""Counts of the programme for ``stats``, by facility: patients by next action, by flag in
force, and by pathway state (clinical-rules.md §7), from the stored plans and summaries.

Each count is grouped by the plan's facility (her current facility) in the query, so the
whole programme and every facility come from the same few aggregate queries; a patient
without a facility (no exam yet) counts under ``None``. Closed patients leave the action and
flag counts, as they leave the flags report; the pathway counts say how many are closed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from followup import rules
from followup.rules import tracking
from followup.rules.dates import add_days
from followup.store.models import Patient, PlanFlag, PlanRecord
from followup.store.policies import require_current_plans
from followup.store.tracking_rows import TrackingFacts

Counts = dict[int | None, dict[str, int]]
# The pathway counts: each state, then each closing reason, then the to-call list.
TRACKING_KEYS = (*(s.value for s in tracking.TrackingState), *tracking.CLOSE_REASONS, "to-call")
_OPEN = Patient.closed_reason.is_(None)


def _plans() -> Select[Any]:
    return select(PlanRecord.facility_id).join(Patient, Patient.id == PlanRecord.patient_id)


def _add(counts: Counts, rows: Iterable[Any], keys: Iterable[str]) -> Counts:
    """Rows of (facility id, key, count) added into ``counts``, every key of a facility seen
    at zero at least."""
    names = tuple(keys)
    for facility_id, key, count in rows:
        group = counts.setdefault(facility_id, dict.fromkeys(names, 0))
        group[key] = group.get(key, 0) + count
    return counts


def action_counts(session: Session) -> Counts:
    """Open patients by next action (biopsy: open biopsy recommendations), by facility."""
    require_current_plans(session)
    stmt = (
        _plans()
        .add_columns(PlanRecord.action, func.count())
        .where(PlanRecord.action.is_not(None), _OPEN)
        .group_by(PlanRecord.facility_id, PlanRecord.action)
    )
    return _add({}, session.execute(stmt), rules.ACTIONS)


def flag_counts(session: Session, as_of: date, policy: rules.Policy) -> Counts:
    """Open patients with each flag of §6 on ``as_of``, by facility (zeros included)."""
    require_current_plans(session)
    counts: Counts = {}
    stored = (
        _plans()
        .add_columns(PlanFlag.code, func.count())
        .join(PlanFlag, PlanFlag.patient_id == PlanRecord.patient_id)
        .where(_OPEN)
        .group_by(PlanRecord.facility_id, PlanFlag.code)
    )
    _add(counts, session.execute(stored), rules.FLAG_CODES)
    lost_before = add_days(as_of, -policy.lost_after_days)
    for code, before in (("overdue", as_of), ("lost-to-follow-up", lost_before)):
        late = (
            _plans()
            .add_columns(func.count())
            .where(PlanRecord.due < before, _OPEN)
            .group_by(PlanRecord.facility_id)
        )
        rows = ((facility_id, code, n) for facility_id, n in session.execute(late))
        _add(counts, rows, rules.FLAG_CODES)
    facts = TrackingFacts(as_of, policy)
    missed = (
        _plans()
        .add_columns(Patient.appointment, func.count())
        .where(Patient.appointment < as_of, _OPEN)
        .group_by(PlanRecord.facility_id, Patient.appointment)
    )
    rows = (
        (facility_id, tracking.MISSED_APPOINTMENT, n)
        for facility_id, day, n in session.execute(missed)
        if facts(None, day, None).missed
    )
    return _add(counts, rows, rules.FLAG_CODES)


def tracking_counts(session: Session, as_of: date, policy: rules.Policy) -> Counts:
    """Patients with a plan by pathway state on ``as_of`` (open, scheduled, closed), closed
    ones by reason, and those on the to-call list, by facility: grouped by the summary's
    columns in the query (a few thousand groups), each group read once by the rules."""
    require_current_plans(session)
    overdue = PlanRecord.due < as_of
    stmt = (
        _plans()
        .add_columns(
            Patient.closed_reason,
            Patient.appointment,
            Patient.last_call,
            overdue,
            func.count(),
        )
        .group_by(
            PlanRecord.facility_id,
            Patient.closed_reason,
            Patient.appointment,
            Patient.last_call,
            overdue,
        )
    )
    facts = TrackingFacts(as_of, policy)
    totals: dict[int | None, dict[str, int]] = defaultdict(lambda: dict.fromkeys(TRACKING_KEYS, 0))
    for facility_id, closed, appointment, last_call, late, count in session.execute(stmt):
        state = facts(closed, appointment, last_call)
        group = totals[facility_id]
        group[state.state.value] += count
        if state.reason is not None:
            group[state.reason.value] += count
        if state.to_call(bool(late)):
            group["to-call"] += count
    return dict(totals)


def total(counts: Counts, keys: Iterable[str], facility_id: Any = all) -> dict[str, int]:
    """The counts of one facility (``facility_id``), or of every one summed (the default)."""
    summed = dict.fromkeys(keys, 0)
    for group_id, group in counts.items():
        if facility_id is all or group_id == facility_id:
            for key, count in group.items():
                summed[key] = summed.get(key, 0) + count
    return summed
