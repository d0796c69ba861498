"""Biopsies and their pathology results (clinical-rules.md §4): add, list, edit, delete.

Every change is checked by the rules' :func:`followup.rules.validate_biopsy` whatever door it
came by (a benign result without its concordance is refused), logged in the audit log like an
exam's, and refreshes the patient's stored plan in the same transaction. One record per
patient, day and breast: the same breast biopsied twice on one day is one procedure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup import rules
from followup.rules.text import check_text
from followup.store.clock import now
from followup.store.errors import Conflict, InvalidInput
from followup.store.exams import get_or_create_facility
from followup.store.models import Biopsy
from followup.store.patients import get_patient
from followup.store.plans import refresh_plan
from followup.store.records import delete_record, get_record, log_record
from followup.store.rules_inputs import biopsy_of_record

MAX_PATHOLOGY = 200  # biopsies.pathology is VARCHAR(200)


def _checked(biopsy: rules.Biopsy, note: str | None, today: date) -> rules.Biopsy:
    """The biopsy as the rules check it (pathology and facility tidied), and its note."""
    try:
        check_text(note, "note", note=True)
        pathology = " ".join(biopsy.pathology.split()) if biopsy.pathology else None
        if pathology is not None and len(pathology) > MAX_PATHOLOGY:
            raise ValueError(
                f"the pathology text is {len(pathology)} characters long; give the diagnosis "
                f"in at most {MAX_PATHOLOGY} (put the rest in --note)"
            )
        facility = biopsy.facility.strip() if biopsy.facility else None
        biopsy = replace(biopsy, pathology=pathology or None, facility=facility or None)
        return rules.validate_biopsy(biopsy, today)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _refuse_duplicate(
    session: Session, patient_id: int, external_id: str, day: date, side: str, own: int | None
) -> None:
    clash = session.scalars(
        select(Biopsy).where(
            Biopsy.patient_id == patient_id, Biopsy.date == day, Biopsy.side == side
        )
    ).one_or_none()
    if clash is not None and clash.id != own:
        raise Conflict(
            f"patient {external_id} already has biopsy {clash.id} of the {side} breast on "
            f"{day.isoformat()}; record its result with `followup biopsy edit {clash.id}` "
            "instead"
        )


def biopsy_snapshot(row: Biopsy) -> dict[str, Any]:
    """What a biopsy record said, as plain JSON-able data (audit log, exports)."""
    return {
        "id": row.id,
        "date": row.date.isoformat(),
        "side": row.side,
        "result": row.result,
        "concordant": row.concordant,
        "facility": row.facility.name if row.facility else None,
        "pathology": row.pathology,
        "note": row.note,
    }


def _store(session: Session, row: Biopsy, biopsy: rules.Biopsy, note: str | None) -> None:
    row.date = biopsy.date
    row.side = biopsy.side.value
    row.result = biopsy.result.value
    row.concordant = biopsy.concordant
    row.facility = get_or_create_facility(session, biopsy.facility) if biopsy.facility else None
    row.pathology = biopsy.pathology
    row.note = note or None


def add_biopsy(
    session: Session,
    external_id: str,
    biopsy: rules.Biopsy,
    *,
    note: str | None = None,
    today: date,
    policy: rules.Policy | None = None,
    refresh: bool = True,
) -> Biopsy:
    """Record a biopsy (validated like every other way in), log it, refresh the plan (an
    import adding several passes ``refresh=False`` and refreshes it once)."""
    patient = get_patient(session, external_id)
    biopsy = _checked(biopsy, note, today)
    _refuse_duplicate(
        session, patient.id, patient.external_id, biopsy.date, biopsy.side.value, None
    )
    row = Biopsy(patient_id=patient.id, created_at=now())
    _store(session, row, biopsy, note)
    session.add(row)
    session.flush()
    log_record(session, row, "add", after=biopsy_snapshot(row))
    if refresh:
        refresh_plan(session, patient.id, policy)
    return row


def stored_twin(
    session: Session, patient_id: int, biopsy: rules.Biopsy, note: str | None, *, today: date
) -> Biopsy | None:
    """The stored record of this biopsy (same patient, day and breast) when it says the same
    (an import skips it); a Conflict naming it when it says otherwise; None when there is
    none."""
    wanted = _checked(biopsy, note, today)
    row = session.scalars(
        select(Biopsy).where(
            Biopsy.patient_id == patient_id,
            Biopsy.date == wanted.date,
            Biopsy.side == wanted.side.value,
        )
    ).one_or_none()
    if row is None:
        return None
    stored = {k: v for k, v in biopsy_snapshot(row).items() if k != "id"}
    facility = stored.pop("facility")
    incoming = {
        "date": wanted.date.isoformat(),
        "side": wanted.side.value,
        "result": wanted.result.value,
        "concordant": wanted.concordant,
        "pathology": wanted.pathology,
        "note": note or None,
    }
    same_place = rules.facility_key(facility or "") == rules.facility_key(wanted.facility or "")
    if stored != incoming or not same_place:
        raise Conflict(
            f"the biopsy of {wanted.date.isoformat()} of the {wanted.side.value} breast differs "
            f"from the stored biopsy {row.id}; nothing was imported. Check it with `followup "
            "biopsy list` and edit or delete one"
        )
    return row


def get_biopsy(session: Session, biopsy_id: int) -> Biopsy:
    """The biopsy with this id, or a NotFound that says where ids are shown."""
    return get_record(session, Biopsy, biopsy_id)


def list_biopsies(session: Session, external_id: str) -> Sequence[Biopsy]:
    """The patient's biopsies, oldest first."""
    patient = get_patient(session, external_id)
    return session.scalars(
        select(Biopsy).where(Biopsy.patient_id == patient.id).order_by(Biopsy.date, Biopsy.id)
    ).all()


