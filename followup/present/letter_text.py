"""The wording of the letters: small functions of plain values, one letter as blocks of text.

The PDF (:mod:`followup.present.letter_pdf`) lays these blocks out; the reminder e-mail and a
later web page can reuse the same sentences (:func:`due_phrase`,
:func:`followup.present.result_words.result_paragraphs`, :func:`next_step_paragraphs`,
:func:`density_statement`), so the patient reads one wording wherever she reads it (issue 14
point 7).

What a letter may say, and where (clinical-rules.md §7, §10):

- Plain language, about a 6th-8th grade reading level: short sentences, everyday words
  ("the doctor who read your mammogram", "benign means it is not cancer"), each technical word
  explained where it first appears. The tests hold every kind and every result and action
  variant at or below Flesch-Kincaid grade 8.
- Nothing diagnostic on the outside or at the top. The envelope window shows only the
  certified-mail line (when there is one), her name and address. The heading and the first
  paragraph are the same for every result ("Your mammogram results", "This letter gives you
  the results of the mammogram you had at ... on ..."): the heading says what the letter is
  about, as the clinic's name on the envelope already does, and nothing about what was found,
  so whoever glances at the top of the page, or at a letter left open on a table, learns
  nothing that a normal result would not also show. The result comes under "Your result".
- A result letter says the result in plain words, what happens next and by when, and the
  facility's name, address and telephone number; when the density is recorded, the federal
  breast density statement, word for word (:data:`FEDERAL_DENSITY`; a clinic may replace it).
- The reminder and overdue letters say what is due in the same neutral words as the reminder
  e-mail (:func:`due_phrase`: "the appointment your care team recommended" for a biopsy), since
  the result letter has already told her what it is, and they invite her to call if she is
  not sure what the visit is for.
- A biopsy letter says that a second opinion is always her right (the seed document).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from followup.present.letter_blocks import (
    Block,
    LetterContent,
    Sheet,
    Style,
    address_line,
    bold,
    date_text,
    heading,
    para,
    phone_text,
)
from followup.present.letter_facts import (
    FacilityContact,
    FilmsRequest,
    LetterFacts,
    LetterKind,
    NextStep,
    clean,
)
from followup.present.result_words import result_paragraphs


@dataclass(frozen=True)
class DensityStatements:
    """The breast density statements of a result letter: the clinic may replace them.

    The defaults are the federal wording, 21 CFR 900.12(c)(2)(iii) (not dense: density a or
    b) and (iv) (dense: c or d), as amended by the MQSA final rule of 10 March 2023 (88 FR
    15126), in force since 10 September 2024. Facilities in the US must use these words;
    a clinic elsewhere, or one whose lawyers want a state's wording added, passes its own.
    """

    not_dense: str = (
        "Breast tissue can be either dense or not dense. Dense tissue makes it harder to find "
        "breast cancer on a mammogram and also raises the risk of developing breast cancer. "
        "Your breast tissue is not dense. Talk to your healthcare provider about breast "
        "density, risks for breast cancer, and your individual situation."
    )
    dense: str = (
        "Breast tissue can be either dense or not dense. Dense tissue makes it harder to find "
        "breast cancer on a mammogram and also raises the risk of developing breast cancer. "
        "Your breast tissue is dense. In some people with dense tissue, other imaging tests in "
        "addition to a mammogram may help find cancers. Talk to your healthcare provider "
        "about breast density, risks for breast cancer, and your individual situation."
    )


FEDERAL_DENSITY = DensityStatements()
CERTIFIED_MAIL = "CERTIFIED MAIL"


def of_side(side: str | None) -> str:
    """`` of your left breast`` for a next step; both breasts go unsaid."""
    return {"left": " of your left breast", "right": " of your right breast"}.get(side or "", "")


# What is due, per action code, in words that name no diagnosis: the reminder and overdue
# letters and the reminder e-mail say the same.
_DUE_PHRASES = {
    "routine-screening": "your next routine mammogram",
    "short-interval-follow-up": "your follow-up mammogram",
    "additional-imaging": "the follow-up imaging your care team asked for",
    "prior-films": "the earlier mammograms your care team asked for",
    "biopsy": "the appointment your care team recommended",
    "pathology-result": "the follow-up your care team asked for",
    "surgical-consultation": "the appointment your care team recommended",
}
SOMETHING_DUE = "your next breast imaging appointment"


def due_phrase(action: str | None) -> str:
    """What is due, in words that name no diagnosis (reminders, overdue letters, e-mail)."""
    return _DUE_PHRASES.get(action or "", SOMETHING_DUE)


def next_step_paragraphs(step: NextStep, facility: FacilityContact) -> tuple[Block, ...]:
    """What happens next and by when (clinical-rules.md §2 action codes)."""
    if step.action == "treatment":
        return (para("Your care team will plan the next steps with you."),)
    if step.action is None or step.due is None:
        return (para("Your care team will tell you about the next step."),)
    what = _NEXT_STEP[step.action].format(side=of_side(step.side), facility=facility.name)
    return (para(what, " by ", bold(date_text(step.due)), "."),)


_NEXT_STEP = {
    "routine-screening": "Have your next routine mammogram",
    "short-interval-follow-up": "Have a follow-up mammogram{side}",
    "additional-imaging": "Come back for more pictures{side}. This may be more mammogram "
    "pictures or an ultrasound. Please have them",
    "prior-films": "Have your earlier mammograms sent to {facility}",
    "biopsy": "Have a biopsy{side}",
    "pathology-result": "Ask your care team for the result of your biopsy",
    "surgical-consultation": "See a breast surgeon to talk about the next step. Please go",
}


def contact_paragraph(facility: FacilityContact, booking: bool, urgent: bool = False) -> Block:
    """Whom to call, with the facility's name, telephone number and address (a result letter
    must give all three); ``booking`` when there is a date to set, ``urgent`` this week."""
    if booking:
        when = " this week" if urgent else ""
        why = f"{when} to set a date, or if you have questions"
    else:
        why = " if you have questions"
    return para(
        "Please call ",
        bold(facility.name),
        " at ",
        bold(phone_text(facility.phone or "")),
        f"{why}. The address is {address_line(facility.address)}.",
        " If you already have a date, please keep it." if booking else "",
    )


def _booking(step: NextStep) -> bool:
    return step.action not in (None, "treatment", "pathology-result") and step.due is not None


def density_statement(density: str | None, statements: DensityStatements) -> str | None:
    """The breast density statement for density ``a``-``d``, or None when not recorded."""
    if density is None:
        return None
    return statements.dense if density in ("c", "d") else statements.not_dense


def _opening(facts: LetterFacts) -> Block:
    return para(f"Dear {clean(facts.patient.name)},")


def _closing(sender_name: str) -> tuple[Block, ...]:
    return (para("Sincerely,", style=Style.CLOSING), para(sender_name, style=Style.LINE))


def _recipient(facts: LetterFacts) -> tuple[str, ...]:
    address = facts.patient.address.lines if facts.patient.address else ()
    return (clean(facts.patient.name), *address)


def result_letter(
    facts: LetterFacts, sender_name: str, density: DensityStatements
) -> tuple[Sheet, ...]:
    """The lay summary: a neutral opening, the result, what next and when, density, contact."""
    result, step = facts.result, facts.next_step
    assert result is not None and step is not None  # problems() says so first
    facility = facts.facility
    urgent = result.category in ("suspicious", "highly-suspicious")
    blocks = [
        _opening(facts),
        para(
            f"This letter gives you the results of the mammogram you had at {facility.name} on ",
            bold(date_text(result.exam_date)),
            ".",
        ),
        heading("Your result"),
        *result_paragraphs(result),
        heading("What happens next"),
        *next_step_paragraphs(step, facility),
    ]
    if facts.also is not None:
        blocks += [
            para("There is one more thing to do:"),
            *next_step_paragraphs(facts.also, facility),
        ]
    if facts.films is not None:
        blocks.append(_films_note(facts.films))
    blocks.append(contact_paragraph(facility, _booking(step), urgent))
    statement = density_statement(result.density, density)
    if statement:
        blocks += [heading("Breast density"), para(statement)]
    blocks += _closing(sender_name)
    return (Sheet(_recipient(facts), None, "Your mammogram results", tuple(blocks)),)


def _films_note(films: FilmsRequest) -> Block:
    return para(
        f"Your earlier mammograms are at {films.holder.name}. We are sending you a form to "
        f"ask them to send the pictures to {films.current.name}."
    )


def reminder_letter(facts: LetterFacts, sender_name: str) -> tuple[Sheet, ...]:
    """The ladder's upcoming step: what is due (neutral words), when, whom to call."""
    step = facts.next_step
    assert step is not None and step.due is not None
    blocks = (
        _opening(facts),
        para(f"This is a friendly reminder from {sender_name}."),
        para(
            f"It is time for {due_phrase(step.action)}. It is due by ",
            bold(date_text(step.due)),
            ".",
        ),
        contact_paragraph(facts.facility, booking=True),
        *_ladder_footer(facts),
        *_closing(sender_name),
    )
    return (Sheet(_recipient(facts), None, "A reminder about your next visit", blocks),)


