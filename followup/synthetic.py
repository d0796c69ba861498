"""A deterministic synthetic screening programme, for the demo and the benchmarks.

Same seed, same programme: each patient draws from a generator seeded by the seed and her
number, so patient 12 is the same whether 100 or 1,000,000 are made. Each patient's clinical
course (BCSC-like rates: recalls, work-ups of one breast, the probably-benign protocol,
4A/4B/4C, biopsies and their results, densities, radiologists) comes from
:mod:`followup.synthetic_course`; here are the people and places: some facility switches (half
of them with the films transferred, dated), facility names now and then typed with other case
or spacing. Names and addresses are obviously fake (example.org).
Nothing here touches a database: :func:`rows` feeds :mod:`followup.store.bulk`, and
:func:`csv_records` gives the rows of an exams CSV as ``followup import exams`` reads it.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from followup import rules
from followup.rules.tracking import Contact, Outcome
from followup.synthetic_course import Places, history

if TYPE_CHECKING:
    from followup.store.bulk_rows import Row


FIRST = (
    "Ana",
    "Bea",
    "Carla",
    "Dana",
    "Eva",
    "Fatima",
    "Grace",
    "Hana",
    "Ines",
    "Julia",
    "Kim",
    "Lena",
    "Maria",
    "Nora",
    "Olga",
    "Priya",
    "Rosa",
    "Sara",
    "Tara",
    "Vera",
)
LAST = (
    "Silva",
    "Okafor",
    "Nguyen",
    "Kowalski",
    "Garcia",
    "Haddad",
    "Jensen",
    "Moreau",
    "Rossi",
    "Tanaka",
    "Petrov",
    "Mensah",
    "Ali",
    "Novak",
    "Lopez",
    "Schmidt",
)
PLACES = (
    "Northside",
    "Southside",
    "Lakeside",
    "Riverside",
    "Hillcrest",
    "Westgate",
    "Eastbrook",
    "Oakwood",
    "Maple Grove",
    "Harbor",
)
KINDS = ("Imaging", "Breast Center", "Clinic", "Radiology", "Women's Health")
FACILITIES = tuple(f"{place} {kind}" for place in PLACES for kind in KINDS)  # 50

# Each facility's radiologists: four made-up readers, the same for every run.
_READERS = {
    facility: tuple(
        f"Dr {FIRST[number % len(FIRST)]} {LAST[number // len(FIRST) % len(LAST)]}"
        for number in range(4 * index, 4 * index + 4)
    )
    for index, facility in enumerate(FACILITIES)
}


def readers(facility: str) -> tuple[str, ...]:
    """The radiologists who read at ``facility`` (a name of :data:`FACILITIES`)."""
    return _READERS[facility]


@dataclass(frozen=True)
class SyntheticPatient:
    """One made-up patient with her exams, film transfers and biopsies."""

    external_id: str
    name: str
    birth_date: date
    email: str | None
    phone: str
    reminders: bool
    exams: tuple[rules.Exam, ...]
    transfers: tuple[rules.FilmTransfer, ...]
    biopsies: tuple[rules.Biopsy, ...] = ()
    address: str | None = None


def programme(patients: int, seed: int, as_of: date) -> Iterator[SyntheticPatient]:
    """``patients`` patients, streamed one at a time; exams never after ``as_of``."""
    for number in range(1, patients + 1):
        yield make_patient(number, seed, as_of)


def make_patient(number: int, seed: int, as_of: date) -> SyntheticPatient:
    rng = random.Random(f"{seed}:{number}")
    course = history(rng, as_of, PLACES_OF_EXAMS)
    has_email = rng.random() < 0.9
    return SyntheticPatient(
        external_id=f"P{number:07d}",
        name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        birth_date=as_of - timedelta(days=rng.randint(40 * 365, 75 * 365)),
        email=f"patient{number}@example.org" if has_email else None,
        phone=f"555-{number % 10_000:04d}",  # not drawn: the programme stays as it was
        reminders=rng.random() < 0.95,
        exams=tuple(course.exams),
        transfers=tuple(course.transfers),
        biopsies=tuple(course.biopsies),
        address=postal_address(number, seed),
    )


STREETS = ("Maple Avenue", "Oak Street", "Cedar Lane", "Birch Road", "Elm Street", "Lake Drive")
HAS_ADDRESS = 0.93  # the others show how a letter lacking an address is listed


def postal_address(number: int, seed: int) -> str | None:
    """Her made-up postal address (two lines), or None for a few; drawn apart from the rest
    of her record, so the programme is the one it was before patients had addresses."""
    rng = random.Random(f"{seed}:{number}:address")
    if rng.random() >= HAS_ADDRESS:
        return None
    street = f"{rng.randint(1, 2999)} {rng.choice(STREETS)}"
    return f"{street}\nSpringfield, IL 627{number % 100:02d}"


# The letters' sender and the facilities' addresses and telephone numbers (555-01xx, the
# range kept for fiction) in the demo.
CLINIC = (
    "Springfield Breast Follow-up Service",
    "1 Example Plaza, Suite 100\nSpringfield, IL 62701",
    "(217) 555-0199",
)


def facility_details(name: str) -> tuple[str, str]:
    """A made-up postal address and telephone number for a facility of :data:`FACILITIES`."""
    index = FACILITIES.index(name)
    place = next(p for p in PLACES if name.startswith(p))
    return (
        f"{100 + 10 * index} {place} Road\n{place}, IL 62{index:03d}",
        f"(217) 555-01{index:02d}",
    )


def _spelling(rng: random.Random, facility: str) -> str:
    """Mostly the usual name; now and then as someone typed it (case, spaces)."""
    if rng.random() >= 0.03:
        return facility
    return rng.choice((facility.upper(), facility.lower(), facility.replace(" ", "  ", 1)))


PLACES_OF_EXAMS = Places(FACILITIES, _spelling, readers)


def _text(value: Any) -> Any:
    """An enumerated value's canonical text (the bulk loader's rows), None for none."""
    return None if value is None else value.value


def rows(patients: int, seed: int, as_of: date) -> Iterator[Row]:
    """The programme as bulk-loader rows: each patient, then her exams, transfers and
    biopsies."""
    from followup.store.bulk_rows import BiopsyRow, ExamRow, FindingRow, PatientRow, TransferRow

    for patient in programme(patients, seed, as_of):
        yield PatientRow(
            external_id=patient.external_id,
            name=patient.name,
            birth_date=patient.birth_date,
            email=patient.email,
            phone=patient.phone,
            reminders=patient.reminders,
            address=patient.address,
        )
        for exam in patient.exams:
            yield ExamRow(
                patient=patient.external_id,
                date=exam.date,
                facility=exam.facility,
                findings=tuple(
                    FindingRow(
                        f.category,
                        f.laterality,
                        f.morphology,
                        f.distribution,
                        subdivision=_text(f.subdivision),
                    )
                    for f in exam.findings
                ),
                kind=exam.kind,
                follow_up_months=exam.follow_up_months,
                imaged=exam.imaged.value,
                density=_text(exam.density),
                radiologist=exam.radiologist,
            )
        for transfer in patient.transfers:
            yield TransferRow(
                patient.external_id, transfer.from_facility, transfer.to_facility, transfer.date
            )
        for biopsy in patient.biopsies:
            yield BiopsyRow(
                patient.external_id,
                biopsy.date,
                biopsy.side.value,
                biopsy.result.value,
                biopsy.concordant,
                biopsy.facility,
                biopsy.pathology,
            )


CSV_COLUMNS = (
    "patient_id",
    "name",
    "email",
    "date",
    "facility",
    "kind",
    "category",
    "laterality",
    "morphology",
    "distribution",
    "follow_up_months",
    "note",
    "subdivision",
    "imaged",
    "density",
    "radiologist",
)


def csv_records(patients: int, seed: int, as_of: date) -> Iterator[dict[str, Any]]:
    """One record per finding, columns :data:`CSV_COLUMNS` (film transfers and biopsies are
    not in an exams file)."""
    for patient in programme(patients, seed, as_of):
        for exam in patient.exams:
            for finding in exam.findings:
                yield {
                    "patient_id": patient.external_id,
                    "name": patient.name,
                    "email": patient.email,
                    "date": exam.date.isoformat(),
                    "facility": exam.facility,
                    "kind": exam.kind.value if exam.kind else None,
                    "category": finding.category.value,
                    "laterality": finding.laterality.value if finding.laterality else None,
                    "morphology": finding.morphology,
                    "distribution": finding.distribution,
                    "follow_up_months": exam.follow_up_months,
                    "note": None,
                    "subdivision": _text(finding.subdivision),
                    "imaged": exam.imaged.value,
                    "density": _text(exam.density),
                    "radiologist": exam.radiologist,
                }


# The pathway (clinical-rules.md §7) of the patients due: how often a coordinator has tried an
# overdue patient, what came of each try, and how often tracking was closed. Made up, in the
# range recall programmes report (about half the overdue reached for at least once, a few per
# cent closed, most calls unanswered).
TRIED = 0.5  # overdue patients with at least one attempt
TRY_MIX = (
    (Outcome.NO_ANSWER, 35),
    (Outcome.LEFT_MESSAGE, 25),
    (Outcome.REACHED, 15),
    (Outcome.LETTER_SENT, 10),
    (Outcome.SCHEDULED, 10),
    (Outcome.WRONG_NUMBER, 5),
)
CLOSED = 0.05  # of those tried
CLOSE_MIX = (
    (Outcome.DECLINED, 40),
    (Outcome.MOVED_AWAY, 30),
    (Outcome.CARE_ELSEWHERE, 25),
    (Outcome.DECEASED, 5),
)
BOOKED_AHEAD = 0.1  # patients due soon who already have an appointment


def pathway(
    due: Iterable[tuple[int, date]], seed: int, as_of: date
) -> Iterator[tuple[int, Contact]]:
    """Contacts for patients (key, due date) due by ``as_of`` + 30 days, none after
    ``as_of``; the same seed and key, the same contacts."""
    for key, day in due:
        rng = random.Random(f"{seed}:{key}:pathway")
        if day >= as_of:
            if rng.random() < BOOKED_AHEAD:
                call = as_of - timedelta(days=rng.randint(0, 20))
                yield key, Contact(call, Outcome.SCHEDULED, day)
            continue
        if rng.random() >= TRIED:
            continue
        yield from _tries(rng, key, day, as_of)


def _tries(rng: random.Random, key: int, due: date, as_of: date) -> Iterator[tuple[int, Contact]]:
    outcomes, weights = [o for o, _ in TRY_MIX], [w for _, w in TRY_MIX]
    call = due
    for _ in range(rng.randint(1, 3)):
        call += timedelta(days=rng.randint(1, 30))
        if call > as_of:
            return
        outcome = rng.choices(outcomes, weights)[0]
        booked = call + timedelta(days=rng.randint(7, 40)) if outcome is Outcome.SCHEDULED else None
        yield key, Contact(call, outcome, booked)
    if rng.random() < CLOSED:
        reasons, shares = [o for o, _ in CLOSE_MIX], [w for _, w in CLOSE_MIX]
        yield key, Contact(call, rng.choices(reasons, shares)[0])
