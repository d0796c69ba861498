"""The follow-up rules of clinical-rules.md: exams, film transfers and policy in; a plan out.

A plan is computed from the *set* of exams (sorted here, so the order of entry never matters)
and does not depend on the day it is read: that is what lets the store keep it and the reports
read it with a range scan. Only ``overdue`` and ``lost-to-follow-up`` depend on the as-of date;
:func:`dated_flags` adds them when a plan is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from itertools import pairwise

from followup.rules.categories import Category, ExamKind, Laterality
from followup.rules.dates import add_months, add_years
from followup.rules.model import Assessment, Exam, FilmTransfer, Finding, Flag, Plan
from followup.rules.policy import Policy

# Flags in the order of clinical-rules.md §4, which is also the order they are shown in.
FLAG_CODES = (
    "short-comparison-history",
    "facility-switch",
    "overdue",
    "lost-to-follow-up",
    "biopsy-recommended",
    "additional-imaging-needed",
    "category-increased",
    "stable-probably-benign",
    "category-needs-review",
)
_FLAG_RANK = {code: rank for rank, code in enumerate(FLAG_CODES)}

ACTIONS = tuple(dict.fromkeys(c.action for c in Category))

_ORDINALS = ("first", "second", "third")

_OVERDUE_STEP = {"biopsy": "the biopsy", "additional-imaging": "the additional imaging"}

_LABEL = {
    Category.INCOMPLETE: "incomplete",
    Category.NEGATIVE: "negative",
    Category.BENIGN: "benign",
    Category.PROBABLY_BENIGN: "probably benign",
    Category.SUSPICIOUS: "suspicious",
    Category.HIGHLY_SUSPICIOUS: "highly suspicious",
    Category.KNOWN_MALIGNANCY: "known malignancy",
}


def governing_finding(exam: Exam) -> Finding:
    """The finding that governs the exam's plan (see :attr:`Exam.governing`)."""
    if exam.governing is None:
        raise ValueError("the exam has no assessment; give its category")
    return exam.governing


def chronological(exams: Iterable[Exam]) -> list[Exam]:
    """Exams by date; same-day exams by everything they say, so entry order never matters.

    The full key is built only when two exams share a day: with distinct days (nearly every
    history) the date order is that order, and bulk loads plan millions of histories."""
    history = sorted(exams, key=_day)
    if any(a.date == b.date for a, b in pairwise(history)):
        return sorted(history, key=_order)
    return history


def _day(exam: Exam) -> date:
    return exam.date


def _order(exam: Exam) -> tuple[object, ...]:
    finding = governing_finding(exam)
    return (
        exam.date,
        finding.category.worry,
        exam.facility_key,
        finding.laterality.value if finding.laterality else "",
        exam.kind.value if exam.kind else "",
        exam.follow_up_months or 0,
        sorted((f.category.worry, f.laterality or "", f.morphology or "") for f in exam.findings),
    )


def make_plan(exams: Sequence[Exam], transfers: Sequence[FilmTransfer], policy: Policy) -> Plan:
    """The next follow-up for one patient, with its reason and the date-independent flags."""
    if not exams:
        return Plan(action=None, due=None, laterality=None, reason="no exams recorded yet")
    history = chronological(exams)
    latest = history[-1]
    finding = governing_finding(latest)
    episode = _episode(history) if finding.category is Category.PROBABLY_BENIGN else []
    action, due, side, reason = _next_step(latest, finding, len(episode), policy)
    return Plan(
        action=action,
        due=due,
        laterality=side,
        reason=reason,
        flags=_sorted_flags(_plan_flags(history, finding, episode, transfers, policy)),
        exam_id=latest.id,
        exam_date=latest.date,
        facility=latest.facility,
        category=finding.category,
        episode_start=episode[0].date if episode else None,
        episode_step=len(episode) or None,
    )


def _episode(history: Sequence[Exam]) -> list[Exam]:
    """The probably-benign exams since the last exam that was anything else (§2)."""
    start = len(history)
    while start > 0 and governing_finding(history[start - 1]).category is Category.PROBABLY_BENIGN:
        start -= 1
    return list(history[start:])


def _where(exam: Exam) -> str:
    return f"{exam.date.isoformat()} ({_exam_label(exam)})"


def _exam_label(exam: Exam) -> str:
    return f"exam {exam.id} at {exam.facility}" if exam.id is not None else exam.facility


