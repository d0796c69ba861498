"""Biopsy and pathology (clinical-rules.md §4): the open recommendation and the results table.

Results and what follows, counted from the biopsy date (default, policy key):

=========  ===========  ============================  ============================================
result     concordance  action                        due
=========  ===========  ============================  ============================================
pending    -            ``pathology-result``          + 10 days (``pathology_result_days``)
benign     concordant   ``short-interval-follow-up``  + 6 months (``post_biopsy_months``)
benign     discordant   ``surgical-consultation``     + 30 days (``surgical_consultation_days``)
high-risk  -            ``surgical-consultation``     + 30 days (``surgical_consultation_days``)
malignant  -            ``treatment``                 none
=========  ===========  ============================  ============================================

A benign result without its concordance is refused by validation; should one reach the rules
anyway it is treated as discordant, the reading that keeps the finding in sight.
"""

from __future__ import annotations

from datetime import date, timedelta

from followup.rules.breasts import Course
from followup.rules.dates import add_months
from followup.rules.model import BREASTS, Biopsy, BreastPlan, Exam, Finding
from followup.rules.policy import Policy
from followup.rules.vocabulary import BiopsyResult
from followup.rules.wording import biopsy_where, where


def result_step(course: Course, biopsy: Biopsy, policy: Policy) -> BreastPlan:
    """The §4 results table, for a biopsy that no later exam of the breast followed."""
    result = biopsy.result
    if result is BiopsyResult.PENDING:
        return pending_step(course, biopsy, policy)
    found = f"{biopsy_where(biopsy)}" + (
        f", pathology: {biopsy.pathology}" if biopsy.pathology else ""
    )
    if result is BiopsyResult.MALIGNANT:
        reason = (
            f"malignant biopsy on {found}: out of interval tracking; "
            "the treating team sets the next steps"
        )
        return _step(course, biopsy, "treatment", None, reason)
    if result is BiopsyResult.BENIGN and biopsy.concordant:
        months = policy.post_biopsy_months
        reason = f"benign concordant biopsy on {found}: imaging follow-up {months} months later"
        return _step(
            course, biopsy, "short-interval-follow-up", add_months(biopsy.date, months), reason
        )
    days = policy.surgical_consultation_days
    if result is BiopsyResult.HIGH_RISK:
        why = f"high-risk lesion on biopsy {found}"
    elif biopsy.concordant is None:
        why = f"benign biopsy on {found}, its concordance not recorded (taken as discordant)"
    else:
        why = f"benign biopsy on {found}, discordant with the imaging"
    return _step(
        course,
        biopsy,
        "surgical-consultation",
        biopsy.date + timedelta(days=days),
        f"{why}: surgical consultation (repeat biopsy or excision) within {days} days",
    )


def pending_step(course: Course, biopsy: Biopsy, policy: Policy) -> BreastPlan:
    """A biopsy whose result is not recorded yet: the result is expected within 10 days."""
    days = policy.pathology_result_days
    return _step(
        course,
        biopsy,
        "pathology-result",
        biopsy.date + timedelta(days=days),
        f"biopsy on {biopsy_where(biopsy)}: pathology result expected within {days} days; "
        "record it when it comes",
    )


def pending_result_step(course: Course, policy: Policy) -> BreastPlan | None:
    """A pending result stays in sight after a later exam of the breast (§4 lets that exam
    resume the ordinary rules, but a result that never came is not a result): the breast keeps
    ``pathology-result`` unless something more urgent is due. Chosen so that an unrecorded
    pathology result never drops out of sight."""
    pending = course.pending
    if pending is None or course.biopsy_governs:
        return None
    return pending_step(course, pending, policy)


def open_recommendation_step(course: Course, policy: Policy) -> BreastPlan | None:
    """§4: while the recommendation is open, the breast keeps ``biopsy`` with its original due
    date, whatever later screening exams found."""
    opened, finding = course.opened, course.opened_finding
    if opened is None or finding is None:
        return None
    days = policy.biopsy_days
    reason = f"{finding.label}: biopsy advised within {days} days of {where(opened)}"
    later = course.outstanding
    if later is not None:
        reason += f"; no result on record, and the later exam of {where(later)} does not replace it"
    return _step(
        course, None, "biopsy", opened.date + timedelta(days=days), reason, (opened, finding)
    )


def _step(
    course: Course,
    biopsy: Biopsy | None,
    action: str,
    due: date | None,
    reason: str,
    source: tuple[Exam, Finding] | None = None,
) -> BreastPlan:
    """A step of this breast, with the facts of the exam it counts from (``source``; by
    default the breast's latest exam, if any) and of the biopsy behind it. Treatment has no
    side to image (its laterality is None, as for known malignancy)."""
    exam, finding = source or (course.exam, course.finding)
    side = BREASTS[course.breast]
    return BreastPlan(
        side=side,
        action=action,
        due=due,
        laterality=None if action == "treatment" else side,
        reason=reason,
        category=finding.category if finding is not None else None,
        subdivision=finding.subdivision if finding is not None else None,
        exam_id=exam.id if exam is not None else None,
        exam_date=exam.date if exam is not None else None,
        facility=exam.facility if exam is not None else (biopsy.facility if biopsy else None),
        episode_start=None,
        episode_step=None,
        biopsy_open=course.opened is not None,
        biopsy_id=biopsy.id if biopsy is not None else None,
        biopsy_date=biopsy.date if biopsy is not None else None,
    )
