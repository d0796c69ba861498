"""How ``followup status`` shows a patient's plan: JSON for scripts, plain words for people.

The table is written for the patient herself as much as for a coordinator: the timeline of
her exams and biopsies, each breast's course, the next step in plain words with its reason
(and the other breast's, so nothing hides behind the earlier date), and what to do about
each flag, in her own voice (clinical-rules.md §6).
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from datetime import date
from typing import Any

from followup import rules
from followup.present.tables import write_table

# Each step in her words; {side} is where "of the left breast" goes ({about}: "the left
# breast", or "the finding" when no side applies).
_NEXT_STEP = {
    "routine-screening": "Next routine screening mammogram{side}",
    "short-interval-follow-up": "Short-interval follow-up mammogram{side}",
    "additional-imaging": "Additional imaging{side} (more mammogram views or an ultrasound)",
    "prior-films": "Your earlier mammograms{side}, sent for comparison",
    "biopsy": "Biopsy{side}, as the radiologist advised",
    "pathology-result": "The result (pathology report) of your biopsy{side}",
    "surgical-consultation": "A surgical consultation about{about} (repeat biopsy or excision)",
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


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _value(value: Any) -> str | None:
    """An enumerated value's canonical text, None for none."""
    return value.value if value is not None else None


def finding_json(finding: rules.Finding) -> dict[str, Any]:
    return {**finding.as_dict(), "subdivision": _value(finding.subdivision)}


def exam_json(exam: rules.Exam) -> dict[str, Any]:
    """One exam as cli.md shows it, plus its findings and the recorded interval."""
    finding = rules.governing_finding(exam)
    return {
        "id": exam.id,
        "date": exam.date.isoformat(),
        "facility": exam.facility,
        "category": finding.category.value,
        "birads": finding.birads,
        "laterality": _value(finding.laterality),
        "kind": _value(exam.kind),
        "imaged": exam.imaged.value,
        "density": _value(exam.density),
        "radiologist": exam.radiologist,
        "follow_up_months": exam.follow_up_months,
        "findings": [finding_json(f) for f in exam.findings],
    }


def biopsy_json(biopsy: rules.Biopsy) -> dict[str, Any]:
    return {
        "id": biopsy.id,
        "date": biopsy.date.isoformat(),
        "side": biopsy.side.value,
        "result": biopsy.result.value,
        "concordant": biopsy.concordant,
        "facility": biopsy.facility,
        "pathology": biopsy.pathology,
    }


def step_json(step: rules.BreastPlan) -> dict[str, Any]:
    """The other breast's plan (``next.also``): what, when, which side, why."""
    return {
        "side": step.side.value,
        "action": step.action,
        "due": _day(step.due),
        "laterality": _value(step.laterality),
        "reason": step.reason,
    }


def breast_json(plan: rules.BreastPlan | None) -> dict[str, Any] | None:
    """One breast's state and plan (cli.md ``breasts``); None when nothing is recorded."""
    if plan is None:
        return None
    return {
        "category": _value(plan.category),
        "birads": plan.birads,
        "action": plan.action,
        "due": _day(plan.due),
        "laterality": _value(plan.laterality),
        "reason": plan.reason,
        "exam_id": plan.exam_id,
        "episode_step": plan.episode_step,
        "biopsy_open": plan.biopsy_open,
        "biopsy_id": plan.biopsy_id,
    }


def status_json(
    patient_id: str,
    assessment: rules.Assessment,
    exams: Sequence[rules.Exam],
    biopsies: Sequence[rules.Biopsy] = (),
) -> dict[str, Any]:
    """The object of cli.md "JSON shapes": next step (and ``also``), each breast, flags in
    the patient's voice, exams and biopsies in date order."""
    plan = assessment.plan
    return {
        "patient_id": patient_id,
        "as_of": assessment.as_of.isoformat(),
        "next": {
            "action": plan.action,
            "due": _day(plan.due),
            "laterality": _value(plan.laterality),
            "reason": plan.reason,
            "exam_id": plan.exam_id,
            "biopsy_id": plan.biopsy_id,
            "also": [step_json(step) for step in plan.also],
        },
        "breasts": {
            side.value: breast_json(plan.breast(side))
            for side in (rules.Laterality.LEFT, rules.Laterality.RIGHT)
        },
        "flags": [{"code": f.code, "message": f.for_patient} for f in assessment.flags],
        "exams": [exam_json(e) for e in rules.chronological(exams)],
        "biopsies": [biopsy_json(b) for b in _by_date(biopsies)],
    }


def _by_date(biopsies: Sequence[rules.Biopsy]) -> list[rules.Biopsy]:
    return sorted(biopsies, key=lambda b: (b.date, b.id or 0))


def assessment_text(finding: rules.Finding) -> str:
    """ "probably-benign (BI-RADS 3)", "suspicious (BI-RADS 4B)", "post-procedure"."""
    if finding.birads is None:
        return finding.category.value
    return f"{finding.category.value} (BI-RADS {finding.birads})"


