"""make_plan, rule by rule (clinical-rules.md §1 table and §2 protocol), table-driven.

Expected dates are worked out by hand from the spec.
"""

from __future__ import annotations

import pytest

from followup import rules
from tests.rules.builders import C, S, d, exam, plan

DEFAULTS = [
    # id, category, finding side, exam date, action, due, plan side
    (
        "incomplete-30-days",
        C.INCOMPLETE,
        S.LEFT,
        "2025-01-15",
        "additional-imaging",
        "2025-02-14",
        S.LEFT,
    ),
    (
        "incomplete-over-feb",
        C.INCOMPLETE,
        None,
        "2024-02-10",
        "additional-imaging",
        "2024-03-11",
        S.BILATERAL,  # revised §2: both breasts, same action, same day -> bilateral
    ),  # 30 days, leap February
    (
        "negative-12-months",
        C.NEGATIVE,
        None,
        "2025-01-15",
        "routine-screening",
        "2026-01-15",
        S.BILATERAL,
    ),
    (
        "benign-12-months",
        C.BENIGN,
        S.RIGHT,
        "2025-01-15",
        "routine-screening",
        "2026-01-15",
        S.BILATERAL,
    ),
    ("benign-feb-29", C.BENIGN, None, "2024-02-29", "routine-screening", "2025-02-28", S.BILATERAL),
    (
        "pb-first-6-months-finding-side",
        C.PROBABLY_BENIGN,
        S.RIGHT,
        "2025-01-15",
        "short-interval-follow-up",
        "2025-07-15",
        S.RIGHT,
    ),
    ("suspicious-30-days", C.SUSPICIOUS, S.LEFT, "2025-01-15", "biopsy", "2025-02-14", S.LEFT),
    (
        "highly-suspicious-30-days",
        C.HIGHLY_SUSPICIOUS,
        S.RIGHT,
        "2025-12-15",
        "biopsy",
        "2026-01-14",
        S.RIGHT,
    ),
]


@pytest.mark.parametrize(
    ("category", "side", "when", "action", "due", "plan_side"),
    [case[1:] for case in DEFAULTS],
    ids=[case[0] for case in DEFAULTS],
)
def test_default_action_and_due_per_category(category, side, when, action, due, plan_side):
    made = plan(exam(when, category, side))
    assert made.action == action
    assert made.due == d(due)
    assert made.laterality is plan_side
    assert made.category is category
    assert made.exam_date == d(when)


def test_known_malignancy_is_out_of_interval_tracking():
    made = plan(exam("2025-01-15", C.KNOWN_MALIGNANCY, S.LEFT))
    assert made.action == "treatment"
    assert made.due is None
    assessed = rules.assess(
        [exam("2025-01-15", C.KNOWN_MALIGNANCY)], [], rules.DEFAULT_POLICY, d("2030-01-01")
    )
    codes = [f.code for f in assessed.flags]
    assert "overdue" not in codes and "lost-to-follow-up" not in codes
    assert rules.days_overdue(made, d("2030-01-01")) == 0


def test_known_malignancy_finding_takes_the_exam_out_of_tracking():
    made = plan(exam("2025-01-15", C.BENIGN, S.LEFT, more=((C.KNOWN_MALIGNANCY, S.RIGHT),)))
    assert (made.action, made.due) == ("treatment", None)


def test_no_exams_no_plan():
    made = rules.make_plan([], [], rules.DEFAULT_POLICY)
    assert (made.action, made.due, made.flags) == (None, None, ())


# §2: exams of the episode so far -> due and side; stable from the 4th once >= 24 months.
PB_DATES = ["2022-03-31", "2022-09-30", "2023-03-31", "2024-03-31", "2025-03-31", "2026-03-31"]
PROTOCOL = [
    # exams in episode, due, side, stable?
    (1, "2022-09-30", S.LEFT, False),
    (2, "2023-03-30", S.BILATERAL, False),  # 2022-09-30 + 6 months
    (3, "2024-03-31", S.BILATERAL, False),
    (4, "2025-03-31", S.BILATERAL, True),  # 2022-03-31 to 2024-03-31: exactly 24 months
    (5, "2026-03-31", S.BILATERAL, True),
    (6, "2027-03-31", S.BILATERAL, True),
]


