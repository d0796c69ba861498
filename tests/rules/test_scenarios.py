"""The five clinical scenarios at the top of issue 13, where the old engine let a finding that
still needs care drop out of sight. Each must now keep it in sight."""

from __future__ import annotations

from followup import rules
from tests.rules.builders import POLICY, C, I, R, S, biopsy, codes, d, exam, plan, screening


def test_birads_5_then_a_negative_screening_elsewhere_keeps_the_biopsy():
    made = plan(
        exam("2025-01-10", C.HIGHLY_SUSPICIOUS, S.LEFT, exam_id=1),
        screening("2025-02-10", C.NEGATIVE, facility="Eastside Clinic", exam_id=2),
    )
    assert (made.action, made.due, made.laterality) == ("biopsy", d("2025-02-09"), S.LEFT)
    assert {"biopsy-recommended", "biopsy-outstanding"} <= set(codes(made.flags))
    assessed = rules.assess(
        [exam("2025-01-10", C.HIGHLY_SUSPICIOUS, S.LEFT), screening("2025-02-10", C.NEGATIVE)],
        [],
        POLICY,
        d("2025-03-01"),
    )
    assert "overdue" in codes(assessed.flags)  # it turns overdue, it does not vanish


def test_probably_benign_left_then_a_right_only_exam_keeps_the_left_follow_up():
    made = plan(
        exam("2025-01-10", C.PROBABLY_BENIGN, S.LEFT),
        exam("2025-03-01", C.NEGATIVE, imaged=I.RIGHT),
    )
    assert (made.action, made.due, made.laterality) == (
        "short-interval-follow-up",
        d("2025-07-10"),
        S.LEFT,
    )
    assert made.episode_step == 1


def test_a_benign_unilateral_six_month_follow_up_keeps_the_annual_screening_in_place():
    made = plan(
        exam("2025-01-10", C.PROBABLY_BENIGN, S.LEFT),
        exam("2025-07-10", C.BENIGN, S.LEFT, imaged=I.LEFT),
    )
    # not 2026-07-10: the right breast's annual screening, bilateral, stays on 2026-01-10
    assert (made.action, made.due, made.laterality) == (
        "routine-screening",
        d("2026-01-10"),
        S.BILATERAL,
    )


def test_4a_and_4c_are_kept_apart():
    four_a = exam("2025-01-10", C.SUSPICIOUS, S.LEFT, subdivision=rules.Subdivision.A)
    four_c = exam("2025-01-10", C.SUSPICIOUS, S.RIGHT, subdivision=rules.Subdivision.C)
    assert plan(four_a).breast(S.LEFT).birads == "4A"
    made = plan(four_c)
    assert made.breast(S.RIGHT).birads == "4C" and made.subdivision is rules.Subdivision.C
    assert "suspicious (BI-RADS 4C)" in made.reason
    flag_text = next(f.message for f in made.flags if f.code == "biopsy-recommended")
    assert "BI-RADS 4C" in flag_text


def test_a_biopsy_can_be_recorded_and_what_it_found_decides_the_next_step():
    suspicious = exam("2025-01-10", C.SUSPICIOUS, S.LEFT)
    without = plan(suspicious, screening("2026-01-12", C.NEGATIVE))
    assert without.action == "biopsy" and "biopsy-outstanding" in codes(without.flags)
    done = biopsy("2025-01-24", S.LEFT, R.BENIGN, True, pathology="fibroadenoma")
    made = plan(suspicious, biopsies=(done,))
    assert (made.action, made.due, made.laterality) == (
        "short-interval-follow-up",
        d("2025-07-24"),
        S.LEFT,
    )
    assert "biopsy-recommended" not in codes(made.flags)
