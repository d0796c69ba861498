"""Claims on reminders: a run takes a few at a time, under a lease it renews while it lives.

A claimed reminder (``sending``) carries ``claimed_until``: the run that claimed it holds it
until then, and renews the lease of all its claims every :data:`RENEW_EVERY` from a thread of
its own (:class:`LeaseKeeper`), however long one message takes. Another run takes a claim over
only once it has expired, which for a live run it never does: nothing depends on telling a
dead process from a live one. (The first version trusted host name and process id: a run in a
container, whose pids mean nothing outside it, was taken for dead by a run on the host, and
its reminders went out twice.) A run that cannot renew (the database unreachable) stops
sending before its lease could run out: :meth:`LeaseKeeper.held`.

A run that crashed leaves its claims until they expire, at most :data:`LEASE` later; the next
run (or one running beside it) sends them. Only a crash between the hand-over to the transport
and the mark "sent" can send one message twice; it is resent with the same Message-ID, which
receivers use to drop duplicates.

Times are the database server's (PostgreSQL: ``statement_timestamp()`` in UTC), so that runs
on machines whose clocks differ agree on when a lease ends; SQLite's clock is this machine's.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, Result, and_, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from followup import rules
from followup.rules.tracking import Outcome
from followup.store.clock import now
from followup.store.contacts import record_notice
from followup.store.models import Facility, Patient, PlanRecord, Reminder
from followup.store.patients import AddressError, sendable_address
from followup.store.reminders import WITHDRAWN, still_due

if TYPE_CHECKING:
    from followup.store.database import Database

CLAIM_BATCH = 20
LEASE = timedelta(minutes=2)
RENEW_EVERY = timedelta(seconds=15)
# Send only while the lease last written has this long still to run: a send started then
# cannot outlast it even if every renewal from now on fails.
SEND_MARGIN = timedelta(minutes=1)
MAX_ERROR = 500
# Flags that mean the radiologist lacks earlier films to compare with: the e-mail asks for them.
COMPARISON_FLAGS = frozenset({"short-comparison-history", "facility-switch"})


def worker_id() -> str:
    """``host:pid:random``: who holds a claim. The host and pid are for a person reading the
    log; only the random part makes it unique, and nothing trusts any of it."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def lease_clock(session: Session) -> datetime:
    """Now, naive UTC, by the database's clock (see the module docstring)."""
    if session.get_bind().dialect.name == "postgresql":
        utc = func.timezone("UTC", func.statement_timestamp())
        return session.execute(select(utc)).scalar_one()
    return now()


@dataclass(frozen=True)
class Claimed:
    """A claimed reminder with what its e-mail needs (the patient's current plan and address)."""

    id: int
    message_id: str
    due: date
    step: str
    patient_pk: int
    email: str | None
    reminders: bool
    closed_reason: str | None
    appointment: date | None
    plan_due: date | None
    action: str | None
    exam_date: date | None
    facility: str | None
    flag_codes: str

    def withdrawal_reason(
        self, as_of: date, policy: rules.Policy, started: date | None
    ) -> str | None:
        """Why this reminder must not be sent any more, or None when it still applies
        (``policy`` the run's, ``started`` the day the ladder started)."""
        if not self.reminders:
            return "withdrawn: reminders were turned off"
        if not self.email:
            return "withdrawn: the e-mail address was removed"
        if self.closed_reason is not None:
            return "withdrawn: her tracking is closed"
        if self.plan_due != self.due:
            return "withdrawn: the follow-up date changed"
        return still_due(self.due, self.step, as_of, policy, started, self.appointment)

    def recipient(self) -> str:
        """The address to send to, checked again as the store checks it on the way in; an
        AddressError whose ``reason`` quotes nothing of the address when it is not usable
        (stored before the check, or behind followup's back)."""
        try:
            return sendable_address(self.email or "")
        except AddressError as exc:
            raise AddressError(
                f"the stored e-mail address is not usable ({exc.reason}); correct it with "
                "`followup patient edit ID --email ADDR`",
                exc.reason,
            ) from None

    @property
    def wants_films(self) -> bool:
        return not COMPARISON_FLAGS.isdisjoint(self.flag_codes.split())


