"""The reminder log: which step of the ladder is due for whom, recorded *before* it is sent.

Which reminder (clinical-rules.md §7, :mod:`followup.rules.ladder`): for each open patient
who is not scheduled, the step of the ladder in force on the as-of date for her due date,
``upcoming`` ``reminder_days_before`` the due date (``remind --days-ahead`` for one run), then
``overdue-1``, ``overdue-2``, ``overdue-3`` on the days of ``overdue_steps_days``; after the
last one, nothing more for that due date. A step that fell before the ladder started (the
first real run, :mod:`followup.store.ladder_start`) is never sent: the first run on a
programme sends the steps that fall that day, not a backlog of years.

The life of a reminder row::

    pending --claim--> sending --sent--> sent   (+ an ``email-sent`` contact, same transaction)
       ^                  |
       +-- send failed ---+  (attempts + 1, last_error = the reason; retried next run)
       +-- lease expired -+  (the run that claimed it crashed, see reminder_claims)
    pending/sending --no longer applies--> withdrawn  (last_error says why; revived when it
                                                       applies again)

- One row per patient, due date and step: the unique constraint, hit with ``INSERT ... ON
  CONFLICT DO NOTHING``, is what keeps a re-run or an overlapping run from queueing (and so
  sending) the same step twice, and the ladder never goes back to an earlier step.
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
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from itertools import islice
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from followup import rules
from followup.rules.dates import add_days
from followup.rules.ladder import StepKind, overdue_days, step_on
from followup.rules.tracking import Outcome, scheduled_on
from followup.store.clock import now
from followup.store.ladder_start import ladder_started, start_ladder
from followup.store.models import Contact, Patient, PlanRecord, Reminder
from followup.store.policies import require_current_plans
from followup.store.tracking_rows import as_date

UPCOMING = StepKind.UPCOMING.value
# A reminder that no longer applies (the plan changed, the patient opted out): never sent.
WITHDRAWN = "withdrawn"
STATUSES = ("pending", "sending", "sent", WITHDRAWN)
INSERT_CHUNK = 2_000


def run_policy(policy: rules.Policy, days_ahead: int | None) -> rules.Policy:
    """The policy a run applies: ``remind --days-ahead N`` moves the upcoming step to N days
    before the due date for that run (None: the policy's ``reminder_days_before``)."""
    return policy if days_ahead is None else replace(policy, reminder_days_before=days_ahead)


def message_id(patient_pk: int, due: date, step: str, domain: str) -> str:
    """A stable Message-ID that reveals neither the patient nor the diagnosis."""
    material = f"followup-reminder-v2\x1f{patient_pk}\x1f{due.isoformat()}\x1f{step}"
    return f"<{hashlib.sha256(material.encode()).hexdigest()[:40]}@{domain}>"


def step_kind(step: str) -> str:
    """``upcoming`` or ``overdue``: the kind of a stored step (what the e-mail says)."""
    return UPCOMING if step == UPCOMING else StepKind.OVERDUE.value


def still_due(
    due: date,
    step: str,
    as_of: date,
    policy: rules.Policy,
    started: date | None,
    appointment: date | None,
) -> str | None:
    """Why the reminder of ``step`` for ``due`` must not go out on ``as_of``, or None when it
    is still the step in force for a patient who is not scheduled (the queue's test again, at
    the moment of sending)."""
    if appointment is not None and scheduled_on(appointment, as_of, policy):
        return "withdrawn: she is scheduled"
    found = step_on(due, as_of, policy, started)
    if found is None or found.key != step:
        return "withdrawn: a later reminder replaces it"
    return None


@dataclass(frozen=True)
class Candidate:
    """A patient whose follow-up calls for a step of the ladder on the as-of date."""

    patient_pk: int
    patient_id: str
    email: str | None
    reminders: bool
    due: date
    step: str
    status: str | None  # of the same reminder already in the log; None when it is new
    reminder_id: int | None = None

    @property
    def kind(self) -> str:
        return step_kind(self.step)

    @property
    def skip_reason(self) -> str | None:
        if not self.reminders:
            return "reminders_off"
        return None if self.email else "no_address"


@dataclass
class QueueCounts:
    """What queueing found: due patients, new reminders, and why some get no reminder;
    ``started`` the day the ladder started (None: not yet, nothing was queued)."""

    due: int = 0
    new: int = 0
    already_sent: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: {"no_address": 0, "reminders_off": 0})
    started: date | None = None


