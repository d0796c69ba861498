"""The letters due on an as-of date (clinical-rules.md §7, cli.md "Letters"), read from the
store in batches of patients, as plain values the presentation turns into letters
(:func:`followup.present.letter_source.facts_of`, the one converter).

Which letters, and for whom (the dates are :mod:`followup.rules.letters`'):

- every kind: the patient is open; a closed one only with ``include_closed``
  (``--closed``), a deceased one never;
- *result*: each exam dated from :func:`~followup.rules.letters.letters_from` to the as-of
  date whose letter is not in the log (due within 30 days, 7 when suspicious; a letter whose
  due date passed is still produced);
- *reminder*, *overdue*: the ladder's step on the as-of date for her plan's due date, when
  she is not scheduled and has reminders on (``--no-reminders`` stops the ladder's letters as
  it stops its e-mails; her result letters and films requests still go out);
- *films-request*: one per facility holding earlier films that her comparison flags name,
  when her latest exam is dated from ``letters_from`` on.

Memory stays flat: the candidate patients' ids (one scan of the exams' dates and one range of
the plans' due index) and one batch of patients at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from followup import rules
from followup.rules import letters as rules_letters
from followup.rules.tracking import Outcome, TrackingState
from followup.store.errors import InvalidInput, NotFound
from followup.store.letter_log import (
    LetterKey,
    films_key,
    ladder_key,
    ladder_letters_sent,
    logged,
    result_key,
)
from followup.store.models import Contact, Exam, Facility, Patient, PlanRecord
from followup.store.patients import get_patient
from followup.store.policies import require_current_plans
from followup.store.rules_inputs import NOTHING, PatientInputs, of_patients, read_inputs
from followup.store.tracking_rows import TrackingFacts, as_date

BATCH = 500  # patients read at a time


@dataclass(frozen=True)
class Place:
    """A facility as letters print it (``facility edit``)."""

    id: int
    name: str
    address: str | None
    phone: str | None


@dataclass(frozen=True)
class Addressee:
    """The patient a letter is about: her ids, name, postal address, birth date."""

    pk: int
    external_id: str
    name: str | None
    address: str | None
    birth_date: date | None
    latest_record: date | None = None  # her latest exam or biopsy (the pathway's summary)


@dataclass(frozen=True)
class ExamFacts:
    """The exam a result letter reports: its most worrisome finding, its kind and density."""

    exam_id: int
    date: date
    category: str
    birads: str | None
    side: str | None
    kind: str | None
    density: str | None


@dataclass(frozen=True)
class StepFacts:
    """Her next step as the stored plan says: action, due date, side."""

    action: str | None
    due: date | None
    side: str | None


@dataclass(frozen=True)
class FilmsFacts:
    """Earlier films at ``holder``, of ``dates``, wanted at ``current``."""

    holder: Place
    dates: tuple[date, ...]
    current: Place


@dataclass(frozen=True)
class DueLetter:
    """One letter the pathway calls for: what identifies it, when it is due, what the listing
    says about it (``about``), and the facts it is made from."""

    key: LetterKey
    patient: Addressee
    facility: Place
    due: date
    about: str
    exam: ExamFacts | None = None
    next_step: StepFacts | None = None
    films: FilmsFacts | None = None
    step_number: int | None = None
    steps: int | None = None
    certified: bool = False
    wrote_before: bool = False  # an earlier ladder letter about the same due date went out
    also_step: StepFacts | None = None  # a result letter's second step: the other breast's

    @property
    def kind(self) -> str:
        return self.key.kind

    def after(self, wrote: set[tuple[int, date]]) -> DueLetter:
        """This letter, knowing which (patient, due date) had ladder letters already
        (:func:`followup.store.letter_log.ladder_letters_sent`)."""
        if self.key.due is None:
            return self
        return replace(self, wrote_before=(self.key.patient_pk, self.key.due) in wrote)


def recorded_deceased(session: Session, patient_pks: Sequence[int]) -> set[int]:
    """Those of ``patient_pks`` whose log records her death: no letter goes to her again,
    even if a later exam or an explicit reopen reopened her tracking."""
    return set(
        session.scalars(
            select(Contact.patient_id).where(
                Contact.patient_id.in_(patient_pks), Contact.outcome == Outcome.DECEASED.value
            )
        )
    )


@dataclass(frozen=True)
class LetterQuery:
    """What to look for: the as-of date, the ladder's start, the kinds, one facility, closed
    patients too."""

    as_of: date
    started: date
    kinds: frozenset[str] = frozenset(rules_letters.LETTER_KINDS)
    facility_id: int | None = None
    include_closed: bool = False


class _Places:
    """Every facility, by id and by folded name, read once a run."""

    def __init__(self, session: Session) -> None:
        rows = session.execute(
            select(Facility.id, Facility.key, Facility.name, Facility.address, Facility.phone)
        )
        self.by_id: dict[int, Place] = {}
        self.by_key: dict[str, Place] = {}
        for facility_id, key, name, address, phone in rows:
            place = Place(facility_id, name, address, phone)
            self.by_id[facility_id] = self.by_key[key] = place

    def named(self, name: str) -> Place:
        return self.by_key[rules.facility_key(name)]


@dataclass(frozen=True)
class _Patient:
    """A candidate's row: her details, pathway summary and stored plan."""

    addressee: Addressee
    closed: str | None
    appointment: Any
    last_call: Any
    reminders: bool
    step: StepFacts | None
    plan_facility: int | None
    flags: frozenset[str]
    also: StepFacts | None = None  # the other breast's plan (§2), when it has its own