def claim(session: Session, worker: str, limit: int = CLAIM_BATCH) -> list[Claimed]:
    """Take up to ``limit`` reminders this run has not tried yet (pending, or claimed by a run
    whose lease expired) and renew the lease of every claim this run already holds."""
    clock = lease_clock(session)
    others = or_(Reminder.claimed_by.is_(None), Reminder.claimed_by != worker)
    pick = (
        select(Reminder.id)
        .where(
            others,
            or_(
                Reminder.status == "pending",
                and_(Reminder.status == "sending", Reminder.claimed_until < clock),
            ),
        )
        .order_by(Reminder.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = session.scalars(pick).all()
    _renew(session, worker, clock)
    if not ids:
        return []
    session.execute(
        update(Reminder)
        .where(Reminder.id.in_(ids))
        .values(status="sending", claimed_by=worker, claimed_at=clock, claimed_until=clock + LEASE)
        .execution_options(synchronize_session=False)
    )
    return _claimed_rows(session, ids)


def _claimed_rows(session: Session, ids: Sequence[int]) -> list[Claimed]:
    rows = session.execute(
        select(
            Reminder.id,
            Reminder.message_id,
            Reminder.due,
            Reminder.step,
            Patient.id.label("patient_pk"),
            Patient.email,
            Patient.reminders,
            Patient.closed_reason,
            Patient.appointment,
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


def renew(session: Session, worker: str) -> int:
    """Extend the lease of every claim ``worker`` holds; how many it holds."""
    return _renew(session, worker, lease_clock(session))


def _renew(session: Session, worker: str, clock: datetime) -> int:
    return _count(
        session.execute(
            update(Reminder)
            .where(Reminder.claimed_by == worker, Reminder.status == "sending")
            .values(claimed_until=clock + LEASE)
            .execution_options(synchronize_session=False)
        )
    )


def _count(result: Result[Any]) -> int:
    """The rows an UPDATE changed (``Session.execute`` types it as a plain Result)."""
    return cast("CursorResult[Any]", result).rowcount or 0


def release_expired(session: Session) -> int:
    """Put back to pending the claims whose lease ran out (their run crashed or was killed)."""
    return _count(
        session.execute(
            update(Reminder)
            .where(Reminder.status == "sending", Reminder.claimed_until < lease_clock(session))
            .values(status="pending", claimed_until=None)
            .execution_options(synchronize_session=False)
        )
    )


def release(session: Session, worker: str, reminder_ids: Iterable[int]) -> None:
    """Claimed but not handed to the transport (the run stopped): pending again, untouched."""
    ids = list(reminder_ids)
    if ids:
        session.execute(
            update(Reminder)
            .where(
                Reminder.id.in_(ids), Reminder.status == "sending", Reminder.claimed_by == worker
            )
            .values(status="pending", claimed_until=None)
            .execution_options(synchronize_session=False)
        )


def _set(session: Session, reminder_id: int, **values: Any) -> None:
    session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id)
        .values(claimed_until=None, **values)
        .execution_options(synchronize_session=False)
    )


def mark_sent(session: Session, item: Claimed, recipient: str, day: date) -> None:
    """The transport accepted it: never send it again, and it is a contact of her pathway
    (``email-sent`` on ``day``, the run's as-of date; clinical-rules.md §7), in the caller's
    one transaction, so the log never holds one without the other."""
    _set(
        session,
        item.id,
        status="sent",
        sent_at=now(),
        recipient=recipient,
        attempts=Reminder.attempts + 1,
        last_error=None,
    )
    record_notice(session, item.patient_pk, Outcome.EMAIL_SENT, day)


def mark_failed(session: Session, reminder_id: int, error: str) -> None:
    """Back to pending for the next run (this run does not try it again: it stays
    ``claimed_by`` this run); ``error`` is the reason, never the patient's address."""
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


class LeaseKeeper:
    """Renews a run's claims from a thread of its own while the run sends (a context manager).

    The sender asks :meth:`held` before each message: True while the lease written last (at a
    claim or a renewal) has more than ``margin`` to run, by this process's monotonic clock
    counted from before that write, so never longer than the database will honour it.
    """

    def __init__(
        self,
        database: Database,
        worker: str,
        every: timedelta = RENEW_EVERY,
        margin: timedelta = SEND_MARGIN,
    ) -> None:
        self.database = database
        self.worker = worker
        self.every = every.total_seconds()
        self.trusted = (LEASE - margin).total_seconds()
        self._written = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reminder-lease", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def claim(self, limit: int = CLAIM_BATCH) -> list[Claimed]:
        """:func:`claim` in a transaction of its own; it renews the lease too."""
        started = time.monotonic()
        with self.database.transaction() as session:
            batch = claim(session, self.worker, limit)
        self._written = max(self._written, started)
        return batch

    def held(self) -> bool:
        return time.monotonic() < self._written + self.trusted

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            started = time.monotonic()
            try:
                with self.database.transaction() as session:
                    renew(session, self.worker)
            except SQLAlchemyError:
                continue  # held() turns False if it stays so; the claims then just expire
            self._written = max(self._written, started)
