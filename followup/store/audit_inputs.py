"""What the outcomes audit reads (clinical-rules.md §8), streamed from the database.

:func:`outcomes_audit` is ``followup audit``'s work: :func:`audit_patients` feeds
:func:`followup.rules.audit.audit` the exams of the period (date, kind, overall category,
facility, radiologist) a batch of rows at a time, each patient's with her biopsies and
known-malignancy exams from the period's first day to ``outcome_days`` after its last (the
cancers of its exams). Two queries ordered by patient, the same SQL on SQLite and
PostgreSQL, are read side by side from the driver's cursors (server-side on PostgreSQL) and
merged on the patient: memory stays flat whatever the programme's size, and the database does
what it is fast at, one scan, instead of a query per patient.

An exam's *overall* category is its most worrisome finding (§1 order; post-procedure below
everything, known-malignancy above): the highest rank among its findings, worked out in SQL,
so that an exam with several findings is still one row. Rows are plain driver tuples, turned
into the audit's values with a few look-ups each (dates arrive as ISO text on SQLite and are
parsed once per distinct day): a million exams cannot pay for an ORM object each.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from itertools import chain, groupby
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Select, case, func, literal, null, or_, select, union_all
from sqlalchemy.orm import Session

from followup import rules
from followup.rules.audit import (
    BIOPSY_RECOMMENDED,
    AuditBiopsy,
    AuditExam,
    AuditPatient,
    AuditReport,
    audit,
)
from followup.rules.dates import add_days
from followup.store.exams import known_facility
from followup.store.models import Biopsy, Exam, Facility, Finding
from followup.store.reports import driver_batches

KNOWN_MALIGNANCY = rules.Category.KNOWN_MALIGNANCY.value
# The overall category from the highest rank of an exam's findings (ranks are distinct).
CATEGORY_OF_WORRY = {category.worry: category.value for category in rules.Category}
# The breasts of an exam's biopsy-recommending findings, from two bits (left 1, right 2).
SIDES_OF_BITS = (None, "left", "right", "both")
RECOMMENDING = tuple(sorted(BIOPSY_RECOMMENDED))
_PATIENT = itemgetter(6)
# PostgreSQL compiles a query it costs as high as these to machine code first, which takes
# longer than it saves on a scan of the exams with a look-up per row (0.2-0.5 s of 3).
NO_JIT = "SET LOCAL jit = off"


@dataclass(frozen=True)
class AuditQuery:
    """The exams a facility audits: those dated ``start`` to ``end`` (and not after
    ``as_of``: a past as-of date gives the audit as it stood that day), of the facility named
    ``facility`` when it is given (matched as everywhere), with their outcomes known by
    ``as_of``, grouped ``by`` facility or radiologist (or not at all)."""

    start: date
    end: date
    as_of: date
    outcome_days: int = rules.DEFAULT_POLICY.outcome_days
    facility: str | None = None
    by: str | None = None  # the audit's grouping: the radiologist is read only for its own

    @property
    def last_exam(self) -> date:
        return min(self.end, self.as_of)

    @property
    def last_outcome(self) -> date:
        """The last day an outcome of the period's exams can be dated and known."""
        return min(self.as_of, add_days(self.end, self.outcome_days))


def _worry() -> Any:
    """A finding's rank for "most worrisome" (§1), as SQL."""
    return case(
        {category.value: category.worry for category in rules.Category},
        value=Finding.category,
    )


def _side_bit(side: str, bit: int) -> Any:
    """``bit`` for a biopsy-recommending finding of ``side`` (or of both, or of no stated
    side: either breast), else 0, as SQL."""
    recommends = or_(*(Finding.category == category for category in RECOMMENDING))
    of_side = or_(
        Finding.laterality == side, Finding.laterality == "bilateral", Finding.laterality.is_(None)
    )  # no IN: the raw driver runs this statement, without SQLAlchemy's expanding parameters
    return case((recommends & of_side, bit), else_=0)


def exams_select(query: AuditQuery, facility_id: int | None = None) -> Select[Any]:
    """The exams of the audit (of the facility ``facility_id`` alone, when given) as (date,
    kind, code, facility id, radiologist or None when the audit is not by radiologist,
    patient key), ordered by patient (the exams' unique index is). The code is the rank of
    the overall category times 4, plus the breasts of its biopsy-recommending findings as
    two bits: one aggregate pass over the exam's findings gives both."""
    code = func.max(_worry()) * 4 + func.max(_side_bit("left", 1)) + func.max(_side_bit("right", 2))
    overall = select(code).where(Finding.exam_id == Exam.id).scalar_subquery()
    # Without it, the exams' unique index (patient, date, facility, kind) holds every column
    # read: the table itself is not read.
    reader = Exam.radiologist if query.by == "radiologist" else null()
    stmt = select(Exam.date, Exam.kind, overall, Exam.facility_id, reader, Exam.patient_id).where(
        Exam.date.between(query.start, query.last_exam)
    )
    if facility_id is not None:
        stmt = stmt.where(Exam.facility_id == facility_id)
    return stmt.order_by(Exam.patient_id)


