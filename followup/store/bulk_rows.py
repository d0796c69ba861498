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
from followup.rules.text import check_text
from followup.store import same_exam
from followup.store.errors import InvalidInput
from followup.store.models import KINDS, SIDES, STORED_CATEGORIES
from followup.store.patients import check_details, check_external_id

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


@dataclass(frozen=True)
class FindingRow:
    """One finding, canonical text: category in models.STORED_CATEGORIES, laterality in SIDES."""

    category: str
    laterality: str | None = None
    morphology: str | None = None
    distribution: str | None = None
    size_class: str | None = None


@dataclass(frozen=True)
class ExamRow:
    """One exam of a patient (by external id) with at least one finding."""

    patient: str
    date: date
    facility: str
    findings: tuple[FindingRow, ...]
    kind: str | None = None
    follow_up_months: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class TransferRow:
    """The films of ``from_facility`` are on hand at ``to_facility`` for this patient."""

    patient: str
    from_facility: str
    to_facility: str


Row = PatientRow | ExamRow | TransferRow


_CATEGORIES = frozenset(STORED_CATEGORIES)
_SIDES = frozenset(SIDES)
_KINDS = frozenset(KINDS)
# Canonical text as plain str (the rules' StrEnums map to it): tuples holding only plain
# values are untracked by the garbage collector, so buffered rows cost it nothing.
_PLAIN: dict[str | None, str | None] = {
    None: None,
    **{v: v for v in (*STORED_CATEGORIES, *SIDES, *KINDS)},
}


class Staged(NamedTuple):
    """A batch of checked rows as plain tuples (untracked by the garbage collector).

    ``patients``: external id, name, birth date, email, phone, reminders.
    ``exams``: external id, date, facility as given, kind, months, note, findings' columns.
    ``transfers``: external id, from and to facility as given.
    ``repeats``: patients and exams left out as repeated within the batch.
    """

    patients: list[tuple[Any, ...]]
    exams: list[tuple[Any, ...]]
    transfers: list[tuple[str, str, str]]
    repeats: tuple[int, int]


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
        # (patient, date, facility key, kind) -> (findings, months, note): same_exam's identity
        self._exam_keys: dict[tuple[str, date, str, str | None], tuple[Any, ...]] = {}
        self._transfers: list[tuple[str, str, str]] = []
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
        staged = Staged(self._patients, self._exams, self._transfers, repeats)
        self._start()
        return staged

    def add(self, row: Row) -> None:
        if isinstance(row, ExamRow):
            self.add_exam(row)
        elif isinstance(row, PatientRow):
            self.add_patient(row)
        elif isinstance(row, TransferRow):
            self.add_transfer(row)
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
        if external_id in self._patient_ids:
            self._repeated_patients += 1
            return
        self._patient_ids.add(external_id)
        self._rows += 1
        self._patients.append(
            (external_id, row.name, row.birth_date, row.email, row.phone, bool(row.reminders))
        )

    def add_exam(self, row: ExamRow) -> None:
        _check_exam(row, self.today)
        plain = _PLAIN
        findings = tuple(
            [
                (plain[f.category], plain[f.laterality], f.morphology, f.distribution, f.size_class)
                for f in row.findings
            ]
        )
        kind, months = plain[row.kind], row.follow_up_months
        facility = self._keys.get(row.facility) or self.key(row.facility)
        key = (row.patient, row.date, facility, kind)
        if key in self._exam_keys:
            self._repeated(row, (findings, months, row.note), self._exam_keys[key])
            return
        self._exam_keys[key] = (findings, months, row.note)
        self._rows += 1
        self._exams.append((row.patient, row.date, row.facility, kind, months, row.note, findings))

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
        self._rows += 1
        self._transfers.append((row.patient, row.from_facility, row.to_facility))

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
    if row.kind is not None and row.kind not in _KINDS:
        return f"unknown exam kind {row.kind!r}; use one of {', '.join(KINDS)}"
    try:
        check_text(row.note, "note", note=True)
        for finding in row.findings:
            check_descriptors(finding.morphology, finding.distribution, finding.size_class)
        rules.check_follow_up_months(row.follow_up_months)
        if today is not None:
            rules.check_exam_date(row.date, today)
    except ValueError as exc:
        return str(exc)
    return None
