"""Input rules every way in shares (``exam add``, ``biopsy add``, imports): one place, one
wording. Each raises ValueError with a one-line message saying what is wrong and how to fix it.
"""

from __future__ import annotations

from datetime import date

from followup.rules.categories import Category
from followup.rules.dates import check_biopsy_date, check_exam_date
from followup.rules.descriptors import check_descriptors
from followup.rules.model import BREASTS, Biopsy, Exam, Finding
from followup.rules.text import check_text
from followup.rules.vocabulary import BiopsyResult, Imaged, Laterality

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


def check_radiologist(name: str | None) -> str | None:
    """The radiologist's name, spaces tidied; an empty name is no name (None). Like every
    stored text, without control characters (rules.text)."""
    if name is None:
        return None
    check_text(name, "radiologist")
    return " ".join(name.split()) or None


def check_follow_up_months(months: int | None) -> int | None:
    """The radiologist's interval must be 1 to 36 months; anything else is a typo."""
    if months is not None and not MIN_FOLLOW_UP_MONTHS <= months <= MAX_FOLLOW_UP_MONTHS:
        raise ValueError(
            f"a follow-up interval of {months} months is outside "
            f"{MIN_FOLLOW_UP_MONTHS}-{MAX_FOLLOW_UP_MONTHS}; give the months the report recommends"
        )
    return months


def check_finding(finding: Finding, imaged: Imaged = Imaged.BOTH) -> Finding:
    """§1, §2: a BI-RADS 4 subdivision belongs to a suspicious finding only, and a finding
    with a side must be on a breast the exam imaged."""
    if finding.subdivision is not None and finding.category is not Category.SUSPICIOUS:
        raise ValueError(
            f"BI-RADS {finding.subdivision.value} is a subdivision of suspicious, not of "
            f"{finding.category.value}; give the category as {finding.subdivision.value} "
            "or leave the subdivision out"
        )
    side = finding.laterality
    if (
        imaged is not Imaged.BOTH
        and side is not None
        and side.value not in (imaged.value, "bilateral")
    ):
        raise ValueError(
            f"the {finding.category.value} finding is on the {side.value} breast, which this "
            f"exam did not image (it imaged the {imaged.value} breast only); record the exam "
            f"as imaging both breasts, or give the finding's side as {imaged.value}"
        )
    if imaged is not Imaged.BOTH and side is Laterality.BILATERAL:
        raise ValueError(
            f"the {finding.category.value} finding is bilateral, but this exam imaged the "
            f"{imaged.value} breast only; record the exam as imaging both breasts, or give "
            f"the finding's side as {imaged.value}"
        )
    return finding


def validate_exam(exam: Exam, today: date) -> Exam:
    """Raise ValueError for an exam no mammogram could have produced."""
    check_exam_date(exam.date, today)
    check_facility(exam.facility)
    check_follow_up_months(exam.follow_up_months)
    if not exam.findings:
        raise ValueError("the exam has no assessment; give its category")
    for finding in exam.findings:
        check_descriptors(finding.morphology, finding.distribution, finding.size_class)
        check_finding(finding, exam.imaged)
    check_text(exam.radiologist, "radiologist")
    return exam


def validate_biopsy(biopsy: Biopsy, today: date) -> Biopsy:
    """Raise ValueError for a biopsy record the rules of §4 cannot read."""
    check_biopsy_date(biopsy.date, today)
    if biopsy.side not in BREASTS:
        raise ValueError(
            f"a biopsy is of one breast, not {biopsy.side.value}; give its side as left or "
            "right (record a biopsy of each breast separately)"
        )
    if biopsy.result is BiopsyResult.BENIGN and biopsy.concordant is None:
        raise ValueError(
            "a benign biopsy result must say whether it is concordant with the imaging "
            "(radiology-pathology correlation); record it as concordant or discordant"
        )
    if biopsy.result is BiopsyResult.PENDING and biopsy.concordant is not None:
        raise ValueError(
            "a pending biopsy has no concordance yet; leave it out, and give it with the result"
        )
    if biopsy.facility is not None:
        check_facility(biopsy.facility)
    check_text(biopsy.pathology, "pathology")
    return biopsy
