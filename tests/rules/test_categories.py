"""clinical-rules.md §1: every spelling of a category, canonical output, the most worrisome finding.

Expected values come from the spec's table, not from followup's code.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from followup import rules
from tests.rules.builders import C, K, S, d, exam, plan

SPELLINGS = [
    # canonical names, any case
    ("incomplete", C.INCOMPLETE),
    ("negative", C.NEGATIVE),
    ("benign", C.BENIGN),
    ("probably-benign", C.PROBABLY_BENIGN),
    ("suspicious", C.SUSPICIOUS),
    ("highly-suspicious", C.HIGHLY_SUSPICIOUS),
    ("known-malignancy", C.KNOWN_MALIGNANCY),
    ("NEGATIVE", C.NEGATIVE),
    ("Highly-Suspicious", C.HIGHLY_SUSPICIOUS),
    # common spellings of §1
    ("probably benign", C.PROBABLY_BENIGN),
    ("probably_benign", C.PROBABLY_BENIGN),
    ("Probably Benign", C.PROBABLY_BENIGN),
    ("PROBABLY_BENIGN", C.PROBABLY_BENIGN),
    ("highly suspicious", C.HIGHLY_SUSPICIOUS),
    ("known_malignancy", C.KNOWN_MALIGNANCY),
    ("  benign  ", C.BENIGN),
    # BI-RADS numbers 0-6
    ("0", C.INCOMPLETE),
    ("1", C.NEGATIVE),
    ("2", C.BENIGN),
    ("3", C.PROBABLY_BENIGN),
    ("4", C.SUSPICIOUS),
    ("5", C.HIGHLY_SUSPICIOUS),
    ("6", C.KNOWN_MALIGNANCY),
    # 4A/4B/4C, either case
    ("4a", C.SUSPICIOUS),
    ("4B", C.SUSPICIOUS),
    ("4c", C.SUSPICIOUS),
    # BI-RADS prefixes
    ("BI-RADS 3", C.PROBABLY_BENIGN),
    ("birads-3", C.PROBABLY_BENIGN),
    ("BIRADS 0", C.INCOMPLETE),
    ("bi-rads 6", C.KNOWN_MALIGNANCY),
    ("BI-RADS 4A", C.SUSPICIOUS),
    ("birads-4c", C.SUSPICIOUS),
    ("BI-RADS 5", C.HIGHLY_SUSPICIOUS),
]


@pytest.mark.parametrize(("text", "expected"), SPELLINGS, ids=[s for s, _ in SPELLINGS])
def test_every_spelling_parses_to_the_canonical_category(text, expected):
    parsed = rules.parse_category(text)
    assert parsed is expected
    assert str(parsed) == expected.value  # output is the canonical name


CANONICAL = [
    (C.INCOMPLETE, "incomplete", 0, "additional-imaging"),
    (C.NEGATIVE, "negative", 1, "routine-screening"),
    (C.BENIGN, "benign", 2, "routine-screening"),
    (C.PROBABLY_BENIGN, "probably-benign", 3, "short-interval-follow-up"),
    (C.SUSPICIOUS, "suspicious", 4, "biopsy"),
    (C.HIGHLY_SUSPICIOUS, "highly-suspicious", 5, "biopsy"),
    (C.KNOWN_MALIGNANCY, "known-malignancy", 6, "treatment"),
]


@pytest.mark.parametrize(("category", "name", "birads", "action"), CANONICAL, ids=str)
def test_canonical_table(category, name, birads, action):
    assert category.value == name
    assert category.birads == birads
    assert category.action == action
    assert rules.parse_category(name) is category
    assert rules.parse_category(str(birads)) is category


def test_actions_are_those_of_the_tables():
    # Revised spec: §1 adds prior-films (incomplete-priors), §4 the biopsy results' actions.
    biopsy_results = {"pathology-result", "surgical-consultation"}
    assert set(rules.ACTIONS) == {a for *_, a in CANONICAL} | {"prior-films"} | biopsy_results
    assert rules.ACTIONS == rules.URGENCY_ORDER  # §2: most urgent first


@pytest.mark.parametrize("text", ["7", "-1", "4d", "BI-RADS", "", "maybe", "probably"], ids=repr)
def test_unknown_category_is_a_clear_error(text):
    with pytest.raises(ValueError, match="probably-benign") as info:
        rules.parse_category(text)
    assert "0-6" in str(info.value)  # says what is accepted


@pytest.mark.parametrize(
    ("text", "side"),
    [
        ("left", S.LEFT),
        ("RIGHT", S.RIGHT),
        ("Bilateral", S.BILATERAL),
        ("L", S.LEFT),
        ("r", S.RIGHT),
        ("both", S.BILATERAL),
    ],
    ids=str,
)
def test_sides(text, side):
    assert rules.parse_laterality(text) is side


@pytest.mark.parametrize(
    ("text", "kind"),
    [("screening", rules.ExamKind.SCREENING), ("DIAGNOSTIC", rules.ExamKind.DIAGNOSTIC)],
    ids=str,
)
def test_kinds(text, kind):
    assert rules.parse_kind(text) is kind


def test_bad_side_and_kind_are_clear_errors():
    with pytest.raises(ValueError, match="left, right, bilateral"):
        rules.parse_laterality("middle")
    with pytest.raises(ValueError, match="screening, diagnostic"):
        rules.parse_kind("routine")


# §1 order: negative < benign < probably-benign < incomplete < suspicious < highly-suspicious.
WORST_OF_TWO = [
    (
        "pb-left-over-benign-right",
        (C.PROBABLY_BENIGN, S.LEFT),
        (C.BENIGN, S.RIGHT),
        C.PROBABLY_BENIGN,
        S.LEFT,
    ),
    (
        "benign-right-over-negative-left",
        (C.NEGATIVE, S.LEFT),
        (C.BENIGN, S.RIGHT),
        C.BENIGN,
        S.RIGHT,
    ),
    # not the largest number: incomplete (0) outranks probably benign (3)
    (
        "incomplete-over-pb",
        (C.PROBABLY_BENIGN, S.RIGHT),
        (C.INCOMPLETE, S.LEFT),
        C.INCOMPLETE,
        S.LEFT,
    ),
    ("incomplete-over-benign", (C.BENIGN, S.LEFT), (C.INCOMPLETE, S.RIGHT), C.INCOMPLETE, S.RIGHT),
    (
        "suspicious-over-incomplete",
        (C.INCOMPLETE, S.LEFT),
        (C.SUSPICIOUS, S.RIGHT),
        C.SUSPICIOUS,
        S.RIGHT,
    ),
    (
        "highly-over-suspicious",
        (C.SUSPICIOUS, S.LEFT),
        (C.HIGHLY_SUSPICIOUS, S.RIGHT),
        C.HIGHLY_SUSPICIOUS,
        S.RIGHT,
    ),
    (
        "malignancy-over-all",
        (C.HIGHLY_SUSPICIOUS, S.LEFT),
        (C.KNOWN_MALIGNANCY, S.RIGHT),
        C.KNOWN_MALIGNANCY,
        S.RIGHT,
    ),
]


@pytest.mark.parametrize(
    ("first", "second", "category", "side"),
    [case[1:] for case in WORST_OF_TWO],
    ids=[case[0] for case in WORST_OF_TWO],
)
def test_most_worrisome_finding_governs_with_its_side(first, second, category, side):
    for a, b in ((first, second), (second, first)):  # order of findings does not matter
        e = exam("2025-03-10", a[0], a[1], more=(b,))
        assert rules.governing_finding(e).category is category
        assert rules.governing_finding(e).laterality is side
        made = plan(e)
        assert made.category is category
        assert made.action == category.action


def test_governing_side_is_the_plan_side_for_a_first_probably_benign():
    made = plan(exam("2025-03-10", C.BENIGN, S.RIGHT, more=((C.PROBABLY_BENIGN, S.LEFT),)))
    assert made.laterality is S.LEFT
    assert made.action == "short-interval-follow-up"


# --- revised §1: the 2024 incomplete categories, BI-RADS 4 subdivision, post-procedure ---

A, B, SUB_C = rules.Subdivision.A, rules.Subdivision.B, rules.Subdivision.C

ASSESSMENTS = [
    # text, category, subdivision
    ("0", C.INCOMPLETE, None),  # 0 alone means incomplete
    ("incomplete", C.INCOMPLETE, None),
    ("incomplete-priors", C.INCOMPLETE_PRIORS, None),
    ("0-priors", C.INCOMPLETE_PRIORS, None),
    ("BI-RADS 0-priors", C.INCOMPLETE_PRIORS, None),
    ("need-prior-mammograms", C.INCOMPLETE_PRIORS, None),
    ("Need Prior Mammograms", C.INCOMPLETE_PRIORS, None),
    ("need priors", C.INCOMPLETE_PRIORS, None),
    ("need_priors", C.INCOMPLETE_PRIORS, None),
    ("4", C.SUSPICIOUS, None),
    ("suspicious", C.SUSPICIOUS, None),
    ("4a", C.SUSPICIOUS, A),
    ("4B", C.SUSPICIOUS, B),
    ("BI-RADS 4C", C.SUSPICIOUS, SUB_C),
    ("birads-4a", C.SUSPICIOUS, A),
    ("post-procedure", C.POST_PROCEDURE, None),
    ("Post procedure", C.POST_PROCEDURE, None),
]


@pytest.mark.parametrize(("text", "category", "sub"), ASSESSMENTS, ids=[a[0] for a in ASSESSMENTS])
def test_parse_assessment_keeps_the_subdivision(text, category, sub):
    assert rules.parse_assessment(text) == (category, sub)
    assert rules.parse_category(text) is category


NEW_CATEGORIES = [
    # category, BI-RADS, action
    (C.INCOMPLETE_PRIORS, 0, "prior-films"),
    (C.POST_PROCEDURE, None, None),  # never governs
]


@pytest.mark.parametrize(("category", "birads", "action"), NEW_CATEGORIES, ids=str)
def test_new_categories_of_the_table(category, birads, action):
    assert (category.birads, category.action) == (birads, action)


def test_birads_text_and_label_keep_the_subdivision():
    finding = rules.Finding(C.SUSPICIOUS, S.LEFT, subdivision=B)
    assert finding.birads == "4B"
    assert finding.label == "suspicious (BI-RADS 4B)"
    assert rules.Finding(C.SUSPICIOUS).birads == "4"
    assert rules.Finding(C.PROBABLY_BENIGN).birads == "3"
    assert rules.Finding(C.INCOMPLETE_PRIORS).birads == "0"
    assert rules.Finding(C.POST_PROCEDURE).birads is None
    made = plan(exam("2025-01-10", C.SUSPICIOUS, S.LEFT, subdivision=B))
    assert made.subdivision is B and made.breast(S.LEFT).birads == "4B"
    assert "suspicious (BI-RADS 4B)" in made.reason


WORRY_ORDER = [
    rules.Finding(C.NEGATIVE),
    rules.Finding(C.BENIGN),
    rules.Finding(C.PROBABLY_BENIGN),
    rules.Finding(C.INCOMPLETE_PRIORS),
    rules.Finding(C.INCOMPLETE),
    rules.Finding(C.SUSPICIOUS, subdivision=B),
    rules.Finding(C.SUSPICIOUS, subdivision=SUB_C),
    rules.Finding(C.HIGHLY_SUSPICIOUS),
    rules.Finding(C.KNOWN_MALIGNANCY),
]


def test_most_worrisome_order_of_section_1():
    worries = [f.worry for f in WORRY_ORDER]
    assert worries == sorted(worries) and len(set(worries)) == len(worries)
    # plain 4 = 4A < 4B < 4C; post-procedure below everything (it never governs)
    plain, four_a = rules.Finding(C.SUSPICIOUS), rules.Finding(C.SUSPICIOUS, subdivision=A)
    assert plain.worry == four_a.worry < WORRY_ORDER[5].worry
    assert rules.Finding(C.POST_PROCEDURE).worry < rules.Finding(C.NEGATIVE).worry


def test_4c_outranks_4a_on_one_exam():
    found = exam("2025-03-10", C.SUSPICIOUS, S.LEFT, subdivision=A, more=()).findings
    e = rules.Exam(
        d("2025-03-10"),
        "A",
        (*found, rules.Finding(C.SUSPICIOUS, S.RIGHT, subdivision=SUB_C)),
    )
    assert rules.governing_finding(e).subdivision is SUB_C
    assert rules.governing_finding(e).laterality is S.RIGHT


@pytest.mark.parametrize("category", [C.BENIGN, C.HIGHLY_SUSPICIOUS, C.INCOMPLETE])
def test_a_subdivision_on_another_category_is_refused(category):
    bad = rules.Exam(d("2025-01-10"), "A", (rules.Finding(category, subdivision=B),))
    with pytest.raises(ValueError, match="subdivision of suspicious"):
        rules.validate_exam(bad, d("2025-06-01"))


def test_canonical_values_for_the_stores_constraints():
    assert rules.CATEGORIES == (
        "incomplete",
        "incomplete-priors",
        "negative",
        "benign",
        "probably-benign",
        "suspicious",
        "highly-suspicious",
        "known-malignancy",
        "post-procedure",
    )
    assert rules.SUBDIVISIONS == ("4A", "4B", "4C")
    assert rules.SIDES == ("left", "right", "bilateral")
    assert rules.BIOPSY_SIDES == ("left", "right")
    assert rules.KINDS == ("screening", "diagnostic")
    assert rules.IMAGED == ("both", "left", "right")
    assert rules.DENSITIES == ("a", "b", "c", "d")
    assert rules.BIOPSY_RESULTS == ("pending", "benign", "high-risk", "malignant")


@pytest.mark.parametrize(
    ("text", "density", "dense"),
    [
        ("a", "a", False),
        ("B", "b", False),
        ("c", "c", True),
        ("D", "d", True),
        ("extremely dense", "d", True),
    ],
    ids=str,
)
def test_density(text, density, dense):
    parsed = rules.parse_density(text)
    assert parsed == density and parsed.dense is dense


def test_bad_density_and_imaged_are_clear_errors():
    with pytest.raises(ValueError, match="a, b, c, d"):
        rules.parse_density("e")
    with pytest.raises(ValueError, match="both, left, right"):
        rules.parse_imaged("top")
    assert rules.parse_imaged("L") is rules.Imaged.LEFT
    assert rules.parse_imaged("bilateral") is rules.Imaged.BOTH
    assert rules.parse_subdivision("b") is B and rules.parse_subdivision("4c") is SUB_C
    with pytest.raises(ValueError, match="4A, 4B, 4C"):
        rules.parse_subdivision("4d")


def test_density_and_radiologist_never_change_the_plan():
    plain = exam("2025-01-10", C.PROBABLY_BENIGN, S.LEFT, exam_id=3)
    described = rules.Exam(
        plain.date,
        plain.facility,
        plain.findings,
        plain.kind,
        plain.follow_up_months,
        plain.id,
        density=rules.Density.D,
        radiologist="Dr. Okafor",
    )
    assert plan(described) == plan(plain)
    assert described.density == "d" and described.radiologist == "Dr. Okafor"
    assert rules.check_radiologist("  Dr.  Okafor ") == "Dr. Okafor"
    assert rules.check_radiologist("  ") is None


# --- incomplete-priors ------------------------------------------------------------------


def test_incomplete_priors_asks_for_prior_films_within_30_days():
    made = plan(exam("2025-01-10", C.INCOMPLETE_PRIORS, kind=K.SCREENING, exam_id=4))
    assert (made.action, made.due, made.laterality) == ("prior-films", d("2025-02-09"), S.BILATERAL)
    assert "prior" in made.reason and "30 days" in made.reason
    codes = [f.code for f in made.flags]
    assert "prior-films-needed" in codes and "additional-imaging-needed" not in codes


def test_prior_films_days_is_a_policy_value():
    policy = rules.load_policy_text("prior_films_days = 14")
    made = rules.make_plan([exam("2025-01-10", C.INCOMPLETE_PRIORS)], [], policy)
    assert made.due == d("2025-01-24")


# --- post-procedure -----------------------------------------------------------------------


def test_post_procedure_never_governs():
    history = [
        exam("2024-01-10", C.PROBABLY_BENIGN, S.LEFT),
        exam("2024-02-01", C.POST_PROCEDURE, S.LEFT),
    ]
    made = plan(*history)
    assert (made.action, made.due, made.episode_step) == (
        "short-interval-follow-up",
        d("2024-07-10"),
        1,
    )
    assert made.exam_date == d("2024-01-10")
    assert [e.date for e in rules.chronological(history)] == [d("2024-01-10"), d("2024-02-01")]


def test_post_procedure_ends_nothing_and_raises_no_increase():
    made = plan(
        exam("2020-01-10", C.NEGATIVE),
        exam("2024-01-10", C.SUSPICIOUS, S.LEFT),
        exam("2024-01-20", C.POST_PROCEDURE),  # a diagnostic exam, yet it closes nothing
    )
    assert made.action == "biopsy" and made.due == d("2024-02-09")
    codes = [f.code for f in made.flags]
    assert "biopsy-recommended" in codes and "biopsy-outstanding" not in codes


def test_post_procedure_alone_sets_no_plan():
    made = plan(exam("2024-01-20", C.POST_PROCEDURE))
    assert (made.action, made.due, made.breasts, made.flags) == (None, None, (), ())


def test_post_procedure_films_count_as_on_hand():
    # The only film from 3+ years back is a post-procedure one, at the current facility.
    made = plan(exam("2021-01-10", C.POST_PROCEDURE), exam("2025-01-10", C.BENIGN))
    assert "short-comparison-history" not in [f.code for f in made.flags]


@pytest.mark.parametrize(
    ("offset", "late"), [(-1, 0), (0, 0), (1, 1)], ids=["day-before", "on", "day-after"]
)
def test_prior_films_due_boundaries(offset, late):
    history = [exam("2025-01-10", C.INCOMPLETE_PRIORS, kind=K.SCREENING)]
    as_of = d("2025-02-09") + timedelta(days=offset)  # exam + 30 days
    assessed = rules.assess(history, [], rules.DEFAULT_POLICY, as_of)
    assert rules.days_overdue(assessed.plan, as_of) == late
    assert ("overdue" in [f.code for f in assessed.flags]) is bool(late)
    if late:
        overdue = next(f for f in assessed.flags if f.code == "overdue")
        assert "prior films" in overdue.message and "your" in overdue.patient_message.lower()


def test_a_radiologist_name_with_control_characters_is_refused():
    bad = rules.Exam(d("2025-01-10"), "A", (rules.Finding(C.BENIGN),), radiologist="Dr\x07 X")
    with pytest.raises(ValueError, match="radiologist"):
        rules.validate_exam(bad, d("2025-06-01"))
    with pytest.raises(ValueError, match="radiologist"):
        rules.check_radiologist("Dr\x1b X")
