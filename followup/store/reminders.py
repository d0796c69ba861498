"""The reminder log: which reminders are due, recorded *before* they are sent, claimed by one run.

The life of a reminder row::

    pending --claim--> sending --sent--> sent
       ^                  |
       +-- send failed ---+  (attempts + 1, last_error = the server's reply; retried next run)
       +-- run crashed ---+  (claimer gone, or claimed longer ago than STALE_AFTER)
    pending/sending --no longer applies--> failed  (withdrawn; last_error says why)

- One row per patient, due date, kind and repeat: the unique constraint, hit with
  ``INSERT ... ON CONFLICT DO NOTHING``, is what keeps a re-run or an overlapping run from
  queueing (and so sending) the same reminder twice.
- A run claims a few rows at a time in a short transaction (PostgreSQL: ``FOR UPDATE SKIP
  LOCKED``, so two runs take different rows; SQLite: the write transaction is ``BEGIN
  IMMEDIATE``, so claims serialize), sends outside any transaction, then marks each row sent in
  its own short transaction. Only a crash between the hand-over to the transport and that mark
  can send one message twice; it is resent with the same Message-ID, which receivers use to
  drop duplicates.
- The ``message_id`` is fixed when the row is created, so every attempt carries the same one.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any, cast

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.orm import Session

from followup import rules
from followup.rules.dates import add_days
from followup.store.clock import now
from followup.store.models import Facility, Patient, PlanRecord, Reminder
from followup.store.policies import require_current_plans

UPCOMING = "upcoming"
OVERDUE = "overdue"
# Withdrawn reminders (the plan changed, the patient opted out) end as 'failed': never sent.
WITHDRAWN = "failed"
STALE_AFTER = timedelta(hours=1)
CLAIM_BATCH = 20
INSERT_CHUNK = 2_000
MAX_ERROR = 500
# Flags that mean the radiologist lacks earlier films to compare with: the letter asks for them.
COMPARISON_FLAGS = frozenset({"short-comparison-history", "facility-switch"})


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
    stmt = (
        select(Patient.id, Patient.external_id, Patient.email, Patient.reminders, PlanRecord.due)
        .join(Patient, Patient.id == PlanRecord.patient_id)
        .where(PlanRecord.due.is_not(None), PlanRecord.due <= horizon)
        .order_by(PlanRecord.due, Patient.external_id)
    )
    for row in session.execute(stmt, execution_options={"yield_per": INSERT_CHUNK}):
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


# --- claiming and recording the outcome -----------------------------------------------------


def worker_id() -> str:
    """``host:pid:random``: who holds a claim, so a later run can tell a crashed claimer."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claimer_gone(claimed_by: str) -> bool:
    """True when the claimer ran on this host and its process no longer exists."""
    host, _, rest = claimed_by.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, run by another user
        return False
    return False


def release_stale(
    session: Session,
    stale_after: timedelta = STALE_AFTER,
    gone: Callable[[str], bool] = claimer_gone,
) -> int:
    """Put back to pending the rows a crashed or stuck run left in 'sending'."""
    claimers = session.scalars(
        select(Reminder.claimed_by).where(Reminder.status == "sending").distinct()
    ).all()
    dead = [c for c in claimers if c and gone(c)]
    stale = Reminder.claimed_at < now() - stale_after
    condition = or_(stale, Reminder.claimed_by.in_(dead)) if dead else stale
    result = session.execute(
        update(Reminder)
        .where(Reminder.status == "sending", condition)
        .values(status="pending")
        .execution_options(synchronize_session=False)
    )
    return cast("CursorResult[Any]", result).rowcount or 0  # an UPDATE's result is a cursor's