def _next_step(
    latest: Exam, finding: Finding, step: int, policy: Policy
) -> tuple[str, date | None, Laterality | None, str]:
    """Action, due date, side and reason, from the latest exam's governing finding."""
    category = finding.category
    action = category.action
    if category is Category.KNOWN_MALIGNANCY:
        return (
            action,
            None,
            None,
            (
                f"known malignancy recorded on {_where(latest)}: out of interval tracking; "
                "the treating team sets the next steps"
            ),
        )
    side, due, rule = _default_step(latest, finding, step, policy)
    if latest.follow_up_months is not None:
        months = latest.follow_up_months
        due = add_months(latest.date, months)
        rule = (
            f"radiologist's recommendation: return {months} months after {_where(latest)} "
            f"(instead of the default for {_LABEL[category]})"
        )
    return action, due, side, rule


def _default_step(
    latest: Exam, finding: Finding, step: int, policy: Policy
) -> tuple[Laterality | None, date, str]:
    category = finding.category
    label = _LABEL[category]
    if category is Category.PROBABLY_BENIGN:
        return _probably_benign_step(latest, finding, step, policy)
    if category is Category.INCOMPLETE:
        days = policy.incomplete_days
        return (
            finding.laterality,
            latest.date + timedelta(days=days),
            (f"{label}: additional imaging or prior films within {days} days of {_where(latest)}"),
        )
    if category.action == "biopsy":
        days = policy.biopsy_days
        return (
            finding.laterality,
            latest.date + timedelta(days=days),
            (f"{label}: biopsy advised within {days} days of {_where(latest)}"),
        )
    months = policy.routine_months
    return (
        Laterality.BILATERAL,
        add_months(latest.date, months),
        (f"{label}: routine screening {months} months after {_where(latest)}"),
    )


def _probably_benign_step(
    latest: Exam, finding: Finding, step: int, policy: Policy
) -> tuple[Laterality | None, date, str]:
    """§2: 6 months on the finding's side, then 6 bilateral, then 12, then every 12."""
    protocol = policy.probably_benign_months
    months = protocol[step - 1] if step <= len(protocol) else policy.probably_benign_later_months
    side = finding.laterality if step == 1 else Laterality.BILATERAL
    name = f"{_ORDINALS[step - 1]} follow-up" if step <= len(_ORDINALS) else f"follow-up {step}"
    return (
        side,
        add_months(latest.date, months),
        (f"probably benign: {name} {months} months after {_where(latest)}"),
    )


def _plan_flags(
    history: Sequence[Exam],
    finding: Finding,
    episode: Sequence[Exam],
    transfers: Sequence[FilmTransfer],
    policy: Policy,
) -> list[Flag]:
    latest = history[-1]
    previous = history[-2] if len(history) > 1 else None
    flags = _comparison_flags(history, transfers, policy)
    category = finding.category
    if category.action == "biopsy":
        flags.append(_biopsy_flag(latest, category))
    if category is Category.INCOMPLETE:
        flags.append(
            Flag(
                "additional-imaging-needed",
                f"The exam of {latest.date.isoformat()} at {latest.facility} is incomplete: "
                f"book the additional imaging, or send the prior films it asks for, within "
                f"{policy.incomplete_days} days.",
            )
        )
    if previous is not None:
        before = governing_finding(previous).category
        if category.worry > before.worry:
            flags.append(
                Flag(
                    "category-increased",
                    f"The assessment rose from {_LABEL[before]} ({previous.date.isoformat()}) to "
                    f"{_LABEL[category]} ({latest.date.isoformat()}): changes in calcifications "
                    "need the radiologist's attention; make sure the next step is booked.",
                )
            )
    stable = _stable_flag(episode, policy)
    if stable is not None:
        flags.append(stable)
    if category is Category.PROBABLY_BENIGN and latest.kind is ExamKind.SCREENING:
        flags.append(
            Flag(
                "category-needs-review",
                f"Probably benign was recorded on a screening exam ({latest.date.isoformat()}): "
                "this assessment belongs to a diagnostic work-up; ask the radiologist to confirm "
                "it, or correct the exam kind.",
            )
        )
    return flags


def _biopsy_flag(latest: Exam, category: Category) -> Flag:
    return Flag(
        "biopsy-recommended",
        f"The exam of {latest.date.isoformat()} at {latest.facility} was assessed "
        f"{_LABEL[category]}: a biopsy is advised; book it promptly. "
        "A second opinion (another radiologist reading the images) is always the patient's right.",
    )


def _stable_flag(episode: Sequence[Exam], policy: Policy) -> Flag | None:
    """§2: from the 4th exam on, an episode spanning ≥ 24 months may be downgraded."""
    if len(episode) <= len(policy.probably_benign_months):
        return None
    start, end = episode[0].date, episode[-1].date
    if add_months(start, policy.stable_after_months) > end:
        return None
    return Flag(
        "stable-probably-benign",
        f"Probably benign findings stable since {start.isoformat()} "
        f"({len(episode)} exams over at least {policy.stable_after_months} months): the "
        "radiologist may now downgrade them to benign and return to routine screening.",
    )


