"""clinical-rules.md §3: calendar months clamped to the month's end, strict dates, input limits.

Every row of the shared month-arithmetic vectors (dateutil's own test cases plus follow-up style
ones) runs through the project's arithmetic.
"""

from __future__ import annotations

import csv
from datetime import date

import pytest

from followup import rules
from tests.conftest import SHARED_DATA
from tests.rules.builders import C, S, d, exam, plan

VECTORS = SHARED_DATA / "date_arithmetic" / "month_arithmetic_vectors.csv"
OPERATIONS = {
    "add_months": rules.add_months,
    "add_years": rules.add_years,
    "set_day": rules.with_day,
}


def _vectors() -> list:
    with VECTORS.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [
        pytest.param(
            row["operation"],
            d(row["start_date"]),
            int(row["n"]),
            d(row["expected"]),
            id=f"{row['start_date']}-{row['operation']}-{row['n']}",
        )
        for row in rows
    ]


def test_every_vector_is_read():
    rows = _vectors()
    assert len(rows) == 49  # as data/README.md says
    assert {p.values[0] for p in rows} == set(OPERATIONS)


@pytest.mark.parametrize(("operation", "start", "n", "expected"), _vectors())
def test_month_arithmetic_vectors(operation, start, n, expected):
    assert OPERATIONS[operation](start, n) == expected


SPEC_EXAMPLES = [
    ("2025-08-31", 6, "2026-02-28"),  # §3, verbatim
    ("2023-08-31", 6, "2024-02-29"),  # §3, verbatim: leap year
    ("2024-02-29", 12, "2025-02-28"),
    ("2025-01-31", 1, "2025-02-28"),
    ("2025-03-31", 6, "2025-09-30"),  # not 30-day months: 180 days would be 2025-09-27
    ("2025-01-15", 12, "2026-01-15"),
]


@pytest.mark.parametrize(("start", "months", "expected"), SPEC_EXAMPLES, ids=str)
def test_calendar_months_clamp_to_month_end(start, months, expected):
    assert rules.add_months(d(start), months) == d(expected)


def test_with_day_refuses_a_day_outside_the_month():
    assert rules.with_day(d("2025-04-15"), 31) == d("2025-04-30")
    with pytest.raises(ValueError, match="1 to 31"):
        rules.with_day(d("2025-04-15"), 0)


@pytest.mark.parametrize(
    ("start", "expected"),
    [("2025-08-31", "2026-02-28"), ("2023-08-31", "2024-02-29"), ("2024-02-29", "2024-08-29")],
    ids=str,
)
def test_plans_use_calendar_months(start, expected):
    made = plan(exam(start, C.PROBABLY_BENIGN, S.LEFT))
    assert made.due == d(expected)


def test_intervals_count_from_the_exam_performed_not_from_the_due_date():
    # due 2024-07-01 after the first exam; the second was done late, on 2024-10-20
    made = plan(
        exam("2024-01-01", C.PROBABLY_BENIGN, S.LEFT), exam("2024-10-20", C.PROBABLY_BENIGN, S.LEFT)
    )
    assert made.due == d("2025-04-20")


def test_exams_in_any_order_give_the_same_plan():
    history = [
        exam("2019-05-02", C.BENIGN, facility="Eastside Clinic"),
        exam("2022-06-30", C.NEGATIVE),
        exam("2023-01-04", C.PROBABLY_BENIGN, S.RIGHT),
        exam("2023-07-10", C.PROBABLY_BENIGN, S.RIGHT),
        exam("2024-01-31", C.PROBABLY_BENIGN, S.BILATERAL),
    ]
    expected = plan(*history)
    # Revised spec (§3 per breast): the bilateral finding of 2024-01-31 starts the left
    # breast's first episode (6 months, left); the right is on its third step (2025-01-31).
    assert expected.due == d("2024-07-31") and expected.laterality is S.LEFT
    assert expected.also[0].due == d("2025-01-31")
    for order in (history[::-1], history[2:] + history[:2], [history[3], *history[:3], history[4]]):
        assert plan(*order) == expected


RADIOLOGIST = [
    # (category, side, months, exam date, due): the recorded interval wins over every default
    (C.BENIGN, None, 6, "2025-01-31", "2025-07-31"),
    (C.NEGATIVE, None, 24, "2024-02-29", "2026-02-28"),
    (C.PROBABLY_BENIGN, S.LEFT, 4, "2025-08-31", "2025-12-31"),
    (C.PROBABLY_BENIGN, S.LEFT, 12, "2025-03-01", "2026-03-01"),
    (C.INCOMPLETE, None, 1, "2025-01-31", "2025-02-28"),
]


@pytest.mark.parametrize(
    ("category", "side", "months", "when", "due"),
    RADIOLOGIST,
    ids=[f"{c}-{m}m" for c, _, m, _, _ in RADIOLOGIST],
)
def test_radiologists_recorded_interval_wins(category, side, months, when, due):
    made = plan(exam(when, category, side, months=months))
    assert made.due == d(due)
    assert made.action == category.action
    assert "radiologist" in made.reason and f"{months} months" in made.reason


@pytest.mark.parametrize("text", ["2025-01-31", " 2025-01-31 "], ids=repr)
def test_parse_date(text):
    assert rules.parse_date(text) == date(2025, 1, 31)


@pytest.mark.parametrize(
    "text", ["2025-02-30", "2025-2-3", "31/01/2025", "20250131", "2025-01-31T10:00", ""], ids=repr
)
def test_parse_date_refuses_anything_but_a_calendar_date(text):
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        rules.parse_date(text)


TODAY = date(2025, 6, 15)


@pytest.mark.parametrize(
    ("day", "error"),
    [
        (date(1900, 1, 1), None),
        (date(1899, 12, 31), "before 1900"),
        (TODAY, None),
        (date(2025, 6, 16), "future"),
    ],
    ids=str,
)
def test_exam_dates_in_the_future_or_before_1900_are_input_errors(day, error):
    if error is None:
        assert rules.check_exam_date(day, TODAY) == day
        assert rules.validate_exam(rules.Exam(day, "A", (rules.Finding(C.BENIGN),)), TODAY)
    else:
        with pytest.raises(ValueError, match=error):
            rules.check_exam_date(day, TODAY)
        with pytest.raises(ValueError, match=error):
            rules.validate_exam(rules.Exam(day, "A", (rules.Finding(C.BENIGN),)), TODAY)


@pytest.mark.parametrize(
    ("exam_value", "error"),
    [
        (rules.Exam(TODAY, "  ", (rules.Finding(C.BENIGN),)), "facility"),
        (rules.Exam(TODAY, "A", ()), "category"),
        (rules.Exam(TODAY, "A", (rules.Finding(C.BENIGN),), follow_up_months=0), "1-36"),
        (rules.Exam(TODAY, "A", (rules.Finding(C.BENIGN),), follow_up_months=37), "1-36"),
    ],
    ids=["no-facility", "no-finding", "zero-months", "37-months"],
)
def test_invalid_exams_are_refused_with_a_reason(exam_value, error):
    with pytest.raises(ValueError, match=error):
        rules.validate_exam(exam_value, TODAY)
