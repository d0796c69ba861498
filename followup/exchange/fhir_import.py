"""``followup import fhir``: a bundle's patients, exams, biopsies and film transfers into the
store.

All or nothing, in the caller's one transaction. A patient is created when unknown; when she
exists, her stored details must equal the bundle's, otherwise nothing is imported and the
message names the differing fields (merging health records silently is worse than asking).
An exam already stored (same day, facility and kind: :mod:`followup.store.same_exam`) that
says the same is skipped; one that says otherwise is refused; biopsies likewise (same day and
breast). Film transfers not yet recorded (or recorded with an earlier date) are added, dated
as the bundle says (the day of the import when it does not). Each patient's plan is
recomputed once, under this database's policy.

Time is linear in the bundle's resources: it is read in one pass
(:mod:`followup.exchange.fhir_read`); CHUNK patients at a time, their stored records are read
in one query and their new exams written together (:mod:`followup.store.exam_batch`), their
plans refreshed together.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup import rules
from followup.exchange.fhir_biopsies import IncomingBiopsy
from followup.exchange.fhir_read import ParsedPatient, ReadOptions, Transfer, parse_bundle
from followup.store.biopsies import add_biopsy, stored_twin
from followup.store.errors import Conflict, InvalidInput
from followup.store.exam_batch import Facilities, PatientExams, add_exams
from followup.store.exams import transfer_films
from followup.store.models import AuditEntry, Biopsy, Exam, FilmTransfer, Patient, PlanRecord
from followup.store.patients import (
    PatientDetails,
    check_external_id,
    find_patients,
    new_patient,
)
from followup.store.plans import refresh_plans

CHUNK = 500  # patients written per round of statements
WRITTEN = (Patient, Exam, AuditEntry, FilmTransfer, Biopsy, PlanRecord)  # what a chunk writes
DETAILS = ("name", "birth_date", "email", "phone", "reminders")  # compared, never merged


@dataclass(frozen=True)
class PatientSummary:
    patient_id: str
    created: bool
    added: int
    skipped: int
    transfers: int
    biopsies: int = 0
    biopsies_skipped: int = 0


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
    """Store the bundle's patients, their new exams and film transfers, then their plans,
    CHUNK patients at a time (a few statements per chunk, not per patient)."""
    parsed = parse_bundle(bundle, options)
    facilities = Facilities(session)
    summary = ImportSummary(not_read=parsed.skipped)
    patients = _one_per_id(parsed.patients)
    for start in range(0, len(patients), CHUNK):
        chunk = patients[start : start + CHUNK]
        summary.patients.extend(_import_chunk(session, chunk, today, policy, facilities))
        _forget_chunk(session)
    return summary


def _forget_chunk(session: Session) -> None:
    """Let the session forget the chunk's records once written (they are not read again), so
    that memory and the collector's work stay flat. The facilities, which later exams use,
    are kept."""
    for record in list(session.identity_map.values()):
        if isinstance(record, WRITTEN) and record in session:
            session.expunge(record)  # with its findings or flags (cascade)


def _one_per_id(patients: list[ParsedPatient]) -> list[ParsedPatient]:
    """The bundle's patients by id as stored (a Patient given twice with the same details is
    one patient; with other details, a Conflict)."""
    by_id: dict[str, ParsedPatient] = {}
    for parsed in patients:
        external_id = check_external_id(parsed.external_id)
        first = by_id.get(external_id)
        if first is None:
            by_id[external_id] = replace(
                parsed, exams=list(parsed.exams), biopsies=list(parsed.biopsies)
            )
            continue
        differ = _differences(first.details, parsed.details)
        if differ:
            raise Conflict(
                f"the bundle holds patient {external_id} twice, with a different "
                f"{', '.join(differ)}; nothing was imported. Make the two Patients agree"
            )
        first.exams.extend(parsed.exams)
        first.transfers.extend(parsed.transfers)
        first.biopsies.extend(parsed.biopsies)
    return list(by_id.values())


def _import_chunk(
    session: Session,
    chunk: list[ParsedPatient],
    today: date,
    policy: rules.Policy,
    facilities: Facilities,
) -> list[PatientSummary]:
    stored = find_patients(session, [parsed.external_id for parsed in chunk])
    patients: list[tuple[Patient, bool]] = []
    for parsed in chunk:
        patient = stored.get(parsed.external_id)
        if patient is None:
            patients.append((new_patient(parsed.external_id, parsed.details, today=today), True))
        else:
            _same_patient(patient, parsed.details)
            patients.append((patient, False))
    session.add_all(patient for patient, created in patients if created)
    session.flush()
    batch = [
        PatientExams(patient, parsed.exams, new=created)
        for (patient, created), parsed in zip(patients, chunk, strict=True)
    ]
    counts = add_exams(session, batch, today=today, facilities=facilities)
    summaries = []
    for (patient, created), parsed, (added, skipped) in zip(patients, chunk, counts, strict=True):
        moved = _import_transfers(session, patient, parsed.transfers, policy, created, today)
        biopsied, known = _import_biopsies(session, patient, parsed.biopsies, today)
        summaries.append(
            PatientSummary(patient.external_id, created, added, skipped, moved, biopsied, known)
        )
    changed = [
        p.id
        for (p, _), s in zip(patients, summaries, strict=True)
        if s.added or s.transfers or s.biopsies
    ]
    if changed:
        refresh_plans(session, changed, policy)
    return summaries


def _differences(first: PatientDetails, second: PatientDetails) -> list[str]:
    return [name for name in DETAILS if getattr(first, name) != getattr(second, name)]


def _same_patient(patient: Patient, details: PatientDetails) -> None:
    differ = [name for name in DETAILS if getattr(patient, name) != getattr(details, name)]
    if differ:
        raise Conflict(
            f"patient {patient.external_id} exists with a different {', '.join(differ)} than "
            f"the bundle; nothing was imported. Make them agree (`followup patient edit "
            f"{patient.external_id} ...` or edit the bundle) and import again"
        )


def _import_transfers(
    session: Session,
    patient: Patient,
    pairs: list[Transfer],
    policy: rules.Policy,
    created: bool,
    today: date,
) -> int:
    """Record the transfers not yet recorded, or recorded with an earlier date (after the
    exams, whose facilities they name); a transfer without a date is of the day of the
    import."""
    if not pairs:
        return 0
    recorded = {}
    if not created:
        recorded = {
            (t.from_facility.key, t.to_facility.key): t.date
            for t in session.scalars(
                select(FilmTransfer).where(FilmTransfer.patient_id == patient.id)
            )
        }
    session.expire(patient, ["exams"])  # her exams just written: where her films are from
    moved = 0
    for source, target, sent in pairs:
        key = (rules.facility_key(source), rules.facility_key(target))
        if key in recorded and (sent is None or recorded[key] >= sent):
            continue
        transfer_films(
            session,
            patient.external_id,
            source,
            target,
            day=sent or today,
            today=today,
            policy=policy,
            refresh=False,
        )
        recorded[key] = sent or today
        moved += 1
    return moved


def _import_biopsies(
    session: Session, patient: Patient, biopsies: list[IncomingBiopsy], today: date
) -> tuple[int, int]:
    """Add the biopsies not yet recorded; (added, skipped as already recorded). One that
    differs from the stored record of its day and breast is a Conflict (all rolled back)."""
    added = skipped = 0
    for incoming in biopsies:
        try:
            twin = stored_twin(session, patient.id, incoming.biopsy, incoming.note, today=today)
        except InvalidInput as exc:  # say which biopsy of the bundle: it may hold many
            biopsy = incoming.biopsy
            raise InvalidInput(
                f"patient {patient.external_id}'s biopsy of {biopsy.date.isoformat()} "
                f"({biopsy.side.value} breast): {exc}"
            ) from None
        if twin is not None:
            skipped += 1
            continue
        add_biopsy(
            session,
            patient.external_id,
            incoming.biopsy,
            note=incoming.note,
            today=today,
            refresh=False,
        )
        added += 1
    return added, skipped