_PATIENT_COLUMNS = (
    Patient.id,
    Patient.external_id,
    Patient.name,
    Patient.address,
    Patient.birth_date,
    Patient.closed_reason,
    Patient.appointment,
    Patient.last_call,
    Patient.reminders,
    PlanRecord.action,
    PlanRecord.due,
    PlanRecord.laterality,
    PlanRecord.facility_id,
    PlanRecord.flag_codes,
    PlanRecord.also_action,
    PlanRecord.also_due,
    PlanRecord.also_laterality,
)


def _patients(
    session: Session, pks: Sequence[int], inputs: dict[int, PatientInputs]
) -> Iterator[_Patient]:
    rows = session.execute(
        select(*_PATIENT_COLUMNS)
        .outerjoin(PlanRecord, PlanRecord.patient_id == Patient.id)
        .where(Patient.id.in_(pks))
        .order_by(Patient.id)
    )
    for pk, ext, name, address, born, closed, appointment, call, on, *plan in rows:
        action, due, side, facility_id, codes, also_action, also_due, also_side = plan
        step = None if action is None and due is None else StepFacts(action, as_date(due), side)
        also = None if also_action is None else StepFacts(also_action, as_date(also_due), also_side)
        yield _Patient(
            Addressee(
                pk, ext, name, address, as_date(born), inputs.get(pk, NOTHING).latest_record()
            ),
            closed,
            appointment,
            call,
            bool(on),
            step,
            facility_id,
            frozenset((codes or "").split()),
            also,
        )


def candidate_patients(session: Session, query: LetterQuery, policy: rules.Policy) -> list[int]:
    """Primary keys of the patients who may have a letter due, ascending: an exam dated from
    ``letters_from`` to the as-of date, or a plan due in the ladder's window."""
    first = rules_letters.letters_from(query.started, policy)
    low, high = rules_letters.ladder_window(query.as_of, query.started, policy)
    parts = []
    if query.kinds & {rules_letters.RESULT, rules_letters.FILMS_REQUEST}:
        parts.append(select(Exam.patient_id).where(Exam.date >= first, Exam.date <= query.as_of))
    if query.kinds & {rules_letters.REMINDER, rules_letters.OVERDUE}:
        parts.append(
            select(PlanRecord.patient_id).where(PlanRecord.due >= low, PlanRecord.due <= high)
        )
    if not parts:
        return []
    found = union(*parts) if len(parts) > 1 else parts[0]
    return sorted(set(session.scalars(found)))