@dataclass(frozen=True)
class Claimed:
    """A claimed reminder with what its letter needs (the patient's current plan and address)."""

    id: int
    message_id: str
    due: date
    kind: str
    sequence: int
    patient_pk: int
    email: str | None
    reminders: bool
    plan_due: date | None
    action: str | None
    exam_date: date | None
    facility: str | None
    flag_codes: str

    def withdrawal_reason(self, as_of: date, policy: rules.Policy) -> str | None:
        """Why this reminder must not be sent any more, or None when it still applies."""
        if not self.reminders:
            return "withdrawn: reminders were turned off"
        if not self.email:
            return "withdrawn: the e-mail address was removed"
        if self.plan_due != self.due:
            return "withdrawn: the follow-up date changed"
        if reminder_key(self.due, as_of, policy) != (self.kind, self.sequence):
            return "withdrawn: a later reminder replaces it"
        return None

    @property
    def wants_films(self) -> bool:
        return not COMPARISON_FLAGS.isdisjoint(self.flag_codes.split())


def claim(session: Session, worker: str, limit: int = CLAIM_BATCH) -> list[Claimed]:
    """Take up to ``limit`` pending reminders this run has not tried yet (pending -> sending)."""
    pick = (
        select(Reminder.id)
        .where(
            Reminder.status == "pending",
            or_(Reminder.claimed_by.is_(None), Reminder.claimed_by != worker),
        )
        .order_by(Reminder.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = session.scalars(pick).all()
    if not ids:
        return []
    session.execute(
        update(Reminder)
        .where(Reminder.id.in_(ids))
        .values(status="sending", claimed_by=worker, claimed_at=now())
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(
        select(
            Reminder.id,
            Reminder.message_id,
            Reminder.due,
            Reminder.kind,
            Reminder.sequence,
            Patient.id.label("patient_pk"),
            Patient.email,
            Patient.reminders,
            PlanRecord.due.label("plan_due"),
            PlanRecord.action,
            PlanRecord.exam_date,
            Facility.name.label("facility"),
            PlanRecord.flag_codes,
        )
        .join(Patient, Patient.id == Reminder.patient_id)
        .outerjoin(PlanRecord, PlanRecord.patient_id == Reminder.patient_id)
        .outerjoin(Facility, Facility.id == PlanRecord.facility_id)
        .where(Reminder.id.in_(ids))
        .order_by(Reminder.id)
    )
    return [_claimed(row._asdict()) for row in rows]


def _claimed(row: dict[str, Any]) -> Claimed:
    return Claimed(
        **{**row, "flag_codes": row["flag_codes"] or "", "reminders": bool(row["reminders"])}
    )


def _set(session: Session, reminder_id: int, **values: Any) -> None:
    session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def mark_sent(session: Session, reminder_id: int, recipient: str) -> None:
    """The transport accepted it: never send it again."""
    _set(
        session,
        reminder_id,
        status="sent",
        sent_at=now(),
        recipient=recipient,
        attempts=Reminder.attempts + 1,
        last_error=None,
    )


def mark_failed(session: Session, reminder_id: int, error: str) -> None:
    """Back to pending for the next run; ``error`` is the server's reply, nothing else."""
    _set(
        session,
        reminder_id,
        status="pending",
        attempts=Reminder.attempts + 1,
        last_error=error[:MAX_ERROR],
    )


def withdraw(session: Session, reminder_id: int, reason: str) -> None:
    """It no longer applies (new due date, opted out): it will never be sent."""
    _set(session, reminder_id, status=WITHDRAWN, last_error=reason)


def release(session: Session, reminder_ids: Iterable[int]) -> None:
    """Claimed but not handed to the transport (the run stopped): pending again, untouched."""
    ids = list(reminder_ids)
    if ids:
        session.execute(
            update(Reminder)
            .where(Reminder.id.in_(ids), Reminder.status == "sending")
            .values(status="pending")
            .execution_options(synchronize_session=False)
        )


def status_counts(session: Session) -> dict[str, int]:
    """Reminders in the log by status (pending, sending, sent, failed)."""
    counts = dict.fromkeys(("pending", "sending", "sent", "failed"), 0)
    rows = session.execute(select(Reminder.status, func.count()).group_by(Reminder.status))
    counts.update({status: count for status, count in rows})
    return counts