def overdue_letter(facts: LetterFacts, sender_name: str) -> tuple[Sheet, ...]:
    """An overdue step of the ladder; the last one says it is the last and is certified."""
    step = facts.next_step
    assert step is not None and step.due is not None and facts.step and facts.steps
    last = facts.step == facts.steps
    blocks = [
        _opening(facts),
        para(
            f"Our records show that {due_phrase(step.action)} was due by ",
            bold(date_text(step.due)),
            ". We have no record that it was done.",
        ),
    ]
    if facts.wrote_before:
        blocks.append(para("We wrote to you about this before."))
    blocks += [
        para("This visit is important for your health."),
        contact_paragraph(facts.facility, booking=True, urgent=last),
    ]
    if last:
        blocks.append(
            para("This is our last letter about this visit. We will still try to call you.")
        )
    blocks += [*_ladder_footer(facts), *_closing(sender_name)]
    title = (
        "Important: please set a date for your visit"
        if last
        else "Please set a date for your visit"
    )
    return (Sheet(_recipient(facts), None, title, tuple(blocks)),)


def _ladder_footer(facts: LetterFacts) -> tuple[Block, ...]:
    return (
        para(
            "If you are not sure what this visit is for, please call us. We will explain. If "
            "you had it somewhere else, please tell us, so we can update your record."
        ),
    )


