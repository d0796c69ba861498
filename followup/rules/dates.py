"""Calendar arithmetic and date parsing (clinical-rules.md §5).

Months are calendar months clamped to the month's end, never 30 days.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from dateutil.relativedelta import relativedelta

EARLIEST_EXAM = date(1900, 1, 1)


# Cached: a programme has few distinct (date, interval) pairs and relativedelta is slow;
# plans for a million patients are computed in bulk loads.
@lru_cache(maxsize=65536)
def add_months(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months; 2025-08-31 + 6 = 2026-02-28."""
    return start + relativedelta(months=months)


@lru_cache(maxsize=65536)
def add_years(start: date, years: int) -> date:
    """``start`` plus ``years`` years; Feb 29 clamps to Feb 28."""
    return start + relativedelta(years=years)


def add_days(start: date, days: int) -> date:
    """``start`` plus ``days`` (negative: minus), held at the calendar's ends (year 1 and
    9999) instead of overflowing: a report's window from an as-of date near the end of time
    (``--as-of 9999-12-31``, ``--within 999999999``) covers everything, it does not fail."""
    ordinal = start.toordinal() + days
    return date.fromordinal(min(max(ordinal, date.min.toordinal()), date.max.toordinal()))


def with_day(start: date, day: int) -> date:
    """``start`` moved to day ``day`` of its month, clamped to the month's end (31 -> Feb 28).

    For "the same day of the month" schedules, which must never spill into the next month.
    """
    if not 1 <= day <= 31:
        raise ValueError(f"day {day} is not a day of the month; give 1 to 31")
    return start + relativedelta(day=day)


def parse_date(text: str) -> date:
    """Parse a strict ``YYYY-MM-DD`` date; ValueError says what is wrong."""
    try:
        return date.fromisoformat(text.strip()) if len(text.strip()) == 10 else _bad(text)
    except ValueError:
        return _bad(text)


def _bad(text: str) -> date:
    raise ValueError(f"{text!r} is not a valid date; write it as YYYY-MM-DD, e.g. 2025-01-31")


def check_exam_date(day: date, today: date) -> date:
    """An exam date in the future, or before 1900, is an input error (clinical-rules.md §5)."""
    return _check_record_date(day, today, "exam")


def check_biopsy_date(day: date, today: date) -> date:
    """A biopsy date in the future, or before 1900, is an input error (clinical-rules.md §5)."""
    return _check_record_date(day, today, "biopsy")


def check_transfer_date(day: date, today: date) -> date:
    """A film transfer's date (§6) in the future, or before 1900, is an input error."""
    return _check_record_date(day, today, "transfer")


def _check_record_date(day: date, today: date, what: str) -> date:
    if day > today:
        raise ValueError(
            f"{what} date {day.isoformat()} is in the future (today is {today.isoformat()}); "
            "check the year and month"
        )
    if day < EARLIEST_EXAM:
        raise ValueError(f"{what} date {day.isoformat()} is before 1900; check the year")
    return day


def check_birth_date(day: date, today: date) -> date:
    """A birth date in the future is an input error (clinical-rules.md §5); so is one before
    1900, which no patient alive has."""
    if day > today:
        raise ValueError(
            f"birth date {day.isoformat()} is in the future (today is {today.isoformat()}); "
            "check the year"
        )
    if day < EARLIEST_EXAM:
        raise ValueError(f"birth date {day.isoformat()} is before 1900; check the year")
    return day
