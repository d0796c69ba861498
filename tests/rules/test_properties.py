"""Properties over random, realistic histories (1990-2026), checked against the spec itself.

``spec_plan`` below is an independent reading of clinical-rules.md §1-§6 (revised: each
breast's own course, biopsies, dated transfers), written without looking at the engine's
structure: it recomputes each breast from its list of records instead of walking a state, and
the films on hand by recursion over transfers. The engine must agree with it on every history.
Histories have distinct exam dates and distinct biopsy dates (same-day records are covered by
examples, and by the order property at the end, which draws colliding dates on purpose).
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from followup import rules
from tests.rules.builders import POLICY, C, I, K, R, S, exam, plan

PROPERTY = settings(max_examples=200, deadline=None)

FACILITIES = ["Northside Imaging", "northside  imaging", "Eastside Clinic", "Westgate Hospital"]
SUB = rules.Subdivision
# §1 order, with the BI-RADS 4 subdivision: (category, subdivision) from least worrisome.
ORDER = [
    (C.NEGATIVE, None),
    (C.BENIGN, None),
    (C.PROBABLY_BENIGN, None),
    (C.INCOMPLETE_PRIORS, None),
    (C.INCOMPLETE, None),
    (C.SUSPICIOUS, None),
    (C.SUSPICIOUS, SUB.B),
    (C.SUSPICIOUS, SUB.C),
    (C.HIGHLY_SUSPICIOUS, None),
    (C.KNOWN_MALIGNANCY, None),
]
ACTION = {
    C.INCOMPLETE: "additional-imaging",
    C.INCOMPLETE_PRIORS: "prior-films",
    C.NEGATIVE: "routine-screening",
    C.BENIGN: "routine-screening",
    C.PROBABLY_BENIGN: "short-interval-follow-up",
    C.SUSPICIOUS: "biopsy",
    C.HIGHLY_SUSPICIOUS: "biopsy",
    C.KNOWN_MALIGNANCY: "treatment",
}
URGENCY = [  # §2, most urgent first
    "treatment",
    "surgical-consultation",
    "biopsy",
    "pathology-result",
    "additional-imaging",
    "prior-films",
    "short-interval-follow-up",
    "routine-screening",
]
BREASTS = (S.LEFT, S.RIGHT)
# Probably benign is weighted up so that long episodes occur; malignancy is rare.
CATEGORIES = [
    C.NEGATIVE,
    C.BENIGN,
    C.BENIGN,
    C.PROBABLY_BENIGN,
    C.PROBABLY_BENIGN,
    C.PROBABLY_BENIGN,
    C.INCOMPLETE,
    C.INCOMPLETE_PRIORS,
    C.SUSPICIOUS,
    C.HIGHLY_SUSPICIOUS,
    C.KNOWN_MALIGNANCY,
    C.POST_PROCEDURE,
]


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def worry(finding: rules.Finding) -> int:
    if finding.category is C.POST_PROCEDURE:
        return -1
    sub = finding.subdivision if finding.subdivision is not SUB.A else None
    return ORDER.index((finding.category, sub))


@st.composite
def findings_for(draw: st.DrawFn, imaged: rules.Imaged) -> tuple[rules.Finding, ...]:
    """One or two findings, on breasts the exam imaged (anything else is refused as input)."""
    sides = [None, S.LEFT, S.RIGHT, S.BILATERAL] if imaged is I.BOTH else [None, S(imaged.value)]
    found = []
    for _ in range(draw(st.integers(1, 2))):
        category = draw(st.sampled_from(CATEGORIES))
        sub = draw(st.sampled_from([None, *SUB])) if category is C.SUSPICIOUS else None
        found.append(rules.Finding(category, draw(st.sampled_from(sides)), subdivision=sub))
    return tuple(found)


@st.composite
def exams(
    draw: st.DrawFn,
    start: date = date(1990, 1, 1),
    end: date = date(2026, 12, 31),
    imaged: list[rules.Imaged] | None = None,
) -> rules.Exam:
    side = draw(st.sampled_from(imaged or [I.BOTH, I.BOTH, I.BOTH, I.LEFT, I.RIGHT]))
    return rules.Exam(
        draw(st.dates(start, end)),
        draw(st.sampled_from(FACILITIES)),
        draw(findings_for(side)),
        draw(st.sampled_from([None, *K])),
        draw(st.one_of(st.none(), st.none(), st.integers(1, 36))),
        draw(st.one_of(st.none(), st.integers(1, 10_000))),
        imaged=side,
    )


random_histories = st.lists(exams(), min_size=1, max_size=8, unique_by=lambda e: e.date)
bilateral_histories = st.lists(
    exams(imaged=[I.BOTH]), min_size=1, max_size=8, unique_by=lambda e: e.date
)


@st.composite
def episode_histories(draw: st.DrawFn) -> list[rules.Exam]:
    """An older history (to 2018) followed by a run of probably-benign exams 2 to 16 months
    apart: random categories alone almost never make the 4+ exam episodes of §3."""
    history = draw(st.lists(exams(end=date(2018, 12, 31)), max_size=4, unique_by=lambda e: e.date))
    day = max((e.date for e in history), default=date(2010, 1, 1))
    for gap in draw(st.lists(st.integers(60, 480), min_size=1, max_size=6)):
        day += timedelta(days=gap)
        imaged = draw(st.sampled_from([I.BOTH, I.BOTH, I.LEFT, I.RIGHT]))
        side = None if imaged is I.BOTH else S(imaged.value)
        history.append(
            exam(
                day.isoformat(),
                C.PROBABLY_BENIGN,
                draw(st.sampled_from([side, S.LEFT] if imaged is I.BOTH else [side])),
                facility=draw(st.sampled_from(FACILITIES)),
                kind=draw(st.sampled_from([None, *K])),
                months=draw(st.one_of(st.none(), st.integers(3, 12))),
                imaged=imaged,
            )
        )
    return history


histories = st.one_of(random_histories, episode_histories())

RESULTS = [(R.PENDING, None), (R.BENIGN, True), (R.BENIGN, True), (R.BENIGN, False)]
RESULTS += [(R.HIGH_RISK, None), (R.MALIGNANT, None), (R.MALIGNANT, True)]


@st.composite
def biopsy_values(draw: st.DrawFn) -> rules.Biopsy:
    result, concordant = draw(st.sampled_from(RESULTS))
    return rules.Biopsy(
        draw(st.dates(date(1990, 1, 1), date(2026, 12, 31))),
        draw(st.sampled_from(BREASTS)),
        result,
        concordant,
        facility=draw(st.sampled_from([None, "Lakeside Breast Center"])),
        pathology=draw(st.sampled_from([None, "fibroadenoma", "ADH"])),
        id=draw(st.one_of(st.none(), st.integers(1, 500))),
    )


biopsy_lists = st.lists(biopsy_values(), max_size=3, unique_by=lambda b: b.date)
transfers = st.lists(
    st.builds(
        rules.FilmTransfer,
        st.sampled_from(FACILITIES),
        st.sampled_from(FACILITIES),
        st.one_of(st.none(), st.dates(date(1990, 1, 1), date(2026, 12, 31))),
    ),
    max_size=3,
)
as_of_dates = st.dates(date(1990, 1, 1), date(2030, 12, 31))


# --- the oracle ----------------------------------------------------------------------------


def applies(finding: rules.Finding, breast: rules.Laterality, imaged: rules.Imaged) -> bool:
    if imaged is not I.BOTH and imaged.value != breast.value:
        return False
    return finding.laterality in (None, S.BILATERAL, breast)


def assessment(e: rules.Exam, breast: rules.Laterality) -> rules.Finding | None:
    """§2 and §1: what the exam says about the breast; None if it says nothing about it."""
    if e.imaged is not I.BOTH and e.imaged.value != breast.value:
        return None
    real = [
        f for f in e.findings if f.category is not C.POST_PROCEDURE and applies(f, breast, e.imaged)
    ]
    if real:
        return max(real, key=worry)
    if any(f.category is C.POST_PROCEDURE for f in e.findings):
        return None
    return rules.Finding(C.NEGATIVE, breast)


def step(action, due, side, **facts):  # type: ignore[no-untyped-def]
    return {"action": action, "due": due, "side": side, **facts}


def breast_spec(history, biopsies, breast):  # type: ignore[no-untyped-def]
    """One breast's plan (§2-§4) and the facts its flags need."""
    seen = [(e.date, 0, e, assessment(e, breast)) for e in history]
    events = sorted(
        [s for s in seen if s[3] is not None]
        + [(b.date, 1, b, None) for b in biopsies if b.side is breast],
        key=lambda s: s[:2],
    )
    if not events:
        return None
    exams_ = [s for s in events if s[1] == 0]
    latest = exams_[-1] if exams_ else None
    biopsy = next((s[2] for s in reversed(events) if s[1] == 1), None)
    governs = events[-1][1] == 1
    # §4: the open recommendation is the first S/HS exam after the last closing-type event.
    closing = [
        i
        for i, (_, is_biopsy, e, f) in enumerate(events)
        if is_biopsy
        or f.category is C.KNOWN_MALIGNANCY
        or (e.kind is K.DIAGNOSTIC and worry(f) < ORDER.index((C.SUSPICIOUS, None)))
    ]
    after = events[closing[-1] + 1 :] if closing else events
    openers = [s for s in after if s[3].category in (C.SUSPICIOUS, C.HIGHLY_SUSPICIOUS)]
    opened = openers[0] if openers else None
    outstanding = None
    if opened is not None:
        later = [s for s in after[after.index(opened) + 1 :] if s[2].kind is not K.DIAGNOSTIC]
        outstanding = later[-1][2] if later else None
    # §3: the episode: probably-benign exams back from the latest, until anything else.
    episode = []
    for s in reversed(events):
        if s[1] == 1 or s[3].category is not C.PROBABLY_BENIGN:
            break
        episode.append(s[2])
    episode.reverse()

    finding = latest[3] if latest else None
    km = finding is not None and finding.category is C.KNOWN_MALIGNANCY
    if governs and not km:
        chosen = biopsy_step(biopsy, breast)
    else:
        chosen = exam_step(latest[2], finding, breast, len(episode))
    candidates = [chosen]
    if chosen["action"] != "treatment":
        if opened is not None:
            candidates.append(step("biopsy", opened[0] + timedelta(days=30), breast))
        if biopsy is not None and biopsy.result is R.PENDING and not governs:
            candidates.append(step("pathology-result", biopsy.date + timedelta(days=10), breast))
    best = min(candidates, key=lambda c: (URGENCY.index(c["action"]), c["due"] or date.min))
    best["episode"] = len(episode) or None
    best.update(
        finding=finding,
        latest=latest[2] if latest else None,
        before=_before(exams_),
        opened=opened[2] if opened else None,
        outstanding=outstanding,
        governing_biopsy=biopsy if governs else None,
        episode_exams=episode,
    )
    return best


