"""The reminder log: which reminders are due, recorded *before* they are sent.

The life of a reminder row::

    pending --claim--> sending --sent--> sent
       ^                  |
       +-- send failed ---+  (attempts + 1, last_error = the reason; retried next run)
       +-- lease expired -+  (the run that claimed it crashed, see reminder_claims)
    pending/sending --no longer applies--> withdrawn  (last_error says why; revived when it
                                                       applies again)

- One row per patient, due date, kind and repeat: the unique constraint, hit with
  ``INSERT ... ON CONFLICT DO NOTHING``, is what keeps a re-run or an overlapping run from
  queueing (and so sending) the same reminder twice.
- A run claims a few rows at a time in a short transaction (PostgreSQL: ``FOR UPDATE SKIP
  LOCKED``, so two runs take different rows; SQLite: the write transaction is ``BEGIN
  IMMEDIATE``, so claims serialize), under a lease it renews while it lives, sends outside any
  transaction, then marks each row sent in its own short transaction
  (:mod:`followup.store.reminder_claims`).
- The ``message_id`` is fixed when the row is created, so every attempt carries the same one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from followup import rules
from followup.rules.dates import add_days
from followup.rules.tracking import TrackingState
from followup.store.clock import now
from followup.store.models import Patient, PlanRecord, Reminder
from followup.store.policies import require_current_plans
from followup.store.tracking_rows import TrackingFacts

UPCOMING = "upcoming"
OVERDUE = "overdue"
# A reminder that no longer applies (the plan changed, the patient opted out): never sent.
WITHDRAWN = "withdrawn"
STATUSES = ("pending", "sending", "sent", WITHDRAWN)
INSERT_CHUNK = 2_000


def reminder_key(due: date, as_of: date, policy: rules.Policy) -> tuple[str, int]:
    """(kind, sequence) of the reminder in force on ``as_of`` for a follow-up due on ``due``.

    Upcoming until the due date (inclusive); then overdue, repeat n from due + n x
    ``overdue_repeat_days`` on: one overdue reminder per period, never a backlog of them.
    """
    if as_of <= due:
        return UPCOMING, 0
    return OVERDUE, (as_of - due).days // policy.overdue_repeat_days


def message_id(patient_pk: int, due: date, kind: str, sequence: int, domain: str) -> str:
    """A stable Message-ID that reveals neither the patient nor the diagnosis."""
    material = f"followup-reminder-v1\x1f{patient_pk}\x1f{due.isoformat()}\x1f{kind}\x1f{sequence}"
    return f"<{hashlib.sha256(material.encode()).hexdigest()[:40]}@{domain}>"


@dataclass(frozen=True)
class Candidate:
    """A patient whose follow-up calls for a reminder on the as-of date."""

    patient_pk: int
    patient_id: str
    email: str | None
    reminders: bool
    due: date
    kind: str
    sequence: int
    status: str | None  # of the same reminder already in the log; None when it is new
    reminder_id: int | None = None

    @property
    def skip_reason(self) -> str | None:
        if not self.reminders:
            return "reminders_off"
        return None if self.email else "no_address"


@dataclass
class QueueCounts:
    """What queueing found: due patients, new reminders, and why some get no reminder."""

    due: int = 0
    new: int = 0
    already_sent: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: {"no_address": 0, "reminders_off": 0})


def candidates(
    session: Session, as_of: date, days_ahead: int, policy: rules.Policy
) -> Iterator[Candidate]:
    """Every patient due by ``as_of + days_ahead`` (overdue ones included), with her reminder."""
    require_current_plans(session)
    horizon = add_days(as_of, days_ahead)  # clamped: --as-of 9999-12-31 is no overflow
    known = _logged_statuses(session, horizon)
    scheduled = TrackingFacts(as_of, policy)
    stmt = (
        select(
            Patient.id,
            Patient.external_id,
            Patient.email,
            Patient.reminders,
            PlanRecord.due,
            Patient.appointment,
        )
        .join(Patient, Patient.id == PlanRecord.patient_id)
        .where(PlanRecord.due.is_not(None), PlanRecord.due <= horizon)
        .where(Patient.closed_reason.is_(None))  # §7: a closed patient gets none
        .order_by(PlanRecord.due, Patient.external_id)
    )
    for row in session.execute(stmt, execution_options={"yield_per": INSERT_CHUNK}):
        if row.appointment is not None and scheduled(None, row.appointment, None).state == (
            TrackingState.SCHEDULED
        ):
            continue  # §7: a scheduled patient leaves the overdue ladder
        kind, sequence = reminder_key(row.due, as_of, policy)
        yield Candidate(
            patient_pk=row.id,
            patient_id=row.external_id,
            email=row.email,
            reminders=bool(row.reminders),
            due=row.due,
            kind=kind,
            sequence=sequence,
            **known.get((row.id, row.due, kind, sequence), {"status": None}),
        )


def _logged_statuses(session: Session, horizon: date) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Id and status of each logged reminder for a current plan's due date (in the window)."""
    stmt = (
        select(
            Reminder.patient_id,
            Reminder.due,
            Reminder.kind,
            Reminder.sequence,
            Reminder.status,
            Reminder.id,
        )
        .join(
            PlanRecord,
            (PlanRecord.patient_id == Reminder.patient_id) & (PlanRecord.due == Reminder.due),
        )
        .where(PlanRecord.due <= horizon)
    )
    return {
        tuple(row[:4]): {"status": row.status, "reminder_id": row.id}
        for row in session.execute(stmt)
    }


