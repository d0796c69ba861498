"""The rows of a bulk load, checked and buffered a batch at a time: no database.

Rows are plain frozen values with canonical text (``"probably-benign"``, ``"left"``; the rules'
StrEnums are accepted as they are). A :class:`RowBuffer` checks them as every door checks its
input and holds a batch as plain tuples (:class:`Staged`) until
:class:`followup.store.bulk.BulkLoader` writes it. The CSV reader, the synthetic programme and
the loader share them; nothing here issues SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from followup import rules
from followup.rules.descriptors import check_descriptors
from followup.rules.text import check_address, check_text
from followup.store import same_exam
from followup.store.errors import InvalidInput
from followup.store.models import (
    BIOPSY_RESULTS,
    BIOPSY_SIDES,
    DENSITIES,
    IMAGED,
    KINDS,
    SIDES,
    STORED_CATEGORIES,
    SUBDIVISIONS,
)
from followup.store.patients import check_details, check_external_id
from followup.store.rules_inputs import biopsy_value, finding_value

DEFAULT_BATCH = 5_000  # measured: bigger batches keep more objects alive for the GC to walk
FACILITY_CACHE = 10_000


@dataclass(frozen=True)
class PatientRow:
    """A patient to add; a patient whose ``external_id`` is already stored is left as she is."""

    external_id: str
    name: str | None = None
    birth_date: date | None = None
    email: str | None = None
    phone: str | None = None
    reminders: bool = True
    address: str | None = None  # postal, one line a line (letters)


@dataclass(frozen=True)
class FindingRow:
    """One finding, canonical text: category in models.STORED_CATEGORIES, laterality in SIDES,
    subdivision (of a suspicious finding) in SUBDIVISIONS."""

    category: str
    laterality: str | None = None
    morphology: str | None = None
    distribution: str | None = None
    size_class: str | None = None
    subdivision: str | None = None


@dataclass(frozen=True)
class ExamRow:
    """One exam of a patient (by external id) with at least one finding; ``imaged`` in
    IMAGED, ``density`` in DENSITIES."""

    patient: str
    date: date
    facility: str
    findings: tuple[FindingRow, ...]
    kind: str | None = None
    follow_up_months: int | None = None
    note: str | None = None
    imaged: str = "both"
    density: str | None = None
    radiologist: str | None = None


@dataclass(frozen=True)
class TransferRow:
    """The films ``from_facility`` made of this patient up to ``date`` (None: the load's
    day) are on hand at ``to_facility``."""

    patient: str
    from_facility: str
    to_facility: str
    date: date | None = None


@dataclass(frozen=True)
class BiopsyRow:
    """A biopsy of one breast (clinical-rules.md §4); one per patient, day and side (one
    already stored is skipped). ``side`` in BIOPSY_SIDES, ``result`` in BIOPSY_RESULTS;
    ``concordant`` required for a benign result."""

    patient: str
    date: date
    side: str
    result: str
    concordant: bool | None = None
    facility: str | None = None
    pathology: str | None = None
    note: str | None = None


Row = PatientRow | ExamRow | TransferRow | BiopsyRow


_CATEGORIES = frozenset(STORED_CATEGORIES)
_SIDES = frozenset(SIDES)
_KINDS = frozenset(KINDS)
_IMAGED = frozenset(IMAGED)
_DENSITIES = frozenset(DENSITIES)
_SUBDIVISIONS = frozenset(SUBDIVISIONS)
_RESULTS = frozenset(BIOPSY_RESULTS)
# Canonical text as plain str (the rules' StrEnums map to it): tuples holding only plain
# values are untracked by the garbage collector, so buffered rows cost it nothing.
_PLAIN: dict[str | None, str | None] = {
    None: None,
    **{
        v: v
        for v in (
            *STORED_CATEGORIES,
            *SIDES,
            *KINDS,
            *IMAGED,
            *DENSITIES,
            *SUBDIVISIONS,
            *BIOPSY_RESULTS,
        )
    },
}


class Staged(NamedTuple):
    """A batch of checked rows as plain tuples (untracked by the garbage collector).

    ``patients``: external id, name, birth date, email, phone, reminders, address.
    ``exams``: external id, date, facility as given, kind, months, note, imaged, density,
    radiologist, findings' columns.
    ``transfers``: external id, from and to facility as given, date (None: the load's day).
    ``biopsies``: external id, date, side, result, concordant, facility, pathology, note.
    ``repeats``: patients and exams left out as repeated within the batch.
    """

    patients: list[tuple[Any, ...]]
    exams: list[tuple[Any, ...]]
    transfers: list[tuple[str, str, str, date | None]]
    repeats: tuple[int, int]
    biopsies: list[tuple[Any, ...]]


class RowBuffer:
    """Checks rows and buffers them as :class:`Staged` tuples until a batch is full.

    No database: the CSV import fills one as it reads and checks the file, and hands each
    batch to the :class:`BulkLoader`. Exams repeated within the batch (same
    patient, date and facility, facilities compared by :func:`followup.rules.facility_key`)
    are left out and counted; the loader skips those already stored.
    """

    def __init__(self, batch_size: int = DEFAULT_BATCH, today: date | None = None) -> None:
        self.batch_size = batch_size
        self.today = today
        self._keys: dict[str, str] = {}  # facility as given -> key
        self._start()

    def _start(self) -> None:
        self._patients: list[tuple[Any, ...]] = []
        self._patient_ids: set[str] = set()
        self._exams: list[tuple[Any, ...]] = []
        # (patient, date, facility key, kind) -> its content's parts: same_exam's identity
        self._exam_keys: dict[tuple[str, date, str, str | None], tuple[Any, ...]] = {}
        self._transfers: list[tuple[str, str, str, date | None]] = []
        self._biopsies: list[tuple[Any, ...]] = []
        self._repeated_patients = self._repeated_exams = 0
        self._rows = 0

    def __len__(self) -> int:
        return self._rows

    @property
    def full(self) -> bool:
        return self._rows >= self.batch_size

    def take(self) -> Staged:
        """The rows buffered so far, as one batch; the buffer starts again empty."""
        repeats = (self._repeated_patients, self._repeated_exams)
        staged = Staged(self._patients, self._exams, self._transfers, repeats, self._biopsies)
        self._start()
        return staged

    def add(self, row: Row) -> None:
        if isinstance(row, ExamRow):
            self.add_exam(row)
        elif isinstance(row, PatientRow):
            self.add_patient(row)
        elif isinstance(row, TransferRow):
            self.add_transfer(row)
        elif isinstance(row, BiopsyRow):
            self.add_biopsy(row)
        else:
            raise TypeError(f"not a bulk row: {type(row).__name__}")

    def add_patient(self, row: PatientRow) -> None:
        external_id = check_external_id(row.external_id)
        check_details(
            name=row.name,
            email=row.email,
            phone=row.phone,
            birth_date=row.birth_date,
            today=self.today,
        )
        try:
            address = check_address(row.address)
        except ValueError as exc:
            raise InvalidInput(f"patient {external_id}: {exc}") from None
        if external_id in self._patient_ids:
            self._repeated_patients += 1
            return
        self._patient_ids.add(external_id)
        self._rows += 1
        self._patients.append(
            (
                external_id,
                row.name,
                row.birth_date,
                row.email,
                row.phone,
                bool(row.reminders),
                address,
            )
        )

    def add_exam(self, row: ExamRow) -> None:
        _check_exam(row, self.today)
        plain = _PLAIN
        findings = tuple(
            [
                (
                    plain[f.category],
                    plain[f.laterality],
                    f.morphology,
                    f.distribution,
                    f.size_class,
                    plain[f.subdivision],
                )
                for f in row.findings
            ]
        )
        kind, months = plain[row.kind], row.follow_up_months
        described = (plain[row.imaged], plain[row.density], row.radiologist)
        facility = self._keys.get(row.facility) or self.key(row.facility)
        key = (row.patient, row.date, facility, kind)
        given = (findings, months, row.note, described)
        if key in self._exam_keys:
            self._repeated(row, given, self._exam_keys[key])
            return
        self._exam_keys[key] = given
        self._rows += 1
        self._exams.append(
            (row.patient, row.date, row.facility, kind, months, row.note, *described, findings)
        )

    def _repeated(self, row: ExamRow, given: tuple[Any, ...], first: tuple[Any, ...]) -> None:
        """An exam given twice: a duplicate if it says the same (same_exam.same_content),
        else one of the two is wrong (as :meth:`BulkLoader.write` decides for an exam already
        stored)."""
        mine, theirs = same_exam.content(*given), same_exam.content(*first)
        if not same_exam.same_content(theirs, mine):
            kind = f"{row.kind} " if row.kind else ""
            raise InvalidInput(
                f"patient {row.patient} has two {kind}exams on {row.date.isoformat()} at "
                f"{row.facility} with different {same_exam.differences(theirs, mine)}; this is "
                "not a duplicate: put the rows of one exam together, or correct the one that "
                "is wrong"
            )
        self._repeated_exams += 1

    def add_transfer(self, row: TransferRow) -> None:
        if self.key(row.from_facility) == self.key(row.to_facility):
            raise InvalidInput(
                f"film transfer of patient {row.patient}: from and to name the same facility "
                f"({row.to_facility!r}); give two different ones"
            )
        if row.date is not None and self.today is not None:
            try:
                rules.check_transfer_date(row.date, self.today)
            except ValueError as exc:
                raise InvalidInput(f"film transfer of patient {row.patient}: {exc}") from None
        self._rows += 1
        self._transfers.append((row.patient, row.from_facility, row.to_facility, row.date))

    def add_biopsy(self, row: BiopsyRow) -> None:
        """Checked by the rules' :func:`followup.rules.validate_biopsy`, as ``biopsy add``
        (its date against ``today`` when the load was given one, as exams'), read as the
        plans will read it back (:func:`followup.store.rules_inputs.biopsy_value`)."""
        try:
            if row.side not in _SIDES:  # bilateral: validate_biopsy says why not
                raise ValueError(f"unknown side {row.side!r}; use {' or '.join(BIOPSY_SIDES)}")
            if row.result not in _RESULTS:
                results = ", ".join(BIOPSY_RESULTS)
                raise ValueError(f"unknown result {row.result!r}; use one of {results}")
            check_text(row.note, "note", note=True)
            read = (row.side, row.result, row.concordant, row.facility, row.pathology)
            biopsy = biopsy_value(None, row.date, *read)
            rules.validate_biopsy(biopsy, self.today or date.max)
            if row.facility is not None:
                self.key(row.facility)
        except ValueError as exc:
            raise InvalidInput(f"biopsy of patient {row.patient} on {row.date}: {exc}") from None
        self._rows += 1
        self._biopsies.append(
            (
                row.patient,
                row.date,
                _PLAIN[row.side],
                _PLAIN[row.result],
                row.concordant,
                row.facility,
                row.pathology,
                row.note,
            )
        )

    def key(self, facility: str) -> str:
        """The facility's key, once its name is checked (InvalidInput if it is not a name)."""
        key = self._keys.get(facility)
        if key is None:
            try:
                display = rules.check_facility(facility)
            except ValueError as exc:
                raise InvalidInput(str(exc)) from None
            if len(self._keys) >= FACILITY_CACHE:  # spellings are free text: stay bounded
                self._keys.clear()
            key = self._keys[facility] = rules.facility_key(display)
        return key


def _check_exam(row: ExamRow, today: date | None) -> None:
    """Cheap checks that turn what the database would refuse into a clear InvalidInput."""
    problem = _exam_problem(row, today)
    if problem:
        raise InvalidInput(f"exam of patient {row.patient} on {row.date}: {problem}")


def _exam_problem(row: ExamRow, today: date | None) -> str | None:
    if not row.findings:
        return "no finding; give its category"
    for finding in row.findings:
        if finding.category not in _CATEGORIES:
            return (
                f"unknown category {finding.category!r}; use one of {', '.join(STORED_CATEGORIES)}"
            )
        if finding.laterality is not None and finding.laterality not in _SIDES:
            return f"unknown side {finding.laterality!r}; use one of {', '.join(SIDES)}"
        if finding.subdivision is not None and finding.subdivision not in _SUBDIVISIONS:
            return (
                f"unknown BI-RADS 4 subdivision {finding.subdivision!r}; use one of "
                f"{', '.join(SUBDIVISIONS)}"
            )
    if row.kind is not None and row.kind not in _KINDS:
        return f"unknown exam kind {row.kind!r}; use one of {', '.join(KINDS)}"
    if row.imaged not in _IMAGED:
        return f"unknown imaged side {row.imaged!r}; use one of {', '.join(IMAGED)}"
    if row.density is not None and row.density not in _DENSITIES:
        return f"unknown breast density {row.density!r}; use one of {', '.join(DENSITIES)}"
    try:
        check_text(row.note, "note", note=True)
        rules.check_radiologist(row.radiologist)
        for finding in row.findings:
            check_descriptors(finding.morphology, finding.distribution, finding.size_class)
            if finding.subdivision is not None or row.imaged != "both":
                rules.check_finding(_finding(finding), rules.Imaged(row.imaged))
        rules.check_follow_up_months(row.follow_up_months)
        if today is not None:
            rules.check_exam_date(row.date, today)
    except ValueError as exc:
        return str(exc)
    return None


def _finding(row: FindingRow) -> rules.Finding:
    """A finding row (its canonical text checked) as the rules will read it back, for the
    rules' own checks of rare rows."""
    return finding_value(
        row.category,
        row.laterality,
        row.morphology,
        row.distribution,
        row.size_class,
        row.subdivision,
    )