def _before(exams_):  # type: ignore[no-untyped-def]
    """The latest assessment of an earlier day than the breast's latest (for increases)."""
    earlier = [s for s in exams_ if s[0] < exams_[-1][0]] if exams_ else []
    return earlier[-1][3] if earlier else None


def biopsy_step(b, breast):  # type: ignore[no-untyped-def]
    if b.result is R.PENDING:
        return step("pathology-result", b.date + timedelta(days=10), breast)
    if b.result is R.MALIGNANT:
        return step("treatment", None, None)  # no side to image
    if b.result is R.BENIGN and b.concordant:
        return step("short-interval-follow-up", rules.add_months(b.date, 6), breast)
    return step("surgical-consultation", b.date + timedelta(days=30), breast)


def exam_step(e, finding, breast, episode):  # type: ignore[no-untyped-def]
    category = finding.category
    action = ACTION[category]
    if category is C.KNOWN_MALIGNANCY:
        return step(action, None, None)
    if category is C.PROBABLY_BENIGN:
        months = (6, 6, 12)[episode - 1] if episode <= 3 else 12
        due, side = rules.add_months(e.date, months), breast if episode == 1 else S.BILATERAL
    elif category in (C.NEGATIVE, C.BENIGN):
        due, side = rules.add_months(e.date, 12), S.BILATERAL
    else:
        due, side = e.date + timedelta(days=30), breast
    if e.follow_up_months and action != "biopsy":
        top = max(worry(f) for f in e.findings)
        if any(worry(f) == top and applies(f, breast, e.imaged) for f in e.findings):
            due = rules.add_months(e.date, e.follow_up_months)
    return step(action, due, side)


