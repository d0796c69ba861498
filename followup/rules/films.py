"""Films on hand at a facility, with dated transfers that chain (clinical-rules.md §6).

*Films on hand* at a facility are the exams done there, plus the exams whose films were
transferred there: a transfer on a date moves the films of the source's exams dated on or
before that date, and what the source itself had on hand by that date (transfers chain: films
sent from A to B, then B's films to C, are at C). Films made at the source later were never
sent. An undated transfer (``date`` None) moves all of the source's films, whenever made.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from followup.rules.model import Exam, FilmTransfer

# Stands for "no limit": an undated transfer, or the facility the films are wanted at.
_ALWAYS = date.max


def film_cutoffs(facility: str, transfers: Sequence[FilmTransfer]) -> dict[str, date]:
    """For each facility key whose films are on hand at ``facility`` (a key), the last exam
    date whose films are there.

    A transfer from S to T on day D carries S's films up to D, provided T's own films up to D
    reach ``facility``; the cutoffs are the largest such days, found by relaxing every
    transfer until nothing changes (a handful of transfers per patient; cycles end because a
    cutoff only ever grows, and only to a transfer's date).
    """
    cutoffs = {facility: _ALWAYS}
    if not transfers:
        return cutoffs
    changed = True
    while changed:
        changed = False
        for transfer in transfers:
            target = cutoffs.get(transfer.to_key)
            if target is None:
                continue
            sent = transfer.date or _ALWAYS
            # An undated transfer reached the target whenever its films are counted.
            if transfer.date is not None and sent > target:
                continue
            source = transfer.from_key
            if sent > cutoffs.get(source, date.min):
                cutoffs[source] = sent
                changed = True
    return cutoffs


def on_hand(exam: Exam, cutoffs: dict[str, date]) -> bool:
    """Whether ``exam``'s films are on hand where ``cutoffs`` were computed for."""
    cutoff = cutoffs.get(exam.facility_key)
    return cutoff is not None and exam.date <= cutoff


def films_elsewhere(
    exams: Sequence[Exam], cutoffs: dict[str, date], before: date
) -> list[tuple[str, list[date]]]:
    """Facilities (first spelling seen) holding films dated on or before ``before`` that are
    not on hand, each with those films' dates, oldest first (``exams`` are in date order)."""
    places: dict[str, tuple[str, list[date]]] = {}
    for exam in exams:
        cutoff = cutoffs.get(exam.facility_key)
        if exam.date <= before and (cutoff is None or exam.date > cutoff):
            days = places.setdefault(exam.facility_key, (exam.facility, []))[1]
            if not days or days[-1] != exam.date:  # a screening and a diagnostic on one day
                days.append(exam.date)
    return list(places.values())


def earliest_on_hand(exams: Sequence[Exam], cutoffs: dict[str, date]) -> date | None:
    """The date of the oldest film on hand (the start of the comparison span)."""
    return min((e.date for e in exams if on_hand(e, cutoffs)), default=None)
