"""clinical-rules.md §3 per breast, and §5's same-day order, with the flags they touch."""

from __future__ import annotations

import pytest

from followup import rules
from tests.rules.builders import C, I, K, S, codes, d, exam, flag, plan, screening

# --- §3: each breast has its own probably-benign episode ------------------------------------


def test_an_exam_of_the_other_breast_alone_changes_nothing_in_the_episode():
    first = exam("2024-01-10", C.PROBABLY_BENIGN, S.LEFT)
    other = exam("2024-03-05", C.BENIGN, imaged=I.RIGHT)
    second = exam("2024-07-10", C.PROBABLY_BENIGN, S.LEFT, imaged=I.LEFT)
    made = plan(first, other, second)
    left = made.breast(S.LEFT)
    assert (left.episode_start, left.episode_step) == (d("2024-01-10"), 2)
    assert (left.due, left.laterality) == (d("2025-01-10"), S.BILATERAL)


def test_a_finding_on_one_breast_ends_the_other_breasts_episode():
    # a bilateral exam finding the left probably benign and nothing on the right
    made = plan(
        exam("2024-01-10", C.PROBABLY_BENIGN, S.RIGHT),
        exam("2024-07-10", C.PROBABLY_BENIGN, S.LEFT),
    )
    right, left = made.breast(S.RIGHT), made.breast(S.LEFT)
    assert (right.action, right.due) == ("routine-screening", d("2025-07-10"))  # negative now
    assert (left.episode_step, left.due, left.laterality) == (1, d("2025-01-10"), S.LEFT)


def test_two_breasts_two_episodes():
    made = plan(
        exam("2023-01-10", C.PROBABLY_BENIGN, S.LEFT),
        exam("2023-07-10", C.PROBABLY_BENIGN, S.LEFT, imaged=I.LEFT),
        exam("2024-01-10", C.PROBABLY_BENIGN),  # both breasts: left's 3rd, right's 1st
    )
    left, right = made.breast(S.LEFT), made.breast(S.RIGHT)
    assert (left.episode_step, left.due) == (3, d("2025-01-10"))
    assert (right.episode_step, right.due, right.laterality) == (1, d("2024-07-10"), S.RIGHT)
    assert (made.action, made.due, made.episode_step) == (
        "short-interval-follow-up",
        d("2024-07-10"),
        1,
    )


def test_stable_probably_benign_per_breast():
    days = ("2021-01-10", "2021-07-10", "2022-01-10", "2023-01-10")
    history = [exam(day, C.PROBABLY_BENIGN, S.LEFT, imaged=I.LEFT) for day in days]
    made = plan(exam("2020-06-01", C.NEGATIVE), *history)
    found = flag(made, "stable-probably-benign")
    assert "left breast" in found.message and "2021-01-10" in found.message
    assert "downgrade" in found.message and "your left breast" in found.patient_message


def test_category_needs_review_per_breast():
    made = plan(screening("2025-01-10", C.PROBABLY_BENIGN, S.RIGHT))
    found = flag(made, "category-needs-review")
    assert "screening" in found.message and "radiologist" in found.message
    assert "diagnostic" in found.patient_message


# --- §6 category-increased: per breast, when the action becomes more urgent ---------------

INCREASES = [
    # id, left before, left now (same exams also image the right, negative), increased?
    ("negative-to-benign-is-no-increase", C.NEGATIVE, C.BENIGN, False),
    ("benign-to-negative", C.BENIGN, C.NEGATIVE, False),
    ("benign-to-probably-benign", C.BENIGN, C.PROBABLY_BENIGN, True),
    ("probably-benign-to-incomplete-priors", C.PROBABLY_BENIGN, C.INCOMPLETE_PRIORS, True),
    ("incomplete-priors-to-incomplete", C.INCOMPLETE_PRIORS, C.INCOMPLETE, True),
    ("incomplete-to-incomplete-priors", C.INCOMPLETE, C.INCOMPLETE_PRIORS, False),
    ("suspicious-to-highly-same-action", C.SUSPICIOUS, C.HIGHLY_SUSPICIOUS, False),
    ("benign-to-suspicious", C.BENIGN, C.SUSPICIOUS, True),
    ("highly-to-known-malignancy", C.HIGHLY_SUSPICIOUS, C.KNOWN_MALIGNANCY, True),
]


