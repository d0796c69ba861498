"""The outcomes audit (clinical-rules.md §8) on a programme small enough to count by hand.

Every figure of ``PROGRAMME`` is worked out by hand in the table below; the boundary tests
(day 365 vs 366, the period's first and last day, two screens, open windows) and the
properties against a plain per-exam reading of §8 follow.

    exam  date        kind  category           facility   radiologist  outcome by 2026-06-30
    E1    2024-01-01  S     negative           Northside  Ames         TN (the period's first day)
    E2    2024-12-31  S     incomplete         Lakeside   Brook        TP (last day; cancer 01-15)
    E3    2024-03-01  S     benign             Northside  Ames         FN (cancer on day 365)
    E4    2024-03-01  S     benign             Northside  Ames         TN (cancer on day 366)
    E5    2024-02-01  S     negative           Northside  Ames         FN (the cancer of E6, E7)
    E6    2024-11-01  S     probably-benign    Northside  Brook        TP (cancer 2024-11-25)
    E7    2024-11-20  D     suspicious         Lakeside   Brook        malignant: PPV2, PPV3 cancer
    E8    2024-05-10  D     suspicious         Northside  Ames         benign: PPV2, PPV3 no cancer
    E9    2024-06-01  D     highly-suspicious  Lakeside   (none)       no biopsy: PPV2 only, open
    E10   2024-07-01  D     suspicious         Lakeside   Brook        pending: open, in no rate
    E11   2024-04-01  S     incomplete-priors  Lakeside   Brook        FP
    E12   2024-02-01  S     negative           Northside  Ames         FN (known-malignancy 08-01)
    E13   2024-05-21  -     post-procedure     Northside  Ames         not audited
    E14   2024-08-01  -     known-malignancy   Northside  Ames         not audited (E12's cancer)
    E15   2024-09-01  none  negative           Northside  (none)       no kind: not audited
    (a 2023-12-31 and a 2025-01-01 screen, and a 2025-01-10 diagnostic exam, are outside)
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import groupby
from operator import itemgetter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followup.rules.audit import (
    BIOPSY_RECOMMENDED,
    COUNT_FIELDS,
    POSITIVE_SCREEN,
    REFERENCES,
    AuditBiopsy,
    AuditExam,
    AuditFigures,
    AuditPatient,
    Rate,
    audit,
)

START, END, AS_OF = date(2024, 1, 1), date(2024, 12, 31), date(2026, 6, 30)
NORTH, LAKE = "Northside Imaging", "Lakeside Breast Center"
S, D = "screening", "diagnostic"


def d(text: str) -> date:
    return date.fromisoformat(text)


def ex(when: str, kind: str | None, category: str, facility: str = NORTH, rad: str | None = None):
    return AuditExam(d(when), kind, category, facility, rad)


def bx(when: str, result: str) -> AuditBiopsy:
    return AuditBiopsy(d(when), result)


PROGRAMME = [
    AuditPatient([ex("2024-01-01", S, "negative", NORTH, "Ames")]),
    AuditPatient(
        [
            ex("2024-12-31", S, "incomplete", LAKE, "Brook"),
            ex("2025-01-10", D, "suspicious", LAKE, "Brook"),
        ],
        [bx("2025-01-15", "malignant")],
    ),
    AuditPatient([ex("2024-03-01", S, "benign", NORTH, "Ames")], [bx("2025-03-01", "malignant")]),
    AuditPatient([ex("2024-03-01", S, "benign", NORTH, "Ames")], [bx("2025-03-02", "malignant")]),
    AuditPatient(
        [
            ex("2024-02-01", S, "negative", NORTH, "Ames"),
            ex("2024-11-01", S, "probably-benign", NORTH, "Brook"),
            ex("2024-11-20", D, "suspicious", LAKE, "Brook"),
        ],
        [bx("2024-11-25", "malignant")],
    ),
    AuditPatient([ex("2024-05-10", D, "suspicious", NORTH, "Ames")], [bx("2024-05-20", "benign")]),
    AuditPatient([ex("2024-06-01", D, "highly-suspicious", LAKE, None)]),
    AuditPatient([ex("2024-07-01", D, "suspicious", LAKE, "Brook")], [bx("2024-07-05", "pending")]),
    AuditPatient([ex("2024-04-01", S, "incomplete-priors", LAKE, "Brook")]),
    AuditPatient(
        [
            ex("2024-02-01", S, "negative", NORTH, "Ames"),
            ex("2024-05-21", None, "post-procedure", NORTH, "Ames"),
            ex("2024-08-01", None, "known-malignancy", NORTH, "Ames"),
        ],
        malignancies=[d("2024-08-01")],
    ),
    AuditPatient([ex("2024-09-01", None, "negative", NORTH, None)]),
    AuditPatient(
        [ex("2023-12-31", S, "suspicious", NORTH, "Ames"), ex("2025-01-01", S, "incomplete")]
    ),
]


def run(patients=PROGRAMME, by=None, as_of=AS_OF, **kw):
    return audit(patients, START, END, as_of, by, **kw)


def values(figures: AuditFigures) -> dict[str, float | None]:
    return {name: rate.value for name, rate in figures.rates().items()}


def test_every_figure_of_the_programme_counted_by_hand():
    total = run().total
    assert (total.group, total.total) == ("all", True)
    assert total == AuditFigures(
        "all",
        True,
        screening_exams=8,  # E1-E6, E11, E12
        positive_screens=3,  # E2, E6, E11
        diagnostic_exams=4,  # E7-E10
        positive_diagnostic_exams=4,
        exams_without_kind=1,  # E15
        post_procedure_exams=1,  # E13
        known_malignancy_exams=1,  # E14
        closed_screens=8,
        true_positives=2,  # E2, E6
        false_negatives=3,  # E3, E5, E12
        false_positives=1,  # E11
        true_negatives=2,  # E1, E4
        biopsies_recommended=4,  # E7-E10
        biopsies_done=3,  # E7 malignant, E8 benign, E10 pending
        closed_recommendations=3,  # E7, E8, E9 (E10 awaits its biopsy's result)
        closed_recommendation_cancers=1,  # E7
        closed_biopsy_results=2,  # E7, E8
        closed_biopsy_cancers=1,
        open_biopsy_recommendations=2,  # E9 none, E10 pending
        awaiting_biopsy_results=1,  # E10
        open_outcomes=2,
    )
    assert total.cancers == 5
    rates = total.rates()
    assert [(r.numerator, r.denominator) for r in rates.values()] == [
        (3, 8),  # recall
        (2, 8),  # cancer detection, per 1,000
        (2, 3),  # PPV1
        (1, 3),  # PPV2
        (1, 2),  # PPV3
        (2, 5),  # sensitivity
        (2, 3),  # specificity
    ]
    assert values(total) == pytest.approx(
        {
            "recall_rate": 0.375,
            "cancer_detection_per_1000": 250.0,
            "ppv1": 2 / 3,
            "ppv2": 1 / 3,
            "ppv3": 0.5,
            "sensitivity": 0.4,
            "specificity": 2 / 3,
        }
    )
    assert total.outside_range() == ("recall_rate", "ppv1", "sensitivity", "specificity")
    assert total.too_few_to_judge() == tuple(rates)  # every denominator is under 30


def test_by_radiologist_counted_by_hand_and_a_missing_radiologist_is_a_group_of_its_own():
    report = run(by="radiologist")
    assert [(g.group, g.total) for g in report.groups] == [
        ("Ames", False),
        ("Brook", False),
        (None, False),
        ("all", True),
    ]
    ames, brook, nobody, _ = report.groups
    assert (ames.screening_exams, ames.positive_screens, ames.diagnostic_exams) == (5, 0, 1)
    assert (ames.true_positives, ames.false_negatives, ames.true_negatives) == (0, 3, 2)
    assert (ames.post_procedure_exams, ames.known_malignancy_exams) == (1, 1)
    assert values(ames) == {
        "recall_rate": 0.0,
        "cancer_detection_per_1000": 0.0,
        "ppv1": None,  # no positive screen: no denominator
        "ppv2": 0.0,
        "ppv3": 0.0,
        "sensitivity": 0.0,
        "specificity": 1.0,
    }
    assert ames.outside_range() == (
        "recall_rate",
        "cancer_detection_per_1000",
        "ppv2",
        "sensitivity",
        "specificity",
    )
    assert (brook.screening_exams, brook.positive_screens, brook.false_positives) == (3, 3, 1)
    assert (brook.biopsies_recommended, brook.biopsies_done, brook.open_outcomes) == (2, 2, 1)
    assert values(brook) == pytest.approx(
        {
            "recall_rate": 1.0,
            "cancer_detection_per_1000": 2000 / 3,
            "ppv1": 2 / 3,
            "ppv2": 1.0,  # E7 (E10 awaits its result)
            "ppv3": 1.0,
            "sensitivity": 1.0,
            "specificity": 0.0,
        }
    )
    assert (nobody.diagnostic_exams, nobody.exams_without_kind, nobody.screening_exams) == (1, 1, 0)
    assert (nobody.biopsies_recommended, nobody.biopsies_done) == (1, 0)
    assert nobody.open_biopsy_recommendations == 1
    assert values(nobody)["recall_rate"] is None and values(nobody)["ppv2"] == 0.0
    assert report.total == run().total


def test_by_facility_counted_by_hand():
    lake, north, total = run(by="facility").groups
    assert (lake.group, north.group) == (LAKE, NORTH)  # sorted by name
    assert (lake.screening_exams, lake.positive_screens, lake.diagnostic_exams) == (2, 2, 3)
    assert (lake.true_positives, lake.false_positives, lake.biopsies_done) == (1, 1, 2)
    assert (lake.rates()["ppv2"].numerator, lake.rates()["ppv2"].denominator) == (1, 2)
    assert lake.open_biopsy_recommendations == 2
    assert (north.screening_exams, north.positive_screens, north.true_positives) == (6, 1, 1)
    assert (north.false_negatives, north.true_negatives, north.exams_without_kind) == (3, 2, 1)
    assert north.rates()["ppv3"] == Rate(0, 1)
    for name in COUNT_FIELDS:
        assert getattr(lake, name) + getattr(north, name) == getattr(total, name), name


@pytest.mark.parametrize(("day", "outcome"), [(0, "fn"), (1, "fn"), (365, "fn"), (366, "tn")])
def test_a_cancer_counts_from_the_exam_day_to_day_365_after_it(day, outcome):
    screen = ex("2024-03-01", S, "negative")
    cancer = bx((d("2024-03-01") + timedelta(days=day)).isoformat(), "malignant")
    total = run([AuditPatient([screen], [cancer])]).total
    assert (total.false_negatives, total.true_negatives) == ((1, 0) if outcome == "fn" else (0, 1))


def test_a_known_malignancy_exam_is_a_cancer_within_the_window_as_a_biopsy_is():
    screen = ex("2024-03-01", S, "incomplete")
    assert run([AuditPatient([screen], malignancies=[d("2025-03-01")])]).total.true_positives == 1
    assert run([AuditPatient([screen], malignancies=[d("2025-03-02")])]).total.false_positives == 1


def test_outcome_days_is_the_policy_window():
    screen = ex("2024-03-01", S, "incomplete")
    patient = AuditPatient([screen], [bx("2024-06-01", "malignant")])  # day 92
    assert run([patient], outcome_days=92).total.true_positives == 1
    assert run([patient], outcome_days=91).total.false_positives == 1


@pytest.mark.parametrize(
    ("when", "counted"),
    [("2023-12-31", 0), ("2024-01-01", 1), ("2024-12-31", 1), ("2025-01-01", 0)],
)
def test_the_period_includes_its_first_and_last_day(when, counted):
    assert run([AuditPatient([ex(when, S, "negative")])]).total.screening_exams == counted


def test_two_screens_in_the_period_are_each_judged_on_their_own_window():
    first, second = ex("2024-01-10", S, "negative"), ex("2024-12-20", S, "incomplete")
    cancer = bx("2025-01-05", "malignant")  # in both windows
    total = run([AuditPatient([first, second], [cancer])]).total
    assert (total.screening_exams, total.false_negatives, total.true_positives) == (2, 1, 1)
    assert total.cancers == 2  # screens followed by a cancer, as BCSC counts them
    late = bx("2025-01-11", "malignant")  # day 367 after the first, day 22 after the second
    total = run([AuditPatient([first, second], [late])]).total
    assert (total.true_negatives, total.true_positives) == (1, 1)


def test_windows_not_ended_are_open_and_left_out_of_every_outcome_figure():
    as_of = d("2025-06-30")  # windows of exams after 2024-06-30 are still open
    patients = [
        AuditPatient([ex("2024-06-30", S, "incomplete")]),  # closed on as-of: FP
        AuditPatient([ex("2024-07-01", S, "incomplete")]),  # open positive
        AuditPatient([ex("2024-08-01", S, "probably-benign")], [bx("2024-09-01", "malignant")]),
        AuditPatient([ex("2024-09-01", S, "negative")]),  # open negative: not TN yet
        AuditPatient([ex("2024-10-01", D, "suspicious")], [bx("2024-10-08", "benign")]),
    ]
    report = run(patients, as_of=as_of)
    total = report.total
    assert report.outcomes_known_through == d("2024-06-30")
    assert (total.screening_exams, total.positive_screens, total.closed_screens) == (4, 3, 1)
    assert (total.false_positives, total.true_positives, total.true_negatives) == (1, 0, 0)
    assert total.cancers_in_open_windows == 1  # known already, counted once its window ends
    assert total.open_positives == 3  # the 07-01 and 08-01 screens, the 10-01 diagnostic
    assert total.open_biopsy_recommendations == 0  # the suspicious exam has its result
    assert total.open_outcomes == 3
    assert total.rates()["recall_rate"] == Rate(3, 4)  # needs no outcome: every screen
    assert total.rates()["cancer_detection_per_1000"] == Rate(0, 1, 1000)
    assert total.rates()["ppv2"].value is None and total.rates()["ppv3"].value is None
    assert (total.biopsies_recommended, total.biopsies_done) == (1, 1)


def test_events_after_as_of_are_not_known_yet():
    screen = AuditPatient([ex("2024-06-01", S, "incomplete")], [bx("2024-12-01", "malignant")])
    assert run([screen], as_of=d("2024-11-30")).total.cancers_in_open_windows == 0
    assert run([screen], as_of=d("2024-12-01")).total.cancers_in_open_windows == 1
    advised = AuditPatient([ex("2024-06-01", D, "suspicious")], [bx("2024-12-01", "benign")])
    before = run([advised], as_of=d("2024-11-30")).total
    assert (before.biopsies_done, before.open_biopsy_recommendations) == (0, 1)
    after = run([advised], as_of=d("2024-12-01")).total
    assert (after.biopsies_done, after.open_biopsy_recommendations) == (1, 0)


def test_a_biopsy_before_the_exam_is_not_its_outcome():
    patient = AuditPatient([ex("2024-05-01", D, "suspicious")], [bx("2024-04-30", "malignant")])
    total = run([patient]).total
    assert (total.closed_recommendation_cancers, total.biopsies_done) == (0, 0)
    assert total.open_biopsy_recommendations == 1


def test_a_pending_biopsy_keeps_an_ended_window_open_until_its_result():
    """The window has ended, but a biopsy in it has no result yet: that result may be the
    exam's cancer, so the exam is in no outcome figure (not a false positive, not a PPV2 or
    PPV3 "no cancer") and is counted as awaiting it; with its result, it counts."""
    screen = ex("2024-03-01", S, "incomplete")
    advised = ex("2024-03-20", D, "suspicious")
    benign, pending = bx("2024-04-01", "benign"), bx("2024-05-15", "pending")  # a repeat

    def total(*results):
        return run([AuditPatient([screen, advised], list(results))]).total

    waiting = total(benign, pending)
    assert (waiting.closed_screens, waiting.false_positives, waiting.true_positives) == (0, 0, 0)
    assert waiting.rates()["ppv2"].denominator == waiting.rates()["ppv3"].denominator == 0
    assert (waiting.awaiting_biopsy_results, waiting.open_biopsy_recommendations) == (2, 1)
    assert (waiting.open_outcomes, waiting.biopsies_done) == (2, 1)
    malignant = total(benign, bx("2024-05-15", "malignant"))
    assert (malignant.true_positives, malignant.awaiting_biopsy_results) == (1, 0)
    assert malignant.rates()["ppv2"] == malignant.rates()["ppv3"] == Rate(1, 1)
    negative = total(benign, bx("2024-05-15", "benign"))
    assert (negative.false_positives, negative.open_outcomes) == (1, 0)
    assert negative.rates()["ppv2"] == negative.rates()["ppv3"] == Rate(0, 1)
    none = total()  # no biopsy at all: no malignant result within the window, no cancer
    assert (none.false_positives, none.rates()["ppv2"], none.rates()["ppv3"].denominator) == (
        1,
        Rate(0, 1),
        0,
    )
    assert (none.open_biopsy_recommendations, none.awaiting_biopsy_results) == (1, 0)


def test_a_radiologist_is_one_group_whatever_the_case_and_spacing_of_her_name():
    patients = [
        AuditPatient([ex("2024-05-01", S, "negative", NORTH, "Dr Ames")]),
        AuditPatient([ex("2024-06-01", S, "incomplete", NORTH, "dr  AMES")]),
        AuditPatient([ex("2024-07-01", S, "negative", NORTH, "Dr Brook")]),
    ]
    ames, brook, total = run(patients, by="radiologist").groups
    assert (ames.group, ames.screening_exams, ames.positive_screens) == ("Dr Ames", 2, 1)
    assert (brook.group, brook.screening_exams, total.screening_exams) == ("Dr Brook", 1, 3)


def test_the_ungrouped_report_is_the_total_of_any_grouping():
    for by in ("facility", "radiologist"):
        grouped = run(by=by)
        assert grouped.ungrouped() == run()
        assert len(grouped.groups) > 1


def test_an_empty_programme_has_every_rate_null_and_nothing_outside():
    total = run([]).total
    assert all(value is None for value in values(total).values())
    assert total.outside_range() == () and total.too_few_to_judge() == ()
    assert run([], by="radiologist").groups == (total,)


@pytest.mark.parametrize(
    ("name", "rate", "outside"),
    [
        ("recall_rate", Rate(5, 100), False),
        ("recall_rate", Rate(12, 100), False),
        ("recall_rate", Rate(3, 25), False),  # 12% exactly
        ("recall_rate", Rate(49, 1000), True),
        ("recall_rate", Rate(121, 1000), True),
        ("cancer_detection_per_1000", Rate(1, 400, 1000), False),  # 2.5 exactly
        ("cancer_detection_per_1000", Rate(1, 401, 1000), True),
        ("ppv2", Rate(2, 5), False),
        ("ppv2", Rate(41, 100), True),
        ("ppv3", Rate(0, 10), False),  # no range in §8
        ("ppv3", Rate(10, 10), False),
        ("sensitivity", Rate(3, 4), False),
        ("specificity", Rate(19, 20), False),
        ("specificity", Rate(96, 100), True),
    ],
)
def test_range_bounds_are_acceptable_and_compared_exactly(name, rate, outside):
    (reference,) = [r for r in REFERENCES if r.name == name]
    assert reference.outside(rate) is outside


def test_references_are_those_of_section_8():
    table = {r.name: (r.bcsc, r.low, r.high) for r in REFERENCES}
    as_numbers = {k: (b, lo and float(lo), hi and float(hi)) for k, (b, lo, hi) in table.items()}
    assert as_numbers == {
        "recall_rate": (0.116, 0.05, 0.12),
        "cancer_detection_per_1000": (5.1, 2.5, None),
        "ppv1": (0.044, 0.03, 0.08),
        "ppv2": (0.256, 0.20, 0.40),
        "ppv3": (0.286, None, None),
        "sensitivity": (0.869, 0.75, None),
        "specificity": (0.889, 0.88, 0.95),
    }


def test_too_few_to_judge_is_under_30_exams():
    def screens(n):
        return [AuditPatient([ex("2024-05-01", S, "negative")])] * n

    assert "recall_rate" in run(screens(29)).total.too_few_to_judge()
    assert "recall_rate" not in run(screens(30)).total.too_few_to_judge()


@pytest.mark.parametrize(
    ("patients", "kwargs", "message"),
    [
        ([AuditPatient([ex("2024-05-01", S, "bi-rads 3")])], {}, "unknown category 'bi-rads 3'"),
        ([AuditPatient([ex("2024-05-01", "mri", "negative")])], {}, "unknown exam kind 'mri'"),
        (
            [AuditPatient([ex("2024-05-01", S, "negative")], [bx("2024-05-02", "maybe")])],
            {},
            "unknown biopsy result 'maybe'; use one of pending, benign, high-risk, malignant",
        ),
        ([], {"by": "room"}, "unknown grouping 'room'; use one of facility, radiologist"),
        ([], {"outcome_days": 0}, "outcome_days must be a positive whole number, not 0"),
    ],
)
def test_bad_input_is_refused_naming_what_is_valid(patients, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        run(patients, **kwargs)


def test_a_period_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValueError, match=r"starts \(2024-12-31\) after it ends \(2024-01-01\)"):
        audit([], END, START, AS_OF)


def test_the_stream_is_read_once_and_plain_tuples_will_do():
    rows = ((((d("2024-05-01"), S, "incomplete", NORTH, None),), (), ()) for _ in range(3))
    assert run(rows).total.positive_screens == 3  # a generator of plain tuples, read once


def test_ordered_rows_grouped_by_patient_will_do_as_they_come():
    """A store's rows: the six AuditExam fields, then the patient's key; each group of an
    itertools.groupby is her exams, read once."""
    rows = [
        (d("2024-02-01"), S, "negative", NORTH, "Ames", None, "P1"),
        (d("2024-11-01"), S, "incomplete", NORTH, "Ames", None, "P1"),
        (d("2024-03-01"), S, "benign", LAKE, None, None, "P2"),
    ]
    outcomes = {"P1": ([bx("2024-11-20", "malignant")], [])}
    patients = (
        (group, *outcomes.get(key, ((), ()))) for key, group in groupby(rows, itemgetter(6))
    )
    total = run(patients).total
    assert (total.false_negatives, total.true_positives, total.true_negatives) == (1, 1, 1)


# Properties: the cell counting agrees with a plain reading of §8, one exam at a time.

DAYS = st.integers(min_value=-30, max_value=900).map(lambda n: START + timedelta(days=n))
CATEGORY_NAMES = sorted(
    {*POSITIVE_SCREEN, "negative", "benign", "post-procedure", "known-malignancy"}
)
exams = st.builds(
    AuditExam,
    DAYS,
    st.sampled_from([S, D, None]),
    st.sampled_from(CATEGORY_NAMES),
    st.sampled_from([NORTH, LAKE]),
    st.sampled_from(["Ames", "Brook", None]),
    st.sampled_from([None, "left", "right", "both"]),
)
biopsies = st.builds(
    AuditBiopsy,
    DAYS,
    st.sampled_from(["pending", "benign", "high-risk", "malignant"]),
    st.sampled_from([None, "left", "right"]),
)
patients = st.lists(
    st.builds(
        AuditPatient,
        st.lists(exams, max_size=3),
        st.lists(biopsies, max_size=2),
        st.lists(DAYS, max_size=1),
    ),
    max_size=12,
)
AS_OFS = st.integers(min_value=0, max_value=1000).map(lambda n: START + timedelta(days=n))
PROPERTY = settings(max_examples=300, deadline=None)
BYS = [None, "facility", "radiologist"]


def spec_total(programme, as_of, window=365):
    """§8 and the module's documented choices, read one exam at a time (the oracle)."""
    n = dict.fromkeys(COUNT_FIELDS, 0)
    for patient in programme:
        cancers = [b.date for b in patient.biopsies if b.result == "malignant"]
        cancers = [c for c in [*cancers, *patient.malignancies] if c <= as_of]
        for e in patient.exams:
            if not START <= e.date <= END:
                continue
            if e.category in ("post-procedure", "known-malignancy"):
                n[e.category.replace("-", "_") + "_exams"] += 1
                continue
            last = e.date + timedelta(days=window)
            closed = last <= as_of
            cancer = any(e.date <= c <= last for c in cancers)
            recommends = e.category in BIOPSY_RECOMMENDED
            known = [
                b
                for b in patient.biopsies
                if e.date <= b.date <= last
                and b.date <= as_of
                # a recommendation is answered by a biopsy of a breast it names (§4)
                and (not recommends or None in (b.side, e.sides) or e.sides in ("both", b.side))
            ]
            pending = not cancer and any(b.result == "pending" for b in known)
            result = cancer or (bool(known) and not pending)
            outcome = closed and not pending  # known: no result to come may be its cancer
            if e.kind == S:
                positive = e.category in POSITIVE_SCREEN
                n["screening_exams"] += 1
                n["positive_screens"] += positive
                if outcome:
                    n["closed_screens"] += 1
                    n["true_positives"] += positive and cancer
                    n["false_positives"] += positive and not cancer
                    n["false_negatives"] += not positive and cancer
                    n["true_negatives"] += not positive and not cancer
                elif not closed:
                    n["cancers_in_open_windows"] += cancer
            else:
                positive = recommends
                n["diagnostic_exams" if e.kind == D else "exams_without_kind"] += 1
                n["positive_diagnostic_exams"] += e.kind == D and positive
            if recommends:
                n["biopsies_recommended"] += 1
                n["biopsies_done"] += bool(known) or cancer
                if outcome:
                    n["closed_recommendations"] += 1
                    n["closed_recommendation_cancers"] += cancer
                    n["closed_biopsy_results"] += result
                    n["closed_biopsy_cancers"] += result and cancer
            awaiting = closed and pending and (e.kind == S or recommends)
            n["open_positives"] += positive and not closed
            n["open_biopsy_recommendations"] += recommends and not result
            n["awaiting_biopsy_results"] += awaiting
            open_recommendation = recommends and not result
            n["open_outcomes"] += (positive and not closed) or open_recommendation or awaiting
    return AuditFigures("all", True, **n)