def candidates(
    session: Session, as_of: date, policy: rules.Policy, started: date | None
) -> Iterator[Candidate]:
    """Every open, unscheduled patient with a step of the ladder in force on ``as_of``
    (``policy`` is the run's, see :func:`run_policy`), with that step's reminder."""
    require_current_plans(session)
    horizon = add_days(as_of, policy.reminder_days_before)  # clamped: no overflow near 9999
    # an overdue step that fell before the ladder started is never sent: due dates whose
    # last step fell before it need not be read at all (the backlog of years)
    earliest = add_days(started or as_of, -max(overdue_days(policy)))
    known = _logged_statuses(session, earliest, horizon)
    deceased = exists().where(
        Contact.patient_id == Patient.id, Contact.outcome == Outcome.DECEASED.value
    )
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
        .where(PlanRecord.due.is_not(None), PlanRecord.due.between(earliest, horizon))
        .where(Patient.closed_reason.is_(None))  # §7: a closed patient gets none
        .where(~deceased)  # §7: deceased turns reminders off for good, whatever reopened her
        .order_by(PlanRecord.due, Patient.external_id)
    )
    for row in session.execute(stmt, execution_options={"yield_per": INSERT_CHUNK}):
        appointment = as_date(row.appointment)
        if appointment is not None and scheduled_on(appointment, as_of, policy):
            continue  # §7: a scheduled patient leaves the ladder
        step = step_on(row.due, as_of, policy, started)
        if step is None:
            continue
        yield Candidate(
            patient_pk=row.id,
            patient_id=row.external_id,
            email=row.email,
            reminders=bool(row.reminders),
            due=row.due,
            step=step.key,
            **known.get((row.id, row.due, step.key), {"status": None}),
        )


def _logged_statuses(
    session: Session, earliest: date, horizon: date
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Id and status of each logged reminder for a current plan's due date (in the window)."""
    stmt = (
        select(Reminder.patient_id, Reminder.due, Reminder.step, Reminder.status, Reminder.id)
        .join(
            PlanRecord,
            (PlanRecord.patient_id == Reminder.patient_id) & (PlanRecord.due == Reminder.due),
        )
        .where(PlanRecord.due.between(earliest, horizon))
    )
    return {
        tuple(row[:3]): {"status": row.status, "reminder_id": row.id}
        for row in session.execute(stmt)
    }


def queue(
    session: Session, as_of: date, days_ahead: int | None, policy: rules.Policy, domain: str
) -> QueueCounts:
    """Record a pending reminder for every patient with a step due who can get one (existing
    rows stay). The first run that queues anything starts the ladder on ``as_of``."""
    counts = QueueCounts(started=ladder_started(session))
    ladder_policy = run_policy(policy, days_ahead)
    created = now()
    insert = _insert_ignoring_duplicates(session)
    revived: list[int] = []

    def rows() -> Iterator[dict[str, Any]]:
        for candidate in candidates(session, as_of, ladder_policy, counts.started):
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
    if counts.started is None and (counts.new or revived):
        counts.started = start_ladder(session, as_of)
    return counts


def _new_row(candidate: Candidate, domain: str, created: datetime) -> dict[str, Any]:
    return {
        "patient_id": candidate.patient_pk,
        "due": candidate.due,
        "step": candidate.step,
        "status": "pending",
        "message_id": message_id(candidate.patient_pk, candidate.due, candidate.step, domain),
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