def on_hand_facilities(current: str, transfers: Sequence[FilmTransfer]) -> set[str]:
    """Facility keys whose films are at ``current``: its own, and those transferred to it.

    Transfers chain: films sent from A to B and later B's films to C are at C.
    """
    on_hand = {current}
    changed = True
    while changed:
        changed = False
        for transfer in transfers:
            source, target = transfer.from_key, transfer.to_key
            if target in on_hand and source not in on_hand:
                on_hand.add(source)
                changed = True
    return on_hand


def _comparison_flags(
    history: Sequence[Exam], transfers: Sequence[FilmTransfer], policy: Policy
) -> list[Flag]:
    """§4: short-comparison-history and facility-switch, naming where missing films are."""
    latest = history[-1]
    on_hand = on_hand_facilities(latest.facility_key, transfers)
    flags = []
    earliest = min(e.date for e in history if e.facility_key in on_hand)
    if add_years(earliest, policy.comparison_years) > latest.date:
        flags.append(_short_history_flag(history, on_hand, earliest, policy))
    previous = history[-2] if len(history) > 1 else None
    if previous is not None and previous.facility_key not in on_hand:
        flags.append(
            Flag(
                "facility-switch",
                f"The exam of {latest.date.isoformat()} was at {latest.facility}, the one before "
                f"at {previous.facility} ({_dates_at(history, previous.facility_key)}): bring "
                f"or request the films from {previous.facility} so the radiologist can compare, "
                "then record the transfer with `followup films transfer`.",
            )
        )
    return flags


def _dates_at(history: Sequence[Exam], key: str) -> str:
    return ", ".join(e.date.isoformat() for e in history if e.facility_key == key)


def _short_history_flag(
    history: Sequence[Exam], on_hand: set[str], earliest: date, policy: Policy
) -> Flag:
    latest = history[-1]
    years = policy.comparison_years
    head = (
        f"The films on hand at {latest.facility} go back only to {earliest.isoformat()}, "
        f"less than the {years} years before the exam of {latest.date.isoformat()} that the "
        "radiologist compares with"
    )
    if earliest == latest.date:
        head = (
            f"Only the films of {latest.date.isoformat()} are on hand at {latest.facility}; the "
            f"radiologist compares with {years} years of earlier films"
        )
    elsewhere = _films_elsewhere(history, on_hand)
    if not elsewhere:
        return Flag(
            "short-comparison-history",
            f"{head}. No earlier films are on record: if you had mammograms elsewhere, ask "
            "that facility to send them.",
        )
    places = "; ".join(
        f"{name} ({', '.join(day.isoformat() for day in days)})" for name, days in elsewhere
    )
    return Flag(
        "short-comparison-history",
        f"{head}. Older films are at {places}: bring or request them, then record the "
        "transfer with `followup films transfer`.",
    )


def _films_elsewhere(history: Sequence[Exam], on_hand: set[str]) -> list[tuple[str, list[date]]]:
    """Facilities (first spelling) holding films not on hand, with their exam dates."""
    places: dict[str, tuple[str, list[date]]] = {}
    for exam in history:
        if exam.facility_key not in on_hand:
            places.setdefault(exam.facility_key, (exam.facility, []))[1].append(exam.date)
    return list(places.values())


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
    flags = [
        Flag(
            "overdue",
            f"The follow-up due on {plan.due.isoformat()} is {late} days overdue: "
            f"book {_OVERDUE_STEP.get(plan.action or '', 'the mammogram')} now.",
        )
    ]
    if late > policy.lost_after_days:
        flags.append(
            Flag(
                "lost-to-follow-up",
                f"No exam is recorded for more than {policy.lost_after_days} days after the due "
                f"date ({plan.due.isoformat()}): contact the patient, or record the exam if it "
                "was done elsewhere.",
            )
        )
    return tuple(flags)


def _sorted_flags(flags: Iterable[Flag]) -> tuple[Flag, ...]:
    return tuple(sorted(flags, key=lambda f: _FLAG_RANK[f.code]))


def assess(
    exams: Sequence[Exam], transfers: Sequence[FilmTransfer], policy: Policy, as_of: date
) -> Assessment:
    """The plan read on ``as_of``: every flag in force that day, in the order of §4."""
    plan = make_plan(exams, transfers, policy)
    flags = _sorted_flags((*plan.flags, *dated_flags(plan, as_of, policy)))
    return Assessment(plan=plan, as_of=as_of, flags=flags)
