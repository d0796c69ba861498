"""What ``followup demo`` keeps in its database: the mark that says it is a demo, and the
patients worth showing first."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.store.models import Biopsy, Patient, PlanRecord, Setting

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
