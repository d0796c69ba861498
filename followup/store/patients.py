"""Patients: add, find, list, edit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.rules.dates import check_birth_date
from followup.rules.text import check_address, check_text, has_controls
from followup.store.clock import now
from followup.store.errors import Conflict, InvalidInput, NotFound
from followup.store.models import Patient

EDITABLE = ("name", "birth_date", "email", "phone", "reminders", "address")


@dataclass(frozen=True)
class PatientDetails:
    """The optional facts about a patient.

    None means "not given" (in an edit: "keep"); in an edit an empty text clears the field.
    """

    name: str | None = None
    birth_date: date | None = None
    email: str | None = None
    phone: str | None = None
    reminders: bool | None = None
    address: str | None = None  # postal, one line a line


def check_external_id(external_id: str) -> str:
    """The id as stored: text, 1-64 characters, no spaces, no control characters."""
    try:
        check_text(external_id, "patient id")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    cleaned = external_id.strip()
    if len(cleaned) > 64 or len(cleaned.split()) != 1:  # empty, or spaces inside
        raise InvalidInput(
            f"patient id {external_id!r} is not usable; use 1-64 characters without spaces, "
            "e.g. P1 or a record number"
        )
    return cleaned


EMAIL_EXAMPLE = "ana@example.org"


def check_email(value: str | None) -> str | None:
    """The address as stored: exactly one syntactically valid address, surrounding spaces
    removed; an empty text stays empty (an edit's "clear it"). InvalidInput otherwise.

    Lists (``a@b.org, c@d.org``, ``a@b.org;c@d.org``), display names, a missing part
    (``@b.org``, ``a@``) and anything with CR or LF are refused: each would send a reminder
    somewhere else, or to more people, than the one patient it is about.
    """
    try:
        check_text(value, "e-mail address")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if value is None or not value.strip():
        return value if value is None else ""
    address = value.strip()
    sendable_address(address)
    return address


class AddressError(InvalidInput):
    """Not one usable e-mail address; ``reason`` says why without quoting the address."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def sendable_address(address: str) -> str:
    """The form to hand to the mail transport (the domain in ASCII, e.g. ``xn--``), for an
    address :func:`check_email` accepts; AddressError saying what is wrong otherwise.

    Checked again when a reminder is sent, so that an address stored before this check (or
    written behind followup's back) fails that one reminder instead of reaching others.
    """
    try:
        return _sendable(address)
    except ValueError as exc:  # email_validator's EmailSyntaxError is a ValueError
        text = str(exc).rstrip(".")
        reason = text[:1].lower() + text[1:]
        raise AddressError(
            f"{address!r} is not an email address ({reason}); give exactly one address, "
            f"e.g. {EMAIL_EXAMPLE}",
            reason,
        ) from None


@lru_cache(maxsize=1024)
def _sendable(address: str) -> str:
    """Syntax only (no DNS: a clinic's server may have no resolver, and a check that depends
    on the network would make an import's result depend on the day). Cached, because a bulk
    import checks each address in its reader and again as the store takes the row. Addresses
    that need SMTPUTF8 (non-ASCII before the @) are refused: the reminder is a plain MIME
    message, which cannot carry them."""
    from email_validator import validate_email

    valid = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    return valid.ascii_email or valid.normalized


def check_details(
    *,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    birth_date: date | None = None,
    today: date | None = None,
    address: str | None = None,
) -> None:
    """What every way in (CLI, CSV, FHIR, bulk loads) checks in a patient's details: text
    without control characters (a postal address may have several lines), a birth date
    neither in the future nor before 1900, an e-mail address that is one address
    (:func:`check_email`)."""
    check_email(email)
    try:
        for what, value in (("name", name), ("phone", phone)):
            check_text(value, what)
        check_text(address, "address", note=True)
        if birth_date is not None:
            check_birth_date(birth_date, today or date.today())
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _checked(details: PatientDetails, today: date | None) -> PatientDetails:
    """The details as they are stored: the e-mail address without surrounding spaces, the
    postal address as trimmed lines ("" kept: in an edit it clears)."""
    check_details(
        name=details.name,
        email=details.email,
        phone=details.phone,
        birth_date=details.birth_date,
        today=today,
        address=details.address,
    )
    details = replace(details, email=check_email(details.email))
    if not details.address:
        return details
    try:
        return replace(details, address=check_address(details.address) or "")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def add_patient(
    session: Session, external_id: str, details: PatientDetails, *, today: date | None = None
) -> Patient:
    """Create a patient; a duplicate id is refused rather than merged."""
    patient = new_patient(external_id, details, today=today)
    if find_patient(session, patient.external_id) is not None:
        raise Conflict(
            f"patient {patient.external_id} already exists; use `followup patient edit "
            f"{patient.external_id}` to change her details"
        )
    session.add(patient)
    session.flush()
    return patient


def new_patient(external_id: str, details: PatientDetails, *, today: date | None = None) -> Patient:
    """A patient's row, checked as every door checks it, not yet added to the session (an
    import adds many, having looked them up at once with :func:`find_patients`)."""
    external_id = check_external_id(external_id)
    details = _checked(details, today)
    return Patient(
        external_id=external_id,
        name=details.name,
        birth_date=details.birth_date,
        email=details.email or None,
        phone=details.phone,
        reminders=True if details.reminders is None else details.reminders,
        created_at=now(),
        address=details.address or None,
    )


def find_patient(session: Session, external_id: str) -> Patient | None:
    """The patient with this id; None too for an id no stored one can be (not text, or with
    control characters, which PostgreSQL would not even take in a query)."""
    if not isinstance(external_id, str) or has_controls(external_id):
        return None
    return session.scalars(
        select(Patient).where(Patient.external_id == external_id.strip())
    ).one_or_none()


def find_patients(session: Session, external_ids: Iterable[str]) -> dict[str, Patient]:
    """The stored patients among these ids (as stored: stripped), by id, in one query."""
    wanted = {i.strip() for i in external_ids if isinstance(i, str) and not has_controls(i)}
    found = session.scalars(select(Patient).where(Patient.external_id.in_(wanted)))
    return {patient.external_id: patient for patient in found}


def get_patient(session: Session, external_id: str) -> Patient:
    """The patient with this id, or a NotFound that says how to add her."""
    patient = find_patient(session, external_id)
    if patient is None:
        raise NotFound(
            f"no patient with id {external_id!r}; add her first with "
            f"`followup patient add {external_id}` (or list them with `followup patient list`)"
        )
    return patient


def list_patients(session: Session) -> Sequence[Patient]:
    return session.scalars(select(Patient).order_by(Patient.external_id)).all()


def edit_patient(
    session: Session, external_id: str, details: PatientDetails, *, today: date | None = None
) -> dict[str, Any]:
    """Apply the given details; returns what changed (field -> (old, new)), empty when every
    value given is the one stored."""
    patient = get_patient(session, external_id)
    details = _checked(details, today)
    if details.reminders and not patient.reminders:
        _refuse_if_deceased(session, patient)
    changes: dict[str, Any] = {}
    for field in EDITABLE:
        value = getattr(details, field)
        if value == "":  # an empty text clears the field
            value = None
        elif value is None:
            continue
        if value != getattr(patient, field):
            changes[field] = (getattr(patient, field), value)
            setattr(patient, field, value)
    return changes


def _refuse_if_deceased(session: Session, patient: Patient) -> None:
    """``deceased`` turns reminders off for good (clinical-rules.md §7)."""
    from followup.store.contacts import reminders_ended

    entry = reminders_ended(session, patient.id)
    if entry is not None:
        raise Conflict(
            f"patient {patient.external_id} is recorded deceased ({entry.date.isoformat()}), "
            "which turns her reminders off for good; they cannot be turned on again"
        )
