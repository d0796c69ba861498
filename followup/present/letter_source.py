"""The one place where what the store says is due becomes a letter's facts.

The store (:mod:`followup.store.letters_due`) reads the letters due as plain values: the
patient, the facility, the exam, the plan's next step, the films, the ladder's step. This
module turns one of them into :class:`~followup.present.letter_facts.LetterFacts`, so the
batch (``followup letters``), the desk (``followup letter``), the demo and a later web page
fill a letter the same way. It knows the store's values only by their shape (the protocols
below), so the presentation still imports nothing but the rules.

It also turns the clinic's settings into the sender and the density statements.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

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
from followup.present.letter_text import FEDERAL_DENSITY, DensityStatements


class PlaceLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def address(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...


class PatientLike(Protocol):
    @property
    def name(self) -> str | None: ...
    @property
    def address(self) -> str | None: ...
    @property
    def birth_date(self) -> date | None: ...


Day = date  # for the protocol whose ``date`` hides the type


class ExamLike(Protocol):
    @property
    def date(self) -> Day: ...
    @property
    def category(self) -> str: ...
    @property
    def birads(self) -> str | None: ...
    @property
    def side(self) -> str | None: ...
    @property
    def kind(self) -> str | None: ...
    @property
    def density(self) -> str | None: ...


class StepLike(Protocol):
    @property
    def action(self) -> str | None: ...
    @property
    def due(self) -> date | None: ...
    @property
    def side(self) -> str | None: ...


class FilmsLike(Protocol):
    @property
    def holder(self) -> PlaceLike: ...
    @property
    def dates(self) -> tuple[date, ...]: ...
    @property
    def current(self) -> PlaceLike: ...


class LetterLike(Protocol):
    """A letter due, as :class:`followup.store.letters_due.DueLetter` holds it."""

    @property
    def kind(self) -> str: ...
    @property
    def patient(self) -> PatientLike: ...
    @property
    def facility(self) -> PlaceLike: ...
    @property
    def exam(self) -> ExamLike | None: ...
    @property
    def next_step(self) -> StepLike | None: ...
    @property
    def films(self) -> FilmsLike | None: ...
    @property
    def step_number(self) -> int | None: ...
    @property
    def steps(self) -> int | None: ...
    @property
    def certified(self) -> bool: ...
    @property
    def wrote_before(self) -> bool: ...
    @property
    def also_step(self) -> StepLike | None: ...


class SettingsLike(Protocol):
    """The clinic's letter settings (``followup.store.facilities.LetterSettings``)."""

    @property
    def name(self) -> str | None: ...
    @property
    def address(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def not_dense(self) -> str | None: ...
    @property
    def dense(self) -> str | None: ...


def _address(text: str | None) -> Address | None:
    return None if not text else Address.from_text(text)


def contact_of(place: PlaceLike) -> FacilityContact:
    return FacilityContact(place.name, _address(place.address), place.phone)


def sender_of(settings: SettingsLike) -> Sender:
    """The clinic as the letters' sender (an empty name or address makes every letter's
    :func:`~followup.present.letter_facts.problems` say so)."""
    return Sender(settings.name or "", _address(settings.address) or Address(()), settings.phone)


def density_of(settings: SettingsLike) -> DensityStatements:
    """The clinic's density statements, the federal wording where it set none."""
    return DensityStatements(
        not_dense=settings.not_dense or FEDERAL_DENSITY.not_dense,
        dense=settings.dense or FEDERAL_DENSITY.dense,
    )


def facts_of(letter: LetterLike, letter_date: date, reference: str | None = None) -> LetterFacts:
    """One letter's facts, dated ``letter_date``, with its ``reference`` (the log's id)."""
    patient = letter.patient
    recipient = Recipient(patient.name or "", _address(patient.address), patient.birth_date)
    exam, step, films, also = letter.exam, letter.next_step, letter.films, letter.also_step
    return LetterFacts(
        kind=LetterKind(letter.kind),
        letter_date=letter_date,
        patient=recipient,
        facility=contact_of(letter.facility),
        result=None
        if exam is None
        else ExamResult(exam.category, exam.date, exam.birads, exam.side, exam.kind, exam.density),
        next_step=None if step is None else NextStep(step.action, step.due, step.side),
        films=None
        if films is None
        else FilmsRequest(contact_of(films.holder), films.dates, contact_of(films.current)),
        step=letter.step_number,
        steps=letter.steps,
        certified=letter.certified,
        reference=reference,
        wrote_before=letter.wrote_before,
        also=None if also is None else NextStep(also.action, also.due, also.side),
    )