def due_letters(
    session: Session, query: LetterQuery, policy: rules.Policy
) -> Iterator[list[DueLetter]]:
    """The letters due on the as-of date and not in the log, a batch of patients at a time
    (in patient order; each patient's result letters, films requests, then ladder letter)."""
    require_current_plans(session)
    places = _Places(session)
    builder = _Builder(query, policy, places)
    pks = candidate_patients(session, query, policy)
    for start in range(0, len(pks), BATCH):
        batch = pks[start : start + BATCH]
        inputs = read_inputs(session, of_patients(batch))
        done = logged(session, batch)
        wrote = ladder_letters_sent(done)
        deceased = recorded_deceased(session, batch)
        found = []
        for patient in _patients(session, batch, inputs):
            if patient.addressee.pk in deceased:
                continue  # §7: for good, whatever reopened her tracking since
            for letter in builder.letters(patient, inputs.get(patient.addressee.pk, NOTHING)):
                if letter.key.ident not in done and builder.wanted(letter):
                    found.append(letter.after(wrote))
        yield found


class _Builder:
    """Turns a patient's row and records into the letters due (the rules decide)."""

    def __init__(self, query: LetterQuery, policy: rules.Policy, places: _Places) -> None:
        self.query = query
        self.policy = policy
        self.places = places
        self.first = rules_letters.letters_from(query.started, policy)
        self.tracking = TrackingFacts(query.as_of, policy)

    def wanted(self, letter: DueLetter) -> bool:
        facility = self.query.facility_id
        return letter.kind in self.query.kinds and facility in (None, letter.facility.id)

    def letters(self, patient: _Patient, inputs: PatientInputs) -> Iterator[DueLetter]:
        if patient.closed is not None and not self.query.include_closed:
            return
        for exam in inputs.exams:
            if self.first <= exam.date <= self.query.as_of:
                yield result_letter(patient, exam, self.places, self.policy)
        if patient.flags & rules_letters.COMPARISON_FLAGS:
            yield from films_letters(patient, inputs, self.places, self.first)
        ladder = self._ladder(patient, inputs)
        if ladder is not None:
            yield ladder

    def _ladder(self, patient: _Patient, inputs: PatientInputs) -> DueLetter | None:
        step = patient.step
        if step is None or step.due is None or not patient.reminders:
            return None
        state = self.tracking(patient.closed, patient.appointment, patient.last_call).state
        if state is TrackingState.SCHEDULED:
            return None  # §7: a scheduled patient leaves the ladder
        found = rules_letters.ladder_letter(
            step.due, self.query.as_of, self.policy, self.query.started
        )
        place = booking_place(patient, inputs, self.places)
        if found is None or place is None:
            return None
        return ladder_letter(patient, step, found, place)


def booking_place(patient: _Patient, inputs: PatientInputs, places: _Places) -> Place | None:
    """Where she books her next step: her plan's facility, else her latest exam's (None for
    a patient with neither, whose records are biopsies alone)."""
    if patient.plan_facility is not None and patient.plan_facility in places.by_id:
        return places.by_id[patient.plan_facility]
    return places.named(inputs.exams[-1].facility) if inputs.exams else None


def result_letter(
    patient: _Patient, exam: rules.Exam, places: _Places, policy: rules.Policy
) -> DueLetter:
    """The result letter (lay summary) of ``exam``: its most worrisome finding."""
    finding = exam.governing
    assert finding is not None and exam.id is not None  # a stored exam has both
    facts = ExamFacts(
        exam.id,
        exam.date,
        finding.category.value,
        finding.birads,
        finding.laterality.value if finding.laterality else None,
        exam.kind.value if exam.kind else None,
        exam.density.value if exam.density else None,
    )
    due = rules_letters.result_letter_due(exam.date, finding.category, policy)
    return DueLetter(
        result_key(patient.addressee.pk, exam.id),
        patient.addressee,
        places.named(exam.facility),
        due,
        f"exam of {exam.date.isoformat()} ({finding.label})",
        exam=facts,
        next_step=patient.step or StepFacts(None, None, None),
        also_step=patient.also,
    )


