"""Adherence figures for a programme audit: did probably-benign patients come back in time?

Registry data show adherence falling from the 6-month to the 24-month follow-up, so each step
of the short-interval protocol is counted separately, from the exams themselves: a step is
*due* on the date the plan gave after the exam that started it; the patient came back *on time*
if her next exam is no later than due + ``on_time_days``, *late* if later; with no exam since,
she is *lost* once more than ``lost_after_days`` have passed, and *open* before that.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from followup import rules
from followup.store.models import Exam, Finding
from followup.store.reports import STREAM, action_counts, flag_counts
from followup.store.rules_inputs import AnySelect, exams_by_patient

STEP_COLUMNS = ("step", "due", "on_time", "late", "lost", "open")
OUTCOMES = STEP_COLUMNS[2:]


def step_labels(policy: rules.Policy) -> list[str]:
    """The protocol's follow-ups by months since the episode began: 6, 12 and 24 by default."""
    months = 0
    labels = []
    for interval in policy.probably_benign_months:
        months += interval
        labels.append(f"{months} months")
    return labels


def step_outcomes(
    history: Sequence[rules.Exam], policy: rules.Policy, as_of: date
) -> Iterator[tuple[int, date, str]]:
    """(step, due date, outcome) for each protocol follow-up that fell due by ``as_of``, as
    the records stood that day (exams after it are not known yet)."""
    ordered = [exam for exam in rules.chronological(history) if exam.date <= as_of]
    for index in range(len(ordered)):
        plan = rules.make_plan(ordered[: index + 1], [], policy)
        step = plan.episode_step
        if step is None or step > len(policy.probably_benign_months) or plan.due is None:
            continue
        if plan.due > as_of:
            continue
        following = ordered[index + 1] if index + 1 < len(ordered) else None
        yield step, plan.due, _outcome(plan.due, following, policy, as_of)


def _outcome(due: date, following: rules.Exam | None, policy: rules.Policy, as_of: date) -> str:
    if following is not None:
        return "on_time" if following.date <= due + timedelta(days=policy.on_time_days) else "late"
    return "lost" if (as_of - due).days > policy.lost_after_days else "open"


def _histories(session: Session) -> Iterator[list[rules.Exam]]:
    """The exams of every patient with a probably-benign finding, one list per patient, from
    one ordered, streamed query (a query per patient would cost minutes on a big programme)."""
    probably_benign = (
        select(Exam.patient_id)
        .join(Finding, Finding.exam_id == Exam.id)
        .where(Finding.category == rules.Category.PROBABLY_BENIGN.value)
    )

    def choose(query: AnySelect, patient: InstrumentedAttribute[int]) -> AnySelect:
        return query.where(patient.in_(probably_benign))

    for _, exams in exams_by_patient(session.connection(), choose, options=STREAM):
        yield exams


def programme_stats(
    session: Session,
    policy: rules.Policy,
    as_of: date,
    start: date | None = None,
    end: date | None = None,
) -> dict[str, Any]:
    """Probably-benign steps due between ``start`` and ``end``, actions and flags on ``as_of``."""
    labels = step_labels(policy)
    counts = {label: Counter[str]() for label in labels}
    for exams in _histories(session):
        for step, due, outcome in step_outcomes(exams, policy, as_of):
            if (start is None or due >= start) and (end is None or due <= end):
                counts[labels[step - 1]][outcome] += 1
    steps = [
        {"step": label, "due": sum(c.values()), **{o: c[o] for o in OUTCOMES}}
        for label, c in counts.items()
    ]
    return {
        "as_of": as_of.isoformat(),
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "probably_benign": steps,
        "actions": action_counts(session),
        "flags": flag_counts(session, as_of, policy),
    }
