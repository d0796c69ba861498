"""clinical-rules.md §4: every flag, its stable code, and a message that says what to do."""

from __future__ import annotations

import re

import pytest

from followup import rules
from tests.rules.builders import POLICY, C, S, codes, d, exam, flag, plan

NORTH, EAST, WEST = "Northside Imaging", "Eastside Clinic", "Westgate Hospital"


def test_flag_codes_are_those_of_the_spec_in_its_order():
    # Revised §6 table; missed-appointment is raised by the pathway (§7), not by the plan.
    assert rules.FLAG_CODES == (
        "short-comparison-history",
        "facility-switch",
        "prior-films-needed",
        "overdue",
        "lost-to-follow-up",
        "biopsy-recommended",
        "biopsy-outstanding",
        "discordant-biopsy",
        "high-risk-lesion",
        "interval-needs-review",
        "additional-imaging-needed",
        "category-increased",
        "stable-probably-benign",
        "category-needs-review",
        "missed-appointment",
    )


# --- short-comparison-history ------------------------------------------------------------

SPAN = [
    # earliest film at the current facility, latest exam, flagged?
    ("exactly-3-years", "2022-01-15", "2025-01-15", False),
    ("a-day-short", "2022-01-16", "2025-01-15", True),
    ("longer", "2015-06-01", "2025-01-15", False),
    ("feb-29-to-feb-28", "2020-02-29", "2023-02-28", False),  # 3 years, clamped as §3 does
    ("feb-29-to-feb-27", "2020-02-29", "2023-02-27", True),
    ("to-feb-29", "2021-02-28", "2024-02-29", False),
]


@pytest.mark.parametrize(
    ("earliest", "latest", "flagged"), [s[1:] for s in SPAN], ids=[s[0] for s in SPAN]
)
def test_short_comparison_history_boundaries(earliest, latest, flagged):
    made = plan(exam(earliest, C.BENIGN, facility=NORTH), exam(latest, C.BENIGN, facility=NORTH))
    assert ("short-comparison-history" in codes(made.flags)) is flagged


def test_first_exam_ever_says_no_earlier_films_are_on_record():
    message = flag(
        plan(exam("2025-01-15", C.BENIGN, facility=NORTH)), "short-comparison-history"
    ).message
    assert "on record" in message and re.search(r"\bno\b", message, re.IGNORECASE)
    assert NORTH in message and "3 years" in message
    assert "request" in message or "ask" in message  # says what to do


def test_short_history_message_names_where_older_films_are_and_their_dates():
    made = plan(
        exam("2018-03-02", C.BENIGN, facility=EAST),
        exam("2020-04-07", C.BENIGN, facility=EAST),
        exam("2021-05-05", C.NEGATIVE, facility=WEST),
        exam("2024-09-09", C.BENIGN, facility=NORTH),
    )
    message = flag(made, "short-comparison-history").message
    for word in (EAST, "2018-03-02", "2020-04-07", WEST, "2021-05-05"):
        assert word in message, (word, message)
    assert "bring or request" in message
    assert "none" not in message.lower() and "no earlier films" not in message.lower()


def test_transferred_films_count_as_on_hand():
    history = [
        exam("2019-03-02", C.BENIGN, facility=EAST),
        exam("2024-09-09", C.BENIGN, facility=NORTH),
    ]
    before = plan(*history)
    assert codes(before.flags) == ["short-comparison-history", "facility-switch"]
    after = plan(*history, transfers=(rules.FilmTransfer("eastside  clinic", NORTH),))
    assert codes(after.flags) == []


def test_a_transfer_the_other_way_does_not_help():
    made = plan(
        exam("2019-03-02", C.BENIGN, facility=EAST),
        exam("2024-09-09", C.BENIGN, facility=NORTH),
        transfers=(rules.FilmTransfer(NORTH, EAST),),
    )
    assert codes(made.flags) == ["short-comparison-history", "facility-switch"]


def test_transferred_films_only_count_for_the_span_they_cover():
    # films from 2023 transferred: on hand, but 2023 to 2024 is still short
    made = plan(
        exam("2023-03-02", C.BENIGN, facility=EAST),
        exam("2024-09-09", C.BENIGN, facility=NORTH),
        transfers=(rules.FilmTransfer(EAST, NORTH),),
    )
    assert codes(made.flags) == ["short-comparison-history"]
    assert "2023-03-02" in flag(made, "short-comparison-history").message


# --- facility-switch -----------------------------------------------------------------------

SWITCH = [
    # facilities of the exams in date order, transfers (from, to), flagged?
    ("same-facility", [NORTH, NORTH], [], False),
    ("same-facility-other-spelling", [NORTH, "northside imaging "], [], False),
    ("switch", [EAST, NORTH], [], True),
    ("switch-films-transferred", [EAST, NORTH], [(EAST, NORTH)], False),
    ("switch-back-films-there", [NORTH, EAST, NORTH], [(EAST, NORTH)], False),
    ("switch-back-without-films", [NORTH, EAST, NORTH], [], True),
    ("older-switch-only", [EAST, NORTH, NORTH], [], False),
]


