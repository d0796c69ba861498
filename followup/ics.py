"""An iCalendar (.ics) file for a patient's next follow-up, shared by ``followup calendar``
and the reminder e-mails (which attach the same file).

Pure functions: no database, no clock, so the same inputs always give the same bytes.

API
---
``follow_up_uid(patient_key, due, secret="") -> str``
    The event UID, ``<64 hex>@followup``: the SHA-256 of the patient's *internal* database
    id (pass ``Patient.id``, never the external id people type), the due date and an optional
    per-database secret. The same patient and due date always give the same UID, so importing
    the file twice, or the calendar file and the reminder attachment, updates one event instead
    of making two; a new due date is a new event. The UID reveals neither the patient id nor
    the diagnosis: the action is deliberately left out of the hash, since a handful of actions
    could be guessed back from it.

``follow_up_calendar(uid, due, title=DEFAULT_TITLE, description=DEFAULT_DESCRIPTION,
location=None, alarm_days_before=7, stamp=None) -> bytes``
    A VCALENDAR with one all-day VEVENT (DTSTART;VALUE=DATE = due, DTEND = the next day,
    transparent so it does not block the day) and a DISPLAY VALARM ``alarm_days_before`` days
    ahead. ``stamp`` (date or aware datetime; default: the due date) is the DTSTAMP, fixed by
    the caller so output is reproducible; passing the date the plan was computed from (the
    latest exam) is a good choice.

Calendars sync to phones, laptops and cloud services and show titles on lock screens:
``title`` and ``description`` must never carry a name, patient id, category or diagnosis.
The defaults are safe; callers should keep to neutral wording like them.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta

from icalendar import Alarm, Calendar, Event

PRODID = "-//followup//breast imaging follow-up//EN"
UID_DOMAIN = "followup"
DEFAULT_TITLE = "Mammogram follow-up"
DEFAULT_DESCRIPTION = (
    "Time for your next breast imaging appointment: please book it if you have not yet. "
    "Bring your earlier mammograms (or ask your previous facility to send them) so the new "
    "images can be compared with them."
)


def follow_up_uid(patient_key: int | str, due: date, secret: str = "") -> str:
    """A stable, opaque event UID for one patient's follow-up due on ``due``."""
    material = f"followup-calendar-v1\x1f{secret}\x1f{patient_key}\x1f{due.isoformat()}"
    return f"{hashlib.sha256(material.encode('utf-8')).hexdigest()}@{UID_DOMAIN}"


def _stamp(value: date | datetime | None, due: date) -> datetime:
    if value is None:
        value = due
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0, 0), tzinfo=UTC)
    return value.astimezone(UTC)


def follow_up_calendar(
    uid: str,
    due: date,
    title: str = DEFAULT_TITLE,
    description: str = DEFAULT_DESCRIPTION,
    location: str | None = None,
    alarm_days_before: int = 7,
    stamp: date | datetime | None = None,
) -> bytes:
    """The .ics bytes (CRLF lines, UTF-8) of one all-day follow-up event with a reminder."""
    if alarm_days_before < 0:
        raise ValueError("alarm_days_before must be 0 or more days")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", _stamp(stamp, due))
    event.add("dtstart", due)  # a date, so VALUE=DATE: an all-day event with no time zone
    event.add("dtend", due + timedelta(days=1))
    event.add("summary", title)
    event.add("description", description)
    if location:
        event.add("location", location)
    event.add("transp", "TRANSPARENT")
    event.add("class", "PRIVATE")
    event.add_component(_alarm(title, alarm_days_before))
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add_component(event)
    return calendar.to_ical()


def _alarm(title: str, days_before: int) -> Alarm:
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", title)
    alarm.add("trigger", timedelta(days=-days_before))
    return alarm
