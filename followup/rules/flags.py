"""The flags of clinical-rules.md §6, one function per flag, each message in two voices.

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

from collections.abc import Callable, Iterable, Sequence
from datetime import date

from followup.rules.breasts import Course
from followup.rules.categories import ACTION_OF, URGENCY, Category
from followup.rules.dates import add_months, add_years
from followup.rules.films import earliest_on_hand, film_cutoffs, films_elsewhere, on_hand
from followup.rules.model import BREASTS, BreastPlan, Exam, FilmTransfer, Flag, Plan
from followup.rules.policy import Policy
from followup.rules.vocabulary import BiopsyResult, ExamKind, Laterality
from followup.rules.wording import (
    ACTION_WORDS,
    OVERDUE_STEP,
    biopsy_where,
    breast,
    dates,
    places,
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
_BENIGN, _HIGH_RISK = BiopsyResult.BENIGN, BiopsyResult.HIGH_RISK
_FLAGGED = frozenset((_INCOMPLETE, _INCOMPLETE_PRIORS, _PROBABLY_BENIGN))
_URGENCY_OF = {c: URGENCY.get(ACTION_OF[c] or "", 0) for c in Category}

Courses = tuple[Course | None, Course | None]


def sorted_flags(flags: Iterable[Flag]) -> tuple[Flag, ...]:
    return tuple(sorted(flags, key=lambda f: _FLAG_RANK[f.code]))


def _sides(courses: Iterable[Course]) -> Laterality:
    """The breast of one course, or bilateral for two."""
    found = [BREASTS[c.breast] for c in courses]
    return found[0] if len(found) == 1 else Laterality.BILATERAL


# --- films: short-comparison-history, facility-switch, prior-films-needed ------------------


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
        earliest = earliest_on_hand(films, cutoffs)
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


def _latest_two(films: Sequence[Exam]) -> tuple[Exam | None, Exam | None]:
    """The latest assessed exam and the one before it (post-procedure exams never govern)."""
    found = [exam for exam in films[-2:] if exam.assesses]
    if len(found) < 2 and len(films) > 2:
        found = [exam for exam in films if exam.assesses][-2:]
    if not found:
        return None, None
    return (found[-1], found[0]) if len(found) == 2 else (found[0], None)


def _short_history(
    films: Sequence[Exam], latest: Exam, cutoffs: dict[str, date], earliest: date, policy: Policy
) -> Flag:
    years, here = policy.comparison_years, latest.facility
    head = (
        f"The films on hand at {here} go back only to {earliest}, less than the {years} "
        f"years before the exam of {latest.date} that the radiologist compares with"
    )
    if earliest == latest.date:
        head = (
            f"Only the films of {latest.date} are on hand at {here}; the radiologist "
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
        f"{_names(elsewhere)} to send your films to {here}, or bring them to your next visit.",
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
        f"The exam of {latest.date} was at {latest.facility}, {seen}: bring or request "
        f"the films from {there} so the radiologist can compare, then record the transfer "
        "with `followup films transfer`.",
        f"Your exam of {latest.date} was at {latest.facility}, {seen}: ask {there} to "
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
    exam = _latest_exam(waiting)
    cutoffs = film_cutoffs(exam.facility_key, transfers)
    elsewhere = films_elsewhere([e for e in films if e.date < exam.date], cutoffs, exam.date)
    days, here = policy.prior_films_days, exam.facility
    head = (
        f"The exam of {exam.date} at {here} stays incomplete until the radiologist can compare "
        "it with prior mammograms"
    )
    you = f"Your exam of {exam.date} at {here} cannot be finished without your earlier mammograms"
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
        f"{you}: they are at {places(elsewhere)}; ask {_names(elsewhere)} to send your films "
        f"to {here} within {days} days.",
    )


def _latest_exam(courses: Sequence[Course]) -> Exam:
    """The latest of the courses' latest exams (the one a flag about them names)."""
    return max((c.exam for c in courses if c.exam is not None), key=_date)


def _names(elsewhere: list[tuple[str, list[date]]]) -> str:
    names = [name for name, _ in elsewhere]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


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
            if _needs_surgeon(course):
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
    intervals = [e for e in intervals if _contradictory_interval(e)]
    if intervals:
        flags.append(interval_review_flag(max(intervals, key=_date)))
    if incomplete:
        flags.append(additional_imaging_flag(incomplete, policy))
    if risen:
        flags.append(category_increased_flag(risen))
    if stable:
        flags.append(stable_flag(stable[0], policy))
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