@pytest.mark.parametrize(
    ("facilities", "transfers", "flagged"), [s[1:] for s in SWITCH], ids=[s[0] for s in SWITCH]
)
def test_facility_switch(facilities, transfers, flagged):
    days = ["2018-01-10", "2021-02-11", "2024-03-12"]
    made = plan(
        *(exam(day, C.BENIGN, facility=f) for day, f in zip(days, facilities, strict=False)),
        transfers=tuple(rules.FilmTransfer(a, b) for a, b in transfers),
    )
    assert ("facility-switch" in codes(made.flags)) is flagged


def test_facility_switch_message_names_the_earlier_facility_and_says_bring_or_request():
    made = plan(
        exam("2021-02-11", C.BENIGN, facility=EAST), exam("2024-03-12", C.BENIGN, facility=NORTH)
    )
    message = flag(made, "facility-switch").message
    assert EAST in message and "2021-02-11" in message
    assert "bring or request" in message
    assert "films transfer" in message  # how to record it once done


def test_facility_switch_message_names_all_dates_of_the_missing_films():
    made = plan(
        exam("2017-05-01", C.BENIGN, facility=EAST),
        exam("2020-05-04", C.BENIGN, facility=EAST),
        exam("2024-03-12", C.BENIGN, facility=NORTH),
    )
    message = flag(made, "facility-switch").message
    assert "2017-05-01" in message and "2020-05-04" in message


# --- overdue and lost-to-follow-up ----------------------------------------------------------

DUE = d("2025-01-15")  # benign exam of 2024-01-15 + 12 months
DATED = [
    # as-of, days overdue, flags
    ("before-due", "2024-12-31", 0, []),
    ("due-equals-as-of", "2025-01-15", 0, []),
    ("a-day-late", "2025-01-16", 1, ["overdue"]),
    ("90-days", "2025-04-15", 90, ["overdue"]),
    ("91-days", "2025-04-16", 91, ["overdue", "lost-to-follow-up"]),
    ("years-late", "2028-01-01", 1081, ["overdue", "lost-to-follow-up"]),
]


@pytest.mark.parametrize(
    ("as_of", "late", "expected"), [c[1:] for c in DATED], ids=[c[0] for c in DATED]
)
def test_overdue_and_lost_to_follow_up(as_of, late, expected):
    history = [exam("2020-01-15", C.BENIGN), exam("2024-01-15", C.BENIGN)]
    made = plan(*history)
    assert made.due == DUE
    assert rules.days_overdue(made, d(as_of)) == late
    assert codes(rules.dated_flags(made, d(as_of), POLICY)) == expected
    assessed = rules.assess(history, [], POLICY, d(as_of))
    assert codes(assessed.flags) == expected
    assert assessed.plan == made and assessed.as_of == d(as_of)


def test_a_newer_exam_clears_overdue():
    history = [exam("2020-01-15", C.BENIGN), exam("2024-01-15", C.BENIGN)]
    as_of = d("2025-06-01")
    assert "overdue" in codes(rules.assess(history, [], POLICY, as_of).flags)
    later = [*history, exam("2025-05-20", C.BENIGN)]
    assert codes(rules.assess(later, [], POLICY, as_of).flags) == []


def test_overdue_messages_say_what_to_do():
    made = plan(exam("2020-01-15", C.BENIGN), exam("2024-01-15", C.BENIGN))
    overdue, lost = rules.dated_flags(made, d("2025-06-01"), POLICY)
    assert "2025-01-15" in overdue.message and "137 days" in overdue.message
    assert "book" in overdue.message
    assert "90 days" in lost.message and "contact the patient" in lost.message


@pytest.mark.parametrize(
    ("category", "word"), [(C.SUSPICIOUS, "biopsy"), (C.INCOMPLETE, "imaging")], ids=str
)
def test_overdue_message_names_the_overdue_step(category, word):
    made = plan(exam("2024-01-15", category, S.LEFT))
    (overdue,) = rules.dated_flags(made, d("2024-03-01"), POLICY)
    assert word in overdue.message and "mammogram" not in overdue.message


# --- category flags ---------------------------------------------------------------------------

CATEGORY_FLAGS = [
    # latest category, kind, flags other than comparison ones
    ("suspicious", C.SUSPICIOUS, rules.ExamKind.DIAGNOSTIC, ["biopsy-recommended"]),
    # Revised §4: the 2020 recommendation stays open; a later exam of unrecorded kind is not a
    # diagnostic re-assessment, so the biopsy is also outstanding.
    (
        "highly-suspicious",
        C.HIGHLY_SUSPICIOUS,
        None,
        ["biopsy-recommended", "biopsy-outstanding"],
    ),
    ("incomplete", C.INCOMPLETE, rules.ExamKind.SCREENING, ["additional-imaging-needed"]),
    ("pb-on-screening", C.PROBABLY_BENIGN, rules.ExamKind.SCREENING, ["category-needs-review"]),
    ("pb-on-diagnostic", C.PROBABLY_BENIGN, rules.ExamKind.DIAGNOSTIC, []),
    ("pb-kind-unknown", C.PROBABLY_BENIGN, None, []),
    ("benign-on-screening", C.BENIGN, rules.ExamKind.SCREENING, []),
    ("negative", C.NEGATIVE, rules.ExamKind.SCREENING, []),
]