def combine(plans):  # type: ignore[no-untyped-def]
    """§2: treatment; else due first, then the more urgent; same action same day: bilateral."""
    present = [p for p in plans if p is not None]
    if not present:
        return None, None, None, 0
    treated = [p for p in present if p["action"] == "treatment"]
    if treated:
        return "treatment", None, None, len(present) - len(treated)
    present.sort(
        key=lambda p: (
            p["due"],
            URGENCY.index(p["action"]),
            -worry(p["finding"] or rules.Finding(C.NEGATIVE)),
        )
    )
    first = present[0]
    if len(present) == 1:
        return first["action"], first["due"], first["side"], 0
    other = present[1]
    if (first["action"], first["due"]) == (other["action"], other["due"]):
        return first["action"], first["due"], S.BILATERAL, 0
    covered = first["side"] is S.BILATERAL and first["action"] == other["action"]
    return first["action"], first["due"], first["side"], 0 if covered else 1


def on_hand(history, moved, facility, until, seen=()):  # type: ignore[no-untyped-def]
    """§6 by recursion: the exams whose films are at ``facility`` by ``until`` (None: ever)."""
    if (facility, until) in seen:
        return set()
    seen = (*seen, (facility, until))
    here = {
        id(e)
        for e in history
        if _key(e.facility) == facility and (until is None or e.date <= until)
    }
    for t in moved:
        if _key(t.to_facility) == facility and (t.date is None or until is None or t.date <= until):
            here |= on_hand(history, moved, _key(t.from_facility), t.date, seen)
    return here


