"""What ``followup demo`` keeps in its database: the mark that says it is a demo, the
patients worth showing first, the pathway (contacts, appointments, closings) and the letter
details (the clinic, the facilities' addresses) of its programme."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from followup import rules
from followup.store.models import Biopsy, Facility, Patient, PlanRecord, Setting

DEMO_MARK = "demo"


def mark_demo(session: Session, description: str) -> None:
    """Mark the database as a demo (``description``: how it was made)."""
    session.add(Setting(key=DEMO_MARK, value=description))
    session.flush()


def is_demo_file(path: Path) -> bool:
    """Whether the SQLite file at ``path`` holds a demo (read only, never created); a file
    that is not a database at all is not one."""
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            marked = conn.execute("SELECT 1 FROM settings WHERE key = ?", (DEMO_MARK,)).fetchone()
    except sqlite3.Error:
        marked = None
    return bool(marked)


def example_patient(session: Session) -> str | None:
    """A patient worth looking at: one with a probably-benign follow-up if there is one."""
    query = (
        select(Patient.external_id)
        .join(PlanRecord, PlanRecord.patient_id == Patient.id)
        .order_by((PlanRecord.action != "short-interval-follow-up"), Patient.external_id)
        .limit(1)
    )
    return session.scalar(query)


def biopsied_patient(session: Session) -> str | None:
    """A patient with a biopsy on record (one whose result is in, if there is one)."""
    query = (
        select(Patient.external_id)
        .join(Biopsy, Biopsy.patient_id == Patient.id)
        .order_by((Biopsy.result == "pending"), Patient.external_id)
        .limit(1)
    )
    return session.scalar(query)


def add_pathway(session: Session, seed: int, as_of: date) -> int:
    """The pathway of the patients due by as-of + 30 days (:func:`followup.synthetic.pathway`:
    calls, appointments, closings), with each patient's summary; returns the contacts."""
    from followup import synthetic
    from followup.rules.dates import add_days
    from followup.store.contacts import load_log

    rows = session.execute(
        select(PlanRecord.patient_id, PlanRecord.due)
        .where(PlanRecord.due <= add_days(as_of, 30))
        .order_by(PlanRecord.patient_id)
    )
    due = ((pk, day) for pk, day in rows if day is not None)
    return load_log(session, synthetic.pathway(due, seed, as_of), today=as_of)


def furnish(session: Session, policy: rules.Policy) -> None:
    """The demo's letter details: the clinic (``clinic set``) and each facility's made-up
    address and telephone number (``facility edit``), so its letters can be produced."""
    from followup import synthetic
    from followup.store.facilities import PostalDetails, edit_facility, set_clinic

    name, address, phone = synthetic.CLINIC
    set_clinic(session, PostalDetails(name, address, phone))
    for facility in session.scalars(select(Facility.name).order_by(Facility.key)).all():
        known = next(
            (
                f
                for f in synthetic.FACILITIES
                if rules.facility_key(f) == rules.facility_key(facility)
            ),
            None,
        )
        if known is not None:
            address, phone = synthetic.facility_details(known)
            edit_facility(session, facility, PostalDetails(address=address, phone=phone), policy)


@dataclass(frozen=True)
class PathwayCounts:
    """How many patients were called, are scheduled, are closed (on the as-of date)."""

    called: int
    scheduled: int
    closed: int


def pathway_counts(session: Session, as_of: date) -> PathwayCounts:
    """The demo's pathway at a glance, from the patients' stored summaries."""
    called = session.scalar(
        select(func.count()).select_from(Patient).where(Patient.last_call.is_not(None))
    )
    scheduled = session.scalar(
        select(func.count())
        .select_from(Patient)
        .where(Patient.appointment >= as_of, Patient.closed_reason.is_(None))
    )
    closed = session.scalar(
        select(func.count()).select_from(Patient).where(Patient.closed_reason.is_not(None))
    )
    return PathwayCounts(called or 0, scheduled or 0, closed or 0)
