"""What a patient's audited records (exams, biopsies) share: found by the id people type,
and every addition, edit and deletion logged in the transaction that makes it, the plan
refreshed after a deletion. One place, so that the two kinds of record cannot drift apart in
how they are found, logged or removed (their ids are never reused, so an id found here names
one record for good)."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from followup import rules
from followup.store.audit import log_change
from followup.store.errors import NotFound
from followup.store.models import Biopsy, Exam
from followup.store.plans import refresh_plan

MAX_RECORD_ID = 2**31 - 1  # ids are INTEGER columns: PostgreSQL's int4, the smaller limit

Record = TypeVar("Record", Exam, Biopsy)
_NOUN: dict[type[Any], str] = {Exam: "exam", Biopsy: "biopsy"}


def get_record(session: Session, model: type[Record], record_id: int) -> Record:
    """The exam or biopsy with this id, or a NotFound that says where the ids are shown. An
    id no column can hold (above 2^31 - 1, PostgreSQL's integer) is not looked up: no
    record has it."""
    row = session.get(model, record_id) if 1 <= record_id <= MAX_RECORD_ID else None
    if row is None:
        noun = _NOUN[model]
        raise NotFound(
            f"no {noun} with id {record_id}; `followup {noun} list PATIENT_ID` shows the {noun} ids"
        )
    return row


def log_record(
    session: Session,
    row: Exam | Biopsy,
    verb: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Log ``exam.<verb>`` or ``biopsy.<verb>`` (add, edit, delete) for a flushed row, with
    what it said before and after, naming the record in its own column."""
    detail = {k: v for k, v in (("before", before), ("after", after)) if v is not None}
    if isinstance(row, Biopsy):
        log_change(session, f"biopsy.{verb}", row.patient_id, detail, biopsy_id=row.id)
    else:
        log_change(session, f"exam.{verb}", row.patient_id, detail, exam_id=row.id)


def delete_record(
    session: Session,
    row: Exam | Biopsy,
    snapshot: dict[str, Any],
    policy: rules.Policy | None = None,
) -> dict[str, Any]:
    """Delete a record entered by mistake, keeping what it said (``snapshot``) in the audit
    log, and refresh the patient's plan. Returns the snapshot."""
    log_record(session, row, "delete", before=snapshot)
    patient_pk = row.patient_id
    session.delete(row)
    session.flush()
    refresh_plan(session, patient_pk, policy)
    return snapshot
