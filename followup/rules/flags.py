"""The flags of clinical-rules.md §6, one function per flag, each message in two voices:
which ones the breasts' courses raise (:func:`breast_flags`), the assessment and dated flags
here, the films flags in :mod:`followup.rules.film_flags`, the biopsy flags in
:mod:`followup.rules.biopsy_flags`.

``Flag.message`` speaks to staff (the coordinator's reports: "request the films from ...");
``Flag.patient_message`` to the patient (status, letters, e-mail: "ask Eastside Clinic to send
your films to ..."). Both say what to do. A patient has at most one flag of each code: when
both breasts call for it, one message names both.

Only ``overdue`` and ``lost-to-follow-up`` depend on the day a plan is read
(:func:`dated_flags`); every other flag is part of the stored plan. ``missed-appointment`` is
raised by the follow-up pathway (§7), never by the plan, and is listed for its place in the
order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from followup.rules.biopsy_flags import (
    biopsy_outstanding_flag,
    biopsy_recommended_flag,
    biopsy_result_flags,
    contradictory_interval,
    interval_review_flag,
    needs_surgeon,
)
from followup.rules.breasts import Course, latest_exam
from followup.rules.categories import ACTION_OF, URGENCY, Category
from followup.rules.dates import add_months
from followup.rules.film_flags import prior_films_flag
from followup.rules.model import BREASTS, BreastPlan, Exam, FilmTransfer, Flag, Plan
from followup.rules.policy import Policy
from followup.rules.vocabulary import ExamKind, Laterality
from followup.rules.wording import (
    BREAST,
    OVERDUE_STEP,
    breast,
    breasts_text,
    day,
    your_breast,
)

# The §6 table's order, which is also the order flags are shown in.
FLAG_CODES = (
    "short-comparison-history",
    "facility-switch",
    "prior-films-needed",
    "overdue",
    "lost-to-follow-up",
    "biopsy-recommended",
    "biopsy-outstanding",
    "discordant-biopsy",
    "high-risk-lesion",
    "interval-needs-review",
    "additional-imaging-needed",
    "category-increased",
    "stable-probably-benign",
    "category-needs-review",
    "missed-appointment",
)
_FLAG_RANK = {code: rank for rank, code in enumerate(FLAG_CODES)}
# Members as plain names for breast_flags, which runs for every patient planned.
_INCOMPLETE, _INCOMPLETE_PRIORS = Category.INCOMPLETE, Category.INCOMPLETE_PRIORS
_PROBABLY_BENIGN, _SCREENING = Category.PROBABLY_BENIGN, ExamKind.SCREENING
_FLAGGED = frozenset((_INCOMPLETE, _INCOMPLETE_PRIORS, _PROBABLY_BENIGN))
_URGENCY_OF = {c: URGENCY.get(ACTION_OF[c] or "", 0) for c in Category}

Courses = tuple[Course | None, Course | None]


def sorted_flags(flags: Iterable[Flag]) -> tuple[Flag, ...]:
    return tuple(sorted(flags, key=lambda f: _FLAG_RANK[f.code]))


def _sides(courses: Iterable[Course]) -> Laterality:
    """The breast of one course, or bilateral for two."""
    found = [BREASTS[c.breast] for c in courses]
    return found[0] if len(found) == 1 else Laterality.BILATERAL


# --- what the breasts' courses raise ----------------------------------------------------


def breast_flags(
    courses: Courses,
    plans: Sequence[BreastPlan],
    films: Sequence[Exam],
    transfers: Sequence[FilmTransfer],
    policy: Policy,
) -> list[Flag]:
    """Every §6 flag the breasts' courses raise, in the order of §6: one pass over the (at
    most two) courses picks which breasts each flag concerns; a builder per flag words it."""
    left, right = courses
    if (left is None or _quiet(left)) and (right is None or _quiet(right)):
        return []  # most patients: a negative or benign course, nothing open
    priors: list[Course] = []
    opened: list[Course] = []
    surgeon: list[Course] = []
    intervals: list[Exam] = []
    incomplete: list[Course] = []
    risen: list[Course] = []
    stable: list[Course] = []
    review: list[Course] = []
    for course in courses:
        if course is None:
            continue
        exam, finding = course.exam, course.finding
        if course.opened is not None:
            opened.append(course)
            if course.opened.follow_up_months is not None:
                intervals.append(course.opened)
        if course.biopsy_governs:
            if needs_surgeon(course):
                surgeon.append(course)
        elif exam is not None and finding is not None:
            category = finding.category
            if category is _INCOMPLETE_PRIORS:
                priors.append(course)
            elif category is _INCOMPLETE:
                incomplete.append(course)
            elif category is _PROBABLY_BENIGN:
                if _stable(course, policy):
                    stable.append(course)
                if exam.kind is _SCREENING:
                    review.append(course)
        if exam is not None and exam.follow_up_months is not None:
            intervals.append(exam)
        if course.before is not None and _increased(course):
            risen.append(course)
    flags: list[Flag] = []
    if priors:
        flags.append(prior_films_flag(priors, films, transfers, policy))
    if opened:
        flags.append(biopsy_recommended_flag(opened, plans))
        late = [c for c in opened if c.outstanding is not None]
        if late:
            flags.append(biopsy_outstanding_flag(late))
    if surgeon:
        flags.extend(biopsy_result_flags(surgeon, plans))
    intervals = [e for e in intervals if contradictory_interval(e)]
    if intervals:
        flags.append(interval_review_flag(max(intervals, key=_date)))
    if incomplete:
        flags.append(additional_imaging_flag(incomplete, policy))
    if risen:
        flags.append(category_increased_flag(risen))
    if stable:
        flags.append(stable_flag(stable, policy))
    if review:
        flags.append(needs_review_flag(review[0]))
    return flags


def _quiet(course: Course) -> bool:
    """Nothing on this course can raise a flag: its latest exam decides (no biopsy after
    it), nothing is open, its category raises none, no interval, the same category as before."""
    finding, exam, before = course.finding, course.exam, course.before
    return (
        course.opened is None
        and not course.biopsy_governs
        and exam is not None
        and finding is not None
        and finding.category not in _FLAGGED
        and exam.follow_up_months is None
        and (before is None or _URGENCY_OF[finding.category] <= _URGENCY_OF[before.category])
    )


def _date(exam: Exam) -> date:
    return exam.date


# --- assessments: additional imaging, category increased, stable, needs review -------------


def additional_imaging_flag(incomplete: Sequence[Course], policy: Policy) -> Flag:
    """§6: a breast's latest category is ``incomplete`` (additional imaging)."""
    exam = latest_exam(incomplete)
    days, side = policy.incomplete_days, _sides(incomplete)
    return Flag(
        "additional-imaging-needed",
        f"The exam of {day(exam.date)} at {exam.facility} is incomplete for {breast(side)}: "
        f"book the additional imaging within {days} days.",
        f"Your exam of {day(exam.date)} at {exam.facility} needs more pictures of "
        f"{your_breast(side)} before it can be read: ask {exam.facility} to book the additional "
        f"imaging within {days} days.",
    )


