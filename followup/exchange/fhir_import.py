"""``followup import fhir``: a bundle's patients, exams and film transfers into the store.

All or nothing, in the caller's one transaction. A patient is created when unknown; when she
exists, her stored details must equal the bundle's, otherwise nothing is imported and the
message names the differing fields (merging health records silently is worse than asking).
An exam already stored (same day, facility and kind: :mod:`followup.store.same_exam`) that
says the same is skipped; one that says otherwise is refused. Film transfers not yet recorded
are added. Each patient's plan is recomputed once, under this database's policy.

Time is linear in the bundle's resources: it is read in one pass
(:mod:`followup.exchange.fhir_read`), each patient's stored exams are read once and her new
ones written together (:mod:`followup.store.exam_batch`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup import rules
from followup.exchange.fhir_read import ParsedPatient, ReadOptions, parse_bundle
from followup.store.errors import Conflict
from followup.store.exam_batch import Facilities, add_exams
from followup.store.exams import transfer_films
from followup.store.models import FilmTransfer, Patient
from followup.store.patients import PatientDetails, add_patient, find_patient
from followup.store.plans import refresh_plan


@dataclass(frozen=True)
class PatientSummary:
    patient_id: str
    created: bool
    added: int
    skipped: int
    transfers: int


@dataclass
class ImportSummary:
    """What an import did, per patient, and what of the bundle it did not read (and why)."""

    patients: list[PatientSummary] = field(default_factory=list)
    not_read: list[str] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(p, name) for p in self.patients)


def import_bundle(
    session: Session,
    bundle: Any,
    *,
    today: date,
    policy: rules.Policy,
    options: ReadOptions | None = None,
) -> ImportSummary:
    """Store the bundle's patients, their new exams and film transfers, then their plans."""
    parsed = parse_bundle(bundle, options)
    facilities = Facilities(session)
    summary = ImportSummary(not_read=parsed.skipped)
    for patient in parsed.patients:
        summary.patients.append(_import_patient(session, patient, today, policy, facilities))
    return summary


def _import_patient(
    session: Session,
    parsed: ParsedPatient,
    today: date,
    policy: rules.Policy,
    facilities: Facilities,
) -> PatientSummary:
    patient = find_patient(session, parsed.external_id)
    created = patient is None
    if patient is None:
        patient = add_patient(session, parsed.external_id, parsed.details, today=today)
    else:
        _same_patient(patient, parsed.details)
    added, skipped = add_exams(
        session, patient, parsed.exams, today=today, facilities=facilities, known_new=created
    )
    moved = _import_transfers(session, patient, parsed.transfers, policy, created)
    if added or moved:
        refresh_plan(session, patient.id, policy)
    return PatientSummary(patient.external_id, created, added, skipped, moved)


def _same_patient(patient: Patient, details: PatientDetails) -> None:
    differ = [
        name
        for name in ("name", "birth_date", "email", "phone", "reminders")
        if getattr(patient, name) != getattr(details, name)
    ]
    if differ:
        raise Conflict(
            f"patient {patient.external_id} exists with a different {', '.join(differ)} than "
            f"the bundle; nothing was imported. Make them agree (`followup patient edit "
            f"{patient.external_id} ...` or edit the bundle) and import again"
        )


def _import_transfers(
    session: Session,
    patient: Patient,
    pairs: list[tuple[str, str]],
    policy: rules.Policy,
    created: bool,
) -> int:
    """Record the transfers not yet recorded (after the exams, whose facilities they name)."""
    if not pairs:
        return 0
    recorded = set()
    if not created:
        recorded = {
            (t.from_facility.key, t.to_facility.key)
            for t in session.scalars(
                select(FilmTransfer).where(FilmTransfer.patient_id == patient.id)
            )
        }
    session.expire(patient, ["exams"])  # her exams just written: where her films are from
    moved = 0
    for source, target in pairs:
        if (rules.facility_key(source), rules.facility_key(target)) in recorded:
            continue
        transfer_films(session, patient.external_id, source, target, policy=policy, refresh=False)
        moved += 1
    return moved
