"""The audit log: written where the records change (:func:`log_change`, called for exams
and biopsies by ``followup.store.records`` and for film transfers by ``followup.store.exams``),
read back as one exam's history, or the log of a patient or of everyone.

Each entry says who, when, and what the record said before and after, as JSON. Ids are never
reused (revisions 0005, 0009), so every entry naming exam 5 (or biopsy 5) is about the same
record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.store.clock import actor, now
from followup.store.errors import NotFound
from followup.store.models import AuditEntry, Exam, Patient
from followup.store.patients import get_patient

RECORDED = "exam.recorded"  # an exam's first state when its addition was not logged
READ_BATCH = 1_000


def log_change(
    session: Session,
    action: str,
    patient_pk: int,
    detail: dict[str, Any],
    *,
    exam_id: int | None = None,
    biopsy_id: int | None = None,
) -> None:
    """Log who did what to a record (``before``/``after``: what it said), in the transaction
    that does it."""
    session.add(
        AuditEntry(
            at=now(),
            actor=actor(),
            action=action,
            patient_id=patient_pk,
            exam_id=exam_id,
            biopsy_id=biopsy_id,
            detail=json.dumps(detail, sort_keys=True),
        )
    )


@dataclass(frozen=True)
class AuditRecord:
    """One entry as people read it: ``before``/``after`` are what the record said (None for
    an addition and a deletion respectively); ``actor`` and ``at`` None when not known."""

    at: datetime | None
    actor: str | None
    action: str
    exam_id: int | None
    patient_id: str | None  # the id people type; None if the patient is gone
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    biopsy_id: int | None = None


def _record(entry: AuditEntry, patient_id: str | None) -> AuditRecord:
    detail = json.loads(entry.detail)
    return AuditRecord(
        entry.at,
        entry.actor,
        entry.action,
        entry.exam_id,
        patient_id,
        detail.get("before"),
        detail.get("after"),
        entry.biopsy_id,
    )


def _entries(session: Session, *where: Any) -> Iterator[AuditRecord]:
    query = (
        select(AuditEntry, Patient.external_id)
        .outerjoin(Patient, Patient.id == AuditEntry.patient_id)
        .where(*where)
        .order_by(AuditEntry.id)
        .execution_options(yield_per=READ_BATCH)
    )
    for entry, patient_id in session.execute(query):
        yield _record(entry, patient_id)


def exam_history(session: Session, exam_id: int) -> list[AuditRecord]:
    """Every logged change of exam ``exam_id``, oldest first, led by the state it was
    recorded in when its addition was not logged (imports, exams older than the log of
    additions). NotFound if no exam ever had this id."""
    from followup.store.exams import exam_snapshot

    entries = list(_entries(session, AuditEntry.exam_id == exam_id))
    if entries and entries[0].action == "exam.add":
        return entries
    exam = session.get(Exam, exam_id)
    patient: str | None
    if exam is not None:
        first = entries[0].before if entries else exam_snapshot(exam)
        patient, created = exam.patient.external_id, exam.created_at
    elif entries:  # deleted: its first state is what the first entry found
        first, patient, created = entries[0].before, entries[0].patient_id, None
    else:
        raise NotFound(
            f"no exam with id {exam_id} was ever recorded; `followup exam list PATIENT_ID` "
            "shows the exam ids"
        )
    return [AuditRecord(created, None, RECORDED, exam_id, patient, None, first), *entries]


def audit_log(session: Session, external_id: str | None = None) -> Iterator[AuditRecord]:
    """The whole log, or one patient's, oldest first, streamed."""
    if external_id is None:
        return _entries(session)
    patient = get_patient(session, external_id)
    return _entries(session, AuditEntry.patient_id == patient.id)
