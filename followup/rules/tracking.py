"""The follow-up pathway of clinical-rules.md §7: contacts, appointments, closing, to-call.

The plan says what is due; the pathway records what was done about it. Two steps, so that a
report over a million patients pays neither for a query per patient nor for anyone's whole
contact history:

1. :func:`summarize` reads a patient's contacts, and the date of her latest exam or biopsy,
   into a :class:`TrackingSummary`. It does not depend on the day it is read, so the store
   keeps it beside the patient and refreshes it whenever her contacts, exams or biopsies
   change (as it does her plan).
2. :func:`tracking_on` reads a summary on an as-of date: open, scheduled or closed; a missed
   appointment; contacted too recently to be called again.

Readings chosen where the spec leaves room:

- A new exam or biopsy reopens tracking when it is dated *after* the day tracking was closed
  (one of that day is what she declined or was told about); it answers an appointment when
  it is dated after the call that scheduled it (she may come a few days early).
- During the grace days after an appointment (``appointment_grace_days``) she stays
  scheduled: the exam may not be recorded yet. After them she is open, with
  ``missed-appointment``, until an exam, a new appointment or a closing.
- Letters and reminder e-mails are contacts (``last_contact``) but not calls: the to-call list
  is for the telephone (§10: calls raised timely follow-up far more than letters did), so a
  letter does not take her off it for ``recontact_days``; every call attempt does, whatever
  its outcome.
- A closing ends a pending appointment; a later reopen does not bring it back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from followup.rules.categories import fold
from followup.rules.dates import EARLIEST_EXAM, add_days
from followup.rules.engine import ACTIONS
from followup.rules.model import Biopsy, Exam, Flag
from followup.rules.policy import Policy


class Outcome(StrEnum):
    """What came of an attempt to reach her (§7), and the other entries of her pathway log."""

    REACHED = "reached"
    NO_ANSWER = "no-answer"
    LEFT_MESSAGE = "left-message"
    LETTER_SENT = "letter-sent"
    WRONG_NUMBER = "wrong-number"
    SCHEDULED = "scheduled"
    DECLINED = "declined"
    MOVED_AWAY = "moved-away"
    DECEASED = "deceased"
    CARE_ELSEWHERE = "care-elsewhere"
    # Recorded by the reminder job, never typed: an e-mail is a contact too (§7).
    EMAIL_SENT = "email-sent"
    # Not a contact: ``patient reopen``, kept in the same log so her pathway reads in one place.
    REOPENED = "reopened"


class TrackingState(StrEnum):
    """Where she stands on the pathway on a given day."""

    OPEN = "open"
    SCHEDULED = "scheduled"
    CLOSED = "closed"


# What ``contact --outcome`` takes: the outcomes of §7, in its order.
OUTCOMES = tuple(o.value for o in Outcome if o not in (Outcome.EMAIL_SENT, Outcome.REOPENED))
# Everything the pathway log may hold (the store's CHECK constraint).
LOGGED = tuple(o.value for o in Outcome)
CLOSING = frozenset(
    (Outcome.DECLINED, Outcome.MOVED_AWAY, Outcome.DECEASED, Outcome.CARE_ELSEWHERE)
)
CLOSE_REASONS = tuple(o.value for o in Outcome if o in CLOSING)
# Contacts that are not calls: they never take her off the to-call list.
NOT_CALLS = frozenset((Outcome.LETTER_SENT, Outcome.EMAIL_SENT, Outcome.REOPENED))
MISSED_APPOINTMENT = "missed-appointment"
Day = date  # the type, for classes whose field ``date`` hides it
_RANK = {action: rank for rank, action in enumerate(ACTIONS)}


@dataclass(frozen=True)
class Contact:
    """One entry of her pathway log: an attempt to reach her and its outcome (``scheduled``
    with the appointment's date and, optionally, facility), a closing, or a reopen.
    ``id`` orders entries of the same day (the order they were recorded in)."""

    date: Day
    outcome: Outcome
    appointment: Day | None = None
    facility: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class TrackingSummary:
    """What her contacts say, whatever the day: why tracking is closed and since when, the
    appointment no exam or biopsy has answered yet, her latest contact and her latest call.
    The store keeps one per patient (all None for most: never contacted)."""

    closed: Outcome | None = None
    closed_on: date | None = None
    appointment: date | None = None
    appointment_facility: str | None = None
    last_contact: date | None = None
    last_outcome: Outcome | None = None
    last_call: date | None = None


NOTHING = TrackingSummary()


@dataclass(frozen=True)
class Tracking:
    """Her tracking read on ``as_of``: ``state``; ``reason`` (and ``closed_on``) when closed;
    ``appointment`` (and its facility) when scheduled or missed; ``missed`` when it passed by
    more than the grace days with nothing recorded; ``recently_called`` when a call was made
    within ``recontact_days``."""

    state: TrackingState
    reason: Outcome | None = None
    closed_on: date | None = None
    appointment: date | None = None
    appointment_facility: str | None = None
    missed: bool = False
    last_contact: date | None = None
    last_outcome: Outcome | None = None
    recently_called: bool = False

    def to_call(self, overdue: bool) -> bool:
        """§7 to-call list: overdue (or lost), open, not scheduled, not called lately."""
        return overdue and self.state is TrackingState.OPEN and not self.recently_called


def parse_outcome(text: str) -> Outcome:
    """Read an outcome of §7 as people type it (``No answer``, ``left_message``);
    ValueError lists the valid ones."""
    folded = fold(text)
    if folded in OUTCOMES:
        return Outcome(folded)
    raise ValueError(f"unknown contact outcome {text!r}; use one of {', '.join(OUTCOMES)}")


def parse_close_reason(text: str) -> Outcome:
    """Read why tracking is closed: declined, moved-away, deceased or care-elsewhere."""
    folded = fold(text)
    if folded in CLOSE_REASONS:
        return Outcome(folded)
    raise ValueError(f"unknown reason {text!r}; use one of {', '.join(CLOSE_REASONS)}")


def check_pathway_date(day: date, today: date, what: str = "contact") -> date:
    """A contact (or closing, or reopen) is recorded once it happened: never in the future,
    never before 1900."""
    if day > today:
        raise ValueError(
            f"{what} date {day.isoformat()} is in the future (today is {today.isoformat()}); "
            "record it once it has happened"
        )
    if day < EARLIEST_EXAM:
        raise ValueError(f"{what} date {day.isoformat()} is before 1900; check the year")
    return day


def validate_contact(contact: Contact, today: date) -> Contact:
    """The contact as the pathway reads it, or ValueError saying what to fix: its date; an
    appointment with ``scheduled`` and only with it, not before the call that made it; a
    facility only with an appointment."""
    check_pathway_date(contact.date, today)
    if contact.outcome is Outcome.SCHEDULED and contact.appointment is None:
        raise ValueError("a scheduled contact needs the appointment's date")
    if contact.outcome is not Outcome.SCHEDULED and contact.appointment is not None:
        raise ValueError(
            f"an appointment goes with the outcome scheduled, not {contact.outcome.value}"
        )
    if contact.appointment is not None and contact.appointment < contact.date:
        raise ValueError(
            f"the appointment {contact.appointment.isoformat()} is before the contact that "
            f"made it ({contact.date.isoformat()}); check the dates"
        )
    if contact.facility is not None and contact.appointment is None:
        raise ValueError("a facility goes with an appointment; give the appointment's date")
    return contact


def latest_record(exams: Iterable[Exam], biopsies: Iterable[Biopsy] = ()) -> date | None:
    """The date of her latest exam or biopsy (post-procedure exams too): what reopens tracking
    and answers an appointment."""
    dates = [e.date for e in exams] + [b.date for b in biopsies]
    return max(dates, default=None)


def _order(contact: Contact) -> tuple[date, int, str]:
    return contact.date, contact.id or 0, contact.outcome.value


def summarize(contacts: Iterable[Contact], last_record: date | None = None) -> TrackingSummary:
    """§7 from her log, in date order (a day's entries in the order recorded): the latest
    closing closes tracking until a reopen, or an exam or biopsy dated after it; the latest
    ``scheduled`` gives the appointment until a closing, or an exam or biopsy dated after that
    call. The latest contact of any kind, and the latest call (not a letter or e-mail)."""
    closed: Contact | None = None
    appointment: Contact | None = None
    last: Contact | None = None
    call: Contact | None = None
    for contact in sorted(contacts, key=_order):
        if contact.outcome is Outcome.REOPENED:
            closed = None
            continue
        last = contact
        if contact.outcome not in NOT_CALLS:
            call = contact
        if contact.outcome in CLOSING:
            closed, appointment = contact, None
        elif contact.outcome is Outcome.SCHEDULED:
            appointment = contact
    if closed is not None and last_record is not None and last_record > closed.date:
        closed = None
    if appointment is not None and last_record is not None and last_record > appointment.date:
        appointment = None
    return TrackingSummary(
        closed=closed.outcome if closed else None,
        closed_on=closed.date if closed else None,
        appointment=appointment.appointment if appointment else None,
        appointment_facility=appointment.facility if appointment else None,
        last_contact=last.date if last else None,
        last_outcome=last.outcome if last else None,
        last_call=call.date if call else None,
    )


def with_notice(summary: TrackingSummary, notice: Contact) -> TrackingSummary:
    """The summary once ``notice`` (a letter or e-mail sent: not a call, a closing or an
    appointment) is recorded after every entry of her log: :func:`summarize` of the log with
    it, without reading the log. It becomes her latest contact unless one is dated later;
    nothing else changes (it neither closes, nor books, nor counts as a call)."""
    if notice.outcome not in NOT_CALLS or notice.outcome is Outcome.REOPENED:
        raise ValueError(f"{notice.outcome.value} is not a letter or an e-mail")
    if summary.last_contact is not None and summary.last_contact > notice.date:
        return summary
    return replace(summary, last_contact=notice.date, last_outcome=notice.outcome)


def reminders_ended(contacts: Iterable[Contact]) -> Contact | None:
    """The ``deceased`` entry, if her log has one: it turns reminders off for good (§7),
    whatever reopens her tracking later."""
    return next((c for c in sorted(contacts, key=_order) if c.outcome is Outcome.DECEASED), None)


def scheduled_on(appointment: date, as_of: date, policy: Policy) -> bool:
    """Still scheduled on ``as_of``: the appointment is today or later, or passed no more
    than ``appointment_grace_days`` ago (the exam may not be recorded yet)."""
    return as_of <= add_days(appointment, policy.appointment_grace_days)


def called_lately(last_call: date, as_of: date, policy: Policy) -> bool:
    """A call less than ``recontact_days`` before ``as_of`` (or after it: a past as-of date)."""
    return (as_of - last_call).days < policy.recontact_days


def tracking_on(summary: TrackingSummary, as_of: date, policy: Policy) -> Tracking:
    """Her tracking on ``as_of`` (§7): closed with its reason; scheduled while the appointment
    holds; otherwise open, with ``missed`` when the appointment passed by more than the grace
    days with no exam or biopsy since."""
    recent = summary.last_call is not None and called_lately(summary.last_call, as_of, policy)
    last, outcome = summary.last_contact, summary.last_outcome
    if summary.closed is not None:
        return Tracking(
            TrackingState.CLOSED,
            reason=summary.closed,
            closed_on=summary.closed_on,
            last_contact=last,
            last_outcome=outcome,
            recently_called=recent,
        )
    if summary.appointment is None:
        return Tracking(
            TrackingState.OPEN, last_contact=last, last_outcome=outcome, recently_called=recent
        )
    scheduled = scheduled_on(summary.appointment, as_of, policy)
    return Tracking(
        TrackingState.SCHEDULED if scheduled else TrackingState.OPEN,
        appointment=summary.appointment,
        appointment_facility=summary.appointment_facility,
        missed=not scheduled,
        last_contact=last,
        last_outcome=outcome,
        recently_called=recent,
    )


def missed_appointment_flag(tracking: Tracking) -> Flag | None:
    """§6 ``missed-appointment``, in both voices, when her appointment was missed. The date
    says which one (her page shows where it was)."""
    if not tracking.missed or tracking.appointment is None:
        return None
    when = tracking.appointment.isoformat()
    return Flag(
        MISSED_APPOINTMENT,
        f"the appointment of {when} passed with no exam or biopsy recorded since; call her "
        "to book it again",
        f"your appointment of {when} has passed and no exam is on record since; please call "
        "to book a new one",
    )


def to_call_key(action: str | None, due: date, patient_id: str) -> tuple[int, int, str]:
    """The to-call list's order (§7): biopsy-type actions first (the order of urgency, §2),
    then, within each action, the most recently overdue first; then by patient id."""
    return action_rank(action), -due.toordinal(), patient_id


def action_rank(action: str | None) -> int:
    """An action's place in the to-call list (:func:`to_call_key`'s first part)."""
    return _RANK.get(action or "", len(_RANK))
