"""clinical-rules.md §2: each breast has its own course, combined into the patient's next step.

Expected dates are worked out by hand from the spec.
"""

from __future__ import annotations

import pytest

from followup import rules
from tests.rules.builders import C, I, S, d, exam, plan, screening, steps

# --- the worked example of §2, verbatim -----------------------------------------------------


def test_worked_example_of_section_2():
    first = exam("2025-01-10", C.PROBABLY_BENIGN, S.LEFT, exam_id=1)  # bilateral diagnostic
    made = plan(first)
    assert steps(made) == {
        "left": ("short-interval-follow-up", d("2025-07-10")),
        "right": ("routine-screening", d("2026-01-10")),
    }
    assert (made.action, made.due, made.laterality) == (
        "short-interval-follow-up",
        d("2025-07-10"),
        S.LEFT,  # unilateral
    )
    (right,) = made.also
    assert (right.side, right.action, right.due) == (S.RIGHT, "routine-screening", d("2026-01-10"))

    # The 6-month exam images the left breast only and finds it benign.
    six_months = exam("2025-07-10", C.BENIGN, imaged=I.LEFT, exam_id=2)
    made = plan(first, six_months)
    assert steps(made) == {
        "left": ("routine-screening", d("2026-07-10")),
        "right": ("routine-screening", d("2026-01-10")),
    }
    # Her annual screening stays where it was: the right breast's, bilateral.
    assert (made.action, made.due, made.laterality) == (
        "routine-screening",
        d("2026-01-10"),
        S.BILATERAL,
    )
    assert made.exam_id == 1 and made.category is C.NEGATIVE
    # The bilateral screening re-images the left breast: its later routine date is not shown.
    assert made.also == ()


# --- which breasts a finding applies to -------------------------------------------------

APPLIES = [
    # imaged, finding side, expected (left category, right category); None = not assessed
    ("both-no-side", I.BOTH, None, (C.BENIGN, C.BENIGN)),
    ("both-bilateral", I.BOTH, S.BILATERAL, (C.BENIGN, C.BENIGN)),
    ("both-left", I.BOTH, S.LEFT, (C.BENIGN, C.NEGATIVE)),
    ("both-right", I.BOTH, S.RIGHT, (C.NEGATIVE, C.BENIGN)),
    ("left-no-side", I.LEFT, None, (C.BENIGN, None)),
    ("left-left", I.LEFT, S.LEFT, (C.BENIGN, None)),
    ("right-no-side", I.RIGHT, None, (None, C.BENIGN)),
    ("right-right", I.RIGHT, S.RIGHT, (None, C.BENIGN)),
]


@pytest.mark.parametrize(
    ("imaged", "side", "expected"), [a[1:] for a in APPLIES], ids=[a[0] for a in APPLIES]
)
def test_findings_apply_to_the_breasts_section_2_says(imaged, side, expected):
    made = plan(exam("2025-03-03", C.BENIGN, side, imaged=imaged))
    found = {b.side: b.category for b in made.breasts}
    assert (found.get(S.LEFT), found.get(S.RIGHT)) == expected


def test_an_exam_images_both_breasts_unless_told():
    assert rules.Exam(d("2025-01-01"), "A", (rules.Finding(C.BENIGN),)).imaged is I.BOTH


@pytest.mark.parametrize(
    ("imaged", "side"),
    [(I.LEFT, S.RIGHT), (I.RIGHT, S.LEFT), (I.LEFT, S.BILATERAL), (I.RIGHT, S.BILATERAL)],
    ids=str,
)
def test_a_finding_on_a_breast_not_imaged_is_refused(imaged, side):
    bad = exam("2025-03-03", C.PROBABLY_BENIGN, side, imaged=imaged)
    with pytest.raises(ValueError, match=r"did not image|imaged the") as info:
        rules.validate_exam(bad, d("2025-06-01"))
    message = str(info.value)
    assert "both breasts" in message and imaged.value in message  # says how to fix it


def test_the_most_worrisome_applicable_finding_governs_each_breast():
    made = plan(
        exam(
            "2025-03-03",
            C.BENIGN,
            None,  # both breasts benign ...
            more=((C.PROBABLY_BENIGN, S.RIGHT), (C.SUSPICIOUS, S.LEFT)),
        )
    )
    assert {b.side: b.category for b in made.breasts} == {
        S.LEFT: C.SUSPICIOUS,
        S.RIGHT: C.PROBABLY_BENIGN,
    }


# --- each breast counts from its own latest exam ------------------------------------------


