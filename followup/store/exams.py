"""Exams, their findings, facilities and film transfers; every edit or deletion is audited.

Every function that changes what the rules read refreshes the patient's stored plan in the
same transaction, so reports never see an exam without its plan.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup import rules
from followup.store.clock import actor, now
from followup.store.errors import Conflict, InvalidInput, NotFound
from followup.store.models import AuditEntry, Exam, Facility, FilmTransfer, Finding, Patient
from followup.store.patients import get_patient
from followup.store.plans import refresh_plan


def get_or_create_facility(session: Session, name: str) -> Facility:
    """The facility matching ``name`` case/space-insensitively; the first spelling is kept."""
    try:
        display = rules.check_facility(name)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    key = rules.facility_key(display)
    facility = session.scalars(select(Facility).where(Facility.key == key)).one_or_none()
    if facility is None:
        facility = Facility(key=key, name=display)
        session.add(facility)
        session.flush()
    return facility


def find_facility(session: Session, name: str) -> Facility | None:
    return session.scalars(
        select(Facility).where(Facility.key == rules.facility_key(name))
    ).one_or_none()


def _validated(exam: rules.Exam, today: date) -> rules.Exam:
    try:
        return rules.validate_exam(exam, today)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _findings_rows(findings: Sequence[rules.Finding]) -> list[Finding]:
    return [
        Finding(
            category=f.category.value,
            laterality=f.laterality.value if f.laterality else None,
            morphology=f.morphology,
            distribution=f.distribution,
            size_class=f.size_class,
        )
        for f in findings
    ]


def _refuse_duplicate(
    session: Session, patient: Patient, day: date, facility: Facility, exam_id: int | None = None
) -> None:
    clash = session.scalars(
        select(Exam).where(
            Exam.patient_id == patient.id, Exam.date == day, Exam.facility_id == facility.id
        )
    ).one_or_none()
    if clash is not None and clash.id != exam_id:
        raise Conflict(
            f"patient {patient.external_id} already has exam {clash.id} on {day.isoformat()} "
            f"at {facility.name}; change it with `followup exam edit {clash.id}` instead"
        )


def add_exam(
    session: Session,
    external_id: str,
    exam: rules.Exam,
    *,
    note: str | None = None,
    today: date,
    policy: rules.Policy = rules.DEFAULT_POLICY,
    refresh: bool = True,
) -> Exam:
    """Record an exam (validated like every other way in) and refresh the plan.

    Loaders adding several exams of one patient pass ``refresh=False`` and call
    :func:`followup.store.plans.refresh_plan` once after her last exam, in the same transaction.
    """
    patient = get_patient(session, external_id)
    exam = _validated(exam, today)
    facility = get_or_create_facility(session, exam.facility)
    _refuse_duplicate(session, patient, exam.date, facility)
    row = Exam(
        patient_id=patient.id,
        date=exam.date,
        facility_id=facility.id,
        kind=exam.kind.value if exam.kind else None,
        follow_up_months=exam.follow_up_months,
        note=note,
        created_at=now(),
        findings=_findings_rows(exam.findings),
    )
    session.add(row)
    session.flush()
    if refresh:
        refresh_plan(session, patient.id, policy)
    return row


def get_exam(session: Session, exam_id: int) -> Exam:
    exam = session.get(Exam, exam_id)
    if exam is None:
        raise NotFound(
            f"no exam with id {exam_id}; `followup exam list PATIENT_ID` shows the exam ids"
        )
    return exam


def list_exams(session: Session, external_id: str) -> Sequence[Exam]:
    patient = get_patient(session, external_id)
    return session.scalars(
        select(Exam).where(Exam.patient_id == patient.id).order_by(Exam.date, Exam.id)
    ).all()


def exam_snapshot(exam: Exam) -> dict[str, Any]:
    """What an exam said, as plain JSON-able data: for the audit log and for exports."""
    return {
        "id": exam.id,
        "date": exam.date.isoformat(),
        "facility": exam.facility.name,
        "kind": exam.kind,
        "follow_up_months": exam.follow_up_months,
        "note": exam.note,
        "findings": [
            {
                "category": f.category,
                "laterality": f.laterality,
                "morphology": f.morphology,
                "distribution": f.distribution,
                "size_class": f.size_class,
            }
            for f in exam.findings
        ],
    }


def _audit(session: Session, action: str, exam: Exam, detail: dict[str, Any]) -> None:
    session.add(
        AuditEntry(
            at=now(),
            actor=actor(),
            action=action,
            patient_id=exam.patient_id,
            exam_id=exam.id,
            detail=json.dumps(detail, sort_keys=True),
        )
    )


@dataclass(frozen=True)
class ExamChanges:
    """Fields to change in ``exam edit``; None keeps the stored value."""

    date: date | None = None
    facility: str | None = None
    findings: tuple[rules.Finding, ...] | None = None
    kind: rules.ExamKind | None = None
    follow_up_months: int | None = None
    clear_follow_up: bool = False
    note: str | None = None


def _merged(exam: Exam, changes: ExamChanges) -> rules.Exam:
    """The exam as it would be after the edit, as the rules see it (for validation)."""
    from followup.store.plans import rules_exam

    current = rules_exam(exam)
    follow_up = (
        None
        if changes.clear_follow_up
        else (
            changes.follow_up_months
            if changes.follow_up_months is not None
            else current.follow_up_months
        )
    )
    return rules.Exam(
        date=changes.date or current.date,
        facility=changes.facility if changes.facility is not None else current.facility,
        findings=changes.findings or current.findings,
        kind=changes.kind or current.kind,
        follow_up_months=follow_up,
        id=exam.id,
    )


def edit_exam(
    session: Session,
    exam_id: int,
    changes: ExamChanges,
    *,
    today: date,
    policy: rules.Policy = rules.DEFAULT_POLICY,
) -> Exam:
    """Change an exam, record before/after in the audit log, and refresh the plan."""
    row = get_exam(session, exam_id)
    before = exam_snapshot(row)
    wanted = _validated(_merged(row, changes), today)
    facility = get_or_create_facility(session, wanted.facility)
    _refuse_duplicate(session, row.patient, wanted.date, facility, exam_id=row.id)
    row.date = wanted.date
    row.facility = facility
    row.kind = wanted.kind.value if wanted.kind else None
    row.follow_up_months = wanted.follow_up_months
    if changes.note is not None:
        row.note = changes.note or None
    if changes.findings:
        row.findings = _findings_rows(changes.findings)
    session.flush()
    after = exam_snapshot(row)
    if after == before:
        raise InvalidInput(f"nothing to change in exam {exam_id}; give at least one new value")
    _audit(session, "exam.edit", row, {"before": before, "after": after})
    refresh_plan(session, row.patient_id, policy)
    return row


def delete_exam(
    session: Session, exam_id: int, *, policy: rules.Policy = rules.DEFAULT_POLICY
) -> dict[str, Any]:
    """Delete an exam, keeping what it said in the audit log, and refresh the plan."""
    row = get_exam(session, exam_id)
    snapshot = exam_snapshot(row)
    _audit(session, "exam.delete", row, {"before": snapshot})
    patient_id = row.patient_id
    session.delete(row)
    session.flush()
    refresh_plan(session, patient_id, policy)
    return snapshot


def transfer_films(
    session: Session,
    external_id: str,
    from_name: str,
    to_name: str,
    *,
    policy: rules.Policy = rules.DEFAULT_POLICY,
) -> FilmTransfer:
    """Record that one facility's films are now on hand at another; refresh the plan."""
    patient = get_patient(session, external_id)
    source = find_facility(session, from_name)
    if source is None:
        raise NotFound(
            f"no exam of any patient was done at {from_name!r}; check the spelling "
            f"(`followup exam list {patient.external_id}` shows her facilities)"
        )
    target = get_or_create_facility(session, to_name)
    if source.id == target.id:
        raise InvalidInput("--from and --to name the same facility; give two different ones")
    existing = session.scalars(
        select(FilmTransfer).where(
            FilmTransfer.patient_id == patient.id,
            FilmTransfer.from_facility_id == source.id,
            FilmTransfer.to_facility_id == target.id,
        )
    ).one_or_none()
    if existing is not None:
        raise Conflict(
            f"the films of {source.name} are already recorded as on hand at {target.name}"
        )
    transfer = FilmTransfer(
        patient_id=patient.id,
        from_facility_id=source.id,
        to_facility_id=target.id,
        recorded_at=now(),
    )
    session.add(transfer)
    session.flush()
    refresh_plan(session, patient.id, policy)
    return transfer
