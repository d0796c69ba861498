"""Which letters of clinical-rules.md §7 fall due (followup.rules.letters): result letters'
due dates and the first run's window, the ladder's letters (a property over daily runs), the
desk's ladder letter, and where the earlier films are."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followup import rules
from followup.rules import letters as L
from followup.rules.categories import Category

POLICY = rules.Policy()
D = date.fromisoformat


@pytest.mark.parametrize(
    ("category", "days"),
    [
        (Category.NEGATIVE, 30),
        (Category.PROBABLY_BENIGN, 30),
        (Category.INCOMPLETE, 30),
        (Category.SUSPICIOUS, 7),
        (Category.HIGHLY_SUSPICIOUS, 7),
        (Category.KNOWN_MALIGNANCY, 30),
    ],
)
def test_result_letters_are_due_30_days_after_the_exam_7_when_suspicious(category, days):
    assert L.result_letter_due(D("2025-07-10"), category, POLICY) == D("2025-07-10") + timedelta(
        days=days
    )
    policy = rules.Policy(result_letter_days=14, urgent_result_letter_days=3)
    expected = 3 if days == 7 else 14
    assert (L.result_letter_due(D("2025-07-10"), category, policy) - D("2025-07-10")).days == (
        expected
    )


def test_the_first_run_answers_exams_from_30_days_before_it():
    assert L.letters_from(D("2025-07-15"), POLICY) == D("2025-06-15")
    assert L.letters_from(D("2025-07-15"), rules.Policy(result_letter_days=10)) == D("2025-07-05")


def test_ladder_letters_name_their_kind_step_and_certified_mail():
    due, started = D("2025-08-01"), D("2025-01-01")
    assert L.ladder_letter(due, D("2025-07-01"), POLICY, started) is None
    reminder = L.ladder_letter(due, D("2025-07-02"), POLICY, started)
    assert reminder == L.LadderLetter("reminder", "upcoming", 0, 3, False, D("2025-07-02"))
    first = L.ladder_letter(due, D("2025-08-02"), POLICY, started)
    assert (first.kind, first.step, first.number, first.certified) == ("overdue", "overdue-1", 1,
                                                                       False)  # fmt: skip
    last = L.ladder_letter(due, D("2025-09-30"), POLICY, started)
    assert (last.step, last.number, last.steps, last.certified) == ("overdue-3", 3, 3, True)


def test_the_ladder_window_holds_every_due_date_with_a_letter():
    low, high = L.ladder_window(D("2025-07-15"), D("2025-07-01"), POLICY)
    assert (low, high) == (D("2025-05-02"), D("2025-08-14"))


@settings(max_examples=300, deadline=None)
@given(
    due=st.dates(date(2024, 1, 1), date(2026, 12, 31)),
    started=st.dates(date(2024, 1, 1), date(2026, 12, 31)),
    missed=st.sets(st.integers(0, 500), max_size=200),
)
def test_daily_runs_send_each_step_once_never_before_the_start(due, started, missed):
    """Runs every day from the start (some days missed): the letters the log keeps are each
    step at most once, in ladder order, none that fell before the start, and every due
    date that a run can see falls in the ladder window."""
    sent: dict[str, L.LadderLetter] = {}
    for offset in range(0, 520):
        if offset in missed:
            continue
        day = started + timedelta(days=offset)
        found = L.ladder_letter(due, day, POLICY, started)
        if found is None:
            continue
        low, high = L.ladder_window(day, started, POLICY)
        assert low <= due <= high
        assert found.kind == "reminder" or found.day >= started
        sent.setdefault(found.step, found)
    numbers = [letter.number for letter in sent.values()]
    assert numbers == sorted(numbers) and len(numbers) == len(set(numbers))
    in_reach = started + timedelta(days=30) <= due <= started + timedelta(days=450)
    if in_reach and not missed:  # every day run: every step
        assert list(sent) == ["upcoming", "overdue-1", "overdue-2", "overdue-3"]


def test_the_desk_writes_the_reminder_before_the_due_date_and_the_latest_step_after():
    due = D("2025-08-01")
    assert L.desk_ladder_letter("reminder", due, D("2025-05-01"), POLICY).step == "upcoming"
    assert L.desk_ladder_letter("overdue", due, D("2025-08-02"), POLICY).step == "overdue-1"
    assert L.desk_ladder_letter("overdue", due, D("2025-08-20"), POLICY).step == "overdue-1"
    latest = L.desk_ladder_letter("overdue", due, D("2026-01-01"), POLICY)
    assert latest.step == "overdue-3" and latest.certified
    with pytest.raises(ValueError, match="write an overdue letter instead"):
        L.desk_ladder_letter("reminder", due, D("2025-08-02"), POLICY)
    with pytest.raises(ValueError, match="not overdue; write a reminder instead"):
        L.desk_ladder_letter("overdue", due, due, POLICY)


def exam(day: str, facility: str, category: Category = Category.NEGATIVE) -> rules.Exam:
    return rules.Exam(D(day), facility, (rules.Finding(category),), rules.ExamKind.SCREENING)


def test_films_wanted_names_each_facility_with_films_not_on_hand():
    exams = [
        exam("2021-03-01", "North"),
        exam("2022-03-01", "South"),
        exam("2023-03-01", "North"),
        exam("2025-03-01", "East"),
    ]
    wanted = L.films_wanted(exams, [])
    assert (wanted.current, wanted.latest) == ("East", D("2025-03-01"))
    assert wanted.holders == (
        L.FilmsHolder("North", (D("2021-03-01"), D("2023-03-01"))),
        L.FilmsHolder("South", (D("2022-03-01"),)),
    )
    # North's films up to 2022-06-01 were sent to South, then South's to East: only North's
    # 2023 film is still elsewhere (transfers chain, clinical-rules.md §6)
    transfers = [
        rules.FilmTransfer("North", "South", D("2022-06-01")),
        rules.FilmTransfer("South", "East", D("2025-03-01")),
    ]
    assert L.films_wanted(exams, transfers).holders == (L.FilmsHolder("North", (D("2023-03-01"),)),)
    assert L.films_wanted([], []) is None


def test_a_post_procedure_exam_is_not_the_current_facility():
    exams = [
        exam("2023-03-01", "North"),
        exam("2025-03-01", "East"),
        exam("2025-03-05", "West", Category.POST_PROCEDURE),
    ]
    wanted = L.films_wanted(exams, [])
    assert wanted.current == "East"
    assert [h.facility for h in wanted.holders] == ["North"]
