"""What the rules read about patients, from the database: one query per record type, grouped
per patient, and one converter from stored columns to the rules' values.

Every plan the store computes starts here, whoever asks: :func:`followup.store.plans.refresh_plan`
and ``status`` (one patient), the bulk loader and ``recompute`` (a chunk of patients),
``stats`` (every probably-benign patient, streamed). They differ only in the
:data:`Choice` of patients they pass. The bulk loader plans the patients it has just created
from the rows it wrote, without reading them back (:mod:`followup.store.plan_rows`), with the
same converters (:func:`exam_value`, :class:`FindingCache`, :func:`transfer_value`), so its
plans equal ``refresh_plan``'s.

Biopsies (issue 13) came that way: one more query (:func:`biopsies_by_patient`) and converter
(:func:`biopsy_value`) here and one more field of :class:`PatientInputs`, which every caller
passes on through :meth:`PatientInputs.plan`; an exam's new columns (imaged, density,
radiologist, a finding's subdivision) and a transfer's date are columns of the queries and
arguments of the converters.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import Connection, Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from followup import rules
from followup.rules.tracking import latest_record
from followup.store.models import Biopsy, Exam, Facility, FilmTransfer, Finding

FINDING_CACHE = 10_000
KIND_OF: dict[str | None, rules.ExamKind | None] = {
    None: None,
    **{k.value: k for k in rules.ExamKind},
}
SIDE_OF: dict[str | None, rules.Laterality | None] = {
    None: None,
    **{s.value: s for s in rules.Laterality},
}
CATEGORY_OF = {category.value: category for category in rules.Category}
SUBDIVISION_OF: dict[str | None, rules.Subdivision | None] = {
    None: None,
    **{s.value: s for s in rules.Subdivision},
}
IMAGED_OF = {i.value: i for i in rules.Imaged}
DENSITY_OF: dict[str | None, rules.Density | None] = {
    None: None,
    **{d.value: d for d in rules.Density},
}

AnySelect = Select[*tuple[Any, ...]]  # a query of any columns
# Adds to a query of one record type (joined as it needs) the condition that chooses the
# patients wanted; given the query and that record's patient primary key column.
Choice = Callable[[AnySelect, InstrumentedAttribute[int]], AnySelect]

# The columns the rules read, in the order of exam_value's and finding_value's arguments
# (_grouped unpacks them: a new column goes there too).
_EXAM_COLUMNS = (
    Exam.id,
    Exam.date,
    Facility.name,
    Exam.kind,
    Exam.follow_up_months,
    Exam.imaged,
    Exam.density,
    Exam.radiologist,
)
_FINDING_COLUMNS = (
    Finding.category,
    Finding.laterality,
    Finding.morphology,
    Finding.distribution,
    Finding.size_class,
    Finding.subdivision,
)


class PatientInputs(NamedTuple):
    """Everything the rules read about one patient."""

    exams: Sequence[rules.Exam]
    transfers: Sequence[rules.FilmTransfer]
    biopsies: Sequence[rules.Biopsy] = ()

    def plan(self, policy: rules.Policy) -> rules.Plan:
        return rules.make_plan(self.exams, self.transfers, policy, self.biopsies)

    def assess(self, policy: rules.Policy, as_of: date) -> rules.Assessment:
        return rules.assess(self.exams, self.transfers, policy, as_of, self.biopsies)

    def latest_record(self) -> date | None:
        """Her latest exam's or biopsy's date: what reopens her tracking and answers her
        appointment (clinical-rules.md §7)."""
        return latest_record(self.exams, self.biopsies)


NOTHING = PatientInputs((), (), ())  # a patient with no records (her plan: record an exam)


def finding_value(
    category: str,
    laterality: str | None,
    morphology: str | None,
    distribution: str | None,
    size_class: str | None,
    subdivision: str | None,
) -> rules.Finding:
    """A stored finding (canonical text) as the rules see it."""
    return rules.Finding(
        category=CATEGORY_OF[category],
        laterality=SIDE_OF[laterality],
        morphology=morphology,
        distribution=distribution,
        size_class=size_class,
        subdivision=SUBDIVISION_OF[subdivision],
    )


class FindingCache:
    """Stored findings as the rules see them, each distinct one built once: findings repeat a
    lot and the rules' values are immutable. Bounded, as descriptors are free text."""

    def __init__(self) -> None:
        self._cache: dict[tuple[Any, ...], rules.Finding] = {}

    def __call__(self, columns: tuple[Any, ...]) -> rules.Finding:
        """The finding of ``columns``, in the order of :func:`finding_value`'s arguments."""
        finding = self._cache.get(columns)
        if finding is None:
            if len(self._cache) >= FINDING_CACHE:
                self._cache.clear()
            finding = self._cache[columns] = finding_value(*columns)
        return finding


