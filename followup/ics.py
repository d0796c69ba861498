"""An iCalendar (.ics) file for a patient's calendar, shared by ``followup calendar`` and the
reminder e-mails (which attach the same file).

Pure functions: no database, no clock, so the same inputs always give the same bytes.

One event per patient, updated in place (clinical-rules.md §7, issue 14 point 8)
---------------------------------------------------------------------------------
Every file for a patient carries the same event: the same UID whatever is due, so importing
a newer file *updates* the event instead of adding one beside it (the first version hashed
the due date into the UID, and every new due date left the old event behind in her
calendar).

``calendar_uid(patient_key, secret="") -> str``
    ``<64 hex>@followup``: the SHA-256 of the patient's *internal* database id (pass
    ``Patient.id``, never the external id people type) and an optional per-database secret.
    It reveals neither the patient id nor anything about her follow-up.

``SEQUENCE``
    The event's revision, which calendar programs compare to know that a file is newer than
    the event they hold (RFC 5545 §3.8.7.4). The store counts it (``followup.store.
    calendar_events``): 0 for the first file, one more each time what the event says (its
    date, where, booked or cancelled) differs from the file issued last. ``DTSTAMP`` is when
    that revision was first issued. So the same state always gives the same bytes, and a
    change always gives a higher SEQUENCE.

What the event says (:class:`CalendarEvent`)
    ``follow-up``: an all-day event on the due date, at the facility of her latest exam;
    ``appointment``: when she is booked (a ``scheduled`` contact), the appointment's day and
    facility; with nothing to schedule (tracking closed, treatment, no plan), the file is a
    cancellation: ``METHOD:CANCEL`` and ``STATUS:CANCELLED`` for the same UID, with the date
    of the event it cancels, so that her calendar drops (or strikes out) the event.

Calendars sync to phones, laptops and cloud services and show titles on lock screens: titles
and descriptions never carry a name, patient id, category or diagnosis, and a cancellation
never says why (a closing reason, a cancer).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from icalendar import Alarm, Calendar, Event

from followup.rules.tracking import Tracking, TrackingState

PRODID = "-//followup//breast imaging follow-up//EN"
UID_DOMAIN = "followup"
FOLLOW_UP_TITLE = "Mammogram follow-up"
APPOINTMENT_TITLE = "Mammogram appointment"
BRING_FILMS = (
    "Bring your earlier mammograms (or ask your previous facility to send them) so the new "
    "images can be compared with them."
)
FOLLOW_UP_DESCRIPTION = (
    f"Time for your next breast imaging appointment: please book it if you have not yet. "
    f"{BRING_FILMS}"
)
APPOINTMENT_DESCRIPTION = f"Your breast imaging appointment is booked for this day. {BRING_FILMS}"
CANCELLED_DESCRIPTION = (
    "No follow-up date is planned for now. Your care team will contact you if one is needed."
)


class EventKind(StrEnum):
    """What the patient's one event stands for."""

    FOLLOW_UP = "follow-up"  # the plan's due date
    APPOINTMENT = "appointment"  # the booked appointment
    CANCELLED = "cancelled"  # nothing to schedule: the last event issued, cancelled


@dataclass(frozen=True)
class CalendarEvent:
    """What her event says: its kind, its day and where (a facility name, or None)."""

    kind: EventKind
    day: date
    location: str | None = None

    def cancelled(self) -> CalendarEvent:
        """This event, cancelled (same day and place, so calendars can match it)."""
        return CalendarEvent(EventKind.CANCELLED, self.day, self.location)


@dataclass(frozen=True)
class Revision:
    """One issued revision of her event: ``sequence`` counts the changes, ``stamp`` is when
    this revision was first issued (DTSTAMP)."""

    event: CalendarEvent
    sequence: int
    stamp: datetime


def calendar_uid(patient_key: int | str, secret: str = "") -> str:
    """The patient's one event UID: stable, opaque, the same whatever is due."""
    material = f"followup-calendar-v2\x1f{secret}\x1f{patient_key}"
    return f"{hashlib.sha256(material.encode('utf-8')).hexdigest()}@{UID_DOMAIN}"


def _utc(stamp: datetime) -> datetime:
    """An aware UTC datetime (the store keeps naive UTC), to the second."""
    aware = stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
    return aware.replace(microsecond=0)


def event_calendar(uid: str, revision: Revision, alarm_days_before: int = 7) -> bytes:
    """The .ics bytes (CRLF lines, UTF-8) of her event at ``revision``: an all-day event with
    a reminder ``alarm_days_before`` days ahead, or its cancellation."""
    if alarm_days_before < 0:
        raise ValueError("alarm_days_before must be 0 or more days")
    event = revision.event
    cancelled = event.kind is EventKind.CANCELLED
    title = APPOINTMENT_TITLE if event.kind is EventKind.APPOINTMENT else FOLLOW_UP_TITLE
    vevent = Event()
    vevent.add("uid", uid)
    vevent.add("sequence", revision.sequence)
    vevent.add("dtstamp", _utc(revision.stamp))
    vevent.add("dtstart", event.day)  # a date, so VALUE=DATE: all day, no time zone
    vevent.add("dtend", event.day + timedelta(days=1))
    vevent.add("summary", title)
    if cancelled:
        vevent.add("description", CANCELLED_DESCRIPTION)
    elif event.kind is EventKind.APPOINTMENT:
        vevent.add("description", APPOINTMENT_DESCRIPTION)
    else:
        vevent.add("description", FOLLOW_UP_DESCRIPTION)
    if event.location:
        vevent.add("location", event.location)
    vevent.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    vevent.add("transp", "TRANSPARENT")
    vevent.add("class", "PRIVATE")
    if not cancelled:
        vevent.add_component(_alarm(title, alarm_days_before))
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method(revision))
    calendar.add_component(vevent)
    return calendar.to_ical()


def method(revision: Revision) -> str:
    """The iTIP method of the file: PUBLISH for an event, CANCEL for a cancellation."""
    return "CANCEL" if revision.event.kind is EventKind.CANCELLED else "PUBLISH"


def _alarm(title: str, days_before: int) -> Alarm:
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", title)
    alarm.add("trigger", timedelta(days=-days_before))
    return alarm


def event_for(due: date | None, facility: str | None, tracking: Tracking) -> CalendarEvent | None:
    """What her event should say on the day ``tracking`` was read: the appointment while she
    is scheduled (clinical-rules.md §7), else the plan's due date at ``facility``; None when
    there is nothing to schedule (her tracking is closed, or the plan has no due date:
    treatment, no exam), which cancels the event issued before."""
    if tracking.state is TrackingState.CLOSED:
        return None
    if tracking.state is TrackingState.SCHEDULED and tracking.appointment is not None:
        return CalendarEvent(
            EventKind.APPOINTMENT, tracking.appointment, tracking.appointment_facility
        )
    if due is None:
        return None
    return CalendarEvent(EventKind.FOLLOW_UP, due, facility)
