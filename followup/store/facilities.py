"""Facilities' and the clinic's postal addresses and telephone numbers (what letters print,
clinical-rules.md §7), kept in the database so every coordinator and cron job uses the same;
renaming a facility. Every change is in the audit log (no patient: ``patient_id`` NULL).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, union
from sqlalchemy.orm import Session

from followup import rules
from followup.rules.text import check_address, check_phone, check_text
from followup.store.clock import actor, now
from followup.store.errors import Conflict, InvalidInput
from followup.store.exams import known_facility
from followup.store.models import AuditEntry, Clinic, Exam, Facility, FilmTransfer


@dataclass(frozen=True)
class PostalDetails:
    """What to change: None keeps the stored value, an empty text clears it."""

    name: str | None = None
    address: str | None = None
    phone: str | None = None


def _audit(session: Session, action: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    session.add(
        AuditEntry(
            at=now(),
            actor=actor()[:128],
            action=action,
            patient_id=None,
            exam_id=None,
            detail=json.dumps({"before": before, "after": after}, sort_keys=True),
        )
    )


def _checked(details: PostalDetails, whose: str) -> dict[str, Any]:
    """The values given, as stored ("" for a value to clear); InvalidInput says what to fix."""
    values: dict[str, Any] = {}
    try:
        if details.address is not None:
            values["address"] = check_address(details.address, f"{whose} address") or ""
        if details.phone is not None:
            values["phone"] = check_phone(details.phone, f"{whose} phone number") or ""
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return values


def facility_row(facility: Facility, exams: int | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "name": facility.name,
        "address": facility.address,
        "phone": facility.phone,
    }
    if exams is not None:
        row["exams"] = exams
    return row


def list_facilities(session: Session) -> list[dict[str, Any]]:
    """Every facility by name, with its address, telephone number and exams recorded there."""
    counts = dict(
        session.execute(select(Exam.facility_id, func.count()).group_by(Exam.facility_id)).all()
    )
    facilities = session.scalars(select(Facility).order_by(Facility.key)).all()
    return [facility_row(f, counts.get(f.id, 0)) for f in facilities]


def edit_facility(
    session: Session, name: str, details: PostalDetails, policy: rules.Policy
) -> tuple[str, dict[str, tuple[Any, Any]]]:
    """Change a facility's address, telephone number or name; returns its name as stored now
    and what changed (field -> (old, new)), empty when every value given is the one stored.
    A new name may not be another facility's (merging two is not this); the plans of every
    patient who was ever there are rewritten, since their reasons and flags name it."""
    from followup.store.bulk import BulkLoader

    facility = known_facility(session, name)
    before = facility_row(facility)
    values = _checked(details, "facility's")
    if details.name is not None:
        values["name"] = _new_name(session, facility, details.name)
    changes = _apply(facility, values)
    shown = facility.name
    if not changes:
        return shown, changes
    session.flush()
    _audit(session, "facility.edit", before, facility_row(facility))
    if "name" in changes:
        loader = BulkLoader(session, policy)
        loader.replan(_patients_at(facility.id))
        loader.finish()
    return shown, changes


def _new_name(session: Session, facility: Facility, name: str) -> str:
    try:
        display = rules.check_facility(name)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    key = rules.facility_key(display)
    other = session.scalars(select(Facility).where(Facility.key == key)).one_or_none()
    if other is not None and other.id != facility.id:
        raise Conflict(
            f"a facility named {other.name!r} is recorded already; give another name (two "
            "facilities' records cannot be merged by renaming one)"
        )
    facility.key = key
    return display


def _apply(record: Any, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    changes = {}
    for field, value in values.items():
        value = value or None
        if value != getattr(record, field):
            changes[field] = (getattr(record, field), value)
            setattr(record, field, value)
    return changes


def _patients_at(facility_id: int) -> Any:
    """Every patient whose plan may name the facility: her exams or film transfers do."""
    return union(
        select(Exam.patient_id).where(Exam.facility_id == facility_id),
        select(FilmTransfer.patient_id).where(
            (FilmTransfer.from_facility_id == facility_id)
            | (FilmTransfer.to_facility_id == facility_id)
        ),
    )


def _set_clinic_row(
    session: Session, values: dict[str, Any], shown: Callable[[Session], dict[str, Any]]
) -> dict[str, tuple[Any, Any]]:
    """Write ``values`` on the clinic's one row (made on first use); what changed is audited
    as ``clinic.set``, before and after as ``shown`` reads them."""
    before = shown(session)
    clinic = session.get(Clinic, 1)
    if clinic is None:
        clinic = Clinic(id=1)
        session.add(clinic)
    changes = _apply(clinic, values)
    if changes:
        session.flush()
        _audit(session, "clinic.set", before, shown(session))
    return changes


def clinic_details(session: Session) -> dict[str, Any]:
    """The letters' sender: name, return address, telephone number (None where not set)."""
    clinic = session.get(Clinic, 1)
    if clinic is None:
        return {"name": None, "address": None, "phone": None}
    return {"name": clinic.name, "address": clinic.address, "phone": clinic.phone}


