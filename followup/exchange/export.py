"""Whole-database exports as rows, streamed: ``followup export exams|plans|biopsies``.

Exams are exported **one row per finding**, the exam's and the patient's fields repeated on
each row, sorted so the rows of one exam are adjacent. That is the shape the CSV importer
reads (:mod:`followup.exchange.csv_import` folds adjacent rows of one patient, date and
facility into one exam), with its default header names, so an exported CSV imports back with
``followup import exams`` and no ``--map``. One row per exam with findings joined into one
cell would need a second, lossy mini-format inside a cell.

Rows come from a Core ``select`` read ``yield_per`` rows at a time, so memory does not grow
with the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.exchange.csv_biopsies import BIOPSY_COLUMNS
from followup.store.models import Biopsy, Exam, Facility, Finding, Patient, PlanRecord
from followup.store.reports import also_value

STREAM = {"yield_per": 2000}

# The CSV importer's default header names (plus phone and birth_date, which it also reads),
# so an export re-imports as it is.
EXAM_COLUMNS = (
    "patient_id",
    "name",
    "email",
    "phone",
    "birth_date",
    "date",
    "facility",
    "kind",
    "category",
    "laterality",
    "morphology",
    "distribution",
    "size_class",
    "follow_up_months",
    "note",
    "subdivision",
    "imaged",
    "density",
    "radiologist",
)
PLAN_COLUMNS = (
    "patient_id",
    "name",
    "action",
    "due",
    "laterality",
    "facility",
    "category",
    "reason",
    "exam_date",
    "flags",
    "also",
)


def exam_rows(session: Session) -> Iterator[dict[str, Any]]:
    """Every finding of every exam, by patient id, exam date, facility, exam and finding.

    An exam without findings (none are created by followup, but a hand-edited database may
    hold one) still gets a row, with an empty category, rather than vanishing from the export.
    """
    query = (
        select(
            Patient.external_id.label("patient_id"),
            Patient.name,
            Patient.email,
            Patient.phone,
            Patient.birth_date,
            Exam.date,
            Facility.name.label("facility"),
            Exam.kind,
            Finding.category,
            Finding.laterality,
            Finding.morphology,
            Finding.distribution,
            Finding.size_class,
            Exam.follow_up_months,
            Exam.note,
            Finding.subdivision,
            Exam.imaged,
            Exam.density,
            Exam.radiologist,
        )
        .join(Patient, Patient.id == Exam.patient_id)
        .join(Facility, Facility.id == Exam.facility_id)
        .outerjoin(Finding, Finding.exam_id == Exam.id)
        .order_by(Patient.external_id, Exam.date, Facility.key, Exam.id, Finding.id)
        .execution_options(**STREAM)
    )
    for row in session.execute(query).mappings():
        yield dict(row)


def plan_rows(session: Session) -> Iterator[dict[str, Any]]:
    """Every stored plan, by patient id; ``flags`` are the stored (date-independent) codes,
    ``also`` the other breast's step (as in the due report).

    ``overdue`` and ``lost-to-follow-up`` depend on the day the plan is read, so they are not
    exported here; ``followup due`` and ``followup flags`` compute them for an as-of date.
    """
    query = (
        select(
            Patient.external_id.label("patient_id"),
            Patient.name,
            PlanRecord.action,
            PlanRecord.due,
            PlanRecord.laterality,
            Facility.name.label("facility"),
            PlanRecord.category,
            PlanRecord.reason,
            PlanRecord.exam_date,
            PlanRecord.flag_codes,
            PlanRecord.also_side,
            PlanRecord.also_action,
            PlanRecord.also_due,
        )
        .join(Patient, Patient.id == PlanRecord.patient_id)
        .outerjoin(Facility, Facility.id == PlanRecord.facility_id)
        .order_by(Patient.external_id)
        .execution_options(**STREAM)
    )
    for row in session.execute(query).mappings():
        values = dict(row)
        values["flags"] = values.pop("flag_codes").split()
        also = (values.pop("also_side"), values.pop("also_action"), values.pop("also_due"))
        values["also"] = also_value(*also)
        yield values


def biopsy_rows(session: Session) -> Iterator[dict[str, Any]]:
    """Every biopsy (BIOPSY_COLUMNS), by patient id, date and side: what `import biopsies`
    reads back."""
    query = (
        select(
            Patient.external_id.label("patient_id"),
            Biopsy.date,
            Biopsy.side,
            Biopsy.result,
            Biopsy.concordant,
            Facility.name.label("facility"),
            Biopsy.pathology,
            Biopsy.note,
        )
        .join(Patient, Patient.id == Biopsy.patient_id)
        .outerjoin(Facility, Facility.id == Biopsy.facility_id)
        .order_by(Patient.external_id, Biopsy.date, Biopsy.side)
        .execution_options(**STREAM)
    )
    for row in session.execute(query).mappings():
        values = dict(row)
        if values["concordant"] is not None:  # SQLite returns 0/1
            values["concordant"] = bool(values["concordant"])
        yield {name: values[name] for name in BIOPSY_COLUMNS}
