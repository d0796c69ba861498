"""The follow-up rules of clinical-rules.md: exams, biopsies, film transfers and policy in; a
plan out.

A plan is computed from the *set* of records (sorted here, so the order of entry never
matters) and does not depend on the day it is read: that is what lets the store keep it and
the reports read it with a range scan. Only ``overdue`` and ``lost-to-follow-up`` depend on the
as-of date; :func:`dated_flags` adds them when a plan is read.

The work, in order: the exams in date order (§5) → each breast's course (§2-§4,
:mod:`followup.rules.breasts`) → each breast's plan (:mod:`followup.rules.steps`,
:mod:`followup.rules.biopsy`) → the patient's next step and ``also``
(:mod:`followup.rules.combine`) → the flags (:mod:`followup.rules.flags`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from operator import attrgetter

from followup.rules import flags as rule_flags
from followup.rules.breasts import Course
from followup.rules.breasts import courses as breast_courses
from followup.rules.categories import URGENCY
from followup.rules.combine import mirrored, next_step
from followup.rules.film_flags import comparison_flags
from followup.rules.flags import FLAG_CODES, dated_flags, days_overdue, sorted_flags
from followup.rules.model import (
    Assessment,
    Biopsy,
    BreastPlan,
    Exam,
    FilmTransfer,
    Finding,
    Flag,
    Plan,
)
from followup.rules.policy import Policy
from followup.rules.steps import breast_plan, exam_step
from followup.rules.vocabulary import ExamKind

__all__ = [
    "ACTIONS",
    "FLAG_CODES",
    "assess",
    "chronological",
    "dated_flags",
    "days_overdue",
    "governing_finding",
    "make_plan",
]

# Every action code, most urgent first (§2).
ACTIONS = tuple(sorted(URGENCY, key=URGENCY.__getitem__, reverse=True))

_NO_EXAMS = Plan(action=None, due=None, laterality=None, reason="no exams recorded yet")
_NOT_ASSESSED = Plan(
    action=None,
    due=None,
    laterality=None,
    reason="no assessed exam recorded yet (post-procedure exams never set a plan)",
)


def governing_finding(exam: Exam) -> Finding:
    """The finding that governs the exam as a whole (see :attr:`Exam.governing`)."""
    if exam.governing is None:
        raise ValueError("the exam has no assessment; give its category")
    return exam.governing


def chronological(exams: Iterable[Exam]) -> list[Exam]:
    """Exams in the order §5 reads them: by date; on one day, screening (or kind not recorded)
    before diagnostic, and among the same kind the most worrisome last; then by everything
    else they say, so entry order never matters.

    The full key is built only when two exams share a day: with distinct days (nearly every
    history) the date order is that order, and bulk loads plan millions of histories."""
    history = sorted(exams, key=_day)
    previous = None
    for exam in history:
        if exam.date == previous:
            return sorted(history, key=_order)
        previous = exam.date
    return history


_day = attrgetter("date")


def _order(exam: Exam) -> tuple[object, ...]:
    finding = governing_finding(exam)
    return (
        exam.date,
        exam.kind is ExamKind.DIAGNOSTIC,
        finding.worry,
        exam.facility_key,
        exam.imaged.value,
        finding.laterality.value if finding.laterality else "",
        exam.kind.value if exam.kind else "",
        exam.follow_up_months or 0,
        sorted(
            (f.worry, f.laterality or "", f.morphology or "", f.distribution or "")
            for f in exam.findings
        ),
        exam.id if exam.id is not None else -1,
        exam.facility,  # duplicates (one place spelled two ways) too: the set decides
        exam.density or "",
        exam.radiologist or "",
        sorted(f.size_class or "" for f in exam.findings),
    )


def _biopsy_order(biopsy: Biopsy) -> tuple[object, ...]:
    """Biopsies by date; on one day by result (pending first, malignant last), then id."""
    return (
        biopsy.date,
        _RESULT_RANK[biopsy.result.value],
        biopsy.concordant is not True,
        biopsy.id if biopsy.id is not None else -1,
        biopsy.facility or "",
        biopsy.pathology or "",
    )


_RESULT_RANK = {"pending": 0, "benign": 1, "high-risk": 2, "malignant": 3}


def make_plan(
    exams: Sequence[Exam],
    transfers: Sequence[FilmTransfer],
    policy: Policy,
    biopsies: Sequence[Biopsy] = (),
) -> Plan:
    """The next follow-up for one patient, with its reason and the date-independent flags."""
    if not exams and not biopsies:
        return _NO_EXAMS
    films = chronological(exams)
    ordered = sorted(biopsies, key=_biopsy_order) if len(biopsies) > 1 else biopsies
    left, right = breast_courses(films, ordered)
    plans = _breast_plans(left, right, policy)
    if not plans:
        return _NOT_ASSESSED
    step, also = next_step(plans)
    return Plan(  # positional, in Plan's field order: one is built per patient planned
        step.action,
        step.due,
        step.laterality,
        step.reason,
        _plan_flags(films, (left, right), plans, transfers, policy),
        step.exam_id,
        step.exam_date,
        step.facility,
        step.category,
        step.episode_start,
        step.episode_step,
        also,
        plans,
        step.subdivision,
        step.biopsy_id,
    )


def _breast_plans(
    left: Course | None, right: Course | None, policy: Policy
) -> tuple[BreastPlan, ...]:
    """Each breast's plan (§2), left first; a breast nothing was recorded about has none.
    Two breasts left in the same state by the same records get the same step, worked out once
    (a bilateral negative screening, the commonest record of all)."""
    if left is None or right is None:
        return tuple(breast_plan(c, policy) for c in (left, right) if c is not None)
    plan = breast_plan(left, policy)
    if left.same_state(right):
        return plan, mirrored(plan)
    exam, finding = right.exam, right.finding
    plain = right.biopsy is None and right.opened is None  # breast_plan's first case, inline
    if plain and exam is not None and finding is not None:
        return plan, exam_step(right, exam, finding, policy)
    return plan, breast_plan(right, policy)


def _plan_flags(
    films: Sequence[Exam],
    courses: tuple[Course | None, Course | None],
    plans: Sequence[BreastPlan],
    transfers: Sequence[FilmTransfer],
    policy: Policy,
) -> tuple[Flag, ...]:
    """Every date-independent flag of §6 that the records raise, in the order of §6 (each
    group is built in that order, so no sort is needed)."""
    found = comparison_flags(films, transfers, policy)
    found += rule_flags.breast_flags(courses, plans, films, transfers, policy)
    return tuple(found)


def assess(
    exams: Sequence[Exam],
    transfers: Sequence[FilmTransfer],
    policy: Policy,
    as_of: date,
    biopsies: Sequence[Biopsy] = (),
) -> Assessment:
    """The plan read on ``as_of``: every flag in force that day, in the order of §6."""
    plan = make_plan(exams, transfers, policy, biopsies)
    flags = sorted_flags((*plan.flags, *dated_flags(plan, as_of, policy)))
    return Assessment(plan=plan, as_of=as_of, flags=flags)