def _details(exam: rules.Exam) -> str:
    """Descriptors and other findings, so the timeline shows what the report said."""
    parts = []
    if exam.imaged is not rules.Imaged.BOTH:
        parts.append(f"{exam.imaged.value} breast only")
    for finding in exam.findings:
        words = [finding.size_class, finding.morphology, finding.distribution]
        described = ", ".join(w for w in words if w)
        side = finding.laterality.value if finding.laterality else ""
        if len(exam.findings) > 1:
            what = assessment_text(finding)
            described = f"{side} {what}" + (f": {described}" if described else "")
        if described:
            parts.append(described.strip())
    if exam.follow_up_months:
        parts.append(f"radiologist: return in {exam.follow_up_months} months")
    if exam.density:
        parts.append(f"density {exam.density.value}")
    if exam.radiologist:
        parts.append(f"read by {exam.radiologist}")
    return "; ".join(parts)


def _biopsy_result(biopsy: rules.Biopsy) -> str:
    if biopsy.concordant is None:
        return biopsy.result.value
    return f"{biopsy.result.value}, {'concordant' if biopsy.concordant else 'discordant'}"


def _timeline(exams: Sequence[rules.Exam], biopsies: Sequence[rules.Biopsy]) -> str:
    """Exams and biopsies in one table, by date (a day's biopsy after its exams)."""
    rows: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        (
            (exam.date, 0, index),
            {
                "date": exam.date,
                "facility": exam.facility,
                "kind": exam.kind.value if exam.kind else "",
                "assessment": assessment_text(finding),
                "side": finding.laterality.value if finding.laterality else "",
                "details": _details(exam),
            },
        )
        for index, exam in enumerate(rules.chronological(exams))
        for finding in [rules.governing_finding(exam)]
    ]
    rows += [
        (
            (biopsy.date, 1, index),
            {
                "date": biopsy.date,
                "facility": biopsy.facility or "",
                "kind": "biopsy",
                "assessment": _biopsy_result(biopsy),
                "side": biopsy.side.value,
                "details": biopsy.pathology or "",
            },
        )
        for index, biopsy in enumerate(_by_date(biopsies))
    ]
    out = io.StringIO()
    columns = ["date", "facility", "kind", "assessment", "side", "details"]
    write_table((row for _, row in sorted(rows, key=lambda r: r[0])), columns, out)
    return "\n".join("  " + line for line in out.getvalue().splitlines())


def _when(due: date, as_of: date) -> str:
    days = (due - as_of).days
    if days > 0:
        return f"due {due.isoformat()} (in {days} days)"
    if days == 0:
        return f"due {due.isoformat()} (today)"
    return f"was due {due.isoformat()} ({-days} days ago: overdue)"


def next_step_text(
    plan: rules.Plan | rules.BreastPlan, as_of: date, second_opinion: bool = True
) -> str:
    """The next step (of the patient, or of one breast) as a sentence she can act on."""
    if plan.action is None:
        return "Nothing to schedule yet: record an exam with `followup exam add`."
    if plan.action == "treatment":
        return (
            "No interval follow-up is scheduled: a known malignancy (or a malignant biopsy) "
            "is recorded, and the treating team sets the next steps."
        )
    side = f" {_SIDE[plan.laterality]}" if plan.laterality else ""
    about = side.replace(" of ", " ", 1) if side else " the finding"
    what = _NEXT_STEP[plan.action].format(side=side, about=about)
    when = _when(plan.due, as_of) if plan.due else "no date set"
    text = f"{what}, {when}."
    if plan.action == "biopsy" and second_opinion:
        text += f" {_SECOND_OPINION}"
    return text


def _indented(text: str) -> str:
    """Wrapped to the terminal-friendly width, continuation lines indented under the text."""
    return textwrap.fill(text, WIDTH, initial_indent="  ", subsequent_indent="    ")


def _breasts_differ(plan: rules.Plan) -> bool:
    """Whether each breast's own step is worth showing: two courses with different steps
    (under treatment the treating team sets them)."""
    if len(plan.breasts) < 2 or plan.action == "treatment":
        return False
    left, right = plan.breasts
    return (left.action, left.due) != (right.action, right.due)


def _breast_lines(plan: rules.Plan, as_of: date) -> list[str]:
    """Each breast's own course (§2): its step and why."""
    lines = []
    for breast in plan.breasts:
        step = next_step_text(breast, as_of, second_opinion=False)
        lines.append(_indented(f"{breast.side.value.capitalize()}: {step} Why: {breast.reason}"))
    return lines


def status_table(
    patient_id: str,
    name: str | None,
    assessment: rules.Assessment,
    exams: Sequence[rules.Exam],
    biopsies: Sequence[rules.Biopsy] = (),
) -> str:
    """The patient's page: who, exams and biopsies over time, the next step and why (and the
    other breast's), each breast's own course, the flags."""
    plan = assessment.plan
    who = f"{patient_id} ({name})" if name else patient_id
    lines = [f"Patient {who}, as of {assessment.as_of.isoformat()}", ""]
    if exams or biopsies:
        lines += ["Exams and biopsies" if biopsies else "Exams", _timeline(exams, biopsies), ""]
    lines += ["Next step", _indented(next_step_text(plan, assessment.as_of))]
    if plan.action is not None:
        lines.append(_indented(f"Why: {plan.reason}"))
    for other in plan.also:
        also = next_step_text(other, assessment.as_of)
        lines.append(_indented(f"Also, for the {other.side.value} breast: {also}"))
    if _breasts_differ(plan):
        lines += ["", "Each breast", *_breast_lines(plan, assessment.as_of)]
    if assessment.flags:
        lines += ["", "Flags (what to do)"]
        lines += [_indented(f"! {flag.code}: {flag.for_patient}") for flag in assessment.flags]
    return "\n".join(lines)