@pytest.mark.parametrize(
    ("count", "due", "side", "stable"), PROTOCOL, ids=[f"exam-{c}" for c, *_ in PROTOCOL]
)
def test_probably_benign_protocol(count, due, side, stable):
    history = [exam(day, C.PROBABLY_BENIGN, S.LEFT) for day in PB_DATES[:count]]
    made = plan(exam("2020-01-10", C.BENIGN), *history)
    assert made.action == "short-interval-follow-up"
    assert made.due == d(due)
    assert made.laterality is side
    assert made.episode_start == d("2022-03-31")
    assert made.episode_step == count
    codes = [f.code for f in made.flags]
    assert ("stable-probably-benign" in codes) is stable


STABLE_SPAN = [
    # four episode exams from the first date to the last; stable iff span >= 24 months
    ("exactly-24-months", "2022-01-15", "2024-01-15", True),
    ("a-day-short", "2022-01-15", "2024-01-14", False),
    ("feb-29-start-to-feb-28", "2024-02-29", "2026-02-28", True),  # 24 calendar months, clamped
    ("feb-29-start-a-day-short", "2024-02-29", "2026-02-27", False),
    ("longer", "2022-01-15", "2025-06-01", True),
]


@pytest.mark.parametrize(
    ("first", "last", "stable"),
    [case[1:] for case in STABLE_SPAN],
    ids=[case[0] for case in STABLE_SPAN],
)
def test_stable_probably_benign_once_the_episode_spans_24_months(first, last, stable):
    start = d(first)
    middle = [rules.add_months(start, 6), rules.add_months(start, 12)]
    history = [exam(first, C.PROBABLY_BENIGN, S.RIGHT)]
    history += [exam(day.isoformat(), C.PROBABLY_BENIGN, S.RIGHT) for day in middle]
    history.append(exam(last, C.PROBABLY_BENIGN, S.RIGHT))
    made = plan(*history)
    assert made.episode_step == 4
    assert ("stable-probably-benign" in [f.code for f in made.flags]) is stable


def test_three_exams_over_24_months_are_not_yet_stable():
    # the flag needs the 4th exam of the episode, however long the first three took
    made = plan(
        *(
            exam(day, C.PROBABLY_BENIGN, S.LEFT)
            for day in ("2020-01-10", "2021-06-10", "2023-01-10")
        )
    )
    assert made.episode_step == 3
    assert "stable-probably-benign" not in [f.code for f in made.flags]


ENDINGS = [
    # history after two probably-benign exams (2023-01-10, 2023-07-10) -> action, due, step
    ("benign-ends-to-routine", [("2024-01-10", C.BENIGN)], "routine-screening", "2025-01-10", None),
    (
        "negative-ends-to-routine",
        [("2024-01-10", C.NEGATIVE)],
        "routine-screening",
        "2025-01-10",
        None,
    ),
    ("suspicious-means-biopsy", [("2024-01-10", C.SUSPICIOUS)], "biopsy", "2024-02-09", None),
    (
        "highly-suspicious-means-biopsy",
        [("2024-01-10", C.HIGHLY_SUSPICIOUS)],
        "biopsy",
        "2024-02-09",
        None,
    ),
    (
        "new-episode-after-benign",
        [("2024-01-10", C.BENIGN), ("2024-06-10", C.PROBABLY_BENIGN)],
        "short-interval-follow-up",
        "2024-12-10",
        1,
    ),
    (
        "new-episode-after-incomplete",
        [("2024-01-10", C.INCOMPLETE), ("2024-01-25", C.PROBABLY_BENIGN)],
        "short-interval-follow-up",
        "2024-07-25",
        1,
    ),
    (
        "episode-continues",
        [("2024-01-10", C.PROBABLY_BENIGN)],
        "short-interval-follow-up",
        "2025-01-10",
        3,
    ),
]