def spec_flags(history, moved, breasts):  # type: ignore[no-untyped-def]
    flags = set()
    assessed = [
        e for e in sorted(history, key=lambda e: e.date) if any(assessment(e, b) for b in BREASTS)
    ]
    if assessed:
        latest = assessed[-1]
        films = on_hand(history, moved, _key(latest.facility), None)
        earliest = min(e.date for e in history if id(e) in films)
        if rules.add_years(earliest, 3) > latest.date:
            flags.add("short-comparison-history")
        if len(assessed) > 1 and id(assessed[-2]) not in films:
            flags.add("facility-switch")
    for b in (p for p in breasts if p is not None):
        finding, biopsy = b["finding"], b["governing_biopsy"]
        if b["opened"] is not None:
            flags.add("biopsy-recommended")
            if b["outstanding"] is not None:
                flags.add("biopsy-outstanding")
        if biopsy is not None:
            if biopsy.result is R.HIGH_RISK:
                flags.add("high-risk-lesion")
            elif biopsy.result is R.BENIGN and not biopsy.concordant:
                flags.add("discordant-biopsy")
        elif finding is not None:
            if finding.category is C.INCOMPLETE:
                flags.add("additional-imaging-needed")
            if finding.category is C.INCOMPLETE_PRIORS:
                flags.add("prior-films-needed")
            episode = b["episode_exams"]
            if len(episode) >= 4 and rules.add_months(episode[0].date, 24) <= b["latest"].date:
                flags.add("stable-probably-benign")
            if finding.category is C.PROBABLY_BENIGN and b["latest"].kind is K.SCREENING:
                flags.add("category-needs-review")
        before = b["before"]
        if (
            finding is not None
            and before is not None
            and URGENCY.index(ACTION[finding.category]) < URGENCY.index(ACTION[before.category])
        ):
            flags.add("category-increased")
        for e in (b["latest"], b["opened"]):
            if e is not None and e.follow_up_months:
                top = max(e.findings, key=worry)
                if ACTION.get(top.category) in ("biopsy", "treatment"):
                    flags.add("interval-needs-review")
    return flags


def spec_plan(history, biopsies=(), moved=()):  # type: ignore[no-untyped-def]
    breasts = [breast_spec(history, biopsies, b) for b in BREASTS]
    return breasts, combine(breasts), spec_flags(history, moved, breasts)


# --- the engine agrees with the spec --------------------------------------------------------


@PROPERTY
@given(histories, biopsy_lists, transfers)
def test_plan_agrees_with_the_spec(history, done, moved):
    made = rules.make_plan(history, moved, POLICY, done)
    breasts, (action, due, side, also), flags = spec_plan(history, done, moved)
    for expected, breast in zip(breasts, BREASTS, strict=True):
        got = made.breast(breast)
        if expected is None:
            assert got is None
            continue
        assert (got.action, got.due, got.laterality) == (
            expected["action"],
            expected["due"],
            expected["side"],
        )
        if got.action == "short-interval-follow-up" and got.biopsy_id is None:
            assert got.episode_step == expected["episode"]
    assert (made.action, made.due, made.laterality, len(made.also)) == (action, due, side, also)
    assert {f.code for f in made.flags} == flags


