"""Many exams of one patient at once, as an import (FHIR) brings them: each checked, compared
with what is stored (:mod:`followup.store.same_exam`) and audited exactly as
:func:`followup.store.exams.add_exam` does one, in time linear in the exams.

``add_exam`` in a loop was quadratic: each call looked the patient up again, queried for a
duplicate and flushed, and its caller reloaded her exams to compare. Here her stored exams
of a whole batch of patients are read in one query, by identity; the new rows are flushed
together and audited together; the plans are refreshed once per patient, by the caller,
after the film transfers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup import rules
from followup.store import same_exam
from followup.store.errors import Conflict, InvalidInput
from followup.store.exams import audit_added, get_or_create_facility, new_exam_row, validated_exam
from followup.store.models import Exam, Facility, Patient


@dataclass(frozen=True)
class Incoming:
    """An exam as an import states it, its note, and how messages name it (``where``)."""

    exam: rules.Exam
    note: str | None
    where: str


class Facilities:
    """The facilities of one import by key: each spelling is looked up (or created, with the
    look-alike warning) once, not once per exam."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._by_key: dict[str, Facility] = {}

    def get(self, name: str) -> Facility:
        """The facility ``name`` names, created if new (InvalidInput if it is no name)."""
        try:
            key = rules.facility_key(rules.check_facility(name))
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        facility = self._by_key.get(key)
        if facility is None:
            facility = self._by_key[key] = get_or_create_facility(self.session, name)
        return facility


@dataclass(frozen=True)
class PatientExams:
    """One patient's exams to add; ``new``: she was created by this import (nothing of hers
    is stored, so nothing is read back)."""

    patient: Patient
    exams: Sequence[Incoming]
    new: bool = False


Identity = tuple[int, date, int, str | None]  # patient id, date, facility id, kind


def add_exams(
    session: Session, batch: Sequence[PatientExams], *, today: date, facilities: Facilities
) -> list[tuple[int, int]]:
    """Add the exams not yet recorded; returns (added, skipped as duplicates) per patient.

    An exam already stored (or given twice) that says the same is skipped; one that says
    otherwise is a Conflict naming both, and the caller's transaction rolls back. Plans are
    not refreshed: the caller does it once per patient (followup.store.plans.refresh_plans).
    """
    seen = _stored(session, [item.patient.id for item in batch if not item.new])
    rows: list[Exam] = []
    counts = []
    for item in batch:
        added, skipped = len(rows), 0
        for incoming in item.exams:
            exam = validated_exam(incoming.exam, today, incoming.note)
            facility = facilities.get(exam.facility)
            kind = exam.kind.value if exam.kind else None
            key = (item.patient.id, exam.date, facility.id, kind)
            twin = seen.get(key)
            if twin is None:
                row = new_exam_row(item.patient, exam, facility, incoming.note)
                seen[key] = (row, incoming.where)
                rows.append(row)
                continue
            theirs = same_exam.stored_content(twin[0])
            mine = same_exam.rules_content(exam, incoming.note)
            if not same_exam.same_content(theirs, mine):
                differ = same_exam.differences(theirs, mine)
                raise _differs(item.patient, incoming.where, twin, differ)
            skipped += 1
        counts.append((len(rows) - added, skipped))
    session.add_all(rows)
    session.flush()
    for row in rows:
        audit_added(session, row)
    return counts


def _stored(session: Session, patient_ids: list[int]) -> dict[Identity, tuple[Exam, str | None]]:
    """The stored exams of these patients by identity, read in one query."""
    if not patient_ids:
        return {}
    exams = session.scalars(select(Exam).where(Exam.patient_id.in_(patient_ids)))
    return {(e.patient_id, e.date, e.facility_id, e.kind): (e, None) for e in exams}


def _differs(patient: Patient, where: str, twin: tuple[Exam, str | None], differ: str) -> Conflict:
    row, first = twin
    other = f"the stored exam {row.id}" if first is None else f"{first} of the same import"
    return Conflict(
        f"{where} differs from {other} (other {differ}, same patient, day, facility and kind); "
        f"nothing was imported. Check it with `followup exam list {patient.external_id}` and "
        "edit or delete one"
    )