def _increased(course: Course) -> bool:
    """§6, per breast: its latest assessment calls for a more urgent action than its previous
    one did (the previous = its latest exam of an earlier day, §5, so a same-day diagnostic
    exam answering that day's screening raises nothing). Negative and benign both call for
    routine screening: negative <-> benign is no increase."""
    before, now = course.before, course.finding
    if before is None or now is None:
        return False
    return _URGENCY_OF[now.category] > _URGENCY_OF[before.category]


def category_increased_flag(risen: Sequence[Course]) -> Flag:
    """§6 ``category-increased``: name each breast's previous and latest assessment."""

    def rise(course: Course) -> str:
        before, now, then, latest = course.before, course.finding, course.before_exam, course.exam
        assert before is not None and now is not None and then is not None and latest is not None
        earlier, later = day(then.date), day(latest.date)
        return f"of {BREAST} rose from {before.label} ({earlier}) to {now.label} ({later})"

    staff, yours = breasts_text(risen, rise)
    return Flag(
        "category-increased",
        f"The assessment {staff}: changes in calcifications need the radiologist's attention; "
        "make sure the next step is booked.",
        f"The assessment {yours}: changes need your radiologist's attention; make sure your "
        "next step is booked.",
    )


def _stable(course: Course, policy: Policy) -> bool:
    """§3: from the 4th exam of an episode on, once it spans >= 24 months."""
    first, last = course.episode_first, course.exam
    if first is None or last is None or course.episode_length <= len(policy.probably_benign_months):
        return False
    return add_months(first.date, policy.stable_after_months) <= last.date


def stable_flag(stable: Sequence[Course], policy: Policy) -> Flag:
    """§3 ``stable-probably-benign``: a radiologist may now downgrade the findings to benign."""

    def span(course: Course) -> str:
        first = course.episode_first
        assert first is not None
        return (
            f"of {BREAST} have been stable since {day(first.date)} ({course.episode_length} "
            f"exams over at least {policy.stable_after_months} months)"
        )

    staff, yours = breasts_text(stable, span)
    return Flag(
        "stable-probably-benign",
        f"The probably benign findings {staff}: the radiologist may now downgrade them to "
        "benign and return to routine screening; ask for the review.",
        f"The probably benign findings {yours}: ask your radiologist whether they can now be "
        "called benign, so you can return to routine screening.",
    )


def needs_review_flag(course: Course) -> Flag:
    """§1 ``category-needs-review``: ask the radiologist to confirm, or correct the kind."""
    exam = course.exam
    assert exam is not None
    return Flag(
        "category-needs-review",
        f"Probably benign was recorded on a screening exam ({day(exam.date)}): this "
        "assessment belongs to a diagnostic work-up; ask the radiologist to confirm it, or "
        "correct the exam kind.",
        f"Your screening mammogram of {day(exam.date)} was read as probably benign, which "
        f"usually follows a diagnostic exam: ask {exam.facility} whether a diagnostic exam is "
        "needed.",
    )


# --- dated: overdue, lost-to-follow-up ---------------------------------------------------


def days_overdue(plan: Plan, as_of: date) -> int:
    """Whole days past the due date on ``as_of``; 0 when not overdue or nothing is due."""
    if plan.due is None or as_of <= plan.due:
        return 0
    return (as_of - plan.due).days


def dated_flags(plan: Plan, as_of: date, policy: Policy) -> tuple[Flag, ...]:
    """``overdue`` and ``lost-to-follow-up``: the flags that depend on the day the plan is read."""
    late = days_overdue(plan, as_of)
    if plan.due is None or not late:
        return ()
    step = OVERDUE_STEP.get(plan.action or "", "the mammogram")
    due = day(plan.due)
    flags = [
        Flag(
            "overdue",
            f"The follow-up due on {due} is {late} days overdue: book {step} now.",
            f"Your follow-up was due on {due}, {late} days ago: please book {step} now.",
        )
    ]
    if late > policy.lost_after_days:
        flags.append(
            Flag(
                "lost-to-follow-up",
                f"No exam is recorded for more than {policy.lost_after_days} days after the due "
                f"date ({due}): contact the patient, or record the exam if it was done "
                "elsewhere.",
                f"Nothing has been recorded since your follow-up was due on {due}: if it was "
                "done elsewhere, send us the result; otherwise please book it now.",
            )
        )
    return tuple(flags)
