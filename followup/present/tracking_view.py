"""Where a patient stands on the follow-up pathway (clinical-rules.md §7), for her page
(``followup status``): the ``tracking`` object of cli.md, and the same in plain words.

Plain values in (:class:`followup.rules.tracking.Tracking`), no database, no clock.
"""

from __future__ import annotations

import textwrap
from datetime import date
from typing import Any

from followup.rules.tracking import Tracking, TrackingState

WIDTH = 100  # as the rest of her page (followup status)
_REASONS = {
    "declined": "she declined further follow-up",
    "moved-away": "she moved away",
    "deceased": "she is recorded deceased (reminders are off for good)",
    "care-elsewhere": "she is followed elsewhere",
}


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def tracking_json(tracking: Tracking) -> dict[str, Any]:
    """cli.md's ``tracking``: state, appointment, reason, last contact; and where the
    appointment is, and since when tracking is closed."""
    last = None
    if tracking.last_contact is not None and tracking.last_outcome is not None:
        last = {"date": tracking.last_contact.isoformat(), "outcome": tracking.last_outcome.value}
    return {
        "state": tracking.state.value,
        "appointment": _day(tracking.appointment),
        "appointment_facility": tracking.appointment_facility,
        "reason": tracking.reason.value if tracking.reason else None,
        "closed_on": _day(tracking.closed_on),
        "last_contact": last,
    }


def _last_contact(tracking: Tracking) -> str:
    if tracking.last_contact is None or tracking.last_outcome is None:
        return "No contact is recorded."
    return f"Last contact {tracking.last_contact.isoformat()}: {tracking.last_outcome.value}."


def _appointment(appointment: date, facility: str | None, as_of: date) -> str:
    at = f" at {facility}" if facility else ""
    days = (appointment - as_of).days
    if days > 0:
        when = f"in {days} days"
    elif days == 0:
        when = "today"
    else:
        when = f"{-days} days ago; no exam is recorded yet"
    return f"appointment {appointment.isoformat()}{at} ({when})"


def tracking_text(tracking: Tracking, as_of: date, patient_id: str) -> str:
    """One or two sentences: the state and what it means, then the latest contact."""
    if tracking.state is TrackingState.CLOSED:
        reason = _REASONS.get(tracking.reason.value if tracking.reason else "", "closed")
        head = (
            f"Closed on {_day(tracking.closed_on)}: {reason}. She is left out of the due and "
            f"flags reports, reminders and letters; a new exam, or `followup patient reopen "
            f"{patient_id}`, reopens it."
        )
    elif tracking.state is TrackingState.SCHEDULED and tracking.appointment is not None:
        when = _appointment(tracking.appointment, tracking.appointment_facility, as_of)
        head = f"Scheduled: {when}."
    elif tracking.missed:
        head = (
            f"Open: the appointment of {_day(tracking.appointment)} was missed (no exam or "
            "biopsy recorded since)."
        )
    else:
        head = "Open."
    return f"{head} {_last_contact(tracking)}"


def tracking_section(tracking: Tracking, as_of: date, patient_id: str) -> str:
    """The "Follow-up pathway" section of her page, wrapped and indented as the others."""
    text = textwrap.fill(
        tracking_text(tracking, as_of, patient_id),
        WIDTH,
        initial_indent="  ",
        subsequent_indent="    ",
    )
    return f"Follow-up pathway\n{text}"