def exam_value(
    exam_id: int,
    day: date,
    facility: str,
    kind: str | None,
    months: int | None,
    imaged: str,
    density: str | None,
    radiologist: str | None,
    findings: Iterable[rules.Finding],
) -> rules.Exam:
    """A stored exam (stored facility spelling, kind, imaged and density as text) as the
    rules see it."""
    return rules.Exam(
        day,
        facility,
        tuple(findings),
        KIND_OF[kind],
        months,
        exam_id,
        IMAGED_OF[imaged],
        DENSITY_OF[density],
        radiologist,
    )


def transfer_value(from_facility: str, to_facility: str, day: date) -> rules.FilmTransfer:
    """A stored film transfer (stored facility spellings, its date) as the rules see it."""
    return rules.FilmTransfer(from_facility, to_facility, day)


def biopsy_value(
    biopsy_id: int | None,
    day: date,
    side: str,
    result: str,
    concordant: Any,
    facility: str | None,
    pathology: str | None,
) -> rules.Biopsy:
    """A stored biopsy (canonical text, the facility's stored name) as the rules see it; a
    concordance read as 0/1 (SQLite) is a bool. The bulk loader checks a biopsy row before
    it is stored (no id yet) as this reads it back."""
    return rules.Biopsy(
        day,
        rules.Laterality(side),
        rules.BiopsyResult(result),
        None if concordant is None else bool(concordant),
        facility,
        pathology,
        biopsy_id,
    )


def biopsy_of_record(biopsy: Biopsy) -> rules.Biopsy:
    """A biopsy already loaded as an ORM object (``biopsy edit`` checks the edited biopsy)."""
    facility = biopsy.facility.name if biopsy.facility else None
    return biopsy_value(
        biopsy.id,
        biopsy.date,
        biopsy.side,
        biopsy.result,
        biopsy.concordant,
        facility,
        biopsy.pathology,
    )


def exam_of_record(exam: Exam) -> rules.Exam:
    """An exam already loaded as an ORM object (``exam edit`` checks the edited exam)."""
    findings = [
        finding_value(*(getattr(f, c.key) for c in _FINDING_COLUMNS)) for f in exam.findings
    ]
    return exam_value(
        exam.id,
        exam.date,
        exam.facility.name,
        exam.kind,
        exam.follow_up_months,
        exam.imaged,
        exam.density,
        exam.radiologist,
        findings,
    )


def of_patient(patient_pk: int) -> Choice:
    """One patient, by primary key."""

    def choose(query: AnySelect, patient: InstrumentedAttribute[int]) -> AnySelect:
        return query.where(patient == patient_pk)

    return choose


def of_patients(patient_pks: Iterable[int]) -> Choice:
    """These patients, by primary key (an import refreshes many plans at once)."""
    wanted = sorted(set(patient_pks))

    def choose(query: AnySelect, patient: InstrumentedAttribute[int]) -> AnySelect:
        return query.where(patient.in_(wanted))

    return choose


def read_inputs(
    db: Session | Connection, choose: Choice, findings: FindingCache | None = None
) -> dict[int, PatientInputs]:
    """The chosen patients' inputs by primary key; patients with no record are left out (their
    inputs are :data:`NOTHING`)."""
    exams = dict(exams_by_patient(db, choose, findings))
    transfers = transfers_by_patient(db, choose)
    biopsies = biopsies_by_patient(db, choose)
    return {
        patient: PatientInputs(
            exams.get(patient, []), transfers.get(patient, []), biopsies.get(patient, [])
        )
        for patient in sorted(exams.keys() | transfers.keys() | biopsies.keys())
    }


