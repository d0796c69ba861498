"""The calendar event each patient was last given (issue 14 point 8): what it said, and its
revision, so that every newer .ics file updates her one event (:mod:`followup.ics`).

``calendar_events`` holds one row per patient who was ever given a calendar file (by
``followup calendar`` or a reminder's attachment): the kind, day and place of the event, its
``sequence`` and when that revision was first issued. Issuing the event again:

- says the same thing: the row is unchanged, and the file is the same bytes as before;
- says something else (a new due date, an appointment booked, another facility): the
  sequence goes up by one and the row takes the new event and the time, so a calendar that
  holds the older revision replaces it;
- has nothing to schedule (closed, treatment, no plan): the last event is issued again,
  cancelled (one more sequence); a patient never given one gets nothing (there is nothing
  in her calendar to take out).

Rows are claimed ``FOR UPDATE`` (PostgreSQL) so two runs issuing one patient's event at once
count one revision each, never the same number for two different events; a first row is
inserted with ``ON CONFLICT DO NOTHING`` and then read back locked.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup import rules
from followup.ics import CalendarEvent, EventKind, Revision, event_for
from followup.store.clock import now
from followup.store.contacts import patient_tracking
from followup.store.models import CalendarRevision
from followup.store.plans import stored_plan


def wanted_event(
    session: Session, patient_pk: int, as_of: date, policy: rules.Policy
) -> CalendarEvent | None:
    """What her calendar should show on ``as_of``, from her stored plan and her pathway log
    (the appointment and its facility); None: nothing to schedule."""
    plan = stored_plan(session, patient_pk)
    tracking, _ = patient_tracking(session, patient_pk, as_of, policy)
    due = plan.due if plan is not None else None
    facility = plan.facility if plan is not None else None
    return event_for(due, facility, tracking)


def issue(session: Session, patient_pk: int, event: CalendarEvent | None) -> Revision | None:
    """Her event's revision for ``event`` (None: cancel the last one issued), counted as the
    module says; None when there is nothing to issue (no event, none issued before)."""
    return issue_many(session, {patient_pk: event}).get(patient_pk)


def issue_many(session: Session, events: Mapping[int, CalendarEvent | None]) -> dict[int, Revision]:
    """:func:`issue` for several patients (a batch of reminders) in two queries and the
    writes the changed ones need."""
    rows = _locked(session, list(events))
    fresh = {pk: e for pk, e in events.items() if pk not in rows and e is not None}
    if fresh:
        issued_at = now()
        rows_in = [_values(pk, event, issued_at) for pk, event in fresh.items()]
        session.execute(_insert_ignoring_duplicates(session), rows_in)
        rows.update(_locked(session, list(fresh)))
    revisions: dict[int, Revision] = {}
    for pk, event in events.items():
        row = rows.get(pk)
        if row is not None:
            revisions[pk] = _revised(row, event)
    session.flush()
    return revisions


def _revised(row: CalendarRevision, event: CalendarEvent | None) -> Revision:
    """The row's revision after issuing ``event``: the same when it says the same thing."""
    held = _event_of(row)
    wanted = event
    if wanted is None:  # nothing to schedule: the last event, cancelled (once)
        wanted = held if held.kind is EventKind.CANCELLED else held.cancelled()
    if wanted != held:
        row.sequence += 1
        row.kind, row.day, row.location = wanted.kind.value, wanted.day, wanted.location
        row.issued_at = now()
    return Revision(wanted, row.sequence, row.issued_at)


def _event_of(row: CalendarRevision) -> CalendarEvent:
    return CalendarEvent(EventKind(row.kind), row.day, row.location)


def _values(pk: int, event: CalendarEvent, issued_at: Any) -> dict[str, Any]:
    """A first row: revision 0."""
    return {
        "patient_id": pk,
        "sequence": 0,
        "kind": event.kind.value,
        "day": event.day,
        "location": event.location,
        "issued_at": issued_at,
    }


def _locked(session: Session, patient_pks: list[int]) -> dict[int, CalendarRevision]:
    """The rows of ``patient_pks`` that exist, locked until the transaction ends."""
    if not patient_pks:
        return {}
    found = session.scalars(
        select(CalendarRevision)
        .where(CalendarRevision.patient_id.in_(patient_pks))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.patient_id: row for row in found}


def _insert_ignoring_duplicates(session: Session) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING``: a row another run just inserted stays."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(CalendarRevision).on_conflict_do_nothing()
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(CalendarRevision).on_conflict_do_nothing()