def films_request_letter(facts: LetterFacts, sender_name: str) -> tuple[Sheet, ...]:
    """Two sheets: to her, why and what to do; then the form she signs, to the holder.

    The form carries the holder's address in the window position, so that once signed it
    goes into a window envelope as it is (or she takes it there).
    """
    films = facts.films
    assert films is not None
    holder, current = films.holder, films.current
    dates = _date_list(films.exam_dates)
    cover = (
        _opening(facts),
        para(
            f"Your care team at {current.name} wants to compare your new mammogram with your "
            "earlier ones. This helps the doctor see if anything has changed."
        ),
        *_dates_at(films.exam_dates, holder.name, dates),
        heading("What to do"),
        para(
            "Please sign and date the form on the next page. Then mail it to "
            f"{holder.name}, or take it there. It fits a window envelope. Their phone number "
            "is ",
            bold(phone_text(holder.phone or "")),
            ".",
        ),
        para(
            "Many places ask for the last 3 years of mammograms, or more. If you had "
            "mammograms at any other place, please tell us."
        ),
        *_closing(sender_name),
    )
    form = _films_form(facts, films, dates)
    cover_sheet = Sheet(_recipient(facts), None, "Your earlier mammograms", cover)
    holder_lines = (holder.name, *(holder.address.lines if holder.address else ()))
    return (cover_sheet, Sheet(holder_lines, None, "Request to send my mammograms", form))


