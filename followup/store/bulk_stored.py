"""What a bulk load compares with the database: the stored record of an exam it skipped as
already there (same patient, day, facility and kind) must say the same
(:func:`followup.store.same_exam.same_content`), or the load stops: one of the two is wrong,
which a person must decide. One query for a batch (a re-import skips every exam of it)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from followup.store import same_exam
from followup.store.errors import InvalidInput
from followup.store.models import Exam, Finding

# A skipped exam as the loader buffers it: its INSERT parameters (patient by external id,
# date as bound, facility id, kind, months, note, imaged, density, radiologist, created at),
# the date, and its findings' columns.
SkippedExam = tuple[tuple[Any, ...], date, tuple[tuple[Any, ...], ...]]


def refuse_different(
    conn: Connection,
    patients: dict[str, tuple[int, bool]],
    skipped: list[SkippedExam],
    names: dict[int, str],
) -> None:
    """InvalidInput naming the first skipped exam whose stored record says otherwise;
    ``patients`` maps external ids to (patient pk, new), ``names`` facility ids to names."""
    if not skipped:
        return
    stored = _stored_exams(conn, {patients[staged[0]][0] for staged, *_ in skipped})
    for staged, day, findings in skipped:
        key = (patients[staged[0]][0], day, staged[2], staged[3])
        exam_id, months, note, *described, columns = stored[key]
        theirs = same_exam.content(columns, months, note, described)
        mine = same_exam.content(findings, staged[4], staged[5], staged[6:9])
        if not same_exam.same_content(theirs, mine):
            where = same_exam.described(day, names[staged[2]], staged[3])
            raise InvalidInput(
                f"patient {staged[0]} already has exam {exam_id} {where} with other "
                f"{same_exam.differences(theirs, mine)} than the import's; this is not a "
                f"duplicate: correct it with `followup exam edit {exam_id}`, or leave the "
                "row out"
            )


def _stored_exams(conn: Connection, patient_pks: set[int]) -> dict[tuple[Any, ...], Any]:
    """(patient pk, date, facility id, kind) -> (exam id, months, note, imaged, density,
    radiologist, findings' columns) of their exams."""
    query = (
        select(
            Exam.patient_id,
            Exam.date,
            Exam.facility_id,
            Exam.kind,
            Exam.id,
            Exam.follow_up_months,
            Exam.note,
            Exam.imaged,
            Exam.density,
            Exam.radiologist,
            Finding.category,
            Finding.laterality,
            Finding.morphology,
            Finding.distribution,
            Finding.size_class,
            Finding.subdivision,
        )
        .join(Finding, Finding.exam_id == Exam.id)
        .where(Exam.patient_id.in_(sorted(patient_pks)))
    )
    stored: dict[tuple[Any, ...], Any] = {}
    for row in conn.execute(query):
        stored.setdefault(tuple(row[:4]), (*row[4:10], []))[6].append(tuple(row[10:]))
    return stored
