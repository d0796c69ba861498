"""How ``followup status`` shows a patient's plan: JSON for scripts, plain words for people.

The table is written for the patient herself as much as for a coordinator: the timeline of
her exams, the next step in plain words with its reason, and what to do about each flag.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from datetime import date
from typing import Any

from followup import rules
from followup.present.tables import write_table

_NEXT_STEP = {
    "routine-screening": "Next routine screening mammogram",
    "short-interval-follow-up": "Short-interval follow-up mammogram",
    "additional-imaging": "Additional imaging (or prior films sent for comparison)",
    "biopsy": "Biopsy, as the radiologist advised",
}
_SIDE = {
    rules.Laterality.LEFT: "of the left breast",
    rules.Laterality.RIGHT: "of the right breast",
    rules.Laterality.BILATERAL: "of both breasts",
}
WIDTH = 100
_SECOND_OPINION = (
    "A second opinion (another radiologist reviewing the images) is always your right."
)


def exam_json(exam: rules.Exam) -> dict[str, Any]:
    """One exam as cli.md shows it, plus its findings and the recorded interval."""
    finding = rules.governing_finding(exam)
    return {
        "id": exam.id,
        "date": exam.date.isoformat(),
        "facility": exam.facility,
        "category": finding.category.value,
        "laterality": finding.laterality.value if finding.laterality else None,
        "kind": exam.kind.value if exam.kind else None,
        "follow_up_months": exam.follow_up_months,
        "findings": [f.as_dict() for f in exam.findings],
    }


def status_json(
    patient_id: str, assessment: rules.Assessment, exams: Sequence[rules.Exam]
) -> dict[str, Any]:
    """The object of cli.md "JSON shapes": next step, flags, exams in date order."""
    plan = assessment.plan
    return {
        "patient_id": patient_id,
        "as_of": assessment.as_of.isoformat(),
        "next": {
            "action": plan.action,
            "due": plan.due.isoformat() if plan.due else None,
            "laterality": plan.laterality.value if plan.laterality else None,
            "reason": plan.reason,
            "exam_id": plan.exam_id,
        },
        "flags": [{"code": f.code, "message": f.message} for f in assessment.flags],
        "exams": [exam_json(e) for e in rules.chronological(exams)],
    }


def _assessment_text(finding: rules.Finding) -> str:
    category = finding.category
    return f"{category.value} (BI-RADS {category.birads})"


def _details(exam: rules.Exam) -> str:
    """Descriptors and other findings, so the timeline shows what the report said."""
    parts = []
    for finding in exam.findings:
        words = [finding.size_class, finding.morphology, finding.distribution]
        described = ", ".join(w for w in words if w)
        side = finding.laterality.value if finding.laterality else ""
        if len(exam.findings) > 1:
            described = f"{side} {finding.category.value}" + (f": {described}" if described else "")
        if described:
            parts.append(described.strip())
    if exam.follow_up_months:
        parts.append(f"radiologist: return in {exam.follow_up_months} months")
    return "; ".join(parts)


def _timeline(exams: Sequence[rules.Exam]) -> str:
    rows = [
        {
            "date": exam.date,
            "facility": exam.facility,
            "kind": exam.kind.value if exam.kind else "",
            "assessment": _assessment_text(finding),
            "side": finding.laterality.value if finding.laterality else "",
            "details": _details(exam),
        }
        for exam in rules.chronological(exams)
        for finding in [rules.governing_finding(exam)]
    ]
    out = io.StringIO()
    columns = ["date", "facility", "kind", "assessment", "side", "details"]
    write_table(rows, columns, out)
    return "\n".join("  " + line for line in out.getvalue().splitlines())


def _when(due: date, as_of: date) -> str:
    days = (due - as_of).days
    if days > 0:
        return f"due {due.isoformat()} (in {days} days)"
    if days == 0:
        return f"due {due.isoformat()} (today)"
    return f"was due {due.isoformat()} ({-days} days ago: overdue)"


def next_step_text(plan: rules.Plan, as_of: date) -> str:
    """The next step as a sentence a patient can act on."""
    if plan.action is None:
        return "Nothing to schedule yet: record an exam with `followup exam add`."
    if plan.action == "treatment":
        return (
            "No interval follow-up is scheduled: a known malignancy is recorded, and the "
            "treating team sets the next steps."
        )
    what = _NEXT_STEP[plan.action]
    side = f" {_SIDE[plan.laterality]}" if plan.laterality else ""
    when = _when(plan.due, as_of) if plan.due else "no date set"
    text = f"{what}{side}, {when}."
    if plan.action == "biopsy":
        text += f" {_SECOND_OPINION}"
    return text


def _indented(text: str) -> str:
    """Wrapped to the terminal-friendly width, continuation lines indented under the text."""
    return textwrap.fill(text, WIDTH, initial_indent="  ", subsequent_indent="    ")


def status_table(
    patient_id: str,
    name: str | None,
    assessment: rules.Assessment,
    exams: Sequence[rules.Exam],
) -> str:
    """The patient's page: who, exams over time, the next step and why, the flags."""
    plan = assessment.plan
    who = f"{patient_id} ({name})" if name else patient_id
    lines = [f"Patient {who}, as of {assessment.as_of.isoformat()}", ""]
    if exams:
        lines += ["Exams", _timeline(exams), ""]
    lines += ["Next step", _indented(next_step_text(plan, assessment.as_of))]
    if plan.action is not None:
        lines.append(_indented(f"Why: {plan.reason}"))
    if assessment.flags:
        lines += ["", "Flags (what to do)"]
        lines += [_indented(f"! {flag.code}: {flag.message}") for flag in assessment.flags]
    return "\n".join(lines)