@PROPERTY
@given(histories, transfers, as_of_dates, biopsy_lists)
def test_dated_flags_agree_with_the_spec(history, moved, as_of, done):
    assessed = rules.assess(history, moved, POLICY, as_of, done)
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
    for flags in (assessed.flags, assessed.plan.flags):  # §6 order, stored and read
        ranks = [rules.FLAG_CODES.index(f.code) for f in flags]
        assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
    for found in assessed.flags:  # two voices, each saying what to do
        assert found.message.endswith(".") and found.patient_message.endswith(".")
        assert found.patient_message != found.message


@PROPERTY
@given(histories, transfers, biopsy_lists)
def test_due_is_never_before_what_the_step_counts_from(history, moved, done):
    made = rules.make_plan(history, moved, POLICY, done)
    for b in made.breasts:
        if b.action == "treatment":
            assert b.due is None
        else:  # an open recommendation keeps its original due date: after its exam, still
            assert b.due is not None and b.due > (b.biopsy_date or b.exam_date)


@PROPERTY
@given(bilateral_histories, transfers, exams(imaged=[I.BOTH]))
def test_adding_an_older_exam_never_changes_the_action_of_the_latest(history, moved, older):
    # Revised §4: an older exam may now open a biopsy recommendation that later screening
    # exams do not close (suspicious), or close one (a diagnostic re-assessment, known
    # malignancy): the older exam here is one that does neither.
    newest = max(history, key=lambda e: e.date)
    answers = (C.SUSPICIOUS, C.HIGHLY_SUSPICIOUS, C.KNOWN_MALIGNANCY)
    if older.kind is K.DIAGNOSTIC or any(f.category in answers for f in older.findings):
        return
    if None in newest.assessed:  # a breast the latest exam says nothing about (post-procedure)
        return
    latest = newest.date
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


# --- the issue 13 properties ----------------------------------------------------------------


@PROPERTY
@given(histories, biopsy_lists, transfers, exams(imaged=[I.LEFT, I.RIGHT]))
def test_an_exam_of_one_breast_never_changes_the_other_breasts_plan(history, done, moved, one):
    other = S.RIGHT if one.imaged is I.LEFT else S.LEFT
    before = rules.make_plan(history, moved, POLICY, done).breast(other)
    after = rules.make_plan([*history, one], moved, POLICY, done).breast(other)
    assert after == before


