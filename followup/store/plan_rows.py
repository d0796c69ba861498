"""``plans`` and ``plan_flags`` rows from exams as the bulk loader buffers them: pure, no database.

The loader plans the patients a batch creates from the rows it has just written, without
reading them back: in its own process, or in the plan worker (:mod:`followup.store.plan_worker`)
once a load is big enough. The rows equal what :func:`followup.store.plans.store_plan` writes
for the same patients (a test compares them): the same inputs as
:mod:`followup.store.rules_inputs` reads back (stored facility spelling, exam ids, findings in
row order), made by its converters, and the same columns.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from operator import itemgetter
from typing import Any, NamedTuple

from followup import rules
from followup.store.models import PlanRecord
from followup.store.plans import plan_values
from followup.store.rules_inputs import FindingCache, PatientInputs, exam_value, transfer_value

PLAN_COLUMNS = [column.name for column in PlanRecord.__table__.columns]
_DATE_COLUMNS = [
    i for i, c in enumerate(PlanRecord.__table__.columns) if c.type.python_type is date
]
_plan_row = itemgetter(*PLAN_COLUMNS)  # plan_values() + patient_id -> a plans row

# One exam of a patient new to the database: patient pk, exam id, date, facility id, kind,
# months, imaged, density, radiologist, findings' columns (category, laterality, morphology,
# distribution, size class, subdivision).
PlanExam = tuple[
    int,
    int,
    date,
    int,
    str | None,
    int | None,
    str,
    str | None,
    str | None,
    tuple[tuple[str | None, ...], ...],
]
PlanTransfer = tuple[int, int, int, date]  # patient pk, from and to facility id, date
PlanBiopsy = tuple[int, rules.Biopsy]  # patient pk, biopsy


class PlanRows(NamedTuple):
    """What to insert: ``plans`` rows (in PLAN_COLUMNS order) and ``plan_flags`` rows."""

    plans: list[list[Any]]
    flags: list[tuple[int, str, str]]


def rows_for(
    plans: Iterable[tuple[int, rules.Plan]],
    facility_id: Callable[[str], int],
    day: Callable[[date], Any],
) -> PlanRows:
    """The rows of computed plans; ``facility_id`` maps a stored facility spelling to its id
    and ``day`` turns a date into what the driver takes."""
    rows = PlanRows([], [])
    for patient_pk, plan in plans:
        facility = facility_id(plan.facility) if plan.facility else None
        values = plan_values(plan, facility)
        values["patient_id"] = patient_pk
        row = list(_plan_row(values))
        for i in _DATE_COLUMNS:
            if row[i] is not None:
                row[i] = day(row[i])
        rows.plans.append(row)
        rows.flags.extend((patient_pk, f.code, f.message) for f in plan.flags)
    return rows


def plan_batch(
    exams: Sequence[PlanExam],
    transfers: Sequence[PlanTransfer],
    biopsies: Sequence[PlanBiopsy],
    names: dict[int, str],
    policy: rules.Policy,
    day: Callable[[date], Any],
    findings: FindingCache,
) -> PlanRows:
    """Plans of the patients of ``exams``, ``transfers`` and ``biopsies`` (all of each one's
    records), by patient pk. Rules objects are built a patient at a time, so few are alive at
    once."""
    by_patient: dict[int, list[PlanExam]] = defaultdict(list)
    for exam in exams:
        by_patient[exam[0]].append(exam)
    films: dict[int, set[tuple[int, int, date]]] = defaultdict(set)
    for patient_pk, source, target, sent in transfers:
        films[patient_pk].add((source, target, sent))
    cores: dict[int, list[rules.Biopsy]] = defaultdict(list)
    for patient_pk, biopsy in biopsies:
        cores[patient_pk].append(biopsy)

    def plans() -> Iterable[tuple[int, rules.Plan]]:
        for patient_pk in sorted(by_patient.keys() | films.keys() | cores.keys()):
            history = []
            for (
                _,
                exam_id,
                day_,
                place,
                kind,
                months,
                imaged,
                density,
                reader,
                columns,
            ) in by_patient[patient_pk]:
                described = (kind, months, imaged, density, reader)
                exam = exam_value(exam_id, day_, names[place], *described, map(findings, columns))
                history.append(exam)
            moved = [transfer_value(names[s], names[t], d) for s, t, d in films[patient_pk]]
            inputs = PatientInputs(history, moved, cores.get(patient_pk, ()))
            yield patient_pk, inputs.plan(policy)

    return rows_for(plans(), {name: id_ for id_, name in names.items()}.__getitem__, day)