def set_clinic(session: Session, details: PostalDetails) -> dict[str, tuple[Any, Any]]:
    """Set the clinic's name, return address or telephone number; returns what changed."""
    values = _checked(details, "clinic's")
    if details.name is not None:
        try:
            check_text(details.name, "clinic's name")
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        values["name"] = " ".join(details.name.split())
    return _set_clinic_row(session, values, clinic_details)


PAPERS = ("letter", "a4")
MAX_STATEMENT = 2_000  # characters of one density statement: a paragraph, not a page


@dataclass(frozen=True)
class LetterSettings:
    """What every letter of the clinic shares: the sender (name, return address, telephone),
    its breast density statements (None: the federal wording) and its paper."""

    name: str | None
    address: str | None
    phone: str | None
    not_dense: str | None
    dense: str | None
    paper: str


def letter_settings(session: Session) -> LetterSettings:
    """The clinic's letter settings as stored (``clinic set``)."""
    clinic = session.get(Clinic, 1)
    if clinic is None:
        return LetterSettings(None, None, None, None, None, PAPERS[0])
    return LetterSettings(
        clinic.name,
        clinic.address,
        clinic.phone,
        clinic.density_not_dense,
        clinic.density_dense,
        clinic.paper or PAPERS[0],
    )


def letter_options(session: Session) -> dict[str, Any]:
    """``clinic show``'s letter lines: whose density statements, which paper."""
    settings = letter_settings(session)
    own = settings.dense is not None or settings.not_dense is not None
    federal = "federal (21 CFR 900.12(c)(2)(iii), (iv))"
    return {"density_statements": "the clinic's own" if own else federal, "paper": settings.paper}


def _statement(text: str, which: str) -> str:
    """One density statement as stored: one paragraph, white space folded; InvalidInput."""
    try:
        check_text(text, f"{which} density statement", note=True)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    folded = " ".join(text.split())
    if not folded or len(folded) > MAX_STATEMENT:
        raise InvalidInput(
            f"the {which} density statement must be 1 to {MAX_STATEMENT} characters of text"
        )
    return folded


def set_letter_options(
    session: Session,
    statements: tuple[str, str] | None = None,
    *,
    federal: bool = False,
    paper: str | None = None,
) -> dict[str, tuple[Any, Any]]:
    """Set the clinic's own density statements (``statements``: not dense, dense), or go back
    to the federal wording (``federal``), or the paper; returns what changed, audited."""
    values: dict[str, Any] = {}
    if statements is not None:
        values["density_not_dense"] = _statement(statements[0], "not-dense")
        values["density_dense"] = _statement(statements[1], "dense")
    if federal:
        values["density_not_dense"] = values["density_dense"] = ""
    if paper is not None:
        if paper.lower() not in PAPERS:
            raise InvalidInput(f"unknown paper {paper!r}; use {' or '.join(PAPERS)}")
        values["paper"] = "" if paper.lower() == PAPERS[0] else paper.lower()
    return _set_clinic_row(session, values, _letter_record)


def _letter_record(session: Session) -> dict[str, Any]:
    """The clinic's letter settings as the audit log keeps them (the statements' text)."""
    settings = letter_settings(session)
    return {
        "density_not_dense": settings.not_dense,
        "density_dense": settings.dense,
        "paper": settings.paper,
    }
