"""The films flags of clinical-rules.md §6: short-comparison-history, facility-switch and
prior-films-needed, each naming where the films that are not on hand are (facility and dates),
in the staff's voice and the patient's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from followup.rules.breasts import Course, latest_exam
from followup.rules.dates import add_years
from followup.rules.films import earliest_on_hand, film_cutoffs, films_elsewhere, on_hand
from followup.rules.model import UNASSESSED as _UNASSESSED
from followup.rules.model import Exam, FilmTransfer, Flag
from followup.rules.policy import Policy
from followup.rules.wording import dates, day, names, places


def comparison_flags(
    films: Sequence[Exam], transfers: Sequence[FilmTransfer], policy: Policy
) -> list[Flag]:
    """§6: the films on hand at the current facility (that of the latest assessed exam) span
    less than ``comparison_years``; the latest exam was elsewhere than the one before it and
    that exam's films are not on hand. ``films`` are every exam in date order (post-procedure
    ones count as films on hand, but are not "the latest exam")."""
    latest, previous = _latest_two(films)
    if latest is None:
        return []
    key = latest.facility_key
    if transfers:
        cutoffs = film_cutoffs(key, transfers)
        earliest = earliest_on_hand(films, cutoffs) or latest.date  # the latest is on hand
        switched = previous is not None and not on_hand(previous, cutoffs)
    else:  # nearly every patient: the films on hand are those made here
        cutoffs = None
        earliest = latest.date
        for exam in films:  # in date order: the first made here is the earliest
            if exam.facility_key == key:
                earliest = exam.date
                break
        switched = previous is not None and previous.facility_key != key
    short = add_years(earliest, policy.comparison_years) > latest.date
    if not short and not switched:
        return []
    cutoffs = cutoffs or {key: date.max}
    flags = [_short_history(films, latest, cutoffs, earliest, policy)] if short else []
    if switched:
        assert previous is not None
        flags.append(_facility_switch(films, latest, previous, cutoffs))
    return flags


def latest_assessed(films: Sequence[Exam]) -> Exam | None:
    """The latest exam that assessed a breast (post-procedure exams never govern): the one
    whose facility is her current facility. ``films`` in date order."""
    return _latest_two(films)[0]


def _latest_two(films: Sequence[Exam]) -> tuple[Exam | None, Exam | None]:
    """The latest assessed exam and the one before it (post-procedure exams never govern)."""
    if not films:
        return None, None
    last = films[-1]
    if last.assessed is not _UNASSESSED:  # nearly always: the latest exam assessed a breast
        if len(films) == 1:
            return last, None
        if films[-2].assessed is not _UNASSESSED:
            return last, films[-2]
    found = [exam for exam in films if exam.assesses][-2:]
    if not found:
        return None, None
    return (found[-1], found[0]) if len(found) == 2 else (found[0], None)


def _short_history(
    films: Sequence[Exam], latest: Exam, cutoffs: dict[str, date], earliest: date, policy: Policy
) -> Flag:
    years, here = policy.comparison_years, latest.facility
    head = (
        f"The films on hand at {here} go back only to {day(earliest)}, less than the {years} "
        f"years before the exam of {day(latest.date)} that the radiologist compares with"
    )
    if earliest == latest.date:
        head = (
            f"Only the films of {day(latest.date)} are on hand at {here}; the radiologist "
            f"compares with {years} years of earlier films"
        )
    elsewhere = films_elsewhere(films, cutoffs, latest.date)
    if not elsewhere:
        return Flag(
            "short-comparison-history",
            f"{head}. No earlier films are on record: ask the patient where she had earlier "
            "mammograms and request them.",
            f"{head}. No earlier films are on record: if you had mammograms elsewhere, ask "
            f"that facility to send them to {here}.",
        )
    return Flag(
        "short-comparison-history",
        f"{head}. Older films are at {places(elsewhere)}: bring or request them, then record "
        "the transfer with `followup films transfer`.",
        f"{head}. Older films are at {places(elsewhere)}: ask "
        f"{names(elsewhere)} to send your films to {here}, or bring them to your next visit.",
    )


def _facility_switch(
    films: Sequence[Exam], latest: Exam, previous: Exam, cutoffs: dict[str, date]
) -> Flag:
    there = previous.facility
    missing = [
        e.date
        for e in films
        if e.facility_key == previous.facility_key
        and e.date <= latest.date
        and not on_hand(e, cutoffs)
    ]
    seen = f"the one before at {there} ({dates(missing)})"
    return Flag(
        "facility-switch",
        f"The exam of {day(latest.date)} was at {latest.facility}, {seen}: bring or request "
        f"the films from {there} so the radiologist can compare, then record the transfer "
        "with `followup films transfer`.",
        f"Your exam of {day(latest.date)} was at {latest.facility}, {seen}: ask {there} to "
        f"send your films to {latest.facility}, or bring them, so the radiologist can compare.",
    )


def prior_films_flag(
    waiting: Sequence[Course],
    films: Sequence[Exam],
    transfers: Sequence[FilmTransfer],
    policy: Policy,
) -> Flag:
    """§6: a breast's latest exam is ``incomplete-priors``; name where earlier films are (the
    facilities, and dates, of films not on hand at that exam's facility)."""
    exam = latest_exam(waiting)
    cutoffs = film_cutoffs(exam.facility_key, transfers)
    elsewhere = films_elsewhere([e for e in films if e.date < exam.date], cutoffs, exam.date)
    days, here = policy.prior_films_days, exam.facility
    when = day(exam.date)
    head = (
        f"The exam of {when} at {here} stays incomplete until the radiologist can compare it "
        "with prior mammograms"
    )
    you = f"Your exam of {when} at {here} cannot be finished without your earlier mammograms"
    if not elsewhere:
        return Flag(
            "prior-films-needed",
            f"{head}, and no earlier films are on record elsewhere: ask the patient where she "
            f"had mammograms before and request those films within {days} days.",
            f"{you}, and none are on record: ask the places where you had mammograms before "
            f"to send them to {here} within {days} days.",
        )
    return Flag(
        "prior-films-needed",
        f"{head}: earlier films are at {places(elsewhere)}; request them to be sent to {here} "
        f"within {days} days, then record the transfer with `followup films transfer`.",
        f"{you}: they are at {places(elsewhere)}; ask {names(elsewhere)} to send your films "
        f"to {here} within {days} days.",
    )
