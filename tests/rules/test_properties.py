"""Properties over random, realistic histories (1990-2026), checked against the spec itself.

``spec_plan`` below is an independent reading of clinical-rules.md §1, §2 and §4, written
without looking at the engine's structure; the engine must agree with it on every history.
Histories have distinct exam dates (same-day exams are covered by examples in this file).
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from followup import rules
from tests.rules.builders import POLICY, C, S, exam, plan

PROPERTY = settings(max_examples=200, deadline=None)

FACILITIES = ["Northside Imaging", "northside  imaging", "Eastside Clinic", "Westgate Hospital"]
# §1: negative < benign < probably-benign < incomplete < suspicious < highly-suspicious,
# and known-malignancy above all (out of tracking).
ORDER = [
    C.NEGATIVE,
    C.BENIGN,
    C.PROBABLY_BENIGN,
    C.INCOMPLETE,
    C.SUSPICIOUS,
    C.HIGHLY_SUSPICIOUS,
    C.KNOWN_MALIGNANCY,
]
# Probably benign is weighted up so that long episodes occur; malignancy is rare.
CATEGORIES = [*ORDER[:-1], C.PROBABLY_BENIGN, C.PROBABLY_BENIGN, C.BENIGN, C.PROBABLY_BENIGN]
SIDES = [None, S.LEFT, S.RIGHT, S.BILATERAL]


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


findings = st.lists(
    st.builds(
        rules.Finding, st.sampled_from([*CATEGORIES, C.KNOWN_MALIGNANCY]), st.sampled_from(SIDES)
    ),
    min_size=1,
    max_size=2,
    unique_by=lambda f: f.category,
).map(tuple)

exams = st.builds(
    rules.Exam,
    date=st.dates(date(1990, 1, 1), date(2026, 12, 31)),
    facility=st.sampled_from(FACILITIES),
    findings=findings,
    kind=st.sampled_from([None, *rules.ExamKind]),
    follow_up_months=st.one_of(st.none(), st.none(), st.integers(1, 36)),
    id=st.one_of(st.none(), st.integers(1, 10_000)),
)
random_histories = st.lists(exams, min_size=1, max_size=8, unique_by=lambda e: e.date)


@st.composite
def episode_histories(draw: st.DrawFn) -> list[rules.Exam]:
    """An older history (to 2018) followed by a run of probably-benign exams 2 to 16 months
    apart: random categories alone almost never make the 4+ exam episodes of §2."""
    history = draw(
        st.lists(
            exams.filter(lambda e: e.date.year <= 2018), max_size=4, unique_by=lambda e: e.date
        )
    )
    day = max((e.date for e in history), default=date(2010, 1, 1))
    for gap in draw(st.lists(st.integers(60, 480), min_size=1, max_size=6)):
        day += timedelta(days=gap)
        side = draw(st.sampled_from(SIDES))
        history.append(
            exam(
                day.isoformat(),
                C.PROBABLY_BENIGN,
                side,
                facility=draw(st.sampled_from(FACILITIES)),
                kind=draw(st.sampled_from([None, *rules.ExamKind])),
                months=draw(st.one_of(st.none(), st.integers(3, 12))),
            )
        )
    return history


histories = st.one_of(random_histories, episode_histories())
# Transfers never chain (no facility both sends and receives): the spec does not say whether
# films received from A and later sent on from B to C are at C, so the oracle does not guess.
transfers = st.lists(
    st.builds(rules.FilmTransfer, st.sampled_from(FACILITIES), st.sampled_from(FACILITIES)),
    max_size=3,
).filter(lambda ts: not {t.from_key for t in ts} & {t.to_key for t in ts})
as_of_dates = st.dates(date(1990, 1, 1), date(2030, 12, 31))


def worst(exam_value: rules.Exam) -> rules.Finding:
    return max(exam_value.findings, key=lambda f: ORDER.index(f.category))


def spec_plan(history: list[rules.Exam], moved: list[rules.FilmTransfer]) -> dict:
    """What clinical-rules.md says the plan is (default policy)."""
    history = sorted(history, key=lambda e: e.date)
    latest, finding = history[-1], worst(history[-1])
    category = finding.category
    episode = 0
    while episode < len(history) and worst(history[-1 - episode]).category is C.PROBABLY_BENIGN:
        episode += 1
    due, side = None, None
    if category is C.PROBABLY_BENIGN:
        months = (6, 6, 12)[episode - 1] if episode <= 3 else 12
        side = finding.laterality if episode == 1 else S.BILATERAL
        due = rules.add_months(latest.date, months)
    elif category in (C.NEGATIVE, C.BENIGN):
        due, side = rules.add_months(latest.date, 12), S.BILATERAL
    elif category is not C.KNOWN_MALIGNANCY:
        due = latest.date + timedelta(days=30)
    if latest.follow_up_months and category is not C.KNOWN_MALIGNANCY:
        due = rules.add_months(latest.date, latest.follow_up_months)
    here = _key(latest.facility)
    on_hand = {here} | {_key(t.from_facility) for t in moved if _key(t.to_facility) == here}
    earliest = min(e.date for e in history if _key(e.facility) in on_hand)
    flags = set()
    if rules.add_years(earliest, 3) > latest.date:
        flags.add("short-comparison-history")
    if len(history) > 1:
        previous = history[-2]
        if _key(previous.facility) not in on_hand:
            flags.add("facility-switch")
        if ORDER.index(category) > ORDER.index(worst(previous).category):
            flags.add("category-increased")
    if category in (C.SUSPICIOUS, C.HIGHLY_SUSPICIOUS):
        flags.add("biopsy-recommended")
    if category is C.INCOMPLETE:
        flags.add("additional-imaging-needed")
    if episode >= 4 and rules.add_months(history[-episode].date, 24) <= latest.date:
        flags.add("stable-probably-benign")
    if category is C.PROBABLY_BENIGN and latest.kind is rules.ExamKind.SCREENING:
        flags.add("category-needs-review")
    return {
        "action": category.action,
        "due": due,
        "side": side,
        "category": category,
        "step": episode or None,
        "flags": flags,
    }


@PROPERTY
@given(histories, transfers)
def test_plan_agrees_with_the_spec(history, moved):
    made = rules.make_plan(history, moved, POLICY)
    expected = spec_plan(history, moved)
    assert made.action == expected["action"]
    assert made.category is expected["category"]
    assert made.due == expected["due"]
    if expected["side"] is not None or made.action == "short-interval-follow-up":
        assert made.laterality is expected["side"]
    assert made.episode_step == expected["step"]
    assert {f.code for f in made.flags} == expected["flags"]
    assert made.exam_date == max(e.date for e in history)


@PROPERTY
@given(histories, transfers, as_of_dates)
def test_dated_flags_agree_with_the_spec(history, moved, as_of):
    assessed = rules.assess(history, moved, POLICY, as_of)
    due = assessed.plan.due
    late = (as_of - due).days if due is not None else 0
    expected = set()
    if late > 0:
        expected.add("overdue")
    if late > 90:
        expected.add("lost-to-follow-up")
    dated = {f.code for f in assessed.flags} - {f.code for f in assessed.plan.flags}
    assert dated == expected
    assert rules.days_overdue(assessed.plan, as_of) == max(late, 0)
    ranks = [rules.FLAG_CODES.index(f.code) for f in assessed.flags]
    assert ranks == sorted(ranks)


@PROPERTY
@given(histories, transfers)
def test_due_is_never_before_the_latest_exam(history, moved):
    made = rules.make_plan(history, moved, POLICY)
    latest = max(e.date for e in history)
    if made.action == "treatment":
        assert made.due is None
    else:
        assert made.due is not None and made.due > latest


@PROPERTY
@given(histories, transfers, exams)
def test_adding_an_older_exam_never_changes_the_action_of_the_latest(history, moved, older):
    latest = max(e.date for e in history)
    if older.date >= latest:
        older = rules.Exam(
            latest - timedelta(days=1 + (latest - older.date).days % 3000),
            older.facility,
            older.findings,
            older.kind,
            older.follow_up_months,
        )
    before = rules.make_plan(history, moved, POLICY)
    after = rules.make_plan([*history, older], moved, POLICY)
    assert after.action == before.action
    assert (after.exam_date, after.category, after.exam_id) == (
        before.exam_date,
        before.category,
        before.exam_id,
    )
    if before.action != "short-interval-follow-up":  # only an episode step depends on the past
        assert (after.due, after.laterality) == (before.due, before.laterality)


@PROPERTY
@given(histories, transfers, st.randoms(use_true_random=False))
def test_order_of_entry_never_matters(history, moved, rnd: random.Random):
    expected = rules.make_plan(history, moved, POLICY)
    shuffled, moved_shuffled = list(history), list(moved)
    rnd.shuffle(shuffled)
    rnd.shuffle(moved_shuffled)
    assert rules.make_plan(shuffled, moved_shuffled, POLICY) == expected
    assert rules.make_plan(list(reversed(history)), moved, POLICY) == expected


# --- same-day exams: the set decides, whatever the order --------------------------------


def test_same_day_exams_the_most_worrisome_is_taken_whatever_the_order():
    screening = exam("2024-05-02", C.BENIGN, kind=rules.ExamKind.SCREENING)
    diagnostic = exam("2024-05-02", C.PROBABLY_BENIGN, S.LEFT)
    for order in ([screening, diagnostic], [diagnostic, screening]):
        made = plan(exam("2020-01-02", C.NEGATIVE), *order)
        assert made.action == "short-interval-follow-up" and made.laterality is S.LEFT


def test_same_day_same_category_exams_give_one_plan_whatever_the_order():
    first = exam("2024-01-01", C.PROBABLY_BENIGN, S.LEFT, months=4, exam_id=1)
    second = exam("2024-01-01", C.PROBABLY_BENIGN, S.RIGHT, exam_id=2)
    assert plan(first, second) == plan(second, first)
