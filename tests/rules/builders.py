"""Small builders for rules tests: an exam in one line, dates as ISO text for readable tables."""

from __future__ import annotations

from datetime import date

from followup import rules

C = rules.Category
S = rules.Laterality
K = rules.ExamKind
POLICY = rules.DEFAULT_POLICY


def d(text: str) -> date:
    return date.fromisoformat(text)


def exam(
    when: str,
    category: rules.Category,
    side: rules.Laterality | None = None,
    *,
    facility: str = "Northside Imaging",
    kind: rules.ExamKind | None = rules.ExamKind.DIAGNOSTIC,
    months: int | None = None,
    exam_id: int | None = None,
    more: tuple[tuple[rules.Category, rules.Laterality | None], ...] = (),
) -> rules.Exam:
    """An exam with one finding (plus ``more`` findings); diagnostic unless told otherwise."""
    findings = (rules.Finding(category, side), *(rules.Finding(c, s) for c, s in more))
    return rules.Exam(d(when), facility, findings, kind, months, exam_id)


def plan(*exams: rules.Exam, transfers: tuple[rules.FilmTransfer, ...] = ()) -> rules.Plan:
    return rules.make_plan(list(exams), list(transfers), POLICY)


def codes(flags: tuple[rules.Flag, ...]) -> list[str]:
    return [f.code for f in flags]


def flag(found: rules.Plan | rules.Assessment, code: str) -> rules.Flag:
    """The one flag with ``code``; fails the test, listing what was raised, when absent."""
    matching = [f for f in found.flags if f.code == code]
    assert len(matching) == 1, f"expected one {code!r} flag, got {codes(found.flags)}"
    return matching[0]