@PROPERTY
@given(patients, AS_OFS)
def test_the_audit_agrees_with_a_plain_reading_of_section_8(programme, as_of):
    assert run(programme, as_of=as_of).total == spec_total(programme, as_of)


@PROPERTY
@given(patients, AS_OFS, st.sampled_from(["facility", "radiologist"]))
def test_groups_add_up_to_the_total_whatever_the_grouping(programme, as_of, by):
    report = run(programme, by=by, as_of=as_of)
    assert report.total == run(programme, as_of=as_of).total
    for name in COUNT_FIELDS:
        assert sum(getattr(g, name) for g in report.groups[:-1]) == getattr(report.total, name)


@PROPERTY
@given(patients, AS_OFS)
def test_rates_are_proportions_and_a_later_as_of_never_opens_an_outcome(programme, as_of):
    earlier, later = (
        run(programme, as_of=as_of).total,
        run(programme, as_of=as_of + timedelta(days=100)).total,
    )
    for name, rate in later.rates().items():
        scale = 1000 if name == "cancer_detection_per_1000" else 1
        assert rate.value is None or 0 <= rate.value <= scale
    assert later.open_positives <= earlier.open_positives
    assert later.closed_screens >= earlier.closed_screens


def _regrouped(programme, cuts):
    """The same exams handed over as a store does it: those of patients without outcomes in
    one AuditPatient, each other patient's exams in parts, each part with all her outcomes."""
    plain = [e for p in programme if not (p.biopsies or p.malignancies) for e in p.exams]
    parts = [AuditPatient(plain)]
    for p in programme:
        if p.biopsies or p.malignancies:
            exams = list(p.exams)
            cut = min(cuts, len(exams))
            parts += [AuditPatient(exams[:cut], p.biopsies, p.malignancies)]
            parts += [AuditPatient(exams[cut:], p.biopsies, p.malignancies)]
    return parts