def patient_inputs(db: Session | Connection, patient_pk: int) -> PatientInputs:
    """Everything the rules read about one patient."""
    return read_inputs(db, of_patient(patient_pk)).get(patient_pk, NOTHING)


def exams_by_patient(
    db: Session | Connection,
    choose: Choice,
    findings: FindingCache | None = None,
    options: Mapping[str, Any] | None = None,
) -> Iterator[tuple[int, list[rules.Exam]]]:
    """(patient primary key, her exams in date order) for each chosen patient with exams,
    ascending, from one ordered query; ``options`` (execution options) may stream it."""
    query = choose(
        select(Exam.patient_id, *_EXAM_COLUMNS, *_FINDING_COLUMNS)
        .join(Facility, Facility.id == Exam.facility_id)
        .join(Finding, Finding.exam_id == Exam.id),
        Exam.patient_id,
    ).order_by(Exam.patient_id, Exam.date, Exam.id, Finding.id)
    rows = db.execute(query, execution_options=options or {})
    return _grouped(rows, findings or FindingCache())


def _grouped(rows: Iterable[Any], finding: FindingCache) -> Iterator[tuple[int, list[rules.Exam]]]:
    """Rows of one finding each, ordered by patient and exam, as each patient's exams (rows
    unpacked as they come: slicing each of millions of rows would cost more)."""
    patient = 0  # of ``exam``; no patient has 0 as her primary key
    # exam_value's arguments but its findings
    exam: tuple[int, date, str, str | None, int | None, str, str | None, str | None] | None = None
    history: list[rules.Exam] = []
    findings: list[rules.Finding] = []
    for patient_pk, exam_id, day, facility, kind, months, imaged, density, reader, *columns in rows:
        if exam is None or exam_id != exam[0]:
            if exam is not None:
                history.append(exam_value(*exam, findings))
                if patient_pk != patient:
                    yield patient, history
                    history = []
            exam = (exam_id, day, facility, kind, months, imaged, density, reader)
            patient, findings = patient_pk, []
        findings.append(finding(tuple(columns)))
    if exam is not None:
        history.append(exam_value(*exam, findings))
        yield patient, history


def transfers_by_patient(
    db: Session | Connection, choose: Choice
) -> dict[int, list[rules.FilmTransfer]]:
    """The chosen patients' film transfers by primary key (stored facility spellings)."""
    source, target = aliased(Facility), aliased(Facility)
    query = choose(
        select(FilmTransfer.patient_id, source.name, target.name, FilmTransfer.date)
        .join(source, source.id == FilmTransfer.from_facility_id)
        .join(target, target.id == FilmTransfer.to_facility_id),
        FilmTransfer.patient_id,
    ).order_by(FilmTransfer.patient_id, FilmTransfer.id)
    grouped: dict[int, list[rules.FilmTransfer]] = defaultdict(list)
    for patient, from_name, to_name, day in db.execute(query):
        grouped[patient].append(transfer_value(from_name, to_name, day))
    return grouped


def biopsies_by_patient(db: Session | Connection, choose: Choice) -> dict[int, list[rules.Biopsy]]:
    """The chosen patients' biopsies by primary key, in date order (the facility's stored
    name, if one is recorded)."""
    query = choose(
        select(
            Biopsy.patient_id,
            Biopsy.id,
            Biopsy.date,
            Biopsy.side,
            Biopsy.result,
            Biopsy.concordant,
            Facility.name,
            Biopsy.pathology,
        ).outerjoin(Facility, Facility.id == Biopsy.facility_id),
        Biopsy.patient_id,
    ).order_by(Biopsy.patient_id, Biopsy.date, Biopsy.id)
    grouped: dict[int, list[rules.Biopsy]] = defaultdict(list)
    for patient, *columns in db.execute(query):
        grouped[patient].append(biopsy_value(*columns))
    return grouped