def queue(
    session: Session, as_of: date, days_ahead: int, policy: rules.Policy, domain: str
) -> QueueCounts:
    """Record a pending reminder for every due patient who can get one (existing rows stay)."""
    counts = QueueCounts()
    created = now()
    insert = _insert_ignoring_duplicates(session)
    revived: list[int] = []

    def rows() -> Iterator[dict[str, Any]]:
        for candidate in candidates(session, as_of, days_ahead, policy):
            counts.due += 1
            reason = candidate.skip_reason
            if reason is not None:
                counts.skipped[reason] += 1
            elif candidate.status == "sent":
                counts.already_sent += 1
            elif candidate.status == WITHDRAWN and candidate.reminder_id is not None:
                revived.append(candidate.reminder_id)  # e.g. reminders turned off, then on
            else:
                if candidate.status is None:
                    counts.new += 1
                yield _new_row(candidate, domain, created)

    for chunk in _chunks(rows(), INSERT_CHUNK):
        session.execute(insert, chunk)
    for ids in _chunks(revived, INSERT_CHUNK):
        session.execute(
            update(Reminder)
            .where(Reminder.id.in_(ids), Reminder.status == WITHDRAWN)
            .values(status="pending", last_error=None)
            .execution_options(synchronize_session=False)
        )
    return counts


def _new_row(candidate: Candidate, domain: str, created: datetime) -> dict[str, Any]:
    key = (candidate.patient_pk, candidate.due, candidate.kind, candidate.sequence)
    return {
        "patient_id": candidate.patient_pk,
        "due": candidate.due,
        "kind": candidate.kind,
        "sequence": candidate.sequence,
        "status": "pending",
        "message_id": message_id(*key, domain),
        "recipient": candidate.email,
        "created_at": created,
        "attempts": 0,
    }


def _insert_ignoring_duplicates(session: Session) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING``: a reminder already logged is left as it is."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(Reminder).on_conflict_do_nothing()
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(Reminder).on_conflict_do_nothing()


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def status_counts(session: Session) -> dict[str, int]:
    """Reminders in the log by status (pending, sending, sent, withdrawn)."""
    counts = dict.fromkeys(STATUSES, 0)
    rows = session.execute(select(Reminder.status, func.count()).group_by(Reminder.status))
    counts.update({status: count for status, count in rows})
    return counts