# --- biopsy: biopsy-recommended, biopsy-outstanding, discordant, high-risk, interval --------


def _breasts_text(courses: Sequence[Course], render: Callable[[Course], str]) -> tuple[str, str]:
    """The courses' parts of a message, staff and patient voice: ``render`` words one course
    with ``_BREAST`` where its breast is named; two alike become one about both breasts."""
    texts = [(render(c), BREASTS[c.breast]) for c in courses]
    if len(texts) == 2 and texts[0][0] == texts[1][0]:
        both = texts[0][0].replace(_BREAST, "both breasts")
        return both, both
    staff = "; ".join(text.replace(_BREAST, breast(side)) for text, side in texts)
    yours = "; ".join(text.replace(_BREAST, your_breast(side)) for text, side in texts)
    return staff, yours


_BREAST = "\x00breast\x00"


def biopsy_recommended_flag(opened: Sequence[Course], plans: Sequence[BreastPlan]) -> Flag:
    """§6: a breast has an open biopsy recommendation; a second opinion is her right."""
    due = {p.side: p.due for p in plans}

    def advised(course: Course) -> str:
        exam, finding = course.opened, course.opened_finding
        assert exam is not None and finding is not None
        when = due.get(BREASTS[course.breast])
        by = f", to be done by {when}" if when else ""
        where = f"{exam.date} at {exam.facility} ({finding.label})"
        return f"a biopsy of {_BREAST} was advised on {where}{by}"

    staff, yours = _breasts_text(opened, advised)
    return Flag(
        "biopsy-recommended",
        f"{_sentence(staff)}: book it promptly and record the result with `followup biopsy add`. "
        "A second opinion (another radiologist reading the images) is always the patient's "
        "right.",
        f"{_sentence(yours)}: please book it promptly. A second opinion (another radiologist "
        "reading your images) is always your right: you may ask for one.",
    )


def biopsy_outstanding_flag(late: Sequence[Course]) -> Flag:
    """§6: a recommendation is still open although a later screening exam (or one whose kind
    is not recorded) was recorded: say when and where the biopsy was advised."""
    parts, yours = [], []
    for course in late:
        exam, later, side = course.opened, course.outstanding, BREASTS[course.breast]
        assert exam is not None and later is not None
        what = "screening exam" if later.kind is ExamKind.SCREENING else "exam (kind not recorded)"
        parts.append(
            f"the biopsy of {breast(side)} advised on {exam.date} at {exam.facility} has "
            f"no result on record, although a later {what} of {later.date} at "
            f"{later.facility} was recorded"
        )
        yours.append(
            f"no result is on record for the biopsy of {your_breast(side)} advised on "
            f"{exam.date} at {exam.facility}, although you had a mammogram on "
            f"{later.date}"
        )
    places_ = " or ".join(dict.fromkeys(c.opened.facility for c in late if c.opened))
    return Flag(
        "biopsy-outstanding",
        f"{_sentence('; '.join(parts))}: a screening does not replace the biopsy. Book the "
        "biopsy or record its result with `followup biopsy add`; if the later exam was a "
        "diagnostic work-up, record its kind as diagnostic.",
        f"{_sentence('; '.join(yours))}. A screening mammogram does not replace the biopsy: "
        f"ask {places_} to book it, or send us the result if it was done.",
    )


def _needs_surgeon(course: Course) -> bool:
    """§4: a high-risk lesion, or a benign result discordant with the imaging (or without its
    concordance), calls for a surgical consultation."""
    biopsy = course.biopsy
    assert biopsy is not None
    return biopsy.result is _HIGH_RISK or (biopsy.result is _BENIGN and not biopsy.concordant)


