"""One rule for "the same exam" (clinical-rules.md §5), for every way an exam comes in.

**Identity.** Two records of one patient with the same date, facility (compared by
:func:`followup.rules.facility_key`) and kind are one exam; a screening and a diagnostic exam
of one day are two. A kind that was not recorded is a kind of its own here: an exam of
unknown kind is the same exam as another of unknown kind, not as a screening one (the schema
enforces the identity: revision 0007).

**Content.** What the exam says beyond its identity: its findings (as a set: the CSV reader
folds repeated identical rows into one finding, so an exam recorded with the same finding
twice still reads back as the same exam; a finding's BI-RADS 4 subdivision included), the
radiologist's interval, the note, and what it imaged, the density and who read it.

Every path asks the same question: ``exam add`` and ``exam edit`` refuse a second record of
one exam, naming the stored one; an import (CSV or FHIR) skips a record identical to the
stored one as a duplicate and refuses one that differs, naming both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from followup import rules

# A finding's stored columns, in this order: what two records of one exam must agree on.
FINDING_FIELDS = (
    "category",
    "laterality",
    "morphology",
    "distribution",
    "size_class",
    "subdivision",
)
# An exam's other stored values that two records of it must agree on, in this order.
DESCRIBED_FIELDS = ("imaged", "density", "radiologist")

FindingColumns = tuple[str | None, ...]


@dataclass(frozen=True)
class ExamContent:
    """What an exam says beyond its identity, in canonical text."""

    findings: frozenset[FindingColumns]
    follow_up_months: int | None
    note: str | None
    described: tuple[Any, ...]  # DESCRIBED_FIELDS


def content(
    findings: Iterable[Iterable[Any]],
    follow_up_months: int | None,
    note: str | None,
    described: Iterable[Any],
) -> ExamContent:
    """The content of an exam from its findings' columns (FINDING_FIELDS order) and its
    exam-level values (``described`` in DESCRIBED_FIELDS order). The rules' StrEnums equal
    their text, so either may be given."""
    columns = frozenset(tuple(finding) for finding in findings)
    return ExamContent(columns, follow_up_months, note, tuple(described))


def stored_content(exam: Any) -> ExamContent:
    """The content of a stored exam (a :class:`followup.store.models.Exam`)."""
    return content(
        ((getattr(f, name) for name in FINDING_FIELDS) for f in exam.findings),
        exam.follow_up_months,
        exam.note,
        (getattr(exam, name) for name in DESCRIBED_FIELDS),
    )


def rules_content(exam: rules.Exam, note: str | None) -> ExamContent:
    """The content of an exam as the rules hold it, with its note (kept beside it)."""
    return content(
        ((getattr(f, name) for name in FINDING_FIELDS) for f in exam.findings),
        exam.follow_up_months,
        note,
        (getattr(exam, name) for name in DESCRIBED_FIELDS),
    )


def same_content(stored: ExamContent, incoming: ExamContent) -> bool:
    """Whether two records of one exam say the same: then the second is a duplicate."""
    return stored == incoming


def differences(stored: ExamContent, incoming: ExamContent) -> str:
    """What differs, for messages: ``"findings"``, ``"findings and note"``, ..."""
    described = zip(
        ("breasts imaged", "density", "radiologist"),
        stored.described,
        incoming.described,
        strict=True,
    )
    parts = [
        name
        for name, differ in (
            ("findings", stored.findings != incoming.findings),
            ("follow-up interval", stored.follow_up_months != incoming.follow_up_months),
            ("note", stored.note != incoming.note),
            *((name, theirs != mine) for name, theirs, mine in described),
        )
        if differ
    ]
    return " and ".join(parts) if len(parts) < 3 else ", ".join(parts[:-1]) + " and " + parts[-1]


def described(day: date, facility: str, kind: Any) -> str:
    """``on 2025-01-31 at Northside Imaging`` plus `` (screening)`` when the kind is known
    (a StrEnum or its text): how messages name an exam's identity."""
    return f"on {day.isoformat()} at {facility}" + (f" ({kind})" if kind else "")
