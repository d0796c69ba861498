"""Input rules every way in shares (``exam add``, imports): one place, one wording."""

from __future__ import annotations

from datetime import date

from followup.rules.dates import check_exam_date
from followup.rules.model import Exam
from followup.rules.text import check_text

MIN_FOLLOW_UP_MONTHS = 1
MAX_FOLLOW_UP_MONTHS = 36


def check_facility(name: str) -> str:
    """A facility is required: without it the comparison flags cannot work. Its name is text
    without control characters (rules.text)."""
    check_text(name, "facility")
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValueError("the facility is empty; give the name of the place the exam was done")
    return cleaned


def check_follow_up_months(months: int | None) -> int | None:
    """The radiologist's interval must be 1 to 36 months; anything else is a typo."""
    if months is not None and not MIN_FOLLOW_UP_MONTHS <= months <= MAX_FOLLOW_UP_MONTHS:
        raise ValueError(
            f"a follow-up interval of {months} months is outside "
            f"{MIN_FOLLOW_UP_MONTHS}-{MAX_FOLLOW_UP_MONTHS}; give the months the report recommends"
        )
    return months


def validate_exam(exam: Exam, today: date) -> Exam:
    """Raise ValueError for an exam no mammogram could have produced."""
    check_exam_date(exam.date, today)
    check_facility(exam.facility)
    check_follow_up_months(exam.follow_up_months)
    if not exam.findings:
        raise ValueError("the exam has no assessment; give its category")
    for finding in exam.findings:
        check_descriptors(finding.morphology, finding.distribution)
    return exam


def check_descriptors(morphology: str | None, distribution: str | None) -> None:
    """Descriptors are free text; like every stored text, without control characters."""
    check_text(morphology, "morphology")
    check_text(distribution, "distribution")
