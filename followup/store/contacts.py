"""The pathway log (clinical-rules.md §7): contacts, closing and reopening, and the summary of
the log kept on each patient's row for the reports.

Entries are added, never changed or deleted, each with who recorded it and when, and each in
the audit log. The rules (:mod:`followup.rules.tracking`) read the log; this module only
reads rows into their inputs and writes their summary back:

- :func:`refresh_tracking_of` recomputes the summaries of patients with a log from their logs
  and the dates of their latest exams or biopsies (``PatientInputs.latest_record``, from the
  one reader of the rules' inputs). Every change of a patient's records calls it through
  :func:`followup.store.plans.refresh_plans`, so a new exam reopens her tracking and answers
  her appointment in the same transaction; the bulk loader calls it for the patients it
  touched. Biopsies, once an input, count by being in ``PatientInputs.latest_record``.
- :func:`patient_tracking` reads her tracking on an as-of date, fresh from her log (status).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, insert, select, update
from sqlalchemy.orm import Session

from followup import rules
from followup.rules import tracking
from followup.rules.text import check_text
from followup.rules.tracking import Day, Outcome, TrackingSummary
from followup.store.clock import actor, now
from followup.store.errors import Conflict, InvalidInput, notify
from followup.store.models import AuditEntry, Contact, Facility, Patient
from followup.store.patients import get_patient
from followup.store.rules_inputs import NOTHING, of_patients, read_inputs

REOPENED = Outcome.REOPENED
REFRESH_CHUNK = 2_000  # patients per query when many summaries are refreshed
LOAD_CHUNK = 5_000  # entries per insert of a bulk load

# The summary's columns on the patient's row (the appointment's facility is read from the log
# when her own page is shown; no report needs it).
SUMMARY_COLUMNS = (
    "closed_reason",
    "closed_on",
    "appointment",
    "last_contact",
    "last_outcome",
    "last_call",
)


@dataclass(frozen=True)
class ContactInput:
    """A contact as given: outcome, when, the appointment (and where) for ``scheduled``."""

    outcome: Outcome
    date: Day
    appointment: Day | None = None
    facility: str | None = None
    note: str | None = None


def latest_record_dates(session: Session, patient_pks: Sequence[int]) -> dict[int, date | None]:
    """The date of each patient's latest exam or biopsy, from her rules' inputs
    (:meth:`followup.store.rules_inputs.PatientInputs.latest_record`): what reopens tracking
    and answers an appointment (§7)."""
    inputs = read_inputs(session, of_patients(patient_pks))
    return {pk: inputs.get(pk, NOTHING).latest_record() for pk in patient_pks}


def latest_record_date(session: Session, patient_pk: int) -> date | None:
    """:func:`latest_record_dates` of one patient."""
    return latest_record_dates(session, [patient_pk])[patient_pk]


def _rules_contact(row: Contact) -> tracking.Contact:
    return tracking.Contact(
        date=row.date,
        outcome=Outcome(row.outcome),
        appointment=row.appointment,
        facility=row.facility.name if row.facility is not None else None,
        id=row.id,
    )


def log_rows(session: Session, patient_pk: int) -> Sequence[Contact]:
    """Her log, oldest first (a day's entries in the order recorded)."""
    return session.scalars(
        select(Contact).where(Contact.patient_id == patient_pk).order_by(Contact.date, Contact.id)
    ).all()


def log_of(session: Session, patient_pk: int) -> list[tracking.Contact]:
    """Her log as the rules read it."""
    return [_rules_contact(row) for row in log_rows(session, patient_pk)]


def stored_summary(patient: Patient) -> TrackingSummary:
    """The summary kept on her row, as the rules' value (no appointment facility)."""
    return TrackingSummary(
        closed=Outcome(patient.closed_reason) if patient.closed_reason else None,
        closed_on=patient.closed_on,
        appointment=patient.appointment,
        last_contact=patient.last_contact,
        last_outcome=Outcome(patient.last_outcome) if patient.last_outcome else None,
        last_call=patient.last_call,
    )


def _summary_values(summary: TrackingSummary) -> dict[str, Any]:
    return {
        "closed_reason": summary.closed.value if summary.closed else None,
        "closed_on": summary.closed_on,
        "appointment": summary.appointment,
        "last_contact": summary.last_contact,
        "last_outcome": summary.last_outcome.value if summary.last_outcome else None,
        "last_call": summary.last_call,
    }


def refresh_tracking(session: Session, patient_pk: int) -> TrackingSummary:
    """:func:`refresh_tracking_of` of one patient: her summary as stored now."""
    return refresh_tracking_of(session, [patient_pk]).get(patient_pk, tracking.NOTHING)


def refresh_tracking_of(
    session: Session,
    patient_pks: Select[Any] | Sequence[int],
    latest: Mapping[int, date | None] | None = None,
) -> dict[int, TrackingSummary]:
    """Recompute and store the summaries of the patients among ``patient_pks`` (primary keys,
    or a query of them) who have a log, from their logs and the dates of their latest exams
    or biopsies (``latest`` when the caller has read them, else read here), a chunk at a
    time; tell the person at the terminal when an exam reopened someone's tracking. A
    patient never contacted (most) costs a share of one indexed query."""
    if isinstance(patient_pks, Select):
        patient_pks = sorted(
            session.scalars(
                select(Contact.patient_id).where(Contact.patient_id.in_(patient_pks)).distinct()
            )
        )
    stored: dict[int, TrackingSummary] = {}
    for start in range(0, len(patient_pks), REFRESH_CHUNK):
        logs = _logs(session, patient_pks[start : start + REFRESH_CHUNK])
        if not logs:
            continue
        dates = latest if latest is not None else latest_record_dates(session, list(logs))
        patients = list(session.scalars(select(Patient).where(Patient.id.in_(list(logs)))))
        for patient in patients:
            stored[patient.id] = _store(session, patient, logs[patient.id], dates.get(patient.id))
        for patient in _entered_since_closing(session, patients, logs, stored):
            log = [*logs[patient.id], _reopen_for_record(session, patient)]
            stored[patient.id] = _store(session, patient, log, dates.get(patient.id))
        session.flush()
    return stored


def _entered_since_closing(
    session: Session,
    patients: Sequence[Patient],
    logs: Mapping[int, list[tracking.Contact]],
    summaries: Mapping[int, TrackingSummary],
) -> list[Patient]:
    """The closed among ``patients`` with an exam or biopsy entered after the closing
    (:mod:`followup.store.closing_records`): the closing in force is her latest one."""
    from followup.store.closing_records import recorded_since_closing

    closings = {
        patient.id: max(
            (c for c in logs[patient.id] if c.outcome in tracking.CLOSING),
            key=lambda c: (c.date, c.id or 0),
        ).id
        for patient in patients
        if summaries[patient.id].closed is not None
    }
    found = recorded_since_closing(session, {pk: i for pk, i in closings.items() if i})
    return [patient for patient in patients if patient.id in found]


def _reopen_for_record(session: Session, patient: Patient) -> tracking.Contact:
    """A ``reopened`` entry written by followup itself, audited as ``patient.reopen``, and the
    notice saying why (the exam's date alone would have left her closed). It is dated on the
    closing day (the log is read in date order; when it was written is in ``recorded_at``),
    so a closing recorded later with any date on or after that day closes her again."""
    day = patient.closed_on
    assert day is not None  # she is closed: her summary says since when
    row = Contact(
        patient_id=patient.id,
        date=day,
        outcome=REOPENED.value,
        note="reopened by followup: an exam or biopsy was recorded after the closing",
        recorded_at=now(),
        recorded_by=actor()[:128],
    )
    session.add(row)
    session.flush()
    _audit(session, "patient.reopen", row)
    notify(
        session,
        f"patient {patient.external_id}'s tracking is open again: an exam or biopsy was "
        f"recorded after it was closed ({patient.closed_reason} on {patient.closed_on})",
    )
    return tracking.Contact(day, REOPENED, id=row.id)


def _logs(session: Session, patient_pks: Sequence[int]) -> dict[int, list[tracking.Contact]]:
    """The logs of those of ``patient_pks`` who have one, in one query."""
    logs: dict[int, list[tracking.Contact]] = {}
    rows = session.execute(
        select(
            Contact.patient_id,
            Contact.date,
            Contact.outcome,
            Contact.appointment,
            Facility.name,
            Contact.id,
        )
        .outerjoin(Facility, Facility.id == Contact.facility_id)
        .where(Contact.patient_id.in_(patient_pks))
    )
    for patient_pk, day, outcome, appointment, facility, entry_id in rows:
        entry = tracking.Contact(day, Outcome(outcome), appointment, facility, entry_id)
        logs.setdefault(patient_pk, []).append(entry)
    return logs


def _store(
    session: Session, patient: Patient, log: list[tracking.Contact], latest: date | None
) -> TrackingSummary:
    """Her summary (the rules') on her row; a notice when an exam or biopsy reopened her."""
    before = stored_summary(patient)
    summary = tracking.summarize(log, latest)
    for column, value in _summary_values(summary).items():
        setattr(patient, column, value)
    last = max(log, key=lambda e: (e.date, e.id or 0))
    if before.closed is not None and summary.closed is None and last.outcome is not REOPENED:
        notify(
            session,
            f"patient {patient.external_id}'s tracking is open again: an exam dated after "
            f"{before.closed_on} is recorded (it was closed: {before.closed})",
        )
    return summary


def load_log(
    session: Session, entries: Iterable[tuple[int, tracking.Contact]], *, today: date
) -> int:
    """Write many entries at once (the benchmarks' programme), each checked as one recorded
    by ``contact``, then the summaries of their patients; returns how many were written.
    Like exams loaded in bulk, they are not each in the audit log."""
    recorded_at, recorded_by = now(), actor()[:128]
    patients: set[int] = set()
    deceased: list[int] = []
    batch: list[dict[str, Any]] = []
    count = 0
    for patient_pk, entry in entries:
        try:
            tracking.validate_contact(entry, today)
        except ValueError as exc:
            raise InvalidInput(f"a contact of patient {patient_pk} (primary key): {exc}") from None
        batch.append(
            {
                "patient_id": patient_pk,
                "date": entry.date,
                "outcome": entry.outcome.value,
                "appointment": entry.appointment,
                "recorded_at": recorded_at,
                "recorded_by": recorded_by,
            }
        )
        patients.add(patient_pk)
        if entry.outcome is Outcome.DECEASED:
            deceased.append(patient_pk)
        if len(batch) >= LOAD_CHUNK:
            count += _insert(session, batch)
    count += _insert(session, batch)
    for start in range(0, len(deceased), REFRESH_CHUNK):  # §7: off for good
        chunk = deceased[start : start + REFRESH_CHUNK]
        session.execute(update(Patient).where(Patient.id.in_(chunk)).values(reminders=False))
    refresh_tracking_of(session, sorted(patients))
    return count


def _insert(session: Session, batch: list[dict[str, Any]]) -> int:
    if batch:
        session.execute(insert(Contact), batch)
    written = len(batch)
    batch.clear()
    return written


def patient_tracking(
    session: Session, patient_pk: int, as_of: date, policy: rules.Policy
) -> tuple[tracking.Tracking, list[tracking.Contact]]:
    """Her tracking on ``as_of``, computed fresh from her log (and her log)."""
    log = log_of(session, patient_pk)
    summary = tracking.summarize(log, latest_record_date(session, patient_pk))
    return tracking.tracking_on(summary, as_of, policy), log


def contact_snapshot(row: Contact) -> dict[str, Any]:
    """What an entry says, as JSON-able data: the audit log's record of it."""
    return {
        "id": row.id,
        "date": row.date.isoformat(),
        "outcome": row.outcome,
        "appointment": row.appointment.isoformat() if row.appointment else None,
        "facility": row.facility.name if row.facility is not None else None,
        "note": row.note,
    }


def _audit(session: Session, action: str, row: Contact) -> None:
    session.add(
        AuditEntry(
            at=row.recorded_at,
            actor=row.recorded_by,
            action=action,
            patient_id=row.patient_id,
            exam_id=None,
            detail=json.dumps({"after": contact_snapshot(row)}, sort_keys=True),
        )
    )


def _checked(given: ContactInput, today: date) -> tracking.Contact:
    try:
        check_text(given.note, "note", note=True)
        return tracking.validate_contact(
            tracking.Contact(given.date, given.outcome, given.appointment, given.facility),
            today,
        )
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _add(session: Session, patient: Patient, given: ContactInput, action: str) -> Contact:
    """Write the entry, audit it, refresh her summary; ``deceased`` ends her reminders."""
    from followup.store.exams import get_or_create_facility

    facility = get_or_create_facility(session, given.facility) if given.facility else None
    row = Contact(
        patient_id=patient.id,
        date=given.date,
        outcome=given.outcome.value,
        appointment=given.appointment,
        facility=facility,
        note=given.note or None,
        recorded_at=now(),
        recorded_by=actor()[:128],
    )
    session.add(row)
    session.flush()
    _audit(session, action, row)
    if given.outcome is Outcome.DECEASED:
        patient.reminders = False
    refresh_tracking(session, patient.id)
    return row


def record_notice(session: Session, patient_pk: int, outcome: Outcome, day: date) -> Contact:
    """Record a letter or e-mail that followup itself sent (the reminder job, the letters):
    a contact of §7 that is not a call (it leaves her on the to-call list), audited as every
    entry is. Her summary follows without reading her log (:func:`followup.rules.tracking.
    with_notice`), so a run that sends thousands pays one insert and one update for each."""
    patient = session.get(Patient, patient_pk)
    if patient is None:
        raise InvalidInput(f"no patient with primary key {patient_pk}")
    row = Contact(
        patient_id=patient_pk,
        date=day,
        outcome=outcome.value,
        recorded_at=now(),
        recorded_by=actor()[:128],
    )
    session.add(row)
    session.flush()
    _audit(session, "contact.add", row)
    try:
        summary = tracking.with_notice(
            stored_summary(patient), tracking.Contact(day, outcome, id=row.id)
        )
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    patient.last_contact = summary.last_contact
    patient.last_outcome = summary.last_outcome.value if summary.last_outcome else None
    return row


def record_contact(
    session: Session, external_id: str, given: ContactInput, *, today: date
) -> dict[str, Any]:
    """Record an attempt to reach her and its outcome (§7); returns what was recorded
    (:func:`contact_snapshot`). A closing outcome closes her
    tracking as ``patient close`` does; an appointment for a closed patient is refused until
    she is reopened; any other contact with a closed patient is kept, and she stays closed."""
    patient = get_patient(session, external_id)
    _checked(given, today)
    if given.outcome in tracking.CLOSING:
        return close_patient(session, external_id, given, today=today, action="contact.add")
    if patient.closed_reason is not None:
        if given.outcome is Outcome.SCHEDULED:
            raise Conflict(
                f"patient {patient.external_id}'s tracking is closed ({patient.closed_reason} "
                f"on {patient.closed_on}); reopen it with `followup patient reopen "
                f"{patient.external_id}` first, then record the appointment"
            )
        notify(
            session,
            f"patient {patient.external_id}'s tracking stays closed ({patient.closed_reason}); "
            f"`followup patient reopen {patient.external_id}` reopens it",
        )
    return contact_snapshot(_add(session, patient, given, "contact.add"))


def close_patient(
    session: Session,
    external_id: str,
    given: ContactInput,
    *,
    today: date,
    action: str = "patient.close",
) -> dict[str, Any]:
    """Close her tracking with a reason (declined, moved-away, deceased, care-elsewhere):
    she leaves the due and flags reports, reminders and letters; nothing is deleted.
    Refused when it is closed for that reason already, or when an exam dated after the
    closing date would keep it open (the date is wrong, or the closing is)."""
    patient = get_patient(session, external_id)
    if given.outcome not in tracking.CLOSING:
        raise InvalidInput(
            f"{given.outcome.value} does not close tracking; give one of "
            f"{', '.join(tracking.CLOSE_REASONS)}"
        )
    _checked(given, today)
    if patient.closed_reason == given.outcome.value:
        raise Conflict(
            f"patient {patient.external_id}'s tracking is already closed ({given.outcome.value} "
            f"on {patient.closed_on}); `followup contact list {patient.external_id}` shows it"
        )
    row = _add(session, patient, given, action)
    if patient.closed_reason is None:
        latest = latest_record_date(session, patient.id)
        raise InvalidInput(
            f"patient {patient.external_id} has an exam dated {latest}, after "
            f"{given.date.isoformat()}, which keeps her tracking open; give the date it was "
            "closed (--date), on or after that exam"
        )
    return contact_snapshot(row)


def reopen_patient(
    session: Session, external_id: str, *, day: date, today: date, note: str | None = None
) -> dict[str, Any]:
    """Reopen her tracking (§7: an explicit reopen): she is back on the reports; reminders
    stay off for good if she was recorded deceased."""
    patient = get_patient(session, external_id)
    if patient.closed_reason is None:
        raise Conflict(
            f"patient {patient.external_id}'s tracking is open; there is nothing to reopen"
        )
    try:
        tracking.check_pathway_date(day, today, "reopen")
        check_text(note, "note", note=True)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if patient.closed_on is not None and day < patient.closed_on:
        raise InvalidInput(
            f"her tracking was closed on {patient.closed_on}; reopen it on that day or later"
        )
    entry = ContactInput(REOPENED, day, note=note)
    return contact_snapshot(_add(session, patient, entry, "patient.reopen"))


def reminders_ended(session: Session, patient_pk: int) -> Contact | None:
    """Her ``deceased`` entry, if any: it turns reminders off for good (§7)."""
    return session.scalars(
        select(Contact)
        .where(Contact.patient_id == patient_pk, Contact.outcome == Outcome.DECEASED.value)
        .order_by(Contact.date, Contact.id)
        .limit(1)
    ).first()


def contact_rows(session: Session, external_id: str) -> list[dict[str, Any]]:
    """Her log for `contact list`: oldest first, with who recorded each entry and when."""
    patient = get_patient(session, external_id)
    return [
        {
            **contact_snapshot(row),
            "recorded_at": row.recorded_at.isoformat(sep=" ", timespec="seconds"),
            "recorded_by": row.recorded_by,
        }
        for row in log_rows(session, patient.id)
    ]
