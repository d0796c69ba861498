"""A deterministic synthetic screening programme, for the demo and the benchmarks.

Same seed, same programme: each patient draws from a generator seeded by the seed and her
number, so patient 12 is the same whether 100 or 1,000,000 are made. The mix follows real
screening: mostly negative or benign, a few per cent probably benign (followed on the
6/6/12-month protocol, with some late or lost), about 1% suspicious, a few incomplete, some
facility switches (half of them with the films transferred), facility names now and then
typed with other case or spacing. Names and addresses are obviously fake (example.org).
Nothing here touches a database: :func:`rows` feeds :mod:`followup.store.bulk`, and
:func:`csv_records` gives the rows of an exams CSV as ``followup import exams`` reads it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from followup import rules

if TYPE_CHECKING:
    from followup.store.bulk_rows import Row

C = rules.Category
L = rules.Laterality

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

# Screening outcomes (category, weight): mostly negative or benign.
SCREENING_MIX = (
    (C.NEGATIVE, 700),
    (C.BENIGN, 225),
    (C.PROBABLY_BENIGN, 40),
    (C.INCOMPLETE, 22),
    (C.SUSPICIOUS, 10),
    (C.HIGHLY_SUSPICIOUS, 3),
)
SIDES = (L.LEFT, L.RIGHT)
MORPHOLOGY = {
    C.BENIGN: ("coarse", "vascular", "round", "rim", "milk of calcium"),
    C.PROBABLY_BENIGN: ("punctate", "round"),
    C.SUSPICIOUS: ("amorphous", "coarse heterogeneous", "fine pleomorphic"),
    C.HIGHLY_SUSPICIOUS: ("fine linear branching", "fine pleomorphic"),
}
DISTRIBUTION = ("grouped", "regional", "diffuse", "linear", "segmental")


@dataclass(frozen=True)
class SyntheticPatient:
    """One made-up patient with her exams and film transfers."""

    external_id: str
    name: str
    birth_date: date
    email: str | None
    reminders: bool
    exams: tuple[rules.Exam, ...]
    transfers: tuple[rules.FilmTransfer, ...]


def programme(patients: int, seed: int, as_of: date) -> Iterator[SyntheticPatient]:
    """``patients`` patients, streamed one at a time; exams never after ``as_of``."""
    for number in range(1, patients + 1):
        yield make_patient(number, seed, as_of)


def make_patient(number: int, seed: int, as_of: date) -> SyntheticPatient:
    rng = random.Random(f"{seed}:{number}")
    exams, transfers = _history(rng, as_of)
    has_email = rng.random() < 0.9
    return SyntheticPatient(
        external_id=f"P{number:07d}",
        name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        birth_date=as_of - timedelta(days=rng.randint(40 * 365, 75 * 365)),
        email=f"patient{number}@example.org" if has_email else None,
        reminders=rng.random() < 0.95,
        exams=tuple(exams),
        transfers=tuple(transfers),
    )


def _history(rng: random.Random, as_of: date) -> tuple[list[rules.Exam], list[rules.FilmTransfer]]:
    """Screening every ~12 months, with the follow-up each result calls for."""
    day = as_of - timedelta(days=rng.randint(200, 8 * 365))
    facility = rng.choice(FACILITIES)
    exams: list[rules.Exam] = []
    transfers: list[rules.FilmTransfer] = []
    category = _screening_result(rng)
    while day <= as_of:
        exams.append(
            _exam(
                rng,
                day,
                facility,
                category,
                screening=not exams or category in (C.NEGATIVE, C.BENIGN),
            )
        )
        step = _next_visit(rng, category, exams)
        if step is None:
            break
        gap, category = step
        day += timedelta(days=gap)
        if rng.random() < 0.06:
            previous, facility = facility, rng.choice(FACILITIES)
            if previous != facility and rng.random() < 0.5:
                transfers.append(rules.FilmTransfer(previous, facility))
    return exams, transfers


def _screening_result(rng: random.Random) -> rules.Category:
    categories, weights = zip(*SCREENING_MIX, strict=True)
    return rng.choices(categories, weights)[0]


def _next_visit(
    rng: random.Random, category: rules.Category, exams: list[rules.Exam]
) -> tuple[int, rules.Category] | None:
    """(days until the next exam, its category), or None when she does not come back."""
    if category is C.PROBABLY_BENIGN:
        if rng.random() < 0.2:  # lost to follow-up
            return None
        late = rng.choice((0, 0, 0, 10, 45, 120))
        stays = rng.random() < 0.8 and _episode_length(exams) < 4
        return 182 + late, C.PROBABLY_BENIGN if stays else C.BENIGN
    if category is C.INCOMPLETE:
        return rng.randint(7, 40), rng.choice((C.BENIGN, C.NEGATIVE, C.PROBABLY_BENIGN))
    if category.action == "biopsy":
        if rng.random() < 0.3:
            return rng.randint(20, 50), C.KNOWN_MALIGNANCY
        return None if rng.random() < 0.5 else (rng.randint(150, 200), C.BENIGN)
    if category is C.KNOWN_MALIGNANCY or rng.random() < 0.05:
        return None
    return rng.randint(330, 450), _screening_result(rng)


def _episode_length(exams: list[rules.Exam]) -> int:
    count = 0
    for exam in reversed(exams):
        if exam.findings[0].category is not C.PROBABLY_BENIGN:
            break
        count += 1
    return count


def _exam(
    rng: random.Random, day: date, facility: str, category: rules.Category, screening: bool
) -> rules.Exam:
    side = rng.choice(SIDES) if category not in (C.NEGATIVE, C.KNOWN_MALIGNANCY) else None
    morphology = rng.choice(MORPHOLOGY[category]) if category in MORPHOLOGY else None
    distribution = rng.choice(DISTRIBUTION) if morphology else None
    kind = rules.ExamKind.SCREENING if screening else rules.ExamKind.DIAGNOSTIC
    if category is C.PROBABLY_BENIGN:
        kind = rules.ExamKind.DIAGNOSTIC
    return rules.Exam(
        date=day,
        facility=_spelling(rng, facility),
        findings=(rules.Finding(category, side, morphology, distribution),),
        kind=kind,
    )


def _spelling(rng: random.Random, facility: str) -> str:
    """Mostly the usual name; now and then as someone typed it (case, spaces)."""
    if rng.random() >= 0.03:
        return facility
    return rng.choice((facility.upper(), facility.lower(), facility.replace(" ", "  ", 1)))


def rows(patients: int, seed: int, as_of: date) -> Iterator[Row]:
    """The programme as bulk-loader rows: each patient, then her exams, then her transfers."""
    from followup.store.bulk_rows import ExamRow, FindingRow, PatientRow, TransferRow

    for patient in programme(patients, seed, as_of):
        yield PatientRow(
            external_id=patient.external_id,
            name=patient.name,
            birth_date=patient.birth_date,
            email=patient.email,
            reminders=patient.reminders,
        )
        for exam in patient.exams:
            yield ExamRow(
                patient=patient.external_id,
                date=exam.date,
                facility=exam.facility,
                findings=tuple(
                    FindingRow(f.category, f.laterality, f.morphology, f.distribution)
                    for f in exam.findings
                ),
                kind=exam.kind,
                follow_up_months=exam.follow_up_months,
            )
        for transfer in patient.transfers:
            yield TransferRow(patient.external_id, transfer.from_facility, transfer.to_facility)


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
)


def csv_records(patients: int, seed: int, as_of: date) -> Iterator[dict[str, Any]]:
    """One record per finding, columns :data:`CSV_COLUMNS` (film transfers have no column)."""
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
                }
