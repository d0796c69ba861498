"""Adherence figures for a programme audit: did probably-benign patients come back in time?

Registry data show adherence falling from the 6-month to the 24-month follow-up, so each step
of the short-interval protocol is counted separately, from the exams themselves: a step is
*due* on the date the plan gave after the exam that started it; the patient came back *on time*
if her next exam is no later than due + ``on_time_days``, *late* if later; with no exam since,
she is *lost* once more than ``lost_after_days`` have passed, and *open* before that.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from followup import rules
from followup.rules import tracking
from followup.store.models import Exam, Facility, Finding
from followup.store.reports import STREAM
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
) -> Iterator[tuple[int, date, str, str | None]]:
    """(step, due date, outcome, facility) for each protocol follow-up that fell due by
    ``as_of``, as the records stood that day (exams after it are not known yet); the facility
    is that of the exam the step counted from."""
    ordered = [exam for exam in rules.chronological(history) if exam.date <= as_of]
    for index in range(len(ordered)):
        plan = rules.make_plan(ordered[: index + 1], [], policy)
        step = plan.episode_step
        if step is None or step > len(policy.probably_benign_months) or plan.due is None:
            continue
        if plan.due > as_of:
            continue
        following = ordered[index + 1] if index + 1 < len(ordered) else None
        outcome = _outcome(plan.due, following, policy, as_of)
        yield step, plan.due, outcome, plan.facility


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


@dataclass(frozen=True)
class StatsQuery:
    """What ``stats`` asks for: steps due between ``start`` and ``end`` and counts on
    ``as_of``, of the whole programme, of one facility (its id), or of each (``by_facility``)."""

    as_of: date
    start: date | None = None
    end: date | None = None
    facility_id: int | None = None
    by_facility: bool = False


StepCounts = dict[str, Counter[str]]


def _step_counts(
    session: Session, query: StatsQuery, policy: rules.Policy
) -> dict[str, StepCounts]:
    """Probably-benign steps due in the period, by the facility key of the exam each counted
    from, then by step label and outcome."""
    labels = step_labels(policy)
    counts: dict[str, StepCounts] = defaultdict(lambda: {label: Counter() for label in labels})
    start, end = query.start, query.end
    for exams in _histories(session):
        for step, due, outcome, facility in step_outcomes(exams, policy, query.as_of):
            if (start is None or due >= start) and (end is None or due <= end):
                key = rules.facility_key(facility) if facility else ""
                counts[key][labels[step - 1]][outcome] += 1
    return counts


def percent(count: int, base: int) -> float | None:
    """``count`` as a percentage of ``base``, to one decimal; None without a base."""
    return round(100 * count / base, 1) if base else None


def _shares(counts: dict[str, int], base: int) -> dict[str, float | None]:
    return {key: percent(count, base) for key, count in counts.items()}


def _steps(counts: StepCounts) -> list[dict[str, Any]]:
    steps = []
    for label, outcomes in counts.items():
        due = sum(outcomes.values())
        step: dict[str, Any] = {"step": label, "due": due, **{o: outcomes[o] for o in OUTCOMES}}
        step.update({f"{o}_pct": percent(outcomes[o], due) for o in OUTCOMES})
        steps.append(step)
    return steps


def _figures(
    steps: StepCounts,
    actions: dict[str, int],
    flags: dict[str, int],
    pathway: dict[str, int],
) -> dict[str, Any]:
    """One scope's figures with their percentages: steps of their due count, states and
    closing reasons of the patients with a plan, actions, flags and the to-call list of the
    patients still tracked (open or scheduled)."""
    patients = sum(pathway[state.value] for state in tracking.TrackingState)
    tracked = patients - pathway[tracking.TrackingState.CLOSED.value]
    pathway_pct = _shares(pathway, patients)
    pathway_pct["to-call"] = percent(pathway["to-call"], tracked)
    return {
        "patients": patients,
        "tracked": tracked,
        "probably_benign": _steps(steps),
        "actions": actions,
        "actions_pct": _shares(actions, tracked),
        "flags": flags,
        "flags_pct": _shares(flags, tracked),
        "tracking": pathway,
        "tracking_pct": pathway_pct,
    }


def programme_stats(session: Session, policy: rules.Policy, query: StatsQuery) -> dict[str, Any]:
    """Probably-benign steps due between ``start`` and ``end``; patients by action, flag and
    pathway state on ``as_of``; of the programme, one facility, or each facility."""
    from followup.store import programme_counts as pc

    facilities = {
        row.id: (row.key, row.name)
        for row in session.execute(select(Facility.id, Facility.key, Facility.name))
    }
    steps = _step_counts(session, query, policy)
    actions = pc.action_counts(session)
    flags = pc.flag_counts(session, query.as_of, policy)
    pathway = pc.tracking_counts(session, query.as_of, policy)
    labels = step_labels(policy)

    def scope(facility_id: Any) -> dict[str, Any]:
        if facility_id is all:
            merged: StepCounts = {label: Counter() for label in labels}
            for counts in steps.values():
                for label, outcomes in counts.items():
                    merged[label].update(outcomes)
        else:
            key = facilities[facility_id][0] if facility_id in facilities else ""
            merged = steps.get(key) or {label: Counter() for label in labels}
        return _figures(
            merged,
            pc.total(actions, rules.ACTIONS, facility_id),
            pc.total(flags, rules.FLAG_CODES, facility_id),
            pc.total(pathway, pc.TRACKING_KEYS, facility_id),
        )

    head = {
        "as_of": query.as_of.isoformat(),
        "from": query.start.isoformat() if query.start else None,
        "to": query.end.isoformat() if query.end else None,
    }
    if query.by_facility:
        seen = set(actions) | set(flags) | set(pathway)
        seen |= {fid for fid, (key, _) in facilities.items() if key in steps}
        named = sorted((facilities[f][1] if f in facilities else NO_FACILITY, f) for f in seen)
        groups = [{"group": name, **scope(fid)} for name, fid in named]
        return {**head, "by": "facility", "groups": groups}
    chosen = all if query.facility_id is None else query.facility_id
    name = facilities[query.facility_id][1] if query.facility_id in facilities else None
    return {**head, "facility": name, **scope(chosen)}


NO_FACILITY = "(no facility)"