def outcomes_select(query: AuditQuery) -> Select[Any]:
    """Every biopsy and known-malignancy exam that can be the outcome of an audited exam, as
    (patient key, date, biopsy result or None for a known-malignancy exam, the biopsy's
    breast), by patient."""
    first, last = query.start, query.last_outcome
    biopsies = select(Biopsy.patient_id, Biopsy.date, Biopsy.result, Biopsy.side).where(
        Biopsy.date.between(first, last)
    )
    malignancies = (
        select(
            Exam.patient_id, Exam.date, literal(None).label("result"), literal(None).label("side")
        )
        .join(Finding, Finding.exam_id == Exam.id)
        .where(Finding.category == KNOWN_MALIGNANCY, Exam.date.between(first, last))
    )
    both = union_all(biopsies, malignancies).subquery()
    return select(both.c.patient_id, both.c.date, both.c.result, both.c.side).order_by(
        both.c.patient_id
    )


class _Days(dict[Any, date]):
    """A stored date as a date, parsed once per distinct value (ISO text on SQLite)."""

    def __missing__(self, raw: Any) -> date:
        day = self[raw] = raw if isinstance(raw, date) else date.fromisoformat(raw)
        return day


Row = tuple[Any, ...]  # an AuditExam's six fields, then the patient's key


def _exam_batches(
    session: Session, query: AuditQuery, facility_id: int | None, days: _Days
) -> Generator[list[Row]]:
    """The audit's exams in batches, in patient order, as (date, kind, category, facility,
    radiologist, sides, patient key): the fields of an AuditExam, then the patient."""
    names: dict[int, str] = dict(session.execute(select(Facility.id, Facility.name)).all())
    codes = {  # ranks may be negative: >> and & read the code back all the same
        worry * 4 + bits: (name, SIDES_OF_BITS[bits])
        for worry, name in CATEGORY_OF_WORRY.items()
        for bits in range(4)
    }
    category = {code: name for code, (name, _) in codes.items()}
    sides = {code: breasts for code, (_, breasts) in codes.items()}
    stmt = exams_select(query, facility_id)
    batches = driver_batches(session, stmt, "followup_audit_exams")
    with closing(batches):  # its cursor, as soon as this is closed
        for batch in batches:
            yield [
                (
                    days[day],
                    kind,
                    category[code],
                    names[facility],
                    radiologist,
                    sides[code],
                    patient,
                )
                for day, kind, code, facility, radiologist, patient in batch
            ]


def _outcomes(
    session: Session, query: AuditQuery, days: _Days
) -> Generator[tuple[int, list[AuditBiopsy], list[date]]]:
    """(patient key, her biopsies, her known-malignancy dates) for each patient with any."""
    batches = driver_batches(session, outcomes_select(query), "followup_audit_outcomes")
    with closing(batches):
        for patient, events in groupby(chain.from_iterable(batches), itemgetter(0)):
            biopsies, malignancies = [], []
            for _, day, result, side in events:
                if result is None:
                    malignancies.append(days[day])
                else:
                    biopsies.append(AuditBiopsy(days[day], result, side))
            yield patient, biopsies, malignancies


def outcomes_audit(session: Session, query: AuditQuery) -> tuple[AuditReport, str | None]:
    """The audit of ``query``, and the stored name of the facility its exams were restricted
    to (None: every facility). A facility name nobody has is a NotFound naming the nearest:
    an audit of a misspelt facility must not come back empty and look like a clean record."""
    place = None if query.facility is None else known_facility(session, query.facility)
    patients = audit_patients(session, query, None if place is None else place.id)
    with closing(patients):
        report = audit(patients, query.start, query.end, query.as_of, query.by, query.outcome_days)
    return report, None if place is None else place.name


def audit_patients(
    session: Session, query: AuditQuery, facility_id: int | None = None
) -> Generator[AuditPatient]:
    """The audit's input in patient order (the exams of the facility ``facility_id`` alone,
    when given), a batch of exam rows at a time: the rows of the patients without outcomes
    together (each exam is counted on its own), then each other patient's rows with her
    outcomes (a patient whose rows straddle two batches comes twice, each time with all her
    outcomes, as :class:`AuditPatient` allows)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().exec_driver_sql(NO_JIT)
    days = _Days()
    batches = _exam_batches(session, query, facility_id, days)
    outcomes = _outcomes(session, query, days)
    with closing(batches), closing(outcomes):  # both cursors, however this ends
        known: dict[int, tuple[list[AuditBiopsy], list[date]]] = {}  # from the batch's first
        pending = next(outcomes, None)
        for rows in batches:
            first, last = rows[0][6], rows[-1][6]
            for patient in [p for p in known if p < first]:
                del known[patient]
            while pending is not None and pending[0] <= last:
                if pending[0] >= first:
                    known[pending[0]] = pending[1], pending[2]
                pending = next(outcomes, None)
            yield from _batch_patients(rows, known)


def _batch_patients(
    rows: list[Row], known: dict[int, tuple[list[AuditBiopsy], list[date]]]
) -> Iterator[AuditPatient]:
    """One batch as the audit takes it: the rows of patients without outcomes as one
    AuditPatient (the audit counts each of those exams on its own), then each other patient's
    rows with her outcomes. The rows' first six items are an AuditExam's fields: the audit
    reads no more."""
    if not known:
        yield AuditPatient(cast(list[AuditExam], rows))
        return
    yield AuditPatient(cast(list[AuditExam], [row for row in rows if row[6] not in known]))
    chased = (row for row in rows if row[6] in known)
    for patient, exams in groupby(chased, _PATIENT):
        yield AuditPatient(cast(Iterable[AuditExam], exams), *known[patient])