@pytest.mark.parametrize(
    ("category", "kind", "expected"),
    [c[1:] for c in CATEGORY_FLAGS],
    ids=[c[0] for c in CATEGORY_FLAGS],
)
def test_category_flags(category, kind, expected):
    made = plan(
        exam("2020-01-15", category, S.LEFT, kind=kind),
        exam("2024-01-15", category, S.LEFT, kind=kind),
    )
    assert codes(made.flags) == expected


def test_biopsy_message_suggests_a_second_opinion():
    message = flag(plan(exam("2024-01-15", C.SUSPICIOUS, S.LEFT)), "biopsy-recommended").message
    assert "biopsy" in message and "second opinion" in message and "right" in message


def test_additional_imaging_message_says_what_to_book():
    message = flag(plan(exam("2024-01-15", C.INCOMPLETE)), "additional-imaging-needed").message
    assert "additional imaging" in message and "30 days" in message


def test_needs_review_message_asks_the_radiologist():
    made = plan(exam("2024-01-15", C.PROBABLY_BENIGN, S.LEFT, kind=rules.ExamKind.SCREENING))
    assert made.action == "short-interval-follow-up"  # accepted, only flagged
    message = flag(made, "category-needs-review").message
    assert "screening" in message and "radiologist" in message


INCREASE = [
    # previous, latest, increased?  (order of §1, not the BI-RADS number)
    # Revised §6: only a more urgent *action* is an increase.
    ("negative-to-benign", C.NEGATIVE, C.BENIGN, False),  # both routine screening
    ("benign-to-pb", C.BENIGN, C.PROBABLY_BENIGN, True),
    ("pb-to-incomplete", C.PROBABLY_BENIGN, C.INCOMPLETE, True),
    ("incomplete-to-suspicious", C.INCOMPLETE, C.SUSPICIOUS, True),
    ("suspicious-to-highly", C.SUSPICIOUS, C.HIGHLY_SUSPICIOUS, False),  # both biopsy
    ("benign-to-highly", C.BENIGN, C.HIGHLY_SUSPICIOUS, True),
    ("same", C.PROBABLY_BENIGN, C.PROBABLY_BENIGN, False),
    ("pb-to-benign", C.PROBABLY_BENIGN, C.BENIGN, False),
    ("incomplete-to-pb", C.INCOMPLETE, C.PROBABLY_BENIGN, False),  # 0 -> 3 is not an increase
    ("highly-to-suspicious", C.HIGHLY_SUSPICIOUS, C.SUSPICIOUS, False),
]


@pytest.mark.parametrize(
    ("previous", "latest", "increased"), [c[1:] for c in INCREASE], ids=[c[0] for c in INCREASE]
)
def test_category_increased(previous, latest, increased):
    made = plan(
        exam("2019-01-15", C.NEGATIVE),
        exam("2023-06-15", previous, S.LEFT),
        exam("2024-01-15", latest, S.LEFT),
    )
    assert ("category-increased" in codes(made.flags)) is increased
    if increased:
        message = flag(made, "category-increased").message
        assert "2023-06-15" in message and "2024-01-15" in message
        assert "radiologist" in message


def test_category_increased_compares_with_the_previous_exam_only():
    # Revised §6: negative -> benign is no increase; negative -> probably benign is.
    made = plan(
        exam("2019-01-15", C.SUSPICIOUS, S.LEFT),
        exam("2022-01-15", C.NEGATIVE),
        exam("2024-01-15", C.PROBABLY_BENIGN),
    )
    assert "category-increased" in codes(made.flags)
    made = plan(
        exam("2019-01-15", C.NEGATIVE),
        exam("2022-01-15", C.SUSPICIOUS, S.LEFT),
        exam("2024-01-15", C.BENIGN),
    )
    assert "category-increased" not in codes(made.flags)


def test_stable_message_says_a_radiologist_may_downgrade():
    history = [
        exam(day, C.PROBABLY_BENIGN, S.LEFT)
        for day in ("2021-01-10", "2021-07-10", "2022-01-10", "2023-01-10")
    ]
    message = flag(plan(*history), "stable-probably-benign").message
    assert "2021-01-10" in message and "downgrade" in message and "benign" in message


def test_every_message_says_what_to_do_and_flags_come_in_spec_order():
    history = [
        exam("2023-06-01", C.BENIGN, facility=EAST),
        exam("2024-01-15", C.SUSPICIOUS, S.LEFT, facility=NORTH, kind=rules.ExamKind.SCREENING),
    ]
    assessed = rules.assess(history, [], POLICY, d("2024-09-01"))
    assert codes(assessed.flags) == [
        "short-comparison-history",
        "facility-switch",
        "overdue",
        "lost-to-follow-up",
        "biopsy-recommended",
        "category-increased",
    ]
    verbs = re.compile(r"\b(bring|request|book|contact|ask|make sure|record|send)\b")
    for found in assessed.flags:
        assert verbs.search(found.message), found
        assert found.message.endswith("."), found
