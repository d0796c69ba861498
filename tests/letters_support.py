"""Helpers for the letter tests: facts of every variant, and the PDF's text read back with
its position on the page."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from pypdf import PdfReader

from followup.present.letter_facts import (
    Address,
    ExamResult,
    FacilityContact,
    FilmsRequest,
    LetterFacts,
    LetterKind,
    NextStep,
    Recipient,
)
from followup.present.letter_samples import LAKESIDE, NORTHGATE, SAMPLE_SENDER

DAY = date(2025, 7, 15)
EXAM_DAY = date(2025, 7, 10)
DUE = date(2026, 1, 10)
PATIENT = Recipient(
    "Renée Łukasiewicz-Şahin",
    Address(("1208 Maple Avenue, Apt 3B", "Springfield, IL 62701")),
    date(1968, 3, 2),
)
SENDER = SAMPLE_SENDER


def result_facts(
    category: str = "probably-benign",
    action: str | None = "short-interval-follow-up",
    *,
    birads: str | None = None,
    density: str | None = None,
    side: str | None = "left",
    patient: Recipient = PATIENT,
    facility: FacilityContact = LAKESIDE,
    films: FilmsRequest | None = None,
) -> LetterFacts:
    return LetterFacts(
        LetterKind.RESULT,
        DAY,
        patient,
        facility,
        result=ExamResult(category, EXAM_DAY, birads, side, "diagnostic", density),
        next_step=NextStep(action, None if action == "treatment" else DUE, side),
        films=films,
        reference="R-1",
    )


def ladder_facts(
    kind: LetterKind,
    action: str = "routine-screening",
    step: int | None = None,
    steps: int | None = None,
    *,
    certified: bool = False,
    patient: Recipient = PATIENT,
) -> LetterFacts:
    return LetterFacts(
        kind,
        DAY,
        patient,
        LAKESIDE,
        next_step=NextStep(action, DUE),
        step=step,
        steps=steps,
        certified=certified,
    )


def films_facts(dates: tuple[date, ...] = (date(2022, 6, 3), date(2023, 6, 9))) -> LetterFacts:
    return LetterFacts(
        LetterKind.FILMS_REQUEST,
        DAY,
        PATIENT,
        LAKESIDE,
        films=FilmsRequest(NORTHGATE, dates, LAKESIDE),
    )


@dataclass(frozen=True)
class Placed:
    """A piece of text as the PDF draws it: from the top-left corner, in points."""

    top: float
    x: float
    text: str


def placed_text(pdf: bytes) -> list[list[Placed]]:
    """Each page's text pieces, in drawing order, with where they are."""
    pages = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        height = float(page.mediabox.height)
        found: list[Placed] = []

        def visit(text, cm, tm, font, size, found=found, height=height):
            if text.strip():
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                found.append(Placed(height - y, x, text.strip()))

        page.extract_text(visitor_text=visit)
        pages.append(found)
    return pages


def region(page: list[Placed], top: float, bottom: float) -> list[str]:
    """The text drawn between ``top`` and ``bottom`` (points from the top), top to bottom."""
    inside = sorted((p for p in page if top <= p.top < bottom), key=lambda p: (p.top, p.x))
    return [p.text for p in inside]


def page_text(page: list[Placed]) -> str:
    return " ".join(p.text for p in sorted(page, key=lambda p: (p.top, p.x)))
