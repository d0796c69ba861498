"""Each breast's own course (clinical-rules.md §2, §3, §4): what its exams and biopsies, in
date order, leave standing for it.

A breast's *state* comes from the latest exam that assessed it (§2), together with its
probably-benign episode (§3), its open biopsy recommendation and its latest biopsy (§4). An
exam that did not image the breast (or only carries a post-procedure finding for it, §1)
changes nothing here. What the state calls for next is :mod:`followup.rules.steps`.

On one day, a breast's exams come before its biopsies (a biopsy "dated on or after the exam"
answers it, §4), and an exam "dated after the biopsy" resumes the ordinary rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from functools import partial
from typing import NamedTuple

from followup.rules.categories import WORRY_OF, Category
from followup.rules.model import BREASTS, Biopsy, Exam, Finding
from followup.rules.vocabulary import BiopsyResult, ExamKind

# Members as plain names: the walk below runs for every exam of every patient planned, and an
# enum class attribute is slow on Python 3.11.
_SUSPICIOUS = WORRY_OF[Category.SUSPICIOUS]
_PROBABLY_BENIGN, _KNOWN_MALIGNANCY = Category.PROBABLY_BENIGN, Category.KNOWN_MALIGNANCY
_BIOPSY_CATEGORIES = (Category.SUSPICIOUS, Category.HIGHLY_SUSPICIOUS)
_DIAGNOSTIC, _PENDING = ExamKind.DIAGNOSTIC, BiopsyResult.PENDING


class Course(NamedTuple):
    """What one breast's records leave standing. Built by :func:`follow`, read by the steps
    and the flags; never leaves the rules."""

    breast: int  # index into BREASTS
    exam: Exam | None  # the latest exam that assessed the breast
    finding: Finding | None  # what that exam found on it
    # The latest assessing exam of an earlier day (category-increased compares with it: a
    # same-day diagnostic exam answers that day's screening, §5).
    before: Finding | None
    before_exam: Exam | None
    episode_first: Exam | None  # §3: the probably-benign episode, if one is running
    episode_length: int
    opened: Exam | None  # §4: the exam whose biopsy recommendation is still open
    opened_finding: Finding | None
    outstanding: Exam | None  # a later non-diagnostic exam that did not close it
    biopsy: Biopsy | None  # the breast's latest biopsy
    biopsy_governs: bool  # no exam of the breast after it (§4)

    @property
    def pending(self) -> Biopsy | None:
        """The latest biopsy when its result is still pending (it stays in sight, §4)."""
        biopsy = self.biopsy
        return biopsy if biopsy is not None and biopsy.result is _PENDING else None

    def same_state(self, other: Course) -> bool:
        """Whether both breasts were left in one state by the same records: one exam assessed
        both alike (the same finding, or the same category and no radiologist's interval,
        which may apply to one breast only), with the same episode and nothing open. Their
        steps are then the same, but for the side."""
        mine, theirs, exam = self.finding, other.finding, self.exam
        if exam is not other.exam or exam is None or mine is None or theirs is None:
            return False
        if mine is not theirs and (
            mine.category is not theirs.category
            or mine.subdivision is not theirs.subdivision
            or exam.follow_up_months is not None
        ):
            return False
        return (
            self.episode_first is other.episode_first
            and self.episode_length == other.episode_length
            and self.opened is None
            and other.opened is None
            and self.biopsy is None
            and other.biopsy is None
        )


# Builds a Course from a tuple of all its fields (two are made for every patient planned).
_make_course: Callable[[tuple[object, ...]], Course] = partial(tuple.__new__, Course)


def follow(breast: int, history: Sequence[Exam], biopsies: Sequence[Biopsy]) -> Course | None:
    """The course of breast ``breast`` (0 left, 1 right) from the patient's exams in
    chronological order and her biopsies of that breast in date order; None when nothing
    was recorded about it.

    One walk, in local variables (it runs for every exam of every patient planned); each block
    says which rule it applies.
    """
    exam = finding = before = before_exam = episode_first = None
    opened = opened_finding = outstanding = biopsy = None
    episode_length, governs = 0, False
    waiting = list(biopsies) if biopsies else None
    for current in history:
        found = current.assessed[breast]
        if found is None:
            continue  # §2: an exam that did not assess this breast changes nothing here
        if waiting and waiting[0].date < current.date:
            # §4: biopsies before this exam answer the open recommendation (a pending one
            # too: its result is then awaited) and end a probably-benign episode: imaging
            # follow-up after pathology starts again at step 1.
            while waiting and waiting[0].date < current.date:
                biopsy = waiting.pop(0)
            opened = opened_finding = outstanding = episode_first = None
            episode_length = 0
        # §2: the latest exam that assessed the breast is its state; an exam dated after the
        # biopsy resumes the ordinary rules (§4).
        if exam is not None and current.date > exam.date:
            before, before_exam = finding, exam
        exam, finding, governs = current, found, False
        category = found.category
        # §3: an episode starts at the first probably-benign exam after anything else; any
        # other assessment of the breast ends it.
        if category is _PROBABLY_BENIGN:
            if not episode_length:
                episode_first = current
            episode_length += 1
        elif episode_length:
            episode_first, episode_length = None, 0
        # §4: a later diagnostic exam below suspicious, or known malignancy, closes an open
        # recommendation; a later screening does not, whatever it found. An exam whose kind is
        # not recorded is not taken for a diagnostic re-assessment: the recommendation stays
        # open (biopsy-outstanding says to record the kind if it was one), so that a finding
        # that needs a biopsy never drops out of sight on a guess.
        if opened is not None:
            if category is _KNOWN_MALIGNANCY or (
                current.kind is _DIAGNOSTIC and found.worry < _SUSPICIOUS
            ):
                opened = opened_finding = outstanding = None
            elif current.kind is not _DIAGNOSTIC:
                outstanding = current
        # §4: a suspicious or highly suspicious finding opens a biopsy recommendation.
        if opened is None and category in _BIOPSY_CATEGORIES:
            opened, opened_finding = current, found
    if waiting:  # §4: biopsies after the breast's latest exam govern it (as above)
        biopsy, governs = waiting[-1], True
        opened = opened_finding = outstanding = episode_first = None
        episode_length = 0
    if exam is None and biopsy is None:
        return None
    return _make_course(  # every Course field, in order
        (
            breast,
            exam,
            finding,
            before,
            before_exam,
            episode_first,
            episode_length,
            opened,
            opened_finding,
            outstanding,
            biopsy,
            governs,
        )
    )


def courses(
    history: Sequence[Exam], biopsies: Sequence[Biopsy]
) -> tuple[Course | None, Course | None]:
    """Both breasts' courses (left, right); ``biopsies`` in date order.

    Most histories hold no biopsy and no finding that could open a biopsy recommendation:
    then only a breast's latest exams matter, read back from the end (:func:`follow_recent`).
    Otherwise :func:`follow` walks every record; when every exam found the same on both
    breasts, that walk is made once."""
    if not biopsies:
        for exam in history:
            governing = exam.governing
            if governing is not None and WORRY_OF[governing.category] >= _SUSPICIOUS:
                break
        else:
            return follow_recent(0, history), follow_recent(1, history)
        left = follow(0, history, ())
        if left is None:
            return left, follow(1, history, ())
        for exam in history:
            both = exam.assessed
            if both[0] is not both[1]:
                return left, follow(1, history, ())
        return left, _make_course((1, *left[1:]))
    of_left = [b for b in biopsies if b.side is BREASTS[0]]
    of_right = [b for b in biopsies if b.side is BREASTS[1]]
    return follow(0, history, of_left), follow(1, history, of_right)


def follow_recent(breast: int, history: Sequence[Exam]) -> Course | None:
    """:func:`follow` for a history without biopsies, none of whose exams is suspicious or
    worse (so no recommendation is ever open): the breast's latest exam (§2), the latest of
    an earlier day before it, and its probably-benign episode counted back (§3)."""
    index = len(history) - 1
    while index >= 0 and history[index].assessed[breast] is None:
        index -= 1
    if index < 0:
        return None
    exam = history[index]
    finding = exam.assessed[breast]
    before = before_exam = episode_first = None
    episode_length = 0
    counting = finding is not None and finding.category is _PROBABLY_BENIGN
    while index >= 0:
        current = history[index]
        found = current.assessed[breast]
        index -= 1
        if found is None:
            continue
        if counting:
            if found.category is _PROBABLY_BENIGN:
                episode_first, episode_length = current, episode_length + 1
            else:
                counting = False
        if before_exam is None and current.date < exam.date:
            before, before_exam = found, current
        if not counting and before_exam is not None:
            break
    nothing_open = (None, None, None, None, False)  # opened ... biopsy_governs
    return _make_course(
        (breast, exam, finding, before, before_exam, episode_first, episode_length, *nothing_open)
    )


def latest_exam(courses: Sequence[Course]) -> Exam:
    """The latest of the courses' latest exams (the one a flag about them names)."""
    return max((c.exam for c in courses if c.exam is not None), key=_exam_date)


def _exam_date(exam: Exam) -> date:
    return exam.date
