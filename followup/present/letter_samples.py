"""Sample letters for ``followup demo``: one of each kind, from synthetic facts.

The names and addresses are made up (and exercise the font: é, ł, ş, Cyrillic); the
telephone numbers are from the 555-01xx range reserved for fiction. The demo writes the bytes
with the project's file writer, so this module does no I/O.
"""

from __future__ import annotations

from datetime import date

from followup.present.letter_facts import (
    Address,
    ExamResult,
    FacilityContact,
    FilmsRequest,
    LetterFacts,
    LetterKind,
    NextStep,
    Recipient,
    Sender,
)
from followup.present.letter_pdf import render_letters

SAMPLE_SENDER = Sender(
    "Lakeside Breast Center",
    Address(("400 Harbor Road, Suite 2", "Springfield, IL 62704")),
    "(217) 555-0142",
)
LAKESIDE = FacilityContact(
    "Lakeside Breast Center",
    Address(("400 Harbor Road, Suite 2", "Springfield, IL 62704")),
    "(217) 555-0142",
)
NORTHGATE = FacilityContact(
    "Northgate Imaging",
    Address(("Attn: Medical Records", "77 Elm Street", "Decatur, IL 62521")),
    "(217) 555-0187",
)


def sample_letters(letter_date: date = date(2025, 7, 15)) -> tuple[LetterFacts, ...]:
    """A result letter (probably benign, dense tissue), a reminder, the last overdue letter
    (certified mail) and a films request, dated ``letter_date``."""
    renée = Recipient(
        "Renée Łukasiewicz-Şahin",
        Address(("1208 Maple Avenue, Apt 3B", "Springfield, IL 62701")),
        date(1968, 3, 2),
    )
    olga = Recipient("Ольга Кузнецова", Address(("52 Birch Lane", "Chatham, IL 62629")))
    return (
        LetterFacts(
            LetterKind.RESULT,
            letter_date,
            renée,
            LAKESIDE,
            result=ExamResult(
                "probably-benign",
                date(2025, 7, 10),
                birads="3",
                side="left",
                exam_kind="diagnostic",
                density="c",
            ),
            next_step=NextStep("short-interval-follow-up", date(2026, 1, 10), "left"),
            reference="L-1001",
        ),
        LetterFacts(
            LetterKind.REMINDER,
            letter_date,
            olga,
            LAKESIDE,
            next_step=NextStep("routine-screening", date(2025, 8, 14), "bilateral"),
            reference="L-1002",
        ),
        LetterFacts(
            LetterKind.OVERDUE,
            letter_date,
            olga,
            LAKESIDE,
            next_step=NextStep("short-interval-follow-up", date(2025, 5, 16), "right"),
            step=3,
            steps=3,
            certified=True,
            reference="L-1003",
        ),
        LetterFacts(
            LetterKind.FILMS_REQUEST,
            letter_date,
            renée,
            LAKESIDE,
            films=FilmsRequest(NORTHGATE, (date(2022, 6, 3), date(2023, 6, 9)), LAKESIDE),
            reference="L-1004",
        ),
    )


def sample_letters_pdf(paper: str = "letter", letter_date: date = date(2025, 7, 15)) -> bytes:
    """The demo's sample letters as one PDF (``paper`` ``letter`` or ``a4``)."""
    return render_letters(sample_letters(letter_date), SAMPLE_SENDER, paper_name=paper)