@dataclass(frozen=True)
class BiopsyChanges:
    """Fields to change in ``biopsy edit``; None keeps the stored value, "" removes a text.

    A new result drops the stored concordance unless one is given with it: the correlation
    was made for the old result (a benign result then needs its own, as ``biopsy add``)."""

    date: date | None = None
    side: rules.Laterality | None = None
    result: rules.BiopsyResult | None = None
    concordant: bool | None = None
    facility: str | None = None
    pathology: str | None = None
    note: str | None = None


def _merged(row: Biopsy, changes: BiopsyChanges) -> rules.Biopsy:
    """The biopsy as it would be after the edit, as the rules see it (for validation): the
    stored one (read as every plan reads it) with the changes."""
    current = biopsy_of_record(row)
    concordant = current.concordant if changes.concordant is None else changes.concordant
    if changes.result not in (None, current.result) and changes.concordant is None:
        concordant = None
    return replace(
        current,
        date=changes.date or current.date,
        side=changes.side or current.side,
        result=changes.result or current.result,
        concordant=concordant,
        facility=current.facility if changes.facility is None else changes.facility,
        pathology=current.pathology if changes.pathology is None else changes.pathology,
    )


def edit_biopsy(
    session: Session,
    biopsy_id: int,
    changes: BiopsyChanges,
    *,
    today: date,
    policy: rules.Policy | None = None,
) -> Biopsy | None:
    """Change a biopsy (e.g. record the result of a pending one), log before/after, refresh
    the plan. None when every value given is the one stored (nothing written)."""
    row = get_biopsy(session, biopsy_id)
    before = biopsy_snapshot(row)
    note = row.note if changes.note is None else (changes.note or None)
    wanted = _checked(_merged(row, changes), note, today)
    after = {
        **before,
        "date": wanted.date.isoformat(),
        "side": wanted.side.value,
        "result": wanted.result.value,
        "concordant": wanted.concordant,
        "pathology": wanted.pathology,
        "note": note,
    }
    facility = get_or_create_facility(session, wanted.facility) if wanted.facility else None
    after["facility"] = facility.name if facility else None
    if after == before:
        return None
    _refuse_duplicate(
        session, row.patient_id, row.patient.external_id, wanted.date, wanted.side.value, row.id
    )
    _store(session, row, wanted, note)
    session.flush()
    log_record(session, row, "edit", before=before, after=biopsy_snapshot(row))
    refresh_plan(session, row.patient_id, policy)
    return row


def delete_biopsy(
    session: Session, biopsy_id: int, *, policy: rules.Policy | None = None
) -> dict[str, Any]:
    """Delete a biopsy recorded by mistake, keeping what it said in the audit log; refresh
    the plan."""
    row = get_biopsy(session, biopsy_id)
    return delete_record(session, row, biopsy_snapshot(row), policy)
