"""clinical-rules.md §6: films on hand with dated transfers that chain, and the flags that
name where films are (short-comparison-history, facility-switch, prior-films-needed)."""

from __future__ import annotations

import pytest

from followup import rules
from tests.rules.builders import C, K, codes, d, exam, flag, plan

NORTH, EAST, WEST = "Northside Imaging", "Eastside Clinic", "Westgate Hospital"


def moved(source: str, target: str, when: str | None = None) -> rules.FilmTransfer:
    return rules.FilmTransfer(source, target, d(when) if when else None)


# East 2019-03-02 and 2021-06-01, then North 2024-09-09: 3+ years only with East's 2019 film.
HISTORY = [
    exam("2019-03-02", C.BENIGN, facility=EAST),
    exam("2021-06-01", C.BENIGN, facility=EAST),
    exam("2024-09-09", C.BENIGN, facility=NORTH),
]

DATED = [
    # id, transfers, short history?, facility switch?
    ("none", [], True, True),
    ("undated-moves-everything", [moved(EAST, NORTH)], False, False),
    ("dated-after-both", [moved(EAST, NORTH, "2024-09-01")], False, False),
    ("dated-on-the-last-film", [moved(EAST, NORTH, "2021-06-01")], False, False),
    # films made at East after the transfer were never sent: 2021-06-01 is missing
    ("dated-between", [moved(EAST, NORTH, "2020-01-01")], False, True),
    ("dated-before-all", [moved(EAST, NORTH, "2019-03-01")], True, True),
    ("other-way", [moved(NORTH, EAST, "2024-09-10")], True, True),
]


@pytest.mark.parametrize(
    ("transfers", "short", "switch"), [c[1:] for c in DATED], ids=[c[0] for c in DATED]
)
def test_a_dated_transfer_moves_the_films_made_up_to_its_date(transfers, short, switch):
    made = plan(*HISTORY, transfers=tuple(transfers))
    assert ("short-comparison-history" in codes(made.flags)) is short
    assert ("facility-switch" in codes(made.flags)) is switch


def test_films_made_after_the_transfer_are_named_as_elsewhere():
    made = plan(*HISTORY, transfers=(moved(EAST, NORTH, "2020-01-01"),))
    found = flag(made, "facility-switch")
    assert "2021-06-01" in found.message and "2019-03-02" not in found.message


CHAINS = [
    # West 2018 -> East (date) -> North (date): is West's 2018 film at North?
    ("chained-in-order", "2019-01-01", "2024-01-01", True),
    ("same-day", "2020-01-01", "2020-01-01", True),
    # sent on from East before West's films arrived there: not forwarded
    ("forwarded-before-arrival", "2022-01-01", "2021-01-01", False),
    ("undated-first-leg", None, "2021-01-01", True),
    ("undated-second-leg", "2019-01-01", None, True),
]


@pytest.mark.parametrize(
    ("first", "second", "at_north"), [c[1:] for c in CHAINS], ids=[c[0] for c in CHAINS]
)
def test_transfers_chain(first, second, at_north):
    history = [
        exam("2018-05-05", C.NEGATIVE, facility=WEST),
        exam("2023-05-05", C.NEGATIVE, facility=NORTH),  # 5 years after West's film
    ]
    legs = (moved(WEST, EAST, first), moved(EAST, NORTH, second))
    made = plan(*history, transfers=legs)
    assert ("short-comparison-history" in codes(made.flags)) is not at_north


def test_transfer_cycles_end():
    history = [exam("2018-05-05", C.NEGATIVE, facility=EAST), exam("2023-05-05", C.NEGATIVE)]
    legs = (moved(EAST, NORTH, "2019-01-01"), moved(NORTH, EAST, "2019-01-01"), moved(EAST, NORTH))
    assert "short-comparison-history" not in codes(plan(*history, transfers=legs).flags)


def test_short_history_messages_in_both_voices():
    made = plan(*HISTORY)
    found = flag(made, "short-comparison-history")
    assert EAST in found.message and "bring or request" in found.message
    assert f"ask {EAST} to send your films to {NORTH}" in found.patient_message
    switch = flag(made, "facility-switch")
    assert "request the films from Eastside Clinic" in switch.message
    assert f"ask {EAST} to send your films to {NORTH}" in switch.patient_message


# --- prior-films-needed -----------------------------------------------------------------


def test_prior_films_needed_names_where_earlier_films_are():
    made = plan(
        exam("2016-04-04", C.NEGATIVE, facility=WEST),
        exam("2019-03-02", C.BENIGN, facility=EAST),
        exam("2025-01-10", C.INCOMPLETE_PRIORS, kind=K.SCREENING, facility=NORTH),
    )
    found = flag(made, "prior-films-needed")
    for word in (WEST, "2016-04-04", EAST, "2019-03-02", NORTH, "30 days"):
        assert word in found.message and word in found.patient_message, word
    assert "request" in found.message and "films transfer" in found.message
    assert f"ask {WEST} and {EAST} to send your films to {NORTH}" in found.patient_message


def test_prior_films_needed_says_none_are_on_record():
    made = plan(exam("2025-01-10", C.INCOMPLETE_PRIORS, kind=K.SCREENING))
    found = flag(made, "prior-films-needed")
    assert "no earlier films are on record" in found.message
    assert "none are on record" in found.patient_message


def test_prior_films_needed_leaves_out_films_already_on_hand():
    made = plan(
        exam("2019-03-02", C.BENIGN, facility=EAST),
        exam("2025-01-10", C.INCOMPLETE_PRIORS, facility=NORTH),
        transfers=(moved(EAST, NORTH, "2024-12-01"),),
    )
    assert EAST not in flag(made, "prior-films-needed").message


def test_prior_films_needed_goes_once_the_breast_is_assessed_again():
    made = plan(
        exam("2025-01-10", C.INCOMPLETE_PRIORS), exam("2025-02-01", C.BENIGN, kind=K.DIAGNOSTIC)
    )
    assert "prior-films-needed" not in codes(made.flags)
