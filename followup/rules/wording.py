"""Small pieces of wording shared by reasons and flag messages, so every text names an exam,
a biopsy or a breast the same way."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from functools import lru_cache

from followup.rules.breasts import Course
from followup.rules.model import BREASTS, Biopsy, Exam
from followup.rules.vocabulary import Laterality

ACTION_WORDS = {
    "treatment": "treatment",
    "surgical-consultation": "surgical consultation",
    "biopsy": "biopsy",
    "pathology-result": "pathology result",
    "additional-imaging": "additional imaging",
    "prior-films": "prior films",
    "short-interval-follow-up": "short-interval follow-up",
    "routine-screening": "routine screening",
}

# What the patient is asked to book when a step is late (overdue messages).
OVERDUE_STEP = {
    "biopsy": "the biopsy",
    "additional-imaging": "the additional imaging",
    "surgical-consultation": "the surgical consultation",
    "pathology-result": "the biopsy result",
    "prior-films": "the transfer of the prior films",
}


# Formatting a date costs more than most of a plan (isoformat, ~10x a dict lookup); a programme
# has a few thousand distinct dates, each formatted over and over.
day: Callable[[date], str] = lru_cache(maxsize=1 << 16)(date.isoformat)


def where(exam: Exam) -> str:
    """ "2025-01-10 (exam 3 at Northside Imaging)": the exam a rule counted from.

    Kept on the exam once made: both breasts' reasons usually name the same exam."""
    text: str | None = exam.__dict__.get("_where")
    if text is None:
        text = exam.__dict__["_where"] = f"{day(exam.date)} ({exam_label(exam)})"
    return text


def exam_label(exam: Exam) -> str:
    return f"exam {exam.id} at {exam.facility}" if exam.id is not None else exam.facility


def biopsy_where(biopsy: Biopsy) -> str:
    """ "2025-02-01 (biopsy 4 at Lakeside Breast Center)", or as much of it as is known."""
    parts = [f"biopsy {biopsy.id}"] if biopsy.id is not None else []
    if biopsy.facility:
        parts.append(f"at {biopsy.facility}")
    return f"{day(biopsy.date)} ({' '.join(parts)})" if parts else day(biopsy.date)


def breast(side: Laterality) -> str:
    """ "the left breast"; "both breasts" for bilateral."""
    return "both breasts" if side is Laterality.BILATERAL else f"the {side.value} breast"


def your_breast(side: Laterality) -> str:
    """ "your left breast"; "both breasts" for bilateral (the patient's voice)."""
    return "both breasts" if side is Laterality.BILATERAL else f"your {side.value} breast"


def dates(values: list[date]) -> str:
    return ", ".join(day(v) for v in values)


def places(elsewhere: list[tuple[str, list[date]]]) -> str:
    """ "Eastside Clinic (2018-03-02, 2020-04-07); Westgate Hospital (2021-05-05)"."""
    return "; ".join(f"{name} ({dates(days)})" for name, days in elsewhere)


def breasts_text(courses: Sequence[Course], render: Callable[[Course], str]) -> tuple[str, str]:
    """The courses' parts of a message, staff and patient voice: ``render`` words one course
    with ``BREAST`` where its breast is named; two alike become one about both breasts."""
    texts = [(render(c), BREASTS[c.breast]) for c in courses]
    if len(texts) == 2 and texts[0][0] == texts[1][0]:
        both = texts[0][0].replace(BREAST, "both breasts")
        return both, both
    staff = "; ".join(text.replace(BREAST, breast(side)) for text, side in texts)
    yours = "; ".join(text.replace(BREAST, your_breast(side)) for text, side in texts)
    return staff, yours


BREAST = "\x00breast\x00"


def names(elsewhere: list[tuple[str, list[date]]]) -> str:
    names = [name for name, _ in elsewhere]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
