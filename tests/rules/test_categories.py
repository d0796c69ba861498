"""clinical-rules.md §1: every spelling of a category, canonical output, the most worrisome finding.

Expected values come from the spec's table, not from followup's code.
"""

from __future__ import annotations

import pytest

from followup import rules
from tests.rules.builders import C, S, exam, plan

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


def test_actions_are_those_of_the_table():
    assert set(rules.ACTIONS) == {a for *_, a in CANONICAL}


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
