"""The ladder of clinical-rules.md §7 as dates: the step that falls due on a day, boundaries,
catch-up after missed runs, no backlog before the programme started, and properties."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from followup.rules.ladder import StepKind, ladder, step_named, step_on
from followup.rules.policy import Policy

POLICY = Policy()  # 30 days before; 1, 30, 60 days after
DUE = date(2026, 3, 1)


def key_on(as_of: date, started: date | None = None, policy: Policy = POLICY) -> str | None:
    step = step_on(DUE, as_of, policy, started)
    return None if step is None else step.key


def test_the_default_ladder():
    steps = ladder(DUE, POLICY)
    assert [(s.key, s.day, s.last) for s in steps] == [
        ("upcoming", date(2026, 1, 30), False),
        ("overdue-1", date(2026, 3, 2), False),
        ("overdue-2", date(2026, 3, 31), False),
        ("overdue-3", date(2026, 4, 30), True),  # certified mail
    ]


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (date(2026, 1, 29), None),  # the day before the upcoming window
        (date(2026, 1, 30), "upcoming"),  # reminder_days_before exactly
        (date(2026, 3, 1), "upcoming"),  # the due date itself
        (date(2026, 3, 2), "overdue-1"),  # 1 day after
        (date(2026, 3, 30), "overdue-1"),
        (date(2026, 3, 31), "overdue-2"),
        (date(2026, 4, 30), "overdue-3"),
        (date(2030, 1, 1), "overdue-3"),  # the last step stays the last: sent once, by the store
    ],
)
def test_the_step_on_each_day_of_a_running_programme(as_of, expected):
    assert key_on(as_of, started=date(2025, 1, 1)) == expected


def test_a_missed_week_of_runs_sends_the_latest_step_only():
    assert key_on(date(2026, 4, 5), started=date(2025, 1, 1)) == "overdue-2"


def test_a_first_run_sends_no_backlog():
    # started today: a woman overdue for years gets nothing (she is on the to-call list) ...
    assert step_on(date(2019, 5, 1), date(2026, 3, 10), POLICY, date(2026, 3, 10)) is None
    # ... nor one whose first step fell last week; the next step that falls is sent
    assert key_on(date(2026, 3, 10), started=date(2026, 3, 10)) is None
    assert key_on(date(2026, 3, 31), started=date(2026, 3, 10)) == "overdue-2"
    # a step falling on the first day itself is due that day
    assert key_on(date(2026, 3, 2), started=date(2026, 3, 2)) == "overdue-1"
    assert key_on(date(2026, 3, 2)) == "overdue-1"  # no start yet: today is the first day


def test_an_upcoming_reminder_is_not_a_backlog():
    assert key_on(date(2026, 2, 20), started=date(2026, 2, 20)) == "upcoming"


def test_the_policy_moves_the_steps():
    policy = Policy(reminder_days_before=10, overdue_steps_days=(60, 7))
    assert [(s.key, (s.day - DUE).days) for s in ladder(DUE, policy)] == [
        ("upcoming", -10),
        ("overdue-1", 7),
        ("overdue-2", 60),
    ]
    assert key_on(date(2026, 2, 18), policy=policy) is None
    assert step_named("overdue-2", DUE, policy).last


def test_an_unknown_step_names_the_steps():
    with pytest.raises(ValueError, match="the steps are upcoming, overdue-1, overdue-2, overdue-3"):
        step_named("overdue-9", DUE, POLICY)


days = st.integers(min_value=-400, max_value=900)


@given(offset=days, started=days)
def test_properties(offset, started):
    as_of = DUE + timedelta(days=offset)
    begun = DUE + timedelta(days=started)
    step = step_on(DUE, as_of, POLICY, begun)
    if step is None:
        return
    assert step.day <= as_of  # never early
    assert step == ladder(DUE, POLICY)[step.number]
    if step.kind is StepKind.OVERDUE:
        assert step.day >= begun  # never a step that fell before the programme started
        later = [s for s in ladder(DUE, POLICY) if step.day < s.day <= as_of]
        assert later == []  # the latest that has fallen
    else:
        assert as_of <= DUE
