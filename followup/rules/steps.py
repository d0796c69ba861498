"""What a breast's latest assessment calls for next: the §1 defaults, the §3 short-interval
protocol and the radiologist's interval (§2). The biopsy rules of §4 are in
:mod:`followup.rules.biopsy`; :func:`breast_plan` puts both together for one breast.

Every step carries the reason that produced it, naming the exam it counts from.
"""

from __future__ import annotations

from datetime import date, timedelta

from followup.rules import biopsy as biopsy_rules
from followup.rules.breasts import Course
from followup.rules.categories import ACTION_OF, URGENCY, Category
from followup.rules.dates import add_months
from followup.rules.model import BREASTS, BreastPlan, Exam, Finding, applies_to, make_breast_plan
from followup.rules.policy import Policy
from followup.rules.vocabulary import Laterality
from followup.rules.wording import where

_ORDINALS = ("first", "second", "third")
# Members as plain names for this hot path (an enum class attribute is slow on Python 3.11).
_NEGATIVE, _BENIGN, _PROBABLY_BENIGN = Category.NEGATIVE, Category.BENIGN, Category.PROBABLY_BENIGN
_INCOMPLETE, _INCOMPLETE_PRIORS = Category.INCOMPLETE, Category.INCOMPLETE_PRIORS
_KNOWN_MALIGNANCY, _BILATERAL = Category.KNOWN_MALIGNANCY, Laterality.BILATERAL
_NO_INTERVAL = ("biopsy", "treatment")  # §4: an interval there raises interval-needs-review

Step = tuple[date | None, Laterality, str]  # due, laterality, reason


def breast_plan(course: Course, policy: Policy) -> BreastPlan:
    """One breast's plan: what its latest record calls for (a biopsy result no later exam
    followed, §4, else its latest exam, §1-§3), unless something still open on it is more
    urgent (§4: an open biopsy recommendation, a result still pending); between two of the
    same urgency, the one due first (a recommendation keeps its original due date)."""
    exam, finding, biopsy = course.exam, course.finding, course.biopsy
    if biopsy is None and course.opened is None:  # nearly every breast: nothing else is open
        assert exam is not None and finding is not None
        return exam_step(course, exam, finding, policy)
    if course.biopsy_governs and (finding is None or finding.category is not _KNOWN_MALIGNANCY):
        # Known malignancy stays treatment whatever biopsy follows it: only a later exam of
        # the breast assesses it otherwise.
        assert biopsy is not None
        best = biopsy_rules.result_step(course, biopsy, policy)
    else:
        assert exam is not None and finding is not None
        best = exam_step(course, exam, finding, policy)
    if best.action == "treatment":
        return best
    for candidate in (
        biopsy_rules.open_recommendation_step(course, policy),
        biopsy_rules.pending_result_step(course, policy),
    ):
        if candidate is not None and _before(candidate, best):
            best = candidate
    return best


def _before(candidate: BreastPlan, best: BreastPlan) -> bool:
    urgency, current = URGENCY[candidate.action or ""], URGENCY[best.action or ""]
    if urgency != current:
        return urgency > current
    return candidate.due is not None and best.due is not None and candidate.due < best.due


def exam_step(course: Course, exam: Exam, finding: Finding, policy: Policy) -> BreastPlan:
    """§1 defaults by category, §3 for probably benign, and the radiologist's interval (§2;
    never for a biopsy or treatment: §4)."""
    category = finding.category
    side = BREASTS[course.breast]
    action = ACTION_OF[category]
    if category is _KNOWN_MALIGNANCY:  # no side to image: the treating team takes over
        due, laterality, reason = (
            None,
            None,
            (
                f"known malignancy recorded on {where(exam)}: out of interval tracking; "
                "the treating team sets the next steps"
            ),
        )
    elif category is _PROBABLY_BENIGN:
        due, laterality, reason = _probably_benign(course.episode_length, exam, side, policy)
    else:
        due, laterality, reason = _default(exam, finding, side, policy)
    months = exam.follow_up_months
    if months is not None and action not in _NO_INTERVAL and _interval_applies(exam, side):
        due = add_months(exam.date, months)
        reason = (
            f"radiologist's recommendation: return {months} months after {where(exam)} "
            f"(instead of the default for {finding.label})"
        )
    first = course.episode_first
    return make_breast_plan(  # every BreastPlan field, in order
        (
            side,
            action,
            due,
            laterality,
            reason,
            category,
            finding.subdivision,
            exam.id,
            exam.date,
            exam.facility,
            first.date if first is not None else None,
            course.episode_length or None,
            course.opened is not None,
            None,
            None,
        )
    )


def _default(exam: Exam, finding: Finding, side: Laterality, policy: Policy) -> Step:
    """§1 table: incomplete 30 days, prior films 30 days, biopsy 30 days, routine 12 months."""
    category = finding.category
    if category is _NEGATIVE or category is _BENIGN:
        months = policy.routine_months
        return (
            add_months(exam.date, months),
            _BILATERAL,
            f"{category}: routine screening {months} months after {where(exam)}",
        )
    if category is _INCOMPLETE:
        days = policy.incomplete_days
        return (
            exam.date + timedelta(days=days),
            side,
            f"incomplete: additional imaging within {days} days of {where(exam)}",
        )
    if category is _INCOMPLETE_PRIORS:
        days = policy.prior_films_days
        return (
            exam.date + timedelta(days=days),
            side,
            f"incomplete, needs prior mammograms: prior films to compare within {days} days "
            f"of {where(exam)}",
        )
    days = policy.biopsy_days  # suspicious, highly suspicious
    return (
        exam.date + timedelta(days=days),
        side,
        f"{finding.label}: biopsy advised within {days} days of {where(exam)}",
    )


def _probably_benign(step: int, exam: Exam, side: Laterality, policy: Policy) -> Step:
    """§3: 6 months on that breast, then 6 bilateral, then 12, then every 12."""
    protocol = policy.probably_benign_months
    months = protocol[step - 1] if step <= len(protocol) else policy.probably_benign_later_months
    name = f"{_ORDINALS[step - 1]} follow-up" if step <= len(_ORDINALS) else f"follow-up {step}"
    return (
        add_months(exam.date, months),
        side if step == 1 else _BILATERAL,
        f"probably benign: {name} {months} months after {where(exam)}",
    )


def _interval_applies(exam: Exam, side: Laterality) -> bool:
    """§2: the radiologist's interval sets the due date of the breast (or breasts) of the
    exam's most worrisome finding; a finding without a side takes every breast imaged."""
    top = max(f.worry for f in exam.findings)
    return any(f.worry == top and applies_to(f, side, exam.imaged) for f in exam.findings)
