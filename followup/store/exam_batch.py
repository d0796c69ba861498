"""Many exams of one patient at once, as an import (FHIR) brings them: each checked, compared
with what is stored (:mod:`followup.store.same_exam`) and audited exactly as
:func:`followup.store.exams.add_exam` does one, in time linear in the exams.

``add_exam`` in a loop was quadratic: each call looked the patient up again, queried for a
duplicate and flushed, and its caller reloaded her exams to compare. Here her stored exams
are read once, by identity; the new rows are flushed together and audited together; the
plan is refreshed once, by the caller, after her film transfers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup import rules
from followup.store import same_exam
from followup.store.errors import Conflict, InvalidInput
from followup.store.exams import (
    audit_added,
    find_facility,
    get_or_create_facility,
    new_exam_row,
    validated_exam,
)
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

    def find(self, name: str) -> Facility | None:
        """The facility ``name`` names, if one is stored."""
        return find_facility(self.session, name)


def add_exams(
    session: Session,
    patient: Patient,
    incoming: Iterable[Incoming],
    *,
    today: date,
    facilities: Facilities,
    known_new: bool = False,
) -> tuple[int, int]:
    """Add the exams not yet recorded; returns (added, skipped as duplicates).

    An exam already stored (or given twice) that says the same is skipped; one that says
    otherwise is a Conflict naming both, and the caller's transaction rolls back. The plan is
    not refreshed: the caller does it once. ``known_new``: the patient was just created, so
    nothing of hers is stored (no query).
    """
    seen: dict[tuple[date, int, str | None], tuple[Exam, str | None]] = (
        {} if known_new else _stored(session, patient)
    )
    rows: list[Exam] = []
    skipped = 0
    for item in incoming:
        exam = validated_exam(item.exam, today, item.note)
        facility = facilities.get(exam.facility)
        key = (exam.date, facility.id, exam.kind.value if exam.kind else None)
        twin = seen.get(key)
        if twin is None:
            row = new_exam_row(patient, exam, facility, item.note)
            seen[key] = (row, item.where)
            rows.append(row)
            continue
        theirs, mine = same_exam.stored_content(twin[0]), same_exam.rules_content(exam, item.note)
        if not same_exam.same_content(theirs, mine):
            raise _differs(patient, item.where, twin, same_exam.differences(theirs, mine))
        skipped += 1
    session.add_all(rows)
    session.flush()
    for row in rows:
        audit_added(session, row)
    return len(rows), skipped


def _stored(
    session: Session, patient: Patient
) -> dict[tuple[date, int, str | None], tuple[Exam, str | None]]:
    """Her stored exams by identity (date, facility, kind), read once."""
    exams = session.scalars(select(Exam).where(Exam.patient_id == patient.id))
    return {(e.date, e.facility_id, e.kind): (e, None) for e in exams}


def _differs(patient: Patient, where: str, twin: tuple[Exam, str | None], differ: str) -> Conflict:
    row, first = twin
    other = f"the stored exam {row.id}" if first is None else f"{first} of the same import"
    return Conflict(
        f"{where} differs from {other} (other {differ}, same patient, day, facility and kind); "
        f"nothing was imported. Check it with `followup exam list {patient.external_id}` and "
        "edit or delete one"
    )
