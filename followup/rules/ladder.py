"""The reminder and letter ladder of clinical-rules.md §7, as dates: which step of it falls due
for one due date on an as-of day.

Each step goes out once per patient and due date (the store's unique keys enforce that; this
module only says which step is the one to send now):

1. *upcoming*, ``reminder_days_before`` days before the due date, until the due date;
2. *overdue* steps on the days after the due date listed in ``overdue_steps_days`` (default
   1, 30 and 60); the last one is marked for certified or registered mail;
3. nothing after the last step: she stays on the to-call list.

A run that was missed (cron down for a week) sends the latest step that has fallen due, not
every step it skipped: one letter, the one that matters now.

**No backlog on a first run.** ``started`` is the day the programme first sent anything
(the store keeps it). An overdue step whose day fell before it is never sent: a clinic that
starts using followup today reminds the women whose step falls due from today on, not every
woman overdue since 2019 (she is on the to-call list instead). An *upcoming* reminder is not a
backlog (her exam is still ahead), so it is sent whenever the run falls in its window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from followup.rules.policy import Policy


class StepKind(StrEnum):
    UPCOMING = "upcoming"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class Step:
    """One rung: ``number`` 0 for the upcoming reminder, 1, 2, ... for the overdue steps in
    order; ``day`` the day it falls due; ``last`` the final step (certified mail)."""

    kind: StepKind
    number: int
    day: date
    last: bool = False

    @property
    def key(self) -> str:
        """The step as stored and shown: ``upcoming``, ``overdue-1``, ``overdue-2``, ..."""
        return self.kind.value if self.kind is StepKind.UPCOMING else f"overdue-{self.number}"


def overdue_days(policy: Policy) -> tuple[int, ...]:
    """The policy's overdue steps in order, each once (a policy file may list them unsorted)."""
    return tuple(sorted(set(policy.overdue_steps_days)))


def ladder(due: date, policy: Policy) -> tuple[Step, ...]:
    """Every step of the ladder for ``due``, in the order they fall."""
    upcoming = Step(StepKind.UPCOMING, 0, due - timedelta(days=policy.reminder_days_before))
    days = overdue_days(policy)
    overdue = tuple(
        Step(StepKind.OVERDUE, n, due + timedelta(days=d), last=n == len(days))
        for n, d in enumerate(days, start=1)
    )
    return (upcoming, *overdue)


def step_on(due: date, as_of: date, policy: Policy, started: date | None = None) -> Step | None:
    """The step to send on ``as_of`` for ``due``: the latest one that has fallen due, or None
    (before the upcoming window; or an overdue step that fell before ``started``, the day the
    programme first sent anything; None means today).

    The caller sends it unless it was sent already; the ladder never goes back to an earlier
    step, so after the last step nothing more goes out for that due date."""
    first_day = as_of if started is None else started
    fallen = [step for step in ladder(due, policy) if step.day <= as_of]
    if not fallen:
        return None
    step = fallen[-1]
    if step.kind is StepKind.UPCOMING:
        return step if as_of <= due else None
    return step if step.day >= first_day else None


def step_named(key: str, due: date, policy: Policy) -> Step:
    """The step stored as ``key`` (``upcoming``, ``overdue-2``) for ``due``; ValueError for a
    key that is not a step of this policy's ladder."""
    for step in ladder(due, policy):
        if step.key == key:
            return step
    keys = ", ".join(step.key for step in ladder(due, policy))
    raise ValueError(f"{key!r} is not a step of the ladder; the steps are {keys}")
