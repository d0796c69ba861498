"""Small builders for rules tests: an exam in one line, dates as ISO text for readable tables."""

from __future__ import annotations

from datetime import date

from followup import rules

C = rules.Category
S = rules.Laterality
K = rules.ExamKind
R = rules.BiopsyResult
I = rules.Imaged  # noqa: E741
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
    imaged: rules.Imaged = rules.Imaged.BOTH,
    subdivision: rules.Subdivision | None = None,
) -> rules.Exam:
    """An exam with one finding (plus ``more`` findings); diagnostic unless told otherwise."""
    findings = (
        rules.Finding(category, side, subdivision=subdivision),
        *(rules.Finding(c, s) for c, s in more),
    )
    return rules.Exam(d(when), facility, findings, kind, months, exam_id, imaged=imaged)


def screening(when: str, category: rules.Category, side: rules.Laterality | None = None, **kw):  # type: ignore[no-untyped-def]
    """:func:`exam` of kind screening."""
    return exam(when, category, side, kind=rules.ExamKind.SCREENING, **kw)


def biopsy(
    when: str,
    side: rules.Laterality,
    result: rules.BiopsyResult,
    concordant: bool | None = None,
    *,
    biopsy_id: int | None = None,
    facility: str | None = None,
    pathology: str | None = None,
) -> rules.Biopsy:
    return rules.Biopsy(
        d(when), side, result, concordant, facility=facility, pathology=pathology, id=biopsy_id
    )


def plan(
    *exams: rules.Exam,
    transfers: tuple[rules.FilmTransfer, ...] = (),
    biopsies: tuple[rules.Biopsy, ...] = (),
    policy: rules.Policy = POLICY,
) -> rules.Plan:
    return rules.make_plan(list(exams), list(transfers), policy, list(biopsies))


def steps(made: rules.Plan) -> dict[str, tuple[str | None, date | None]]:
    """Each breast's (action, due), by side name: what most §2 tests compare."""
    return {b.side.value: (b.action, b.due) for b in made.breasts}


def codes(flags: tuple[rules.Flag, ...]) -> list[str]:
    return [f.code for f in flags]


def flag(found: rules.Plan | rules.Assessment, code: str) -> rules.Flag:
    """The one flag with ``code``; fails the test, listing what was raised, when absent."""
    matching = [f for f in found.flags if f.code == code]
    assert len(matching) == 1, f"expected one {code!r} flag, got {codes(found.flags)}"
    return matching[0]