def test_each_breast_counts_from_its_latest_exam():
    made = plan(
        exam("2024-01-10", C.NEGATIVE),
        exam("2024-09-02", C.PROBABLY_BENIGN, S.RIGHT, imaged=I.RIGHT),
    )
    assert steps(made) == {
        "left": ("routine-screening", d("2025-01-10")),  # from 2024-01-10
        "right": ("short-interval-follow-up", d("2025-03-02")),  # from 2024-09-02
    }
    assert made.action == "routine-screening" and made.due == d("2025-01-10")
    assert [a.action for a in made.also] == ["short-interval-follow-up"]


def test_a_breast_never_imaged_has_no_plan():
    made = plan(exam("2025-01-10", C.BENIGN, imaged=I.LEFT))
    assert [b.side for b in made.breasts] == [S.LEFT]
    assert made.breast(S.RIGHT) is None and made.also == ()


# --- the next step: due first, then the more urgent ----------------------------------------

NEXT = [
    # left (category, exam date), right (category, exam date) -> next action, due, side
    (
        "earlier-due-wins-even-if-less-urgent",
        (C.NEGATIVE, "2024-02-01"),  # routine 2025-02-01
        (C.SUSPICIOUS, "2025-01-20"),  # biopsy 2025-02-19
        ("routine-screening", "2025-02-01", S.BILATERAL),
    ),
    (
        "same-day-the-more-urgent",
        (C.INCOMPLETE, "2025-01-02"),  # additional imaging 2025-02-01
        (C.NEGATIVE, "2024-02-01"),  # routine 2025-02-01
        ("additional-imaging", "2025-02-01", S.LEFT),
    ),
    (
        "same-day-biopsy-over-additional-imaging",
        (C.INCOMPLETE, "2025-01-02"),
        (C.SUSPICIOUS, "2025-01-02"),
        ("biopsy", "2025-02-01", S.RIGHT),
    ),
    (
        "same-action-same-day-is-bilateral",
        (C.SUSPICIOUS, "2025-01-02"),
        (C.HIGHLY_SUSPICIOUS, "2025-01-02"),
        ("biopsy", "2025-02-01", S.BILATERAL),
    ),
]


@pytest.mark.parametrize(
    ("left", "right", "expected"), [n[1:] for n in NEXT], ids=[n[0] for n in NEXT]
)
def test_next_step_is_the_breast_plan_due_first_then_the_more_urgent(left, right, expected):
    exams = [exam(left[1], left[0], S.LEFT, imaged=I.LEFT)]
    exams.append(exam(right[1], right[0], S.RIGHT, imaged=I.RIGHT))
    made = plan(*exams)
    action, due, side = expected
    assert (made.action, made.due, made.laterality) == (action, d(due), side)
    if {b.action for b in made.breasts} == {action} and made.laterality is S.BILATERAL:
        assert made.also == ()  # one step for both breasts
    else:  # the other breast's plan is shown too
        assert len(made.also) == 1 and made.also[0].action != made.action


URGENCY = [
    "treatment",
    "surgical-consultation",
    "biopsy",
    "pathology-result",
    "additional-imaging",
    "prior-films",
    "short-interval-follow-up",
    "routine-screening",
]


def test_urgency_order_is_that_of_section_2():
    assert list(rules.URGENCY_ORDER) == URGENCY


def test_same_day_urgency_for_every_pair_of_exam_actions():
    # Every category pair due the same day (all counted 30 days or 12 months from exams
    # chosen to land on 2025-03-01): the more urgent action of §2 wins.
    due_day = {
        C.INCOMPLETE: "2025-01-30",  # + 30 days
        C.INCOMPLETE_PRIORS: "2025-01-30",
        C.SUSPICIOUS: "2025-01-30",
        C.NEGATIVE: "2024-03-01",  # + 12 months
    }
    for a, when_a in due_day.items():
        for b, when_b in due_day.items():
            made = plan(
                exam(when_a, a, S.LEFT, imaged=I.LEFT), exam(when_b, b, S.RIGHT, imaged=I.RIGHT)
            )
            assert made.due == d("2025-03-01")
            wanted = min((a.action, b.action), key=URGENCY.index)
            assert made.action == wanted, (a, b)


# --- laterality of a plan ---------------------------------------------------------------


def test_routine_screening_is_bilateral_even_from_a_unilateral_exam():
    made = plan(exam("2025-01-10", C.BENIGN, imaged=I.RIGHT))
    assert (made.action, made.laterality) == ("routine-screening", S.BILATERAL)


def test_second_and_later_probably_benign_steps_are_bilateral():
    first = exam("2024-01-10", C.PROBABLY_BENIGN, S.RIGHT)
    second = exam("2024-07-10", C.PROBABLY_BENIGN, S.RIGHT, imaged=I.RIGHT)
    assert plan(first).laterality is S.RIGHT
    made = plan(first, second)
    assert (made.episode_step, made.laterality, made.due) == (2, S.BILATERAL, d("2025-01-10"))