@PROPERTY
@given(patients, AS_OFS, st.integers(min_value=0, max_value=3), st.sampled_from(BYS))
def test_patients_without_outcomes_may_come_together_and_a_patient_in_parts(
    programme, as_of, cuts, by
):
    assert run(_regrouped(programme, cuts), by=by, as_of=as_of) == run(
        programme, by=by, as_of=as_of
    )


def test_a_recommendation_is_answered_by_a_biopsy_of_its_own_breast():
    """§4: the other breast's biopsy leaves it open; a finding of both breasts, or a biopsy
    or exam whose breast is not known, is answered by any biopsy; a malignant result of
    either breast is the exam's cancer (§8: "of the same patient")."""

    def total(sides, side, result="benign"):
        exam = AuditExam(d("2024-03-01"), D, "suspicious", NORTH, None, sides)
        return run([AuditPatient([exam], [AuditBiopsy(d("2024-03-10"), result, side)])]).total

    assert (total("left", "right").biopsies_done, total("left", "right").open_outcomes) == (0, 1)
    assert total("left", "left").biopsies_done == 1
    assert total("both", "right").biopsies_done == total(None, "right").biopsies_done == 1
    assert total("left", None).biopsies_done == 1
    assert total("left", "right", "malignant").closed_recommendation_cancers == 1
