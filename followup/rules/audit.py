"""The outcomes audit (clinical-rules.md §8): recall rate, cancer detection, PPV1-3, sensitivity
and specificity of the exams of a period, for the programme, by facility or by radiologist.

Plain values in: one :class:`AuditPatient` per patient (her exams of the period, her biopsies
and known-malignancy dates from the period's start on), as an iterable the store can stream.
Counts out: each exam adds one to a cell keyed by what the audit needs to know of it (group,
kind, category, window open or not, cancer or not, biopsy state); the figures are worked out
from the few thousand cells at the end. So a programme of a million patients is one pass with
flat memory, and every figure is a count anyone can check by hand.

§8, as written, decides: a screening exam is positive when incomplete (either kind),
probably-benign, suspicious or highly-suspicious; a diagnostic exam when suspicious or highly
suspicious; a cancer is a malignant biopsy or a known-malignancy exam of the same patient within
``outcome_days`` (365) after the exam. Where §8 is silent, the ACR BI-RADS Atlas (5th ed.,
"Follow-up and outcome monitoring") and the BCSC definitions decide, as follows:

- *The window* runs from the exam's day (a same-day biopsy counts) to day ``outcome_days``
  after it, both included. Each exam is judged on its own window: a patient with two screens
  in the period has both counted, and one cancer can make both of them true or false
  (BCSC ends a screen's window at her next screen; §8 says 365 days, so we do not).
- *Open outcomes are never guessed.* An exam whose window has not ended by ``as_of`` (it is
  dated after ``as_of - outcome_days``) has no outcome yet: it is left out of every figure that
  needs one (cancers, TP, FN, FP, TN, cancer detection, PPV1-3, sensitivity, specificity), even
  when a cancer is already known, so that a figure never rests on the exams whose outcome came
  early. Such positives are counted as open (``open_positives``), and the screens whose window is
  open but already have a cancer are counted too (``cancers_in_open_windows``). So is an exam
  whose window has ended with a biopsy in it still ``pending`` and no cancer known: that result
  may yet be its cancer, so the exam is left out of the outcome figures as well and counted as
  awaiting it (``awaiting_biopsy_results``, screens and biopsy recommendations: the exams an
  outcome figure would read). Counts that need no outcome (exams, positives, recall rate,
  biopsies recommended and done) take every exam of the period. Events dated after ``as_of``
  are not known yet and are ignored.
- *Not audited:* ``post-procedure`` exams (marker placement, not an interpretation) and
  ``known-malignancy`` exams (BI-RADS 6 is left out of the audit by the ACR) are counted apart
  and enter no figure; a known-malignancy exam is still a cancer for the exams before it.
  Exams with no kind are counted apart (``exams_without_kind``) and are in neither the screening
  nor the diagnostic figures: which of the two they are is not ours to guess.
- *Screening figures:* cancers, TP, FN, FP, TN, cancer detection, PPV1, sensitivity and
  specificity are those of screening exams (the BCSC references are screening benchmarks):
  TP = positive with a cancer in the window, FN = negative with one, FP = positive without,
  TN = negative without; ``cancers`` = TP + FN (screens followed by a cancer, as BCSC counts).
- *Biopsy recommended* (PPV2) = an exam assessed suspicious or highly suspicious (BI-RADS 4 or
  5; 4A/4B/4C are all suspicious), of either kind or none: a recommendation is one whatever the
  exam's kind. PPV2 = those with a cancer in the window / those whose window has ended (less
  those awaiting a pending biopsy's result). One with no biopsy at all by then is not a cancer:
  §8's cancer is a malignant result within the window, and none came (ACR's FP2: no known
  tissue diagnosis of cancer within the year); it is still listed among the open outcomes
  (``open_biopsy_recommendations``) so that someone chases the biopsy.
- *Biopsy done after a recommendation* (PPV3) = a biopsy of the same patient dated in the
  recommending exam's window; a ``known-malignancy`` exam in the window counts as a malignant
  one (BI-RADS 6 means biopsy-proven). ``biopsies_done`` counts the recommendations with any
  biopsy, pending ones included; PPV3 rests on those whose window has ended and that have a
  result (benign, high-risk or malignant) and no biopsy still pending (a repeat biopsy after a
  discordant or high-risk result may still turn out malignant): a pending biopsy is an open
  outcome.
- *Open outcomes* (``open_outcomes``) = the exams that are a positive whose window has not
  ended, or a biopsy recommendation with no result on record (no biopsy result and no known
  malignancy in its window, or a biopsy still pending), or a screen awaiting a pending biopsy's
  result, each exam counted once.
- *Groups:* a radiologist's (or facility's) name is matched as facility names are, case and
  spacing aside ("Dr Ames" and "dr  AMES" are one radiologist, shown as first met); the exams
  whose radiologist is not recorded are a group of their own.
- A rate with no denominator is None. A figure is outside its range when its exact value is
  below the minimum or above the maximum of §8 (the bounds themselves are acceptable); PPV3 has
  no range in §8. A rate resting on fewer than :data:`MIN_EXAMS_TO_JUDGE` exams is "too few to
  judge" (and still marked when outside).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from fractions import Fraction
from typing import Any, NamedTuple

SCREENING = "screening"
DIAGNOSTIC = "diagnostic"
KINDS = (SCREENING, DIAGNOSTIC, None)
GROUPINGS = ("facility", "radiologist")
DEFAULT_OUTCOME_DAYS = 365
MIN_EXAMS_TO_JUDGE = 30
TOTAL = "all"

POSITIVE_SCREEN = frozenset(
    {"incomplete", "incomplete-priors", "probably-benign", "suspicious", "highly-suspicious"}
)
BIOPSY_RECOMMENDED = frozenset({"suspicious", "highly-suspicious"})
POST_PROCEDURE = "post-procedure"
KNOWN_MALIGNANCY = "known-malignancy"
CATEGORIES = frozenset({*POSITIVE_SCREEN, "negative", "benign", KNOWN_MALIGNANCY, POST_PROCEDURE})
BIOPSY_RESULTS = ("pending", "benign", "high-risk", "malignant")

# Biopsy state of an exam's window: none on record, done but pending, a result on record.
NO_BIOPSY, PENDING, RESULT = 0, 1, 2


class AuditExam(NamedTuple):
    """One exam of the period. ``category`` is the canonical name of its overall assessment
    (the most worrisome finding, clinical-rules.md §1); ``kind`` is screening, diagnostic or
    None; ``sides``, for an exam recommending a biopsy, the breasts its suspicious findings
    are in (``left``, ``right`` or ``both``; None: not known, any biopsy answers it). A
    NamedTuple, so a store can build it from a row in one call."""

    date: date
    kind: str | None
    category: str
    facility: str
    radiologist: str | None = None
    sides: str | None = None


class AuditBiopsy(NamedTuple):
    """A biopsy of the patient: its date, result (pending, benign, high-risk, malignant) and
    breast (None: not known). A biopsy answers a recommendation for its own breast only
    (§4): one of the other breast leaves the recommendation open. A malignant result is a
    cancer of every exam of hers in its window, whichever breast (§8: "of the same
    patient")."""

    date: date
    result: str
    side: str | None = None


class AuditPatient(NamedTuple):
    """What the audit reads of one patient: her exams (those outside the period are ignored,
    so a caller may pass more), and her biopsies and known-malignancy exam dates from the
    period's start on (those in the period included: they are the cancers of earlier exams).

    Each part is read once, in one pass, so ``exams`` may be an iterator (the group of an
    ``itertools.groupby`` over rows ordered by patient), and plain tuples do for all three:
    any tuple whose first six items are the fields of :class:`AuditExam` is an exam (a
    database row with the patient's key after them included).

    An exam is judged on its own window, so the exams of patients with neither biopsies nor
    malignancies may come together as one AuditPatient (the store hands over such rows a
    batch at a time), and one patient's exams may come in several parts, each with all of
    her biopsies and malignancies."""

    exams: Iterable[AuditExam]
    biopsies: Sequence[AuditBiopsy] = ()
    malignancies: Sequence[date] = ()


@dataclass(frozen=True, slots=True)
class Rate:
    """A rate and what it rests on; ``scale`` 1000 makes it "per 1,000"."""

    numerator: int
    denominator: int
    scale: int = 1

    @property
    def exact(self) -> Fraction | None:
        return (
            None
            if self.denominator == 0
            else Fraction(self.numerator * self.scale, self.denominator)
        )

    @property
    def value(self) -> float | None:
        """The rate as a number (a fraction of 1, or per 1,000), None without a denominator."""
        return None if self.denominator == 0 else self.numerator * self.scale / self.denominator


@dataclass(frozen=True, slots=True)
class Reference:
    """A figure's BCSC average and minimally acceptable range (§8), in the figure's own unit."""

    name: str
    label: str
    bcsc: float
    low: Fraction | None
    high: Fraction | None

    def outside(self, rate: Rate) -> bool:
        value = rate.exact
        if value is None:
            return False
        return (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        )


def _pct(value: int) -> Fraction:
    return Fraction(value, 100)


# In the order a radiologist reads them; the names are the JSON fields of cli.md.
REFERENCES: tuple[Reference, ...] = (
    Reference("recall_rate", "Recall rate", 0.116, _pct(5), _pct(12)),
    Reference("cancer_detection_per_1000", "Cancer detection rate", 5.1, Fraction(5, 2), None),
    Reference("ppv1", "PPV1", 0.044, _pct(3), _pct(8)),
    Reference("ppv2", "PPV2", 0.256, _pct(20), _pct(40)),
    Reference("ppv3", "PPV3", 0.286, None, None),
    Reference("sensitivity", "Sensitivity", 0.869, _pct(75), None),
    Reference("specificity", "Specificity", 0.889, _pct(88), _pct(95)),
)


@dataclass(frozen=True, slots=True)
class AuditFigures:
    """The counts of one group (a facility, a radiologist, or ``all``); rates derive from them.

    ``group`` is None for the exams whose radiologist is not recorded; ``total`` marks the
    figures over every exam of the period (group ``all``)."""

    group: str | None
    total: bool
    screening_exams: int = 0
    positive_screens: int = 0
    diagnostic_exams: int = 0
    positive_diagnostic_exams: int = 0
    exams_without_kind: int = 0
    post_procedure_exams: int = 0
    known_malignancy_exams: int = 0
    closed_screens: int = 0  # screens whose outcome is known: the outcome figures rest on them
    true_positives: int = 0
    false_negatives: int = 0
    false_positives: int = 0
    true_negatives: int = 0
    cancers_in_open_windows: int = 0
    biopsies_recommended: int = 0
    biopsies_done: int = 0
    closed_recommendations: int = 0
    closed_recommendation_cancers: int = 0
    closed_biopsy_results: int = 0
    closed_biopsy_cancers: int = 0
    open_positives: int = 0
    open_biopsy_recommendations: int = 0
    awaiting_biopsy_results: int = 0
    open_outcomes: int = 0

    @property
    def cancers(self) -> int:
        return self.true_positives + self.false_negatives

    def rates(self) -> dict[str, Rate]:
        """Every rate of §8 by its JSON name, in the order of :data:`REFERENCES`."""
        tp, fp, tn = self.true_positives, self.false_positives, self.true_negatives
        return {
            "recall_rate": Rate(self.positive_screens, self.screening_exams),
            "cancer_detection_per_1000": Rate(tp, self.closed_screens, 1000),
            "ppv1": Rate(tp, tp + fp),
            "ppv2": Rate(self.closed_recommendation_cancers, self.closed_recommendations),
            "ppv3": Rate(self.closed_biopsy_cancers, self.closed_biopsy_results),
            "sensitivity": Rate(tp, self.cancers),
            "specificity": Rate(tn, tn + fp),
        }

    def outside_range(self) -> tuple[str, ...]:
        """The names of the figures outside their acceptable range."""
        rates = self.rates()
        return tuple(ref.name for ref in REFERENCES if ref.outside(rates[ref.name]))

    def too_few_to_judge(self) -> tuple[str, ...]:
        """The rates resting on some, but fewer than :data:`MIN_EXAMS_TO_JUDGE`, exams."""
        return tuple(
            name for name, rate in self.rates().items() if 0 < rate.denominator < MIN_EXAMS_TO_JUDGE
        )


COUNT_FIELDS = tuple(f.name for f in fields(AuditFigures) if f.name not in ("group", "total"))


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The audit of the exams dated ``start`` to ``end`` (both included) as of ``as_of``:
    one :class:`AuditFigures` per group, sorted by name (no radiologist last), then the total;
    without grouping, the total alone."""

    start: date
    end: date
    as_of: date
    by: str | None
    outcome_days: int
    groups: tuple[AuditFigures, ...]

    @property
    def total(self) -> AuditFigures:
        return self.groups[-1]

    @property
    def outcomes_known_through(self) -> date:
        """Exams dated up to this day have their whole window behind them by ``as_of``."""
        return self.as_of - timedelta(days=self.outcome_days)

    def ungrouped(self) -> AuditReport:
        """The same audit without its groups: the total alone, which is the same whatever
        the grouping (a caller that drew the groups may still report the programme)."""
        return replace(self, by=None, groups=(self.total,))


# (group, kind, category, window open, cancer in window, biopsy state); the group is the
# exam's facility or radiologist (str | None), read by index for speed.
CellKey = tuple[Any, str | None, str, bool, bool, int]


def audit(
    patients: Iterable[AuditPatient],
    start: date,
    end: date,
    as_of: date,
    by: str | None = None,
    outcome_days: int = DEFAULT_OUTCOME_DAYS,
) -> AuditReport:
    """The outcomes audit of §8 over ``patients``, grouped ``by`` facility or radiologist.

    One pass over the stream; ValueError on a bad period, grouping or window, and on a kind,
    category or biopsy result this module does not know (naming it and the valid ones).
    """
    _check_arguments(start, end, by, outcome_days)
    window = timedelta(days=outcome_days)
    closed_until = as_of - window
    field = 4 if by == "radiologist" else 3  # index into AuditExam; the total ignores it
    cells: dict[CellKey, int] = {}
    get = cells.get
    for exams, biopsies, malignancies in patients:
        if biopsies or malignancies:
            _count_with_outcomes(
                cells, exams, biopsies, malignancies, start, end, as_of, window, field
            )
            continue
        for exam in exams:  # most patients: no biopsy, no cancer, a few operations per exam
            day = exam[0]
            if start <= day <= end:
                key = (exam[field], exam[1], exam[2], day > closed_until, False, NO_BIOPSY)
                cells[key] = get(key, 0) + 1
    _check_cells(cells)
    return AuditReport(start, end, as_of, by, outcome_days, _groups(cells, by))


def _check_arguments(start: date, end: date, by: str | None, outcome_days: int) -> None:
    if start > end:
        raise ValueError(f"the audit period starts ({start}) after it ends ({end})")
    if by is not None and by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}; use one of {', '.join(GROUPINGS)}")
    if isinstance(outcome_days, bool) or not isinstance(outcome_days, int) or outcome_days < 1:
        raise ValueError(f"outcome_days must be a positive whole number, not {outcome_days!r}")


def _count_with_outcomes(
    cells: dict[CellKey, int],
    exams: Iterable[AuditExam],
    biopsies: Sequence[AuditBiopsy],
    malignancies: Sequence[date],
    start: date,
    end: date,
    as_of: date,
    window: timedelta,
    field: int,
) -> None:
    """The exams of a patient with biopsies or cancers: each judged on its own window."""
    cancers = [day for day in malignancies if day <= as_of]
    done: list[tuple[date, bool, str | None]] = []  # (biopsy date, has a result, breast)
    for biopsy_day, result, side in biopsies:
        if result not in BIOPSY_RESULTS:
            raise ValueError(
                f"unknown biopsy result {result!r}; use one of {', '.join(BIOPSY_RESULTS)}"
            )
        if biopsy_day <= as_of:
            done.append((biopsy_day, result != "pending", side))
            if result == "malignant":
                cancers.append(biopsy_day)
    closed_until = as_of - window
    for exam in exams:
        day = exam[0]
        if not start <= day <= end:
            continue
        last = day + window
        cancer = any(day <= when <= last for when in cancers)
        sides = exam[5] if exam[2] in BIOPSY_RECOMMENDED else None
        state = RESULT if cancer else _biopsy_state(done, day, last, sides)
        key = (exam[field], exam[1], exam[2], day > closed_until, cancer, state)
        cells[key] = cells.get(key, 0) + 1


def _biopsy_state(
    done: list[tuple[date, bool, str | None]], first: date, last: date, sides: str | None
) -> int:
    """The biopsies of a window without a cancer, of the breasts the exam recommended one
    for (``sides``; None: any): one still pending keeps the outcome open, even beside a
    benign one (a repeat biopsy after a discordant result may be malignant)."""
    state = NO_BIOPSY
    for when, has_result, side in done:
        if first <= when <= last and _answers(side, sides):
            if not has_result:
                return PENDING
            state = RESULT
    return state


def _answers(side: str | None, sides: str | None) -> bool:
    """Whether a biopsy of ``side`` answers a recommendation for ``sides``."""
    return side is None or sides is None or sides == "both" or side == sides


def _check_cells(cells: dict[CellKey, int]) -> None:
    """Kinds and categories are checked once per distinct cell, not once per exam."""
    for _group, kind, category, *_ in cells:
        if kind not in KINDS:
            raise ValueError(f"unknown exam kind {kind!r}; use screening, diagnostic or None")
        if category not in CATEGORIES:
            raise ValueError(
                f"unknown category {category!r}; use one of {', '.join(sorted(CATEGORIES))}"
            )


def _groups(cells: dict[CellKey, int], by: str | None) -> tuple[AuditFigures, ...]:
    total = _figures(TOTAL, True, cells.items())
    if by is None:
        return (total,)
    by_group: dict[str | None, list[tuple[CellKey, int]]] = {}
    shown: dict[str | None, str | None] = {}  # a group's key: its name as first met
    for item in cells.items():
        name = item[0][0]
        key = None if name is None else " ".join(name.split()).casefold()
        shown.setdefault(key, name)
        by_group.setdefault(key, []).append(item)
    keys = sorted(by_group, key=lambda key: (key is None, key or ""))
    return (*(_figures(shown[key], False, by_group[key]) for key in keys), total)


def _figures(group: str | None, total: bool, items: Iterable[tuple[CellKey, int]]) -> AuditFigures:
    """Add up the cells of one group into the counts of §8 (the module docstring says how)."""
    c = dict.fromkeys(COUNT_FIELDS, 0)
    for (_group, kind, category, is_open, cancer, state), n in items:
        if category == POST_PROCEDURE:
            c["post_procedure_exams"] += n
            continue
        if category == KNOWN_MALIGNANCY:
            c["known_malignancy_exams"] += n
            continue
        recommends = category in BIOPSY_RECOMMENDED
        positive = recommends  # suspicious or worse is positive whatever the kind
        awaiting = not is_open and state == PENDING  # a pending result may be its cancer
        if kind == SCREENING:
            positive = category in POSITIVE_SCREEN
            _count_screen(c, n, positive, is_open, awaiting, cancer)
        elif kind == DIAGNOSTIC:
            c["diagnostic_exams"] += n
            c["positive_diagnostic_exams"] += n if positive else 0
        else:
            c["exams_without_kind"] += n
        if recommends:
            _count_recommendation(c, n, is_open or awaiting, cancer, state)
        awaiting = awaiting and (recommends or kind == SCREENING)  # what outcome figures read
        open_positive = positive and is_open
        open_recommendation = recommends and state != RESULT
        c["open_positives"] += n if open_positive else 0
        c["open_biopsy_recommendations"] += n if open_recommendation else 0
        c["awaiting_biopsy_results"] += n if awaiting else 0
        c["open_outcomes"] += n if open_positive or open_recommendation or awaiting else 0
    return AuditFigures(group, total, **c)


def _count_screen(
    c: dict[str, int], n: int, positive: bool, is_open: bool, awaiting: bool, cancer: bool
) -> None:
    c["screening_exams"] += n
    c["positive_screens"] += n if positive else 0
    if is_open:
        c["cancers_in_open_windows"] += n if cancer else 0
        return
    if awaiting:
        return
    c["closed_screens"] += n
    name = (
        ("true_positives" if cancer else "false_positives")
        if positive
        else ("false_negatives" if cancer else "true_negatives")
    )
    c[name] += n


def _count_recommendation(
    c: dict[str, int], n: int, unknown: bool, cancer: bool, state: int
) -> None:
    """``unknown``: its window has not ended, or a biopsy in it is still pending."""
    c["biopsies_recommended"] += n
    c["biopsies_done"] += n if state != NO_BIOPSY else 0
    if unknown:
        return
    c["closed_recommendations"] += n
    c["closed_recommendation_cancers"] += n if cancer else 0
    if state == RESULT:
        c["closed_biopsy_results"] += n
        c["closed_biopsy_cancers"] += n if cancer else 0