def test_unilateral_steps_name_their_breast():
    for category in (C.INCOMPLETE, C.INCOMPLETE_PRIORS, C.SUSPICIOUS, C.PROBABLY_BENIGN):
        made = plan(exam("2025-01-10", category, S.RIGHT))
        assert made.laterality is S.RIGHT, category


# --- the radiologist's interval (§2) ------------------------------------------------------


def test_radiologists_interval_sets_the_due_date_of_the_most_worrisome_findings_breast():
    made = plan(exam("2025-01-10", C.PROBABLY_BENIGN, S.LEFT, months=4))
    assert steps(made) == {
        "left": ("short-interval-follow-up", d("2025-05-10")),
        "right": ("routine-screening", d("2026-01-10")),  # the default: not that finding's
    }


def test_radiologists_interval_without_a_side_takes_every_breast_imaged():
    made = plan(exam("2025-01-10", C.BENIGN, months=6))
    assert steps(made) == {
        "left": ("routine-screening", d("2025-07-10")),
        "right": ("routine-screening", d("2025-07-10")),
    }
    assert made.laterality is S.BILATERAL


def test_radiologists_interval_on_a_one_breast_exam_stays_on_that_breast():
    made = plan(
        exam("2024-01-10", C.NEGATIVE), exam("2024-06-03", C.BENIGN, months=3, imaged=I.LEFT)
    )
    assert steps(made) == {
        "left": ("routine-screening", d("2024-09-03")),
        "right": ("routine-screening", d("2025-01-10")),
    }


# --- treatment ----------------------------------------------------------------------------


def test_known_malignancy_on_either_breast_puts_the_patient_on_treatment():
    made = plan(
        exam("2025-01-10", C.KNOWN_MALIGNANCY, S.RIGHT, imaged=I.RIGHT),
        exam("2025-02-10", C.INCOMPLETE, S.LEFT, imaged=I.LEFT),  # due sooner, still second
    )
    assert (made.action, made.due, made.laterality) == ("treatment", None, None)  # no side
    assert made.breast(S.RIGHT).action == "treatment"
    assert [(a.side, a.action) for a in made.also] == [(S.LEFT, "additional-imaging")]


def test_a_later_exam_of_the_other_breast_does_not_end_treatment():
    made = plan(
        exam("2025-01-10", C.KNOWN_MALIGNANCY, S.LEFT),
        screening("2025-09-10", C.NEGATIVE, imaged=I.RIGHT),
    )
    assert made.action == "treatment"


def test_plan_exam_fields_describe_the_next_step():
    made = plan(
        exam("2024-01-10", C.NEGATIVE, exam_id=1, facility="Eastside Clinic"),
        exam("2024-09-02", C.PROBABLY_BENIGN, S.RIGHT, imaged=I.RIGHT, exam_id=2),
    )
    # next step: left's routine screening from exam 1
    assert (made.exam_id, made.exam_date, made.facility, made.category) == (
        1,
        d("2024-01-10"),
        "Eastside Clinic",
        C.NEGATIVE,
    )
    assert made.breast(S.RIGHT).exam_id == 2


# --- the API stays backward compatible ------------------------------------------------------


def test_plans_and_flags_build_as_before():
    # the store reads stored plans back with the old keyword arguments only
    stored = rules.Plan(
        action="routine-screening",
        due=d("2026-01-10"),
        laterality=S.BILATERAL,
        reason="negative: routine screening",
        flags=(rules.Flag("short-comparison-history", "Only the films ..."),),
        exam_id=1,
        exam_date=d("2025-01-10"),
        category=C.NEGATIVE,
    )
    assert stored.also == () and stored.breasts == () and stored.subdivision is None
    assert stored.breast(S.LEFT) is None
    assert stored.flags[0].for_patient == "Only the films ..."  # no patient voice stored
    policy = rules.DEFAULT_POLICY
    old_style = rules.make_plan(
        [exam("2025-01-10", C.NEGATIVE)], [rules.FilmTransfer("A", "B")], policy
    )
    assert old_style.action == "routine-screening"


def test_also_is_left_out_when_the_next_step_covers_the_other_breast():
    made = plan(exam("2024-01-10", C.NEGATIVE), exam("2024-06-10", C.BENIGN, imaged=I.LEFT))
    # next: the right's routine screening 2025-01-10, bilateral: it re-images the left too
    assert (made.action, made.due, made.laterality) == (
        "routine-screening",
        d("2025-01-10"),
        S.BILATERAL,
    )
    assert made.also == ()
    assert made.breast(S.LEFT).due == d("2025-06-10")