def biopsy_result_flags(surgeon: Sequence[Course], plans: Sequence[BreastPlan]) -> list[Flag]:
    """§6: ``discordant-biopsy`` and ``high-risk-lesion`` (one of each at most, naming every
    breast concerned), while that biopsy decides the breast's step (no later exam of it)."""
    due = {p.side: p.due for p in plans}

    def result(course: Course, high_risk: bool) -> str:
        biopsy = course.biopsy
        assert biopsy is not None
        when = due.get(BREASTS[course.breast])
        found = f" ({biopsy.pathology})" if biopsy.pathology else ""
        what = f"found a high-risk lesion{found}" if high_risk else f"was benign{found}"
        return f"the biopsy of {_BREAST} on {biopsy_where(biopsy)} {what}" + (
            f", to be seen by {when}" if when else ""
        )

    flags = []
    high = [c for c in surgeon if c.biopsy is not None and c.biopsy.result is _HIGH_RISK]
    discordant = [c for c in surgeon if c not in high]
    if discordant:
        staff, yours = _breasts_text(discordant, lambda c: result(c, False))
        flags.append(
            Flag(
                "discordant-biopsy",
                f"{_sentence(staff)}, but discordant with the imaging (or its concordance is "
                "not recorded): book a surgical consultation (repeat biopsy or excision).",
                f"{_sentence(yours)}, but this result does not match what the images showed: "
                "ask for an appointment with a breast surgeon to talk about a repeat biopsy or "
                "removing the area.",
            )
        )
    if high:
        staff, yours = _breasts_text(high, lambda c: result(c, True))
        flags.append(
            Flag(
                "high-risk-lesion",
                f"{_sentence(staff)}: book a surgical consultation (repeat biopsy or excision).",
                f"{_sentence(yours)}: it is not cancer, but a breast surgeon should see it; ask "
                "for an appointment.",
            )
        )
    return flags


def _contradictory_interval(exam: Exam) -> bool:
    """§4: a follow-up interval on an exam assessed suspicious, highly suspicious or known
    malignancy (its most worrisome finding)."""
    top = exam.governing
    return top is not None and top.category.action in ("biopsy", "treatment")


def interval_review_flag(exam: Exam) -> Flag:
    """§6 ``interval-needs-review``: a contradictory report; the plan stays biopsy or
    treatment."""
    top = exam.governing
    assert top is not None and top.category.action is not None
    months, keeps = exam.follow_up_months, ACTION_WORDS[top.category.action]
    return Flag(
        "interval-needs-review",
        f"The exam of {exam.date} at {exam.facility} is assessed {top.label} but also "
        f"records a follow-up interval of {months} months, a contradictory report: ask the "
        f"radiologist to confirm; the plan stays {keeps}.",
        f"Your exam of {exam.date} at {exam.facility} calls for {keeps} and also for a "
        f"follow-up in {months} months: ask {exam.facility} or your doctor to confirm which is "
        f"meant. Until then the {keeps} stays on your plan.",
    )


# --- assessments: additional imaging, category increased, stable, needs review -------------


def additional_imaging_flag(incomplete: Sequence[Course], policy: Policy) -> Flag:
    """§6: a breast's latest category is ``incomplete`` (additional imaging)."""
    exam = _latest_exam(incomplete)
    days, side = policy.incomplete_days, _sides(incomplete)
    return Flag(
        "additional-imaging-needed",
        f"The exam of {exam.date} at {exam.facility} is incomplete for {breast(side)}: "
        f"book the additional imaging within {days} days.",
        f"Your exam of {exam.date} at {exam.facility} needs more pictures of "
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
        return f"of {_BREAST} rose from {before.label} ({then.date}) to {now.label} ({latest.date})"

    staff, yours = _breasts_text(risen, rise)
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


def stable_flag(course: Course, policy: Policy) -> Flag:
    """§3 ``stable-probably-benign``: a radiologist may now downgrade the finding to benign."""
    first = course.episode_first
    assert first is not None
    side = BREASTS[course.breast]
    span = (
        f"stable since {first.date} ({course.episode_length} exams over at least "
        f"{policy.stable_after_months} months)"
    )
    return Flag(
        "stable-probably-benign",
        f"Probably benign findings of {breast(side)} {span}: the radiologist may now "
        "downgrade them to benign and return to routine screening; ask for the review.",
        f"The probably benign findings of {your_breast(side)} have been {span}: ask your "
        "radiologist whether they can now be called benign, so you can return to routine "
        "screening.",
    )


def needs_review_flag(course: Course) -> Flag:
    """§1 ``category-needs-review``: ask the radiologist to confirm, or correct the kind."""
    exam = course.exam
    assert exam is not None
    return Flag(
        "category-needs-review",
        f"Probably benign was recorded on a screening exam ({exam.date}): this "
        "assessment belongs to a diagnostic work-up; ask the radiologist to confirm it, or "
        "correct the exam kind.",
        f"Your screening mammogram of {exam.date} was read as probably benign, which "
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
    due = plan.due.isoformat()
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


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
