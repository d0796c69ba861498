"""clinical-rules.md §4: the open biopsy recommendation and the biopsy results table.

Expected dates are worked out by hand from the spec (biopsy_days 30, pathology 10 days,
post_biopsy_months 6, surgical consultation 30 days).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from followup import rules
from tests.rules.builders import POLICY, C, I, K, R, S, biopsy, codes, d, exam, flag, plan

SUSPICIOUS_LEFT = exam(
    "2025-01-10", C.SUSPICIOUS, S.LEFT, exam_id=1, subdivision=rules.Subdivision.B
)
ADVISED_DUE = d("2025-02-09")  # 2025-01-10 + 30 days

# --- the open recommendation: what closes it, what does not ---------------------------------

AFTER_A_BIRADS_4 = [
    # id, later exam (date, category, kind, imaged), left action, left due, open?, outstanding?
    (
        "screening-negative",
        ("2025-03-01", C.NEGATIVE, K.SCREENING, I.BOTH),
        "biopsy",
        ADVISED_DUE,
        True,
        True,
    ),
    (
        "screening-benign",
        ("2025-03-01", C.BENIGN, K.SCREENING, I.BOTH),
        "biopsy",
        ADVISED_DUE,
        True,
        True,
    ),
    (
        "screening-suspicious-again",
        ("2025-03-01", C.SUSPICIOUS, K.SCREENING, I.BOTH),
        "biopsy",
        ADVISED_DUE,
        True,
        True,
    ),
    (
        "kind-not-recorded-benign",
        ("2025-03-01", C.BENIGN, None, I.BOTH),
        "biopsy",
        ADVISED_DUE,
        True,
        True,
    ),
    (
        "diagnostic-benign-closes",
        ("2025-03-01", C.BENIGN, K.DIAGNOSTIC, I.BOTH),
        "routine-screening",
        d("2026-03-01"),
        False,
        False,
    ),
    (
        "diagnostic-negative-closes",
        ("2025-03-01", C.NEGATIVE, K.DIAGNOSTIC, I.LEFT),
        "routine-screening",
        d("2026-03-01"),
        False,
        False,
    ),
    (
        "diagnostic-probably-benign-closes",
        ("2025-03-01", C.PROBABLY_BENIGN, K.DIAGNOSTIC, I.BOTH),
        "short-interval-follow-up",
        d("2025-09-01"),
        False,
        False,
    ),
    (
        "diagnostic-incomplete-closes",
        ("2025-03-01", C.INCOMPLETE, K.DIAGNOSTIC, I.BOTH),
        "additional-imaging",
        d("2025-03-31"),
        False,
        False,
    ),
    (
        "diagnostic-suspicious-keeps-it",
        ("2025-03-01", C.SUSPICIOUS, K.DIAGNOSTIC, I.BOTH),
        "biopsy",
        ADVISED_DUE,
        True,
        False,
    ),
    (
        "diagnostic-highly-keeps-it",
        ("2025-03-01", C.HIGHLY_SUSPICIOUS, K.DIAGNOSTIC, I.BOTH),
        "biopsy",
        ADVISED_DUE,
        True,
        False,
    ),
    (
        "known-malignancy-closes",
        ("2025-03-01", C.KNOWN_MALIGNANCY, K.SCREENING, I.BOTH),
        "treatment",
        None,
        False,
        False,
    ),
    (
        "other-breast-alone-changes-nothing",
        ("2025-03-01", C.BENIGN, K.DIAGNOSTIC, I.RIGHT),
        "biopsy",
        ADVISED_DUE,
        True,
        False,
    ),
]


@pytest.mark.parametrize(
    ("later", "action", "due", "still_open", "outstanding"),
    [case[1:] for case in AFTER_A_BIRADS_4],
    ids=[case[0] for case in AFTER_A_BIRADS_4],
)
def test_a_later_exam_after_a_birads_4(later, action, due, still_open, outstanding):
    when, category, kind, imaged = later
    made = plan(SUSPICIOUS_LEFT, exam(when, category, kind=kind, imaged=imaged, exam_id=2))
    left = made.breast(S.LEFT)
    assert (left.action, left.due, left.biopsy_open) == (action, due, still_open)
    assert ("biopsy-recommended" in codes(made.flags)) is still_open
    assert ("biopsy-outstanding" in codes(made.flags)) is outstanding
    if still_open:  # the patient's next step is the biopsy, overdue since the original date
        assert (made.action, made.due, made.laterality) == ("biopsy", ADVISED_DUE, S.LEFT)


def test_biopsy_outstanding_says_when_and_where_it_was_advised():
    made = plan(
        SUSPICIOUS_LEFT,
        exam("2025-03-01", C.NEGATIVE, kind=K.SCREENING, facility="Eastside Clinic"),
    )
    found = flag(made, "biopsy-outstanding")
    for text in (found.message, found.patient_message):
        assert "2025-01-10" in text and "Northside Imaging" in text and "2025-03-01" in text
    assert "no result on record" in found.message and "biopsy add" in found.message
    assert "your left breast" in found.patient_message
    assert "suspicious (BI-RADS 4B)" in made.reason or "biopsy" in made.reason


def test_biopsy_recommended_message_says_a_second_opinion_is_her_right():
    found = flag(plan(SUSPICIOUS_LEFT), "biopsy-recommended")
    assert "suspicious (BI-RADS 4B)" in found.message and "2025-02-09" in found.message
    assert "second opinion" in found.message and "right" in found.message
    assert "second opinion" in found.patient_message and "your right" in found.patient_message
    assert "your left breast" in found.patient_message


BIOPSY_CLOSES = [
    # biopsy date relative to the exam, closes?
    ("day-before-the-exam", -1, False),
    ("same-day", 0, True),  # "dated on or after the exam"
    ("day-after", 1, True),
]


@pytest.mark.parametrize(
    ("offset", "closes"), [c[1:] for c in BIOPSY_CLOSES], ids=[c[0] for c in BIOPSY_CLOSES]
)
def test_a_biopsy_result_dated_on_or_after_the_exam_closes_it(offset, closes):
    when = (d("2025-01-10") + timedelta(days=offset)).isoformat()
    made = plan(SUSPICIOUS_LEFT, biopsies=(biopsy(when, S.LEFT, R.BENIGN, True),))
    assert (made.breast(S.LEFT).action == "biopsy") is not closes
    assert ("biopsy-recommended" in codes(made.flags)) is not closes


def test_a_biopsy_of_the_other_breast_does_not_close_it():
    made = plan(SUSPICIOUS_LEFT, biopsies=(biopsy("2025-01-20", S.RIGHT, R.BENIGN, True),))
    assert made.breast(S.LEFT).action == "biopsy"
    assert made.breast(S.RIGHT).action == "short-interval-follow-up"


def test_a_new_suspicious_finding_after_a_closed_recommendation_opens_another():
    made = plan(
        SUSPICIOUS_LEFT,
        exam("2025-03-01", C.BENIGN),  # diagnostic: closes
        exam("2025-09-01", C.SUSPICIOUS, S.LEFT, kind=K.SCREENING),
    )
    assert (made.action, made.due) == ("biopsy", d("2025-10-01"))


# --- the results table -------------------------------------------------------------------

RESULTS = [
    # id, result, concordant, action, due (biopsy 2025-02-01), flag
    ("pending", R.PENDING, None, "pathology-result", "2025-02-11", None),
    ("benign-concordant", R.BENIGN, True, "short-interval-follow-up", "2025-08-01", None),
    (
        "benign-discordant",
        R.BENIGN,
        False,
        "surgical-consultation",
        "2025-03-03",
        "discordant-biopsy",
    ),
    ("high-risk", R.HIGH_RISK, None, "surgical-consultation", "2025-03-03", "high-risk-lesion"),
    ("malignant", R.MALIGNANT, None, "treatment", None, None),
]


@pytest.mark.parametrize(
    ("result", "concordant", "action", "due", "raised"),
    [r[1:] for r in RESULTS],
    ids=[r[0] for r in RESULTS],
)
def test_biopsy_results_table(result, concordant, action, due, raised):
    done = biopsy("2025-02-01", S.LEFT, result, concordant, biopsy_id=7)
    made = plan(SUSPICIOUS_LEFT, biopsies=(done,))
    left = made.breast(S.LEFT)
    assert (left.action, left.due) == (action, d(due) if due else None)
    assert left.laterality is (None if action == "treatment" else S.LEFT)
    assert left.biopsy_id == 7 and not left.biopsy_open
    assert (made.action, made.due) == (action, d(due) if due else None)  # due before the right
    expected = {raised} if raised else set()
    new_codes = {"discordant-biopsy", "high-risk-lesion", "biopsy-recommended"}
    assert set(codes(made.flags)) & new_codes == expected
    assert "2025-02-01" in made.reason and "biopsy 7" in made.reason


@pytest.mark.parametrize(
    ("result", "concordant", "due"),
    [
        (R.PENDING, None, "2025-02-11"),
        (R.BENIGN, True, "2025-08-01"),
        (R.BENIGN, False, "2025-03-03"),
        (R.HIGH_RISK, None, "2025-03-03"),
    ],
    ids=["pending-10-days", "benign-6-months", "discordant-30-days", "high-risk-30-days"],
)
@pytest.mark.parametrize(
    ("offset", "late"), [(-1, 0), (0, 0), (1, 1)], ids=["day-before", "on", "day-after"]
)
def test_biopsy_due_boundaries(result, concordant, due, offset, late):
    done = biopsy("2025-02-01", S.LEFT, result, concordant)
    as_of = d(due) + timedelta(days=offset)
    assessed = rules.assess([SUSPICIOUS_LEFT], [], POLICY, as_of, [done])
    assert rules.days_overdue(assessed.plan, as_of) == late
    assert ("overdue" in codes(assessed.flags)) is bool(late)


def test_post_biopsy_months_is_a_policy_value():
    done = biopsy("2025-08-31", S.LEFT, R.BENIGN, True)
    made = plan(SUSPICIOUS_LEFT, biopsies=(done,))
    assert made.breast(S.LEFT).due == d("2026-02-28")  # calendar months, clamped
    twelve = replace(POLICY, post_biopsy_months=12)
    made = plan(SUSPICIOUS_LEFT, biopsies=(done,), policy=twelve)
    assert made.breast(S.LEFT).due == d("2026-08-31")


def test_biopsy_result_flags_say_what_to_do_in_both_voices():
    discordant = plan(
        SUSPICIOUS_LEFT,
        biopsies=(biopsy("2025-02-01", S.LEFT, R.BENIGN, False, pathology="fibrosis"),),
    )
    found = flag(discordant, "discordant-biopsy")
    assert "surgical consultation" in found.message and "2025-03-03" in found.message
    assert "fibrosis" in found.message
    assert "your left breast" in found.patient_message and "surgeon" in found.patient_message
    high = plan(
        SUSPICIOUS_LEFT, biopsies=(biopsy("2025-02-01", S.LEFT, R.HIGH_RISK, pathology="ADH"),)
    )
    found = flag(high, "high-risk-lesion")
    assert "ADH" in found.message and "book a surgical consultation" in found.message
    assert "not cancer" in found.patient_message


def test_biopsies_of_both_breasts_keep_their_flags_in_spec_order():
    made = plan(
        exam("2025-01-10", C.SUSPICIOUS, S.BILATERAL),
        biopsies=(
            biopsy("2025-01-20", S.LEFT, R.HIGH_RISK),
            biopsy("2025-01-20", S.RIGHT, R.BENIGN, False),
        ),
    )
    assert codes(made.flags)[-2:] == ["discordant-biopsy", "high-risk-lesion"]


# --- after the biopsy -------------------------------------------------------------------


def test_an_exam_of_that_breast_after_the_biopsy_resumes_the_ordinary_rules():
    done = biopsy("2025-02-01", S.LEFT, R.BENIGN, True)
    later = exam("2025-08-01", C.BENIGN, S.LEFT, imaged=I.LEFT)
    made = plan(SUSPICIOUS_LEFT, later, biopsies=(done,))
    assert made.breast(S.LEFT)[1:3] == ("routine-screening", d("2026-08-01"))


def test_an_exam_of_the_other_breast_after_the_biopsy_changes_nothing_on_it():
    done = biopsy("2025-02-01", S.LEFT, R.HIGH_RISK)
    made = plan(SUSPICIOUS_LEFT, exam("2025-02-10", C.BENIGN, imaged=I.RIGHT), biopsies=(done,))
    assert made.breast(S.LEFT)[1:3] == ("surgical-consultation", d("2025-03-03"))
    assert "high-risk-lesion" in codes(made.flags)


def test_a_pending_result_stays_in_sight_after_a_later_exam():
    # Chosen reading (documented in followup.rules.biopsy): a result that never came is not a
    # result; the breast keeps pathology-result until it is recorded.
    done = biopsy("2025-02-01", S.LEFT, R.PENDING)
    later = exam("2025-03-01", C.NEGATIVE, kind=K.SCREENING)
    made = plan(SUSPICIOUS_LEFT, later, biopsies=(done,))
    assert (made.action, made.due, made.laterality) == ("pathology-result", d("2025-02-11"), S.LEFT)
    # ... unless the later exam calls for something more urgent
    worse = exam("2025-03-01", C.HIGHLY_SUSPICIOUS, S.LEFT)
    assert plan(SUSPICIOUS_LEFT, worse, biopsies=(done,)).action == "biopsy"


def test_a_later_exam_after_a_malignant_biopsy_resumes_the_ordinary_rules():
    done = biopsy("2025-02-01", S.LEFT, R.MALIGNANT)
    assert plan(SUSPICIOUS_LEFT, biopsies=(done,)).action == "treatment"
    later = exam("2026-02-01", C.BENIGN)
    assert plan(SUSPICIOUS_LEFT, later, biopsies=(done,)).action == "routine-screening"


def test_a_biopsy_after_known_malignancy_leaves_the_breast_on_treatment():
    made = plan(
        exam("2025-01-10", C.KNOWN_MALIGNANCY, S.LEFT),
        biopsies=(biopsy("2025-02-01", S.LEFT, R.BENIGN, True),),
    )
    assert made.action == "treatment"


def test_a_biopsy_without_exams_is_planned_from_its_result():
    made = plan(biopsies=(biopsy("2025-02-01", S.RIGHT, R.BENIGN, True, facility="Lakeside"),))
    assert (made.action, made.due, made.laterality) == (
        "short-interval-follow-up",
        d("2025-08-01"),
        S.RIGHT,
    )
    assert made.facility == "Lakeside" and made.exam_id is None
    assert "short-comparison-history" not in codes(made.flags)  # no exam, no films


def test_a_biopsy_ends_a_probably_benign_episode():
    made = plan(
        exam("2024-01-10", C.PROBABLY_BENIGN, S.LEFT),
        exam("2024-07-10", C.PROBABLY_BENIGN, S.LEFT),
        exam("2025-01-10", C.PROBABLY_BENIGN, S.LEFT),
        exam("2026-01-10", C.PROBABLY_BENIGN, S.LEFT),
        biopsies=(biopsy("2024-08-01", S.LEFT, R.BENIGN, True),),
    )
    assert made.breast(S.LEFT).episode_step == 2  # 2025-01-10 and 2026-01-10 only


# --- interval-needs-review ---------------------------------------------------------------

INTERVALS = [
    # category, months, action, flagged?
    (C.SUSPICIOUS, 6, "biopsy", True),
    (C.HIGHLY_SUSPICIOUS, 3, "biopsy", True),
    (C.KNOWN_MALIGNANCY, 6, "treatment", True),
    (C.PROBABLY_BENIGN, 4, "short-interval-follow-up", False),
    (C.BENIGN, 6, "routine-screening", False),
]


@pytest.mark.parametrize(("category", "months", "action", "flagged"), INTERVALS, ids=str)
def test_interval_on_a_birads_4_5_or_6_exam_needs_review(category, months, action, flagged):
    made = plan(exam("2025-01-10", category, S.LEFT, months=months))
    assert made.action == action
    assert ("interval-needs-review" in codes(made.flags)) is flagged
    if action == "biopsy":  # the interval does not replace the biopsy
        assert made.due == d("2025-02-09")
    if flagged:
        found = flag(made, "interval-needs-review")
        assert f"{months} months" in found.message and "radiologist" in found.message
        assert "2025-01-10" in found.patient_message


# --- validation ------------------------------------------------------------------------

TODAY = date(2025, 6, 15)

INVALID_BIOPSIES = [
    (
        "benign-without-concordance",
        rules.Biopsy(TODAY, S.LEFT, R.BENIGN),
        "concordant or discordant",
    ),
    ("pending-with-concordance", rules.Biopsy(TODAY, S.LEFT, R.PENDING, True), "pending"),
    ("future", rules.Biopsy(date(2025, 6, 16), S.LEFT, R.MALIGNANT), "future"),
    ("before-1900", rules.Biopsy(date(1899, 12, 31), S.LEFT, R.MALIGNANT), "before 1900"),
    ("bilateral", rules.Biopsy(TODAY, S.BILATERAL, R.MALIGNANT), "left or right"),
    ("blank-facility", rules.Biopsy(TODAY, S.LEFT, R.MALIGNANT, facility=" "), "facility"),
    (
        "control-in-pathology",
        rules.Biopsy(TODAY, S.LEFT, R.HIGH_RISK, pathology="ADH\x1b[2J"),
        "pathology",
    ),
]


@pytest.mark.parametrize(
    ("value", "error"), [c[1:] for c in INVALID_BIOPSIES], ids=[c[0] for c in INVALID_BIOPSIES]
)
def test_invalid_biopsies_are_refused_with_what_to_fix(value, error):
    with pytest.raises(ValueError, match=error):
        rules.validate_biopsy(value, TODAY)


@pytest.mark.parametrize(
    "value",
    [
        rules.Biopsy(TODAY, S.LEFT, R.BENIGN, True),
        rules.Biopsy(TODAY, S.RIGHT, R.BENIGN, False),
        rules.Biopsy(date(1900, 1, 1), S.LEFT, R.PENDING),
        rules.Biopsy(TODAY, S.LEFT, R.MALIGNANT, True, "Lakeside", "DCIS", 3),
    ],
    ids=["concordant", "discordant", "1900", "malignant"],
)
def test_valid_biopsies_pass(value):
    assert rules.validate_biopsy(value, TODAY) is value


def test_biopsy_dates_are_checked_like_exam_dates():
    assert rules.check_biopsy_date(TODAY, TODAY) == TODAY
    with pytest.raises(ValueError, match="biopsy date 2025-06-16 is in the future"):
        rules.check_biopsy_date(date(2025, 6, 16), TODAY)


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("pending", R.PENDING),
        ("Benign", R.BENIGN),
        ("high risk", R.HIGH_RISK),
        ("MALIGNANT", R.MALIGNANT),
    ],
    ids=str,
)
def test_parse_biopsy_result(text, result):
    assert rules.parse_biopsy_result(text) is result


def test_parse_biopsy_errors_list_what_is_valid():
    with pytest.raises(ValueError, match="pending, benign, high-risk, malignant"):
        rules.parse_biopsy_result("suspicious")
    assert rules.parse_biopsy_side("L") is S.LEFT
    with pytest.raises(ValueError, match="left or right"):
        rules.parse_biopsy_side("both")
