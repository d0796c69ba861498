"""The biopsy flags of clinical-rules.md §4 and §6: biopsy-recommended, biopsy-outstanding,
discordant-biopsy, high-risk-lesion and interval-needs-review, in the staff's voice and the
patient's. One flag per code: when both breasts call for it, one message names both."""

from __future__ import annotations

from collections.abc import Sequence

from followup.rules.breasts import Course
from followup.rules.model import BREASTS, BreastPlan, Exam, Flag
from followup.rules.vocabulary import BiopsyResult, ExamKind
from followup.rules.wording import (
    ACTION_WORDS,
    BREAST,
    biopsy_where,
    breast,
    breasts_text,
    day,
    sentence,
    your_breast,
)

_BENIGN, _HIGH_RISK = BiopsyResult.BENIGN, BiopsyResult.HIGH_RISK


def biopsy_recommended_flag(opened: Sequence[Course], plans: Sequence[BreastPlan]) -> Flag:
    """§6: a breast has an open biopsy recommendation; a second opinion is her right."""
    due = {p.side: p.due for p in plans}

    def advised(course: Course) -> str:
        exam, finding = course.opened, course.opened_finding
        assert exam is not None and finding is not None
        when = due.get(BREASTS[course.breast])
        by = f", to be done by {day(when)}" if when else ""
        where = f"{day(exam.date)} at {exam.facility} ({finding.label})"
        return f"a biopsy of {BREAST} was advised on {where}{by}"

    staff, yours = breasts_text(opened, advised)
    return Flag(
        "biopsy-recommended",
        f"{sentence(staff)}: book it promptly and record the result with `followup biopsy add`. "
        "A second opinion (another radiologist reading the images) is always the patient's "
        "right.",
        f"{sentence(yours)}: please book it promptly. A second opinion (another radiologist "
        "reading your images) is always your right: you may ask for one.",
    )


def biopsy_outstanding_flag(late: Sequence[Course]) -> Flag:
    """§6: a recommendation is still open although a later screening exam (or one whose kind
    is not recorded) was recorded: say when and where the biopsy was advised."""
    parts, yours = [], []
    for course in late:
        exam, later, side = course.opened, course.outstanding, BREASTS[course.breast]
        assert exam is not None and later is not None
        what = "screening exam" if later.kind is ExamKind.SCREENING else "exam (kind not recorded)"
        parts.append(
            f"the biopsy of {breast(side)} advised on {day(exam.date)} at {exam.facility} has "
            f"no result on record, although a later {what} of {day(later.date)} at "
            f"{later.facility} was recorded"
        )
        yours.append(
            f"no result is on record for the biopsy of {your_breast(side)} advised on "
            f"{day(exam.date)} at {exam.facility}, although you had a mammogram on "
            f"{day(later.date)}"
        )
    places_ = " or ".join(dict.fromkeys(c.opened.facility for c in late if c.opened))
    return Flag(
        "biopsy-outstanding",
        f"{sentence('; '.join(parts))}: a screening does not replace the biopsy. Book the "
        "biopsy or record its result with `followup biopsy add`; if the later exam was a "
        "diagnostic work-up, record its kind as diagnostic.",
        f"{sentence('; '.join(yours))}. A screening mammogram does not replace the biopsy: "
        f"ask {places_} to book it, or send us the result if it was done.",
    )


def needs_surgeon(course: Course) -> bool:
    """§4: a high-risk lesion, or a benign result discordant with the imaging (or without its
    concordance), calls for a surgical consultation."""
    biopsy = course.biopsy
    assert biopsy is not None
    return biopsy.result is _HIGH_RISK or (biopsy.result is _BENIGN and not biopsy.concordant)


def biopsy_result_flags(surgeon: Sequence[Course], plans: Sequence[BreastPlan]) -> list[Flag]:
    """§6: ``discordant-biopsy`` and ``high-risk-lesion`` (one of each at most, naming every
    breast concerned), while that biopsy decides the breast's step (no later exam of it)."""
    due = {p.side: p.due for p in plans}

    def result(course: Course, high_risk: bool) -> str:
        biopsy = course.biopsy
        assert biopsy is not None
        found = f" ({biopsy.pathology})" if biopsy.pathology else ""
        what = f"found a high-risk lesion{found}" if high_risk else f"was benign{found}"
        return f"the biopsy of {BREAST} on {biopsy_where(biopsy)} {what}"

    def by(courses: list[Course]) -> str:
        dues = [when for c in courses if (when := due.get(BREASTS[c.breast])) is not None]
        return f" by {day(min(dues))}" if dues else ""

    flags = []
    high = [c for c in surgeon if c.biopsy is not None and c.biopsy.result is _HIGH_RISK]
    discordant = [c for c in surgeon if c not in high]
    if discordant:
        staff, yours = breasts_text(discordant, lambda c: result(c, False))
        when = by(discordant)
        flags.append(
            Flag(
                "discordant-biopsy",
                f"{sentence(staff)}, but discordant with the imaging (or its concordance is "
                f"not recorded): book a surgical consultation (repeat biopsy or excision){when}.",
                f"{sentence(yours)}, but this result does not match what the images showed: "
                f"ask for an appointment with a breast surgeon{when} to talk about a repeat "
                "biopsy or removing the area.",
            )
        )
    if high:
        staff, yours = breasts_text(high, lambda c: result(c, True))
        when = by(high)
        flags.append(
            Flag(
                "high-risk-lesion",
                f"{sentence(staff)}: book a surgical consultation (repeat biopsy or "
                f"excision){when}.",
                f"{sentence(yours)}: it is not cancer, but a breast surgeon should see it; ask "
                f"for an appointment{when}.",
            )
        )
    return flags


def contradictory_interval(exam: Exam) -> bool:
    """§4: a follow-up interval on an exam assessed suspicious, highly suspicious or known
    malignancy (its most worrisome finding)."""
    top = exam.governing
    return top is not None and top.category.action in ("biopsy", "treatment")


def interval_review_flag(exam: Exam) -> Flag:
    """§6 ``interval-needs-review``: a contradictory report; the plan stays biopsy or
    treatment."""
    top = exam.governing
    assert top is not None and top.category.action is not None
    months, keeps = exam.follow_up_months, ACTION_WORDS[top.category.action]
    a_step = "a biopsy" if keeps == "biopsy" else keeps
    return Flag(
        "interval-needs-review",
        f"The exam of {day(exam.date)} at {exam.facility} is assessed {top.label} but also "
        f"records a follow-up interval of {months} months, a contradictory report: ask the "
        f"radiologist to confirm; the plan stays {keeps}.",
        f"Your exam of {day(exam.date)} at {exam.facility} calls for {a_step} and also for a "
        f"follow-up in {months} months: ask {exam.facility} or your doctor to confirm which is "
        f"meant. Until then the {keeps} stays on your plan.",
    )