@pytest.mark.parametrize(
    ("after", "action", "due", "step"),
    [case[1:] for case in ENDINGS],
    ids=[case[0] for case in ENDINGS],
)
def test_any_other_category_ends_the_episode(after, action, due, step):
    history = [
        exam("2023-01-10", C.PROBABLY_BENIGN, S.LEFT),
        exam("2023-07-10", C.PROBABLY_BENIGN, S.LEFT),
    ]
    history += [exam(day, category, S.LEFT) for day, category in after]
    made = plan(*history)
    assert made.action == action
    assert made.due == d(due)
    assert made.episode_step == step
    if step == 1:  # a new episode starts unilateral again, on the finding's side
        assert made.laterality is S.LEFT
        assert made.episode_start == d(after[-1][0])


def test_a_new_episode_is_not_stable_from_the_old_ones_span():
    old = [
        exam(day, C.PROBABLY_BENIGN, S.LEFT)
        for day in ("2019-01-10", "2019-07-10", "2020-01-10", "2021-01-10")
    ]
    new = [
        exam(day, C.PROBABLY_BENIGN, S.LEFT)
        for day in ("2022-01-10", "2022-07-10", "2023-01-10", "2023-07-10")
    ]
    made = plan(*old, exam("2021-07-10", C.BENIGN), *new)
    assert made.episode_start == d("2022-01-10") and made.episode_step == 4
    assert "stable-probably-benign" not in [f.code for f in made.flags]


def test_radiologist_interval_inside_an_episode_keeps_the_step_and_side():
    made = plan(exam("2024-01-10", C.PROBABLY_BENIGN, S.RIGHT, months=3))
    assert made.due == d("2024-04-10")
    assert made.laterality is S.RIGHT
    assert made.episode_step == 1


REASONS = [
    # (category, months, words the reason must contain besides the exam's date and place)
    ("routine", C.BENIGN, None, ["benign", "routine screening", "12 months"]),
    ("incomplete", C.INCOMPLETE, None, ["incomplete", "additional imaging", "30 days"]),
    ("biopsy", C.SUSPICIOUS, None, ["suspicious", "biopsy", "30 days"]),
    ("highly", C.HIGHLY_SUSPICIOUS, None, ["highly suspicious", "biopsy"]),
    ("probably-benign", C.PROBABLY_BENIGN, None, ["probably benign", "first", "6 months"]),
    ("malignancy", C.KNOWN_MALIGNANCY, None, ["known malignancy", "out of interval tracking"]),
    ("radiologist", C.BENIGN, 9, ["radiologist", "9 months"]),
]


@pytest.mark.parametrize(
    ("category", "months", "words"),
    [case[1:] for case in REASONS],
    ids=[case[0] for case in REASONS],
)
def test_reason_names_the_rule_and_the_exam(category, months, words):
    made = plan(
        exam("2020-01-10", C.NEGATIVE, facility="Old Clinic", exam_id=3),
        exam(
            "2025-02-03", category, S.LEFT, facility="Lakeside Imaging", months=months, exam_id=41
        ),
    )
    assert made.exam_id == 41 and made.facility == "Lakeside Imaging"
    for word in ("2025-02-03", "Lakeside Imaging", "41", *words):
        assert word in made.reason, (word, made.reason)
    assert "2020-01-10" not in made.reason


def test_reason_of_a_later_probably_benign_step_says_which():
    history = [exam(day, C.PROBABLY_BENIGN, S.LEFT) for day in PB_DATES[:3]]
    made = plan(*history)
    assert "third" in made.reason and "12 months" in made.reason and "2023-03-31" in made.reason


def test_facilities_match_ignoring_case_and_spaces():
    assert rules.facility_key("  Northside   IMAGING ") == rules.facility_key("northside imaging")
    made = plan(
        exam("2020-01-10", C.BENIGN, facility="northside imaging"),
        exam("2024-01-10", C.BENIGN, facility="Northside  Imaging"),
    )
    assert [f.code for f in made.flags] == []