@st.composite
def open_recommendations(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    """A history leaving a breast's biopsy recommendation open, that breast, its due date."""
    history = draw(histories)
    done = draw(biopsy_lists)
    breast = draw(st.sampled_from(BREASTS))
    day = max([e.date for e in history] + [b.date for b in done]) + timedelta(days=1)
    opener = exam(
        day.isoformat(),
        draw(st.sampled_from([C.SUSPICIOUS, C.HIGHLY_SUSPICIOUS])),
        draw(st.sampled_from([breast, None])),
        kind=draw(st.sampled_from([None, *K])),
    )
    return [*history, opener], done, breast, day + timedelta(days=30)


def not_closing(breast):  # type: ignore[no-untyped-def]
    """Later records that are none of §4's three: screening or unrecorded-kind exams of any
    finding but known malignancy, diagnostic exams still suspicious, exams and biopsies of
    the other breast, post-procedure exams."""
    other = S.RIGHT if breast is S.LEFT else S.LEFT
    below_km = [c for c in CATEGORIES if c is not C.KNOWN_MALIGNANCY]
    screening_exam = st.builds(
        lambda cat, kind: exam("2000-01-01", cat, None, kind=kind),
        st.sampled_from(below_km),
        st.sampled_from([K.SCREENING, None]),
    )
    still_suspicious = st.builds(
        lambda cat: exam("2000-01-01", cat, breast),
        st.sampled_from([C.SUSPICIOUS, C.HIGHLY_SUSPICIOUS]),
    )
    other_breast = st.builds(
        lambda cat, kind: exam("2000-01-01", cat, None, kind=kind, imaged=I(other.value)),
        st.sampled_from(CATEGORIES),
        st.sampled_from([None, *K]),
    )
    post_procedure = st.just(exam("2000-01-01", C.POST_PROCEDURE, breast))
    exams_ = st.one_of(screening_exam, still_suspicious, other_breast, post_procedure)
    other_biopsy = st.builds(
        lambda r: rules.Biopsy(date(2000, 1, 1), other, r[0], r[1]), st.sampled_from(RESULTS)
    )
    return st.one_of(exams_, other_biopsy)


def _later(record, day):  # type: ignore[no-untyped-def]
    if isinstance(record, rules.Biopsy):
        return rules.Biopsy(day, record.side, record.result, record.concordant)
    return rules.Exam(day, record.facility, record.findings, record.kind, imaged=record.imaged)


@PROPERTY
@given(open_recommendations(), st.data())
def test_an_open_recommendation_never_turns_less_urgent_until_answered(case, data):
    # Covers "a screening exam never closes an open biopsy recommendation" too: screening
    # exams of every category but known malignancy are among the later records.
    history, done, breast, due = case
    start = rules.make_plan(history, [], POLICY, done).breast(breast)
    assert (start.action, start.biopsy_open) == ("biopsy", True)
    assert start.due <= due  # this opener's, or an earlier one still open
    due = start.due
    later = data.draw(st.lists(not_closing(breast), min_size=1, max_size=4))
    day = max([e.date for e in history] + [b.date for b in done])
    for record in later:
        day += timedelta(days=data.draw(st.integers(1, 400)))
        record = _later(record, day)
        if isinstance(record, rules.Biopsy):
            done = [*done, record]
        else:
            history = [*history, record]
        now = rules.make_plan(history, [], POLICY, done)
        kept = now.breast(breast)
        assert (kept.action, kept.due, kept.biopsy_open) == ("biopsy", due, True), record
        assert "biopsy-recommended" in {f.code for f in now.flags}


@PROPERTY
@given(open_recommendations())
def test_a_screening_exam_never_closes_an_open_recommendation(case):
    history, done, breast, opener_due = case
    due = rules.make_plan(history, [], POLICY, done).breast(breast).due
    for category in CATEGORIES:
        if category is C.KNOWN_MALIGNANCY:  # §4.3 closes it (on to treatment)
            continue
        when = (opener_due + timedelta(days=40)).isoformat()  # after every other record
        later = exam(when, category, kind=K.SCREENING)
        made = rules.make_plan([*history, later], [], POLICY, done)
        kept = made.breast(breast)
        assert (kept.action, kept.due) == ("biopsy", due), category
        if category is not C.POST_PROCEDURE:
            assert "biopsy-outstanding" in {f.code for f in made.flags}


# --- the set of records decides, never their order ------------------------------------------

colliding = st.lists(exams(start=date(2024, 1, 1), end=date(2024, 1, 20)), min_size=1, max_size=6)
colliding_biopsies = st.lists(
    st.builds(
        lambda when, side, result, bid: rules.Biopsy(when, side, result[0], result[1], id=bid),
        st.dates(date(2024, 1, 1), date(2024, 1, 20)),
        st.sampled_from(BREASTS),
        st.sampled_from(RESULTS),
        st.one_of(st.none(), st.integers(1, 5)),
    ),
    max_size=4,
)


@PROPERTY
@given(
    st.one_of(histories, colliding),
    st.one_of(biopsy_lists, colliding_biopsies),
    transfers,
    st.randoms(use_true_random=False),
)
def test_order_of_entry_never_matters(history, done, moved, rnd: random.Random):
    expected = rules.make_plan(history, moved, POLICY, done)
    shuffled, moved_shuffled, done_shuffled = list(history), list(moved), list(done)
    rnd.shuffle(shuffled)
    rnd.shuffle(moved_shuffled)
    rnd.shuffle(done_shuffled)
    assert rules.make_plan(shuffled, moved_shuffled, POLICY, done_shuffled) == expected
    assert rules.make_plan(list(reversed(history)), moved, POLICY, done[::-1]) == expected


# --- same-day exams: the set decides, whatever the order --------------------------------


def test_same_day_exams_the_diagnostic_is_taken_whatever_the_order():
    screening = exam("2024-05-02", C.BENIGN, kind=rules.ExamKind.SCREENING)
    diagnostic = exam("2024-05-02", C.PROBABLY_BENIGN, S.LEFT)
    for order in ([screening, diagnostic], [diagnostic, screening]):
        made = plan(exam("2020-01-02", C.NEGATIVE), *order)
        assert made.action == "short-interval-follow-up" and made.laterality is S.LEFT


def test_same_day_same_category_exams_give_one_plan_whatever_the_order():
    first = exam("2024-01-01", C.PROBABLY_BENIGN, S.LEFT, months=4, exam_id=1)
    second = exam("2024-01-01", C.PROBABLY_BENIGN, S.RIGHT, exam_id=2)
    assert plan(first, second) == plan(second, first)
