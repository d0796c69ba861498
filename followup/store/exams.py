"""Exams, their findings, facilities and film transfers; every edit or deletion is audited.

Every function that changes what the rules read refreshes the patient's stored plan in the
same transaction, so reports never see an exam without its plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup import rules
from followup.rules.dates import check_transfer_date
from followup.store import same_exam
from followup.store.audit import log_change
from followup.store.clock import now
from followup.store.errors import Conflict, InvalidInput, NotFound, notify
from followup.store.models import Exam, Facility, FilmTransfer, Finding, Patient
from followup.store.patients import get_patient
from followup.store.plans import refresh_plan
from followup.store.records import delete_record, get_record, log_record

NEAR_MATCHES = 3
LISTED_FACILITIES = 10


def get_or_create_facility(session: Session, name: str) -> Facility:
    """The facility matching ``name`` case/space-insensitively; the first spelling is kept.
    A new name that only looks like a known one (look-alike letters) is created, with a
    warning for the person at the terminal."""
    try:
        display = rules.check_facility(name)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    key = rules.facility_key(display)
    facility = session.scalars(select(Facility).where(Facility.key == key)).one_or_none()
    if facility is None:
        known = facility_skeletons(session.scalars(select(Facility.name)))
        warn_lookalike(session, display, known)
        facility = Facility(key=key, name=display)
        session.add(facility)
        session.flush()
    return facility


def facility_skeletons(names: Iterable[str]) -> dict[str, str]:
    """What each known facility name looks like (rules.text.skeleton) -> the name."""
    from followup.rules.text import skeleton

    return {skeleton(name): name for name in names}


def warn_lookalike(session: Session, name: str, skeletons: dict[str, str]) -> None:
    """Warn when the new facility ``name`` differs from a known one (``skeletons``, which it
    joins) only by letters that look alike (a Cyrillic o for a Latin o) or invisible
    characters: it is almost surely a typo or a pasted name, and as a facility of its own it
    would raise false facility-switch flags."""
    from followup.rules.text import skeleton

    mine = skeleton(name)
    twin = skeletons.setdefault(mine, name)
    if twin != name:
        notify(
            session,
            f"the new facility {name!a} looks like the known facility {twin!r} but is "
            "spelled with other letters (e.g. Cyrillic for Latin); if it is the same place, "
            f"correct the spelling (`followup exam edit EXAM_ID --facility {twin!r}`)",
        )


def find_facility(session: Session, name: str) -> Facility | None:
    """The facility ``name`` names; None too for a name no stored one can be (not text, or
    with control characters)."""
    from followup.rules.text import has_controls

    if not isinstance(name, str) or has_controls(name):
        return None
    return session.scalars(
        select(Facility).where(Facility.key == rules.facility_key(name))
    ).one_or_none()


def known_facility(session: Session, name: str) -> Facility:
    """The facility ``name`` names (matched as everywhere), or a NotFound listing the nearest
    known names: a report filtered on a misspelt facility must not come back empty and
    look like good news."""
    facility = find_facility(session, name)
    if facility is not None:
        return facility
    import difflib

    names = {rules.facility_key(n): n for n in session.scalars(select(Facility.name))}
    wanted = rules.facility_key(name)
    close = [k for k in names if wanted in k][:NEAR_MATCHES]  # "Northside": "Northside Imaging"
    close = close or difflib.get_close_matches(wanted, names, n=NEAR_MATCHES, cutoff=0.6)
    if close:
        hint = "did you mean " + " or ".join(repr(names[k]) for k in close) + "?"
    elif names:
        shown = sorted(names.values())[:LISTED_FACILITIES]
        more = ", ..." if len(names) > LISTED_FACILITIES else ""
        hint = "the known facilities are " + ", ".join(map(repr, shown)) + more
    else:
        hint = "no facility is recorded yet"
    raise NotFound(f"no facility is named {name!r}; {hint}")


def validated_exam(exam: rules.Exam, today: date, note: str | None = None) -> rules.Exam:
    """The exam as the rules check it, its descriptors read as every door reads them
    (rules.with_terms) and its radiologist's name tidied, and its note (tabs and line breaks
    allowed)."""
    from dataclasses import replace

    from followup.rules.text import check_text

    try:
        check_text(note, "note", note=True)
        radiologist = rules.check_radiologist(exam.radiologist)
        if radiologist != exam.radiologist:
            exam = replace(exam, radiologist=radiologist)
        return rules.validate_exam(rules.with_terms(exam), today)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _findings_rows(findings: Sequence[rules.Finding]) -> list[Finding]:
    return [
        Finding(
            category=f.category.value,
            laterality=f.laterality.value if f.laterality else None,
            morphology=f.morphology,
            distribution=f.distribution,
            size_class=f.size_class,
            subdivision=f.subdivision.value if f.subdivision else None,
        )
        for f in findings
    ]


def same_exam_stored(
    session: Session, patient: Patient, day: date, facility: Facility, kind: str | None
) -> Exam | None:
    """The stored record of this exam (same_exam's identity: patient, day, facility, kind)."""
    kind_is = Exam.kind.is_(None) if kind is None else Exam.kind == kind
    return session.scalars(
        select(Exam).where(
            Exam.patient_id == patient.id,
            Exam.date == day,
            Exam.facility_id == facility.id,
            kind_is,
        )
    ).one_or_none()


def _refuse_duplicate(
    session: Session,
    patient: Patient,
    exam: rules.Exam,
    facility: Facility,
    note: str | None,
    exam_id: int | None = None,
) -> None:
    """A person records an exam once: a second record of it (same_exam's identity) is
    refused, saying whether it says the same as the stored one."""
    kind = exam.kind.value if exam.kind else None
    clash = same_exam_stored(session, patient, exam.date, facility, kind)
    if clash is None or clash.id == exam_id:
        return
    where = same_exam.described(exam.date, facility.name, kind)
    theirs = same_exam.stored_content(clash)
    mine = same_exam.rules_content(exam, note)
    said = (
        "which says the same"
        if same_exam.same_content(theirs, mine)
        else f"with other {same_exam.differences(theirs, mine)}"
    )
    raise Conflict(
        f"patient {patient.external_id} already has exam {clash.id} {where}, {said}; "
        f"change it with `followup exam edit {clash.id}` instead"
    )


def add_exam(
    session: Session,
    external_id: str,
    exam: rules.Exam,
    *,
    note: str | None = None,
    today: date,
    policy: rules.Policy | None = None,
    refresh: bool = True,
) -> Exam:
    """Record an exam (validated like every other way in) and refresh the plan.

    Loaders adding several exams of one patient pass ``refresh=False`` and call
    :func:`followup.store.plans.refresh_plan` once after her last exam, in the same transaction.
    """
    patient = get_patient(session, external_id)
    exam = validated_exam(exam, today, note)
    facility = get_or_create_facility(session, exam.facility)
    _refuse_duplicate(session, patient, exam, facility, note)
    row = new_exam_row(patient, exam, facility, note)
    session.add(row)
    session.flush()
    audit_added(session, row)
    if refresh:
        refresh_plan(session, patient.id, policy)
    return row


def new_exam_row(patient: Patient, exam: rules.Exam, facility: Facility, note: str | None) -> Exam:
    """The row of a validated exam (:func:`validated_exam`), not yet added to the session."""
    return Exam(
        patient_id=patient.id,
        date=exam.date,
        facility=facility,
        kind=exam.kind.value if exam.kind else None,
        follow_up_months=exam.follow_up_months,
        note=note,
        created_at=now(),
        imaged=exam.imaged.value,
        density=exam.density.value if exam.density else None,
        radiologist=exam.radiologist,
        findings=_findings_rows(exam.findings),
    )


def audit_added(session: Session, row: Exam) -> None:
    """Log the addition of an exam (flushed: it has its id)."""
    log_record(session, row, "add", after=exam_snapshot(row))


def get_exam(session: Session, exam_id: int) -> Exam:
    """The exam with this id, or a NotFound that says where ids are shown."""
    return get_record(session, Exam, exam_id)


def list_exams(session: Session, external_id: str) -> Sequence[Exam]:
    patient = get_patient(session, external_id)
    return session.scalars(
        select(Exam).where(Exam.patient_id == patient.id).order_by(Exam.date, Exam.id)
    ).all()


def exam_snapshot(exam: Exam) -> dict[str, Any]:
    """What an exam said, as plain JSON-able data: for the audit log and for exports."""
    return {
        "id": exam.id,
        "date": exam.date.isoformat(),
        "facility": exam.facility.name,
        "kind": exam.kind,
        "follow_up_months": exam.follow_up_months,
        "note": exam.note,
        "imaged": exam.imaged,
        "density": exam.density,
        "radiologist": exam.radiologist,
        "findings": [_finding_snapshot(f) for f in exam.findings],
    }


def _finding_snapshot(finding: Finding) -> dict[str, Any]:
    return {
        "category": finding.category,
        "laterality": finding.laterality,
        "morphology": finding.morphology,
        "distribution": finding.distribution,
        "size_class": finding.size_class,
        "subdivision": finding.subdivision,
    }


@dataclass(frozen=True)
class ExamChanges:
    """Fields to change in ``exam edit``; None keeps the stored value."""

    date: date | None = None
    facility: str | None = None
    findings: tuple[rules.Finding, ...] | None = None
    kind: rules.ExamKind | None = None
    follow_up_months: int | None = None
    clear_follow_up: bool = False
    note: str | None = None
    imaged: rules.Imaged | None = None
    density: rules.Density | None = None
    clear_density: bool = False
    radiologist: str | None = None  # "" removes it


def _merged(exam: Exam, changes: ExamChanges) -> rules.Exam:
    """The exam as it would be after the edit, as the rules see it (for validation)."""
    from followup.store.rules_inputs import exam_of_record

    current = exam_of_record(exam)
    follow_up = (
        None
        if changes.clear_follow_up
        else (
            changes.follow_up_months
            if changes.follow_up_months is not None
            else current.follow_up_months
        )
    )
    density = None if changes.clear_density else (changes.density or current.density)
    radiologist = current.radiologist if changes.radiologist is None else changes.radiologist
    # The stored exam with the changes: whatever else it records (a later column) is kept.
    return replace(
        current,
        date=changes.date or current.date,
        facility=changes.facility if changes.facility is not None else current.facility,
        findings=changes.findings or current.findings,
        kind=changes.kind or current.kind,
        follow_up_months=follow_up,
        imaged=changes.imaged or current.imaged,
        density=density,
        radiologist=radiologist,
    )


def edit_exam(
    session: Session,
    exam_id: int,
    changes: ExamChanges,
    *,
    today: date,
    policy: rules.Policy | None = None,
) -> Exam | None:
    """Change an exam, record before/after in the audit log, and refresh the plan. Returns
    the exam, or None when every value given is the one stored (nothing is written then:
    no audit entry, no new findings rows)."""
    row = get_exam(session, exam_id)
    before = exam_snapshot(row)
    note = row.note if changes.note is None else (changes.note or None)
    wanted = validated_exam(_merged(row, changes), today, note)
    facility = get_or_create_facility(session, wanted.facility)
    findings = _findings_rows(wanted.findings) if changes.findings else row.findings
    after = {
        **before,
        "date": wanted.date.isoformat(),
        "facility": facility.name,
        "kind": wanted.kind.value if wanted.kind else None,
        "follow_up_months": wanted.follow_up_months,
        "note": note,
        "imaged": wanted.imaged.value,
        "density": wanted.density.value if wanted.density else None,
        "radiologist": wanted.radiologist,
        "findings": [_finding_snapshot(f) for f in findings],
    }
    if after == before:
        return None
    _refuse_duplicate(session, row.patient, wanted, facility, note, exam_id=row.id)
    row.date = wanted.date
    row.facility = facility
    row.kind = after["kind"]
    row.follow_up_months = wanted.follow_up_months
    row.note = note
    row.imaged = after["imaged"]
    row.density = after["density"]
    row.radiologist = wanted.radiologist
    if changes.findings:
        row.findings = findings
    session.flush()
    log_record(session, row, "edit", before=before, after=exam_snapshot(row))
    refresh_plan(session, row.patient_id, policy)
    return row


def delete_exam(
    session: Session, exam_id: int, *, policy: rules.Policy | None = None
) -> dict[str, Any]:
    """Delete an exam, keeping what it said in the audit log, and refresh the plan."""
    row = get_exam(session, exam_id)
    return delete_record(session, row, exam_snapshot(row), policy)


def transfer_films(
    session: Session,
    external_id: str,
    from_name: str,
    to_name: str,
    *,
    day: date,
    today: date,
    policy: rules.Policy | None = None,
    refresh: bool = True,
) -> tuple[FilmTransfer, date | None]:
    """Record that the films one facility made of the patient up to ``day`` (and what it
    had on hand by then) are now on hand at another (clinical-rules.md §6); refresh the plan
    (an import recording several passes ``refresh=False`` and refreshes it once).

    The pair is one record: sent again on a later day, its date moves on (a later transfer
    sends everything an earlier one did); an earlier or the same day is a Conflict. Returns
    the transfer and the date it had before (None: new)."""
    patient = get_patient(session, external_id)
    try:
        check_transfer_date(day, today)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    source = find_facility(session, from_name)
    if source is None:
        raise NotFound(
            f"no exam of any patient was done at {from_name!r}; check the spelling "
            f"(`followup exam list {patient.external_id}` shows her facilities)"
        )
    _refuse_no_films(patient, source, day)
    target = get_or_create_facility(session, to_name)
    if source.id == target.id:
        raise InvalidInput("--from and --to name the same facility; give two different ones")
    transfer = session.scalars(
        select(FilmTransfer).where(
            FilmTransfer.patient_id == patient.id,
            FilmTransfer.from_facility_id == source.id,
            FilmTransfer.to_facility_id == target.id,
        )
    ).one_or_none()
    before = None if transfer is None else transfer.date
    if transfer is not None and transfer.date >= day:
        raise Conflict(
            f"the films of {source.name} up to {transfer.date.isoformat()} are already "
            f"recorded as on hand at {target.name}; a transfer on {day.isoformat()} adds "
            "nothing (give the day of a later transfer with --date)"
        )
    if transfer is None:
        transfer = FilmTransfer(
            patient_id=patient.id,
            from_facility_id=source.id,
            to_facility_id=target.id,
            recorded_at=now(),
            date=day,
        )
        session.add(transfer)
    else:
        transfer.date = day
    session.flush()
    moved = {"id": transfer.id, "from": source.name, "to": target.name, "date": day.isoformat()}
    detail: dict[str, Any] = {"after": moved}
    if before is not None:
        detail["before"] = {**moved, "date": before.isoformat()}
    log_change(session, "films.transfer", patient.id, detail)
    if refresh:
        refresh_plan(session, patient.id, policy)
    return transfer, before


def _refuse_no_films(patient: Patient, source: Facility, day: date) -> None:
    """A transfer moves films the source made of her up to ``day``: without any, the
    facility or the date is wrong."""
    attended = {exam.facility_id: exam.facility.name for exam in patient.exams}
    if source.id not in attended:
        places = ", ".join(sorted(map(repr, attended.values()))) or "none recorded"
        raise InvalidInput(
            f"patient {patient.external_id} has no exam at {source.name}, so there are no "
            f"films of hers to transfer from it; her facilities: {places}"
        )
    first = min(exam.date for exam in patient.exams if exam.facility_id == source.id)
    if first > day:
        raise InvalidInput(
            f"patient {patient.external_id}'s first exam at {source.name} is of "
            f"{first.isoformat()}, after the transfer date {day.isoformat()}, so no films of "
            "hers were there to send; check --date"
        )


def list_transfers(session: Session, external_id: str) -> Sequence[FilmTransfer]:
    """The patient's film transfers (``films list``), by date."""
    patient = get_patient(session, external_id)
    return session.scalars(
        select(FilmTransfer)
        .where(FilmTransfer.patient_id == patient.id)
        .order_by(FilmTransfer.date, FilmTransfer.id)
    ).all()