def films_letters(
    patient: _Patient, inputs: PatientInputs, places: _Places, first: date
) -> Iterator[DueLetter]:
    """A films request to each facility holding the earlier films her flags name."""
    wanted = rules_letters.films_wanted(inputs.exams, inputs.transfers)
    if wanted is None or wanted.latest < first:
        return
    current = places.named(wanted.current)
    for holder in wanted.holders:
        place = places.named(holder.facility)
        dates = ", ".join(day.isoformat() for day in holder.dates)
        yield DueLetter(
            films_key(patient.addressee.pk, place.id),
            patient.addressee,
            current,
            wanted.latest,
            f"films at {place.name} ({dates}) for {current.name}",
            films=FilmsFacts(place, holder.dates, current),
        )


def ladder_letter(
    patient: _Patient, step: StepFacts, found: rules_letters.LadderLetter, place: Place
) -> DueLetter:
    assert step.due is not None
    about = f"{found.step} of the follow-up due {step.due.isoformat()}"
    if found.certified:
        about += " (last step: certified mail)"
    return DueLetter(
        ladder_key(patient.addressee.pk, found.kind, step.due, found.step),
        patient.addressee,
        place,
        found.day,
        about,
        next_step=step,
        step_number=found.number or None,
        steps=found.steps if found.kind == rules_letters.OVERDUE else None,
        certified=found.certified,
    )


# -- at the desk: one patient, one kind, now (``followup letter``) ----------------------------


def desk_letters(
    session: Session,
    external_id: str,
    kind: str,
    as_of: date,
    policy: rules.Policy,
    *,
    exam_id: int | None = None,
    facility: str | None = None,
) -> list[DueLetter]:
    """The letter of ``kind`` for her now, whatever the ladder and the log say (a patient at
    the desk): the result of ``exam_id`` (default her latest exam), the reminder or the
    latest overdue step of her plan, the films request to ``facility`` (default every
    facility holding films her flags name). StoreError subclasses say what is missing."""
    require_current_plans(session)
    row = get_patient(session, external_id)
    places = _Places(session)
    read = read_inputs(session, of_patients([row.id]))
    (patient,) = _patients(session, [row.id], read)
    if recorded_deceased(session, [row.id]):
        raise InvalidInput(f"patient {external_id} is recorded deceased; no letter is written")
    inputs = read.get(row.id, NOTHING)
    if not inputs.exams:
        raise NotFound(
            f"patient {external_id} has no exam on record; record one with `followup exam add`"
        )
    if kind == rules_letters.RESULT:
        return [result_letter(patient, _exam(inputs, exam_id, external_id), places, policy)]
    if kind == rules_letters.FILMS_REQUEST:
        return _desk_films(patient, inputs, places, facility, external_id)
    step = patient.step
    if step is None or step.due is None:
        raise InvalidInput(
            f"patient {external_id} has nothing due (her plan has no due date); no {kind} "
            "letter to write"
        )
    try:
        found = rules_letters.desk_ladder_letter(kind, step.due, as_of, policy)
    except ValueError as exc:
        raise InvalidInput(f"patient {external_id}: {exc}") from None
    place = booking_place(patient, inputs, places)
    assert place is not None  # she has exams (checked above)
    wrote = ladder_letters_sent(logged(session, [row.id]))
    return [ladder_letter(patient, step, found, place).after(wrote)]


def _exam(inputs: PatientInputs, exam_id: int | None, external_id: str) -> rules.Exam:
    if exam_id is None:
        return inputs.exams[-1]
    for exam in inputs.exams:
        if exam.id == exam_id:
            return exam
    raise NotFound(
        f"patient {external_id} has no exam {exam_id}; `followup exam list {external_id}` "
        "shows her exams and their ids"
    )


def _desk_films(
    patient: _Patient,
    inputs: PatientInputs,
    places: _Places,
    facility: str | None,
    external_id: str,
) -> list[DueLetter]:
    found = list(films_letters(patient, inputs, places, date.min))
    if facility is not None:
        key = rules.facility_key(facility)
        found = [f for f in found if f.films is not None and _key(f.films.holder) == key]
    if not found:
        where = f" at {facility}" if facility else ""
        raise InvalidInput(
            f"patient {external_id} has no earlier films{where} on record that are not on hand "
            "at her current facility; `followup films list` shows where her films are"
        )
    return found


def _key(place: Place) -> str:
    return rules.facility_key(place.name)
