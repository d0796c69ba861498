"""Which letters of clinical-rules.md §7 fall due, as dates and facts: result letters, the
ladder's reminder and overdue letters, films requests. Pure: the store reads the records and
keeps the letter log (each letter once); this module says which letters the records call for.

Readings chosen where the spec leaves room (README "Letters" says the same to users):

- **Result letters** are due from the exam day: within ``result_letter_days`` (30) of the
  exam, ``urgent_result_letter_days`` (7) for a suspicious or highly suspicious one (MQSA).
  A letter whose due date passed is still produced. **No backlog on a first run**: only exams
  dated on or after :func:`letters_from` (the day the ladder started, minus
  ``result_letter_days``) get one, so the first run writes to the women whose letter could
  still be on time, not to every woman ever examined; an exam recorded late (dated after that
  day) still gets its letter, late.
- **Films requests** follow the same exams: a patient whose latest exam is dated on or after
  :func:`letters_from` and whose plan carries a comparison flag (short-comparison-history,
  facility-switch, prior-films-needed) gets one letter per facility holding films that flag
  names (:func:`films_wanted`), once per patient and facility.
- **Ladder letters**: the step :func:`followup.rules.ladder.step_on` gives (the upcoming step
  is the *reminder* letter, the overdue steps the *overdue* letters, the last certified).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from followup.rules.categories import Category
from followup.rules.dates import add_days
from followup.rules.film_flags import latest_assessed
from followup.rules.films import film_cutoffs, films_elsewhere
from followup.rules.ladder import Step, StepKind, ladder, overdue_days, step_on
from followup.rules.model import Exam, FilmTransfer
from followup.rules.policy import Policy

RESULT = "result"
REMINDER = "reminder"
OVERDUE = "overdue"
FILMS_REQUEST = "films-request"
LETTER_KINDS = (RESULT, REMINDER, OVERDUE, FILMS_REQUEST)
URGENT = frozenset({Category.SUSPICIOUS, Category.HIGHLY_SUSPICIOUS})
# The flags that name where earlier films are (clinical-rules.md §6).
COMPARISON_FLAGS = frozenset({"short-comparison-history", "facility-switch", "prior-films-needed"})


def result_letter_due(exam_date: date, category: Category | None, policy: Policy) -> date:
    """The day the result letter of an exam is due by (MQSA: 30 days, 7 when suspicious)."""
    urgent = category in URGENT
    days = policy.urgent_result_letter_days if urgent else policy.result_letter_days
    return add_days(exam_date, days)


def letters_from(started: date, policy: Policy) -> date:
    """The earliest exam date that gets a result letter (or a films request): the ladder's
    start day minus ``result_letter_days``; older exams were answered before followup."""
    return add_days(started, -policy.result_letter_days)


@dataclass(frozen=True)
class LadderLetter:
    """A ladder letter: ``kind`` reminder or overdue, ``step`` its key (``upcoming``,
    ``overdue-2``), ``number`` of ``steps`` overdue steps (0 for the reminder), ``certified``
    for the last step, ``day`` the day the step fell."""

    kind: str
    step: str
    number: int
    steps: int
    certified: bool
    day: date


def _letter(step: Step, policy: Policy) -> LadderLetter:
    kind = REMINDER if step.kind is StepKind.UPCOMING else OVERDUE
    steps = len(overdue_days(policy))
    return LadderLetter(kind, step.key, step.number, steps, step.last, step.day)


def ladder_letter(due: date, as_of: date, policy: Policy, started: date) -> LadderLetter | None:
    """The ladder letter due on ``as_of`` for a follow-up due on ``due``, or None."""
    step = step_on(due, as_of, policy, started)
    return None if step is None else _letter(step, policy)


def ladder_window(as_of: date, started: date, policy: Policy) -> tuple[date, date]:
    """The due dates (first, last) that can have a ladder letter on ``as_of``: an upcoming
    step falls ``reminder_days_before`` ahead; no overdue step that fell before ``started``
    is ever sent."""
    latest = max(overdue_days(policy), default=0)
    return add_days(started, -latest), add_days(as_of, policy.reminder_days_before)


def desk_ladder_letter(kind: str, due: date, as_of: date, policy: Policy) -> LadderLetter:
    """The ladder letter written at the desk (``followup letter``), whatever the runs sent:
    the reminder while the follow-up is not yet due, else the overdue step that fell last
    (the first while none has). ValueError says which kind fits."""
    if kind == REMINDER:
        if due < as_of:
            raise ValueError(f"the follow-up was due on {due}; write an overdue letter instead")
        return _letter(ladder(due, policy)[0], policy)
    if due >= as_of:
        raise ValueError(f"the follow-up is due on {due}, not overdue; write a reminder instead")
    steps = ladder(due, policy)[1:]
    if not steps:
        raise ValueError("the policy has no overdue steps (overdue_steps_days)")
    fallen = [step for step in steps if step.day <= as_of]
    return _letter(fallen[-1] if fallen else steps[0], policy)


@dataclass(frozen=True)
class FilmsHolder:
    """A facility holding earlier films not on hand at ``current``, and their dates."""

    facility: str
    dates: tuple[date, ...]


@dataclass(frozen=True)
class FilmsWanted:
    """Her current facility (that of the latest assessed exam), its exam date, and the
    facilities holding earlier films that are not on hand there."""

    current: str
    latest: date
    holders: tuple[FilmsHolder, ...]


def films_wanted(exams: Sequence[Exam], transfers: Sequence[FilmTransfer]) -> FilmsWanted | None:
    """Where the earlier films the comparison flags name are (§6), or None without exams.

    The flags name the films dated up to the latest exam that are not on hand at its facility
    (short-comparison-history, prior-films-needed: every such facility; facility-switch: the
    facility before, one of them), so one reading serves all three. ``exams`` in date order.
    """
    latest = latest_assessed(exams)
    if latest is None:
        return None
    cutoffs = film_cutoffs(latest.facility_key, transfers)
    elsewhere = films_elsewhere(exams, cutoffs, latest.date)
    holders = tuple(FilmsHolder(name, tuple(days)) for name, days in elsewhere)
    return FilmsWanted(latest.facility, latest.date, holders)
