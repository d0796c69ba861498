"""What the pathway (clinical-rules.md §7) means for a report's rows on the as-of date.

A report row carries the patient's stored summary (:data:`followup.store.contacts.
SUMMARY_COLUMNS`) as the driver returns it: dates are ISO text on SQLite, dates on
PostgreSQL. :class:`TrackingFacts` reads each distinct summary once with the rules
(:func:`followup.rules.tracking.tracking_on`); most patients were never contacted, so most rows
cost one dictionary look-up.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from followup import rules
from followup.rules import tracking


def as_date(raw: Any) -> date | None:
    """A date column as the driver returned it (ISO text on SQLite), as a date."""
    if raw is None or isinstance(raw, date):
        return raw
    return date.fromisoformat(raw)


def as_text(raw: Any) -> str | None:
    """A date column as the driver returned it, as ISO text (what the reports print)."""
    if raw is None or isinstance(raw, str):
        return raw
    return raw.isoformat()


class TrackingFacts:
    """:func:`followup.rules.tracking.tracking_on` of a row's summary, per distinct summary:
    (closing reason, appointment, latest call) decide the state, a missed appointment, and a
    recent call."""

    def __init__(self, as_of: date, policy: rules.Policy) -> None:
        self.as_of = as_of
        self.policy = policy
        self._seen: dict[tuple[Any, Any, Any], tracking.Tracking] = {}

    def __call__(self, closed: Any, appointment: Any, last_call: Any) -> tracking.Tracking:
        key = (closed, appointment, last_call)
        found = self._seen.get(key)
        if found is None:
            summary = tracking.TrackingSummary(
                closed=tracking.Outcome(closed) if closed else None,
                appointment=as_date(appointment),
                last_call=as_date(last_call),
            )
            found = self._seen[key] = tracking.tracking_on(summary, self.as_of, self.policy)
        return found