LISTED_DATES = 6  # more dates than this are written as one paragraph, not a list


def _date_list(days: tuple[date, ...]) -> tuple[Block, ...]:
    """The exam dates, in order: one a line, or a paragraph when there are many."""
    ordered = sorted(set(days))
    if len(ordered) > LISTED_DATES:
        return (para("; ".join(map(date_text, ordered)) + "."),)
    return tuple(para(date_text(d), style=Style.BULLET) for d in ordered)


def _dates_at(days: tuple[date, ...], holder: str, dates: tuple[Block, ...]) -> tuple[Block, ...]:
    """On the cover letter: the dates (or, when many, their span) and where those films are."""
    ordered = sorted(set(days))
    if len(ordered) > LISTED_DATES:
        first, last = date_text(ordered[0]), date_text(ordered[-1])
        return (
            para(
                f"Your mammograms from {len(ordered)} dates, from {first} to {last}, are at "
                f"{holder}. The form lists them."
            ),
        )
    return (para(f"Your mammograms from these dates are at {holder}:"), *dates)


def _films_form(
    facts: LetterFacts, films: FilmsRequest, dates: tuple[Block, ...]
) -> tuple[Block, ...]:
    patient = facts.patient
    born = date_text(patient.birth_date) if patient.birth_date else None
    current = films.current
    return (
        para(f"To {films.holder.name}:"),
        para(
            "Please send the pictures and reports of my mammograms from the dates below to the "
            "place named here. They will be compared with my new mammogram."
        ),
        para("My name: ", bold(clean(patient.name))),
        para("Date of birth: ", bold(born), style=Style.LINE)
        if born
        else para("Date of birth", style=Style.FIELDS),
        para(f"My address: {address_line(patient.address)}", style=Style.LINE),
        para(f"Mammograms taken at {films.holder.name} on:"),
        *dates,
        para("Please send them to:"),
        para(
            bold(current.name),
            f", {address_line(current.address)}, phone ",
            bold(phone_text(current.phone or "")),
        ),
        para("Signature", "Date", style=Style.FIELDS),
    )


def letter_content(
    facts: LetterFacts,
    sender_name: str,
    density: DensityStatements = FEDERAL_DENSITY,
    mark: str = CERTIFIED_MAIL,
) -> LetterContent:
    """The whole letter as words, for the PDF, a plain-text rendering, or a web page.

    ``mark`` is the line printed above the address of a letter flagged ``certified``
    ("REGISTERED MAIL" where that is the service's name).
    """
    sheets = _BUILDERS[facts.kind](facts, sender_name, density)
    if facts.certified:  # the envelope is hers: the mark goes on her sheet, the first
        sheets = (replace(sheets[0], mark=clean(mark)), *sheets[1:])
    return LetterContent(
        sheets=sheets,
        date_line=date_text(facts.letter_date),
        reference_line=reference_line(facts),
        running_head=clean(facts.patient.name),
    )


def reference_line(facts: LetterFacts) -> str | None:
    """The line under the date: the letter's reference, and an overdue letter's step."""
    reference = [f"Reference: {clean(facts.reference)}"] if facts.reference else []
    if facts.kind is LetterKind.OVERDUE:
        reference.append(f"Notice {facts.step} of {facts.steps}")
    return " · ".join(reference) or None


_BUILDERS = {
    LetterKind.RESULT: result_letter,
    LetterKind.REMINDER: lambda f, s, d: reminder_letter(f, s),
    LetterKind.OVERDUE: lambda f, s, d: overdue_letter(f, s),
    LetterKind.FILMS_REQUEST: lambda f, s, d: films_request_letter(f, s),
}
