"""The letters' wording (issue 14 points 6 and 7): plain language, the federal density
statement, what each kind says, and the facts each kind needs."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
import textstat
from letters_support import (
    LAKESIDE,
    SENDER,
    films_facts,
    ladder_facts,
    result_facts,
)

from followup.present.letter_blocks import plain_text
from followup.present.letter_facts import (
    ACTIONS,
    CATEGORIES,
    Address,
    FacilityContact,
    LetterKind,
    NextStep,
    Recipient,
    problems,
)
from followup.present.letter_text import (
    FEDERAL_DENSITY,
    DensityStatements,
    due_phrase,
    letter_content,
)

MAX_GRADE = 8.0
# The federal text as published (21 CFR 900.12(c)(2)(iii) and (iv), 88 FR 15126).
NOT_DENSE = (
    "Breast tissue can be either dense or not dense. Dense tissue makes it harder to find "
    "breast cancer on a mammogram and also raises the risk of developing breast cancer. Your "
    "breast tissue is not dense. Talk to your healthcare provider about breast density, risks "
    "for breast cancer, and your individual situation."
)
DENSE = (
    "Breast tissue can be either dense or not dense. Dense tissue makes it harder to find "
    "breast cancer on a mammogram and also raises the risk of developing breast cancer. Your "
    "breast tissue is dense. In some people with dense tissue, other imaging tests in addition "
    "to a mammogram may help find cancers. Talk to your healthcare provider about breast "
    "density, risks for breast cancer, and your individual situation."
)


def text_of(facts, density=FEDERAL_DENSITY) -> str:
    return plain_text(letter_content(facts, SENDER.name, density))


def grade(text: str) -> float:
    return textstat.flesch_kincaid_grade(text)


@pytest.mark.parametrize("density", [None, "b", "d"])
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("category", CATEGORIES)
def test_result_letters_read_at_grade_8_or_below(category, action, density):
    birads = {"suspicious": "4C", "highly-suspicious": "5"}.get(category)
    text = text_of(result_facts(category, action, birads=birads, density=density))
    assert grade(text) <= MAX_GRADE, text


@pytest.mark.parametrize("action", ACTIONS[:-1])  # treatment has no reminders
@pytest.mark.parametrize(
    ("kind", "step", "steps"),
    [
        (LetterKind.REMINDER, None, None),
        (LetterKind.OVERDUE, 1, 3),
        (LetterKind.OVERDUE, 2, 3),
        (LetterKind.OVERDUE, 3, 3),
    ],
)
def test_ladder_letters_read_at_grade_8_or_below(kind, step, steps, action):
    text = text_of(ladder_facts(kind, action, step, steps, certified=step == 3))
    assert grade(text) <= MAX_GRADE, text


@pytest.mark.parametrize("count", [1, 2, 9])  # 9 dates: summed up on the cover
def test_films_request_reads_at_grade_8_or_below(count):
    dates = tuple(date(2015 + n, 3, 1 + n) for n in range(count))
    text = text_of(films_facts(dates))
    assert grade(text) <= MAX_GRADE, text


@pytest.mark.parametrize("category", ["incomplete-priors", "negative", "suspicious"])
def test_result_letters_with_a_films_note_read_at_grade_8_or_below(category):
    films = films_facts().films
    text = text_of(result_facts(category, "prior-films", density="c", films=films))
    assert "We are sending you a form" in text
    assert grade(text) <= MAX_GRADE, text


def test_the_grade_check_can_fail():
    """The measure itself rejects officialese, so the tests above have teeth."""
    officialese = (
        "Notwithstanding the aforementioned radiological characterization, supplementary "
        "diagnostic evaluation utilizing ultrasonographic modalities is recommended "
        "contingent upon institutional protocols and individualized risk stratification."
    )
    assert grade(officialese) > MAX_GRADE


@pytest.mark.parametrize(
    ("density", "statement"), [("a", NOT_DENSE), ("b", NOT_DENSE), ("c", DENSE), ("d", DENSE)]
)
def test_density_statement_is_the_federal_wording(density, statement):
    assert FEDERAL_DENSITY.dense == DENSE and FEDERAL_DENSITY.not_dense == NOT_DENSE
    text = text_of(result_facts(density=density))
    assert statement in text
    other = DENSE if statement is NOT_DENSE else NOT_DENSE
    assert other not in text


def test_no_density_statement_when_density_is_not_recorded():
    text = text_of(result_facts(density=None))
    assert "Breast density" not in text and "dense" not in text


def test_clinic_replaces_the_density_statement():
    own = DensityStatements(not_dense="Your tissue is not dense (clinic).", dense="Dense (clinic).")
    assert "Dense (clinic)." in text_of(result_facts(density="c"), own)
    assert "not dense (clinic)" in text_of(result_facts(density="a"), own)
    assert NOT_DENSE not in text_of(result_facts(density="a"), own)


def test_result_letter_names_the_facility_its_address_and_phone_and_when():
    text = text_of(result_facts())
    assert "Lakeside Breast Center" in text
    assert "(217) 555-0142" in text
    assert "400 Harbor Road, Suite 2, Springfield, IL 62704" in text
    assert "by January 10, 2026" in text
    assert "follow-up mammogram of your left breast" in text


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_result_opens_with_the_same_neutral_lines(category):
    """Heading and first paragraphs are the same whatever was found: nothing to read there."""
    content = letter_content(result_facts(category), SENDER.name)
    reference = letter_content(result_facts("negative"), SENDER.name)
    sheet, first = content.sheets[0], reference.sheets[0]
    assert sheet.heading == first.heading == "Your mammogram results"
    assert [b.text for b in sheet.blocks[:3]] == [b.text for b in first.blocks[:3]]
    assert sheet.blocks[2].text == "Your result"


def test_suspicious_letters_offer_a_second_opinion_and_ask_to_call_this_week():
    for category in ("suspicious", "highly-suspicious"):
        text = text_of(result_facts(category, "biopsy", birads="4B"))
        assert "second opinion" in text and "this week" in text
        assert "BI-RADS 4B" in text or category == "highly-suspicious"
    assert "this week" not in text_of(result_facts("benign", "routine-screening"))


def test_reassurance_is_not_given_where_cancer_is_likely():
    assert "Most biopsies like this do not find cancer." in text_of(
        result_facts("suspicious", "biopsy", birads="4A")
    )
    for birads in ("4C",):
        text = text_of(result_facts("suspicious", "biopsy", birads=birads))
        assert "do not find cancer" not in text
    assert "do not find cancer" not in text_of(result_facts("highly-suspicious", "biopsy"))


def test_ladder_letters_say_what_is_due_in_neutral_words():
    text = text_of(ladder_facts(LetterKind.REMINDER, "biopsy"))
    assert due_phrase("biopsy") in text
    assert "biopsy" not in text.lower() and "cancer" not in text.lower()
    overdue = text_of(ladder_facts(LetterKind.OVERDUE, "biopsy", 2, 3))
    assert "was due by January 10, 2026" in overdue
    assert "wrote to you about this before" not in overdue  # step 2 may be her first letter
    wrote = text_of(replace(ladder_facts(LetterKind.OVERDUE, "biopsy", 2, 3), wrote_before=True))
    assert "wrote to you about this before" in wrote
    last = text_of(ladder_facts(LetterKind.OVERDUE, "biopsy", 3, 3, certified=True))
    assert "last letter" in last


def test_overdue_letters_carry_their_step():
    content = letter_content(ladder_facts(LetterKind.OVERDUE, "biopsy", 2, 3), SENDER.name)
    assert content.reference_line == "Notice 2 of 3"


def test_certified_letters_are_marked_above_the_address():
    certified = ladder_facts(LetterKind.OVERDUE, step=3, steps=3, certified=True)
    assert certified.certified
    assert letter_content(certified, SENDER.name).sheets[0].mark == "CERTIFIED MAIL"
    plain = ladder_facts(LetterKind.OVERDUE, step=1, steps=3)
    assert letter_content(plain, SENDER.name).sheets[0].mark is None
    registered = letter_content(certified, SENDER.name, mark="Registered mail")
    assert registered.sheets[0].mark == "Registered mail"


def test_films_request_is_a_cover_letter_and_a_signed_form_to_the_holder():
    content = letter_content(films_facts(), SENDER.name)
    cover, form = content.sheets
    assert cover.recipient[0] == "Renée Łukasiewicz-Şahin"
    assert form.recipient == (
        "Northgate Imaging",
        "Attn: Medical Records",
        "77 Elm Street",
        "Decatur, IL 62521",
    )
    form_text = "\n".join(b.text for b in form.blocks)
    assert "June 3, 2022" in form_text and "June 9, 2023" in form_text
    assert "Please send them to:" in form_text and "Lakeside Breast Center" in form_text
    assert "Date of birth: March 2, 1968" in form_text
    assert form.blocks[-1].text == "SignatureDate"  # the two labels of the signature line
    assert "3 years" in "\n".join(b.text for b in cover.blocks)


def test_names_are_normalised_for_print():
    decomposed = Recipient("Rene\u0301e  Dupont ", Address(("1 Rue\u00a0X", "")))
    facts = replace(result_facts(), patient=decomposed)
    sheet = letter_content(facts, SENDER.name).sheets[0]
    assert sheet.recipient == ("Renée Dupont", "1 Rue X")


def test_problems_name_what_is_missing():
    assert problems(result_facts(), SENDER) == ()
    no_address = replace(result_facts(), patient=Recipient("A B", None))
    assert problems(no_address, SENDER) == ("the patient has no postal address",)
    no_phone = replace(
        result_facts(), facility=FacilityContact("X Imaging", LAKESIDE.address, None)
    )
    assert problems(no_phone, SENDER) == (
        "the exam's facility (X Imaging) has no telephone number",
    )
    too_long = Recipient("A B", Address(tuple(f"line {i}" for i in range(6))))
    assert "at most 5" in problems(replace(result_facts(), patient=too_long), SENDER)[0]
    assert "unknown category" in problems(result_facts("probably"), SENDER)[0]
    assert "step on the ladder" in problems(ladder_facts(LetterKind.OVERDUE), SENDER)[0]
    assert "needs its films" in problems(replace(films_facts(), films=None), SENDER)[0]
    undated = replace(films_facts(), films=replace(films_facts().films, exam_dates=()))
    assert "dates of the exams" in problems(undated, SENDER)[0]


def test_address_from_text_keeps_lines_and_drops_blank_ones():
    address = Address.from_text("  12 Main St \n\nSpringfield, IL 62701\n")
    assert address.lines == ("12 Main St", "Springfield, IL 62701")


def test_dates_are_written_with_the_month_by_name():
    text = text_of(replace(result_facts(), letter_date=date(2025, 3, 4)))
    assert "July 10, 2025" in text  # the exam
    assert "07/10" not in text and "2025-07-10" not in text


def test_ladder_letters_need_a_due_date():
    undated = replace(ladder_facts(LetterKind.REMINDER), next_step=NextStep("treatment"))
    assert problems(undated, SENDER) == ("a reminder letter needs the due date of the next step",)