@pytest.mark.parametrize(
    ("before", "now", "increased"), [c[1:] for c in INCREASES], ids=[c[0] for c in INCREASES]
)
def test_category_increased_only_when_the_action_is_more_urgent(before, now, increased):
    made = plan(exam("2023-06-15", before, S.LEFT), exam("2024-01-15", now, S.LEFT))
    assert ("category-increased" in codes(made.flags)) is increased


def test_category_increased_is_per_breast():
    # The right breast rose (benign -> probably benign) on a right-only exam; the left's
    # latest exam is older, and its own history never rose.
    made = plan(
        exam("2023-01-10", C.BENIGN, S.RIGHT),
        exam("2024-01-10", C.PROBABLY_BENIGN, S.RIGHT, imaged=I.RIGHT),
    )
    found = flag(made, "category-increased")
    assert "right breast" in found.message and "left" not in found.message
    assert "2023-01-10" in found.message and "2024-01-10" in found.message
    # A rise on one breast's history is not compared with the other breast's exams.
    made = plan(
        exam("2023-01-10", C.PROBABLY_BENIGN, S.LEFT, imaged=I.LEFT),
        exam("2024-01-10", C.BENIGN, imaged=I.RIGHT),
        exam("2024-02-10", C.PROBABLY_BENIGN, S.LEFT, imaged=I.LEFT),
    )
    assert "category-increased" not in codes(made.flags)


def test_category_increased_for_both_breasts_says_both():
    made = plan(exam("2023-01-10", C.NEGATIVE), exam("2024-01-10", C.PROBABLY_BENIGN))
    found = flag(made, "category-increased")
    assert "both breasts" in found.message and "both breasts" in found.patient_message


# --- §5 same-day order -----------------------------------------------------------------


def test_a_diagnostic_exam_resolves_the_same_days_incomplete_screening():
    screen = screening("2025-03-03", C.INCOMPLETE, S.LEFT, exam_id=1)
    work_up = exam("2025-03-03", C.BENIGN, S.LEFT, exam_id=2)  # diagnostic
    for order in ((screen, work_up), (work_up, screen)):
        made = plan(exam("2024-03-01", C.NEGATIVE), *order)
        assert (made.action, made.due, made.exam_id) == ("routine-screening", d("2026-03-03"), 2)
        assert "additional-imaging-needed" not in codes(made.flags)


def test_no_category_increase_between_a_screening_and_the_same_days_diagnostic():
    made = plan(
        exam("2024-03-01", C.BENIGN),
        screening("2025-03-03", C.INCOMPLETE, S.LEFT),
        exam("2025-03-03", C.SUSPICIOUS, S.LEFT),
    )
    assert made.action == "biopsy"
    found = flag(made, "category-increased")  # benign (2024) -> suspicious, not incomplete ->
    assert "benign (2024-03-01)" in found.message and "incomplete" not in found.message


def test_screening_comes_before_diagnostic_even_when_more_worrisome():
    made = plan(
        screening("2025-03-03", C.SUSPICIOUS, S.LEFT), exam("2025-03-03", C.PROBABLY_BENIGN, S.LEFT)
    )
    # the diagnostic work-up of the same day re-assessed the breast below suspicious
    assert (made.action, made.due) == ("short-interval-follow-up", d("2025-09-03"))
    assert "biopsy-recommended" not in codes(made.flags)


def test_among_the_same_kind_the_most_worrisome_comes_last():
    a = exam("2025-03-03", C.BENIGN, S.LEFT, facility="Eastside Clinic")
    b = exam("2025-03-03", C.SUSPICIOUS, S.LEFT, facility="Westgate Hospital")
    for order in ((a, b), (b, a)):
        made = plan(*order)
        assert made.action == "biopsy" and made.facility == "Westgate Hospital"


@pytest.mark.parametrize(
    ("kind", "first"), [(K.SCREENING, "screening"), (None, "unrecorded")], ids=str
)
def test_chronological_puts_a_days_screening_first(kind, first):
    diagnostic = exam("2025-03-03", C.NEGATIVE)
    other = exam("2025-03-03", C.HIGHLY_SUSPICIOUS, S.LEFT, kind=kind)
    assert rules.chronological([diagnostic, other]) == [other, diagnostic]
