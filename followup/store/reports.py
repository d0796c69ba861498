"""Coordinator reports read from the stored plans: range scans, streamed row by row.

Plans are kept current whenever exams or films change, so a report never recomputes a plan.
Only ``overdue`` and ``lost-to-follow-up`` depend on the as-of date; they are derived here from
``due`` as each row streams past, with the same rules the status command uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from followup import rules
from followup.store.models import Facility, Patient, PlanFlag, PlanRecord

DUE_COLUMNS = (
    "patient_id",
    "name",
    "due",
    "action",
    "laterality",
    "facility",
    "overdue",
    "days_overdue",
    "flags",
)
FLAG_COLUMNS = ("patient_id", "name", "code", "due", "action", "facility", "message")
STREAM = {"yield_per": 2000}


@dataclass(frozen=True)
class DueQuery:
    """What the due report asks for: everything due up to ``as_of + within`` days."""

    as_of: date
    within: int = 30
    overdue_only: bool = False
    facility: str | None = None


def _plan_columns() -> Select[Any]:
    return (
        select(
            Patient.external_id,
            Patient.name,
            PlanRecord.due,
            PlanRecord.action,
            PlanRecord.laterality,
            Facility.name.label("facility"),
            PlanRecord.flag_codes,
        )
        .join(Patient, Patient.id == PlanRecord.patient_id)
        .outerjoin(Facility, Facility.id == PlanRecord.facility_id)
    )


def _dated_codes(due: date | None, as_of: date, policy: rules.Policy) -> list[str]:
    if due is None or due >= as_of:
        return []
    late = (as_of - due).days
    return ["overdue", "lost-to-follow-up"] if late > policy.lost_after_days else ["overdue"]


def _all_codes(stored: str, dated: list[str]) -> list[str]:
    """Stored and dated flag codes in the order of clinical-rules.md §4."""
    codes = stored.split() + dated if dated else stored.split()
    return sorted(codes, key=rules.FLAG_CODES.index)


def due_rows(session: Session, query: DueQuery, policy: rules.Policy) -> Iterator[dict[str, Any]]:
    """The due report of cli.md: sorted by due date then patient id, streamed."""
    as_of = query.as_of
    stmt = _plan_columns().where(PlanRecord.due.is_not(None))
    if query.overdue_only:
        stmt = stmt.where(PlanRecord.due < as_of)
    else:
        stmt = stmt.where(PlanRecord.due <= as_of + timedelta(days=query.within))
    if query.facility is not None:
        stmt = stmt.where(Facility.key == rules.facility_key(query.facility))
    stmt = stmt.order_by(PlanRecord.due, Patient.external_id)
    for row in session.execute(stmt, execution_options=STREAM):
        late = (as_of - row.due).days if row.due < as_of else 0
        yield {
            "patient_id": row.external_id,
            "name": row.name,
            "due": row.due,
            "action": row.action,
            "laterality": row.laterality,
            "facility": row.facility,
            "overdue": late > 0,
            "days_overdue": late,
            "flags": _all_codes(row.flag_codes, _dated_codes(row.due, as_of, policy)),
        }


def _flag_candidates(as_of: date, code: str | None, policy: rules.Policy) -> Select[Any]:
    """Plans that may carry ``code`` (any flag when None), narrowed by an index where possible."""
    stmt = _plan_columns().add_columns(PlanRecord.reason)
    if code == "overdue":
        return stmt.where(PlanRecord.due < as_of)
    if code == "lost-to-follow-up":
        return stmt.where(PlanRecord.due < as_of - timedelta(days=policy.lost_after_days))
    if code is not None:
        flagged = select(PlanFlag.patient_id).where(PlanFlag.code == code)
        return stmt.where(PlanRecord.patient_id.in_(flagged))
    return stmt.where((PlanRecord.flag_codes != "") | (PlanRecord.due < as_of))


def flag_rows(
    session: Session, as_of: date, code: str | None, policy: rules.Policy
) -> Iterator[dict[str, Any]]:
    """One row per patient and flag in force on ``as_of``, with what to do about it."""
    stmt = (
        _flag_candidates(as_of, code, policy)
        .add_columns(PlanFlag.code, PlanFlag.message)
        .outerjoin(PlanFlag, PlanFlag.patient_id == PlanRecord.patient_id)
        .order_by(Patient.external_id)
    )
    rows = session.execute(stmt, execution_options=STREAM)
    for _, patient_rows in groupby(rows, key=lambda row: row.external_id):
        group = list(patient_rows)
        first = group[0]
        for flag in _flags_of(group, as_of, policy):
            if code is None or flag.code == code:
                yield {
                    "patient_id": first.external_id,
                    "name": first.name,
                    "code": flag.code,
                    "due": first.due,
                    "action": first.action,
                    "facility": first.facility,
                    "message": flag.message,
                }


def _flags_of(group: list[Any], as_of: date, policy: rules.Policy) -> list[rules.Flag]:
    """A patient's stored flags (one per joined row) plus those of the as-of date."""
    first = group[0]
    plan = rules.Plan(action=first.action, due=first.due, laterality=None, reason=first.reason)
    stored = [rules.Flag(row.code, row.message) for row in group if row.code is not None]
    flags = [*stored, *rules.dated_flags(plan, as_of, policy)]
    return sorted(flags, key=lambda f: rules.FLAG_CODES.index(f.code))


def flag_counts(session: Session, as_of: date, policy: rules.Policy) -> dict[str, int]:
    """Patients with each flag on ``as_of`` (every code of §4, zeros included)."""
    counts = dict.fromkeys(rules.FLAG_CODES, 0)
    stored = session.execute(select(PlanFlag.code, func.count()).group_by(PlanFlag.code))
    counts.update({code: count for code, count in stored})
    lost_before = as_of - timedelta(days=policy.lost_after_days)
    counts["overdue"] = _count_due_before(session, as_of)
    counts["lost-to-follow-up"] = _count_due_before(session, lost_before)
    return counts


def _count_due_before(session: Session, day: date) -> int:
    return session.scalar(select(func.count()).where(PlanRecord.due < day)) or 0


def action_counts(session: Session) -> dict[str, int]:
    """Patients by next action (e.g. open biopsy recommendations)."""
    counts = dict.fromkeys(rules.ACTIONS, 0)
    rows = session.execute(
        select(PlanRecord.action, func.count())
        .where(PlanRecord.action.is_not(None))
        .group_by(PlanRecord.action)
    )
    counts.update({action: count for action, count in rows})
    return counts
