"""One synthetic patient's clinical course, for :mod:`followup.synthetic`: screening every
~12 months and the follow-up each result calls for, breast by breast.

Rates are BCSC-like (clinical-rules.md §8, §10): about 10.5% of screens recalled (mostly
``incomplete``, some ``incomplete-priors``); the diagnostic work-up of a recall images the
recalled breast alone more often than not and finds it negative or benign, probably benign
(followed on the 6/6/12-month protocol, the first follow-up of that breast only, with some late
or lost), or suspicious (4A/4B/4C) or highly suspicious. Most suspicious findings are
biopsied within a few weeks; malignancy follows the subdivision (about 5% of 4A, 25% of 4B,
70% of 4C, 95% of BI-RADS 5, so about 5 cancers per 1,000 screens and a PPV3 near 30%); the
rest are mostly benign and concordant (6-month follow-up of that breast), some high-risk or
discordant (a repeat biopsy). A few negative or benign screens miss a cancer that shows
within the year (an interval cancer: a lump, a diagnostic exam, a malignant biopsy), so that
the audit's sensitivity is near the BCSC's 86.9% rather than a perfect 100%. A few
recommendations are never acted on, some biopsies wait for their result, some have a
post-procedure mammogram. Each patient has a breast density (BCSC: 10% a, 43% b, 39% c, 8% d)
recorded on most exams, and each facility a few radiologists who read its exams.

Pure: a ``random.Random`` in, plain rules values out; nothing after ``as_of``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar

from followup import rules

C = rules.Category
L = rules.Laterality
K = rules.ExamKind
R = rules.BiopsyResult

SIDES = (L.LEFT, L.RIGHT)
# Screening outcomes per 1,000 screens: recall ~10.5%, a little under BCSC's 11.6%, which lies
# so near the acceptable 12% (and its specificity near the 88% floor) that a demo's few thousand
# screens would cross the bound one year in seven.
SCREENING_MIX = (
    (C.NEGATIVE, 700),
    (C.BENIGN, 196),
    (C.INCOMPLETE, 82),
    (C.INCOMPLETE_PRIORS, 12),
    (C.PROBABLY_BENIGN, 6),
    (C.SUSPICIOUS, 3),
    (C.HIGHLY_SUSPICIOUS, 1),
)
# The diagnostic work-up of a recall.
WORKUP_MIX = (
    (C.NEGATIVE, 260),
    (C.BENIGN, 385),
    (C.PROBABLY_BENIGN, 222),
    (C.SUSPICIOUS, 115),
    (C.HIGHLY_SUSPICIOUS, 18),
)
SUBDIVISION_MIX = ((rules.Subdivision.A, 65), (rules.Subdivision.B, 23), (rules.Subdivision.C, 12))
MALIGNANT = {
    rules.Subdivision.A: 0.05,
    rules.Subdivision.B: 0.25,
    rules.Subdivision.C: 0.70,
    None: 0.95,  # highly suspicious (and a plain 4, which this programme does not record)
}
# Per negative or benign screen: a cancer found within the year. BCSC: sensitivity 86.9% at
# about 5 screen-detected cancers per 1,000 screens, so about 0.8 interval cancers per 1,000
# screens; the course's own late finds (a positive next screen within 365 days) give some.
INTERVAL_CANCER = 0.0005
DENSITY_MIX = (
    (rules.Density.A, 10),
    (rules.Density.B, 43),
    (rules.Density.C, 39),
    (rules.Density.D, 8),
)
MORPHOLOGY = {
    C.BENIGN: ("coarse", "vascular", "round", "rim", "milk of calcium"),
    C.PROBABLY_BENIGN: ("punctate", "round"),
    C.SUSPICIOUS: ("amorphous", "coarse heterogeneous", "fine pleomorphic"),
    C.HIGHLY_SUSPICIOUS: ("fine linear branching", "fine pleomorphic"),
}
DISTRIBUTION = ("grouped", "regional", "diffuse", "linear", "segmental")
PATHOLOGY = {
    "benign": ("fibroadenoma", "fibrocystic change", "benign breast tissue", "calcified cyst"),
    "high-risk": ("ADH", "ALH", "LCIS", "radial scar", "papilloma with atypia"),
    "malignant": ("DCIS", "invasive ductal carcinoma", "invasive lobular carcinoma"),
}


T = TypeVar("T")


def _pick(rng: random.Random, mix: tuple[tuple[T, int], ...]) -> T:
    values, weights = zip(*mix, strict=True)
    return rng.choices(values, weights)[0]


@dataclass(frozen=True)
class Places:
    """Where a programme's exams are done: the facilities, how someone types a name, and
    each facility's radiologists."""

    facilities: tuple[str, ...]
    spell: Callable[[random.Random, str], str]
    readers: Callable[[str], tuple[str, ...]]


@dataclass
class Course:
    """A patient's records as they are made, in date order."""

    rng: random.Random
    as_of: date
    places: Places
    facility: str
    density: rules.Density
    exams: list[rules.Exam] = field(default_factory=list)
    transfers: list[rules.FilmTransfer] = field(default_factory=list)
    biopsies: list[rules.Biopsy] = field(default_factory=list)

    # -- records -------------------------------------------------------------------------

    def exam(
        self,
        day: date,
        category: rules.Category,
        kind: rules.ExamKind,
        side: rules.Laterality | None = None,
        imaged: rules.Imaged = rules.Imaged.BOTH,
    ) -> rules.Exam:
        rng = self.rng
        morphology = rng.choice(MORPHOLOGY[category]) if category in MORPHOLOGY else None
        subdivision = _pick(rng, SUBDIVISION_MIX) if category is C.SUSPICIOUS else None
        finding = rules.Finding(
            category,
            side if imaged is rules.Imaged.BOTH else None,  # a one-breast exam: its breast
            morphology,
            rng.choice(DISTRIBUTION) if morphology else None,
            subdivision=subdivision,
        )
        reader = rng.choice(self.places.readers(self.facility)) if rng.random() < 0.92 else None
        exam = rules.Exam(
            day,
            self.places.spell(rng, self.facility),
            (finding,),
            kind,
            imaged=imaged,
            density=self.density if rng.random() < 0.95 else None,
            radiologist=reader,
        )
        self.exams.append(exam)
        return exam

    def biopsy(
        self, day: date, side: rules.Laterality, result: str, concordant: bool | None
    ) -> None:
        pathology = self.rng.choice(PATHOLOGY[result]) if result in PATHOLOGY else None
        self.biopsies.append(
            rules.Biopsy(day, side, R(result), concordant, self.facility, pathology)
        )

    # -- the course ----------------------------------------------------------------------

    def run(self, start: date) -> None:
        day: date | None = start
        while day is not None and day <= self.as_of:
            day = self.screening(day)
            if day is not None and self.rng.random() < 0.06:
                self.switch(day)

    def switch(self, day: date) -> None:
        """She goes elsewhere; half the time the old facility sends its films, dated."""
        previous, self.facility = self.facility, self.rng.choice(self.places.facilities)
        if previous != self.facility and self.rng.random() < 0.5 and self.exams:
            last = self.exams[-1].date
            sent = min(day, self.as_of) - timedelta(days=self.rng.randint(1, 20))
            self.transfers.append(rules.FilmTransfer(previous, self.facility, max(sent, last)))

    def screening(self, day: date) -> date | None:
        """A screening exam; the day of the next one (None: she does not come back)."""
        category = _pick(self.rng, SCREENING_MIX)
        side = self.rng.choice(SIDES) if category is not C.NEGATIVE else None
        exam = self.exam(day, category, K.SCREENING, side)
        if category in (C.INCOMPLETE, C.INCOMPLETE_PRIORS):
            return self.workup(day + timedelta(days=self.rng.randint(7, 40)), side, day)
        if category in (C.NEGATIVE, C.BENIGN) and self.rng.random() < INTERVAL_CANCER:
            self.interval_cancer(day)
            return None  # treatment, not screening
        return self.after(exam, side, day)

    def interval_cancer(self, screen: date) -> None:
        """A cancer the screen missed, found within its year: a diagnostic exam of a lump,
        highly suspicious, then a malignant biopsy (she goes on to treatment)."""
        rng = self.rng
        day = screen + timedelta(days=rng.randint(60, 330))
        if day > self.as_of:
            return
        side = rng.choice(SIDES)
        self.exam(day, C.HIGHLY_SUSPICIOUS, K.DIAGNOSTIC, side)
        biopsy = day + timedelta(days=rng.randint(5, 25))
        if biopsy <= self.as_of:
            self.biopsied(biopsy, side, malignant=True, repeat=False)

    def after(self, exam: rules.Exam, side: rules.Laterality | None, screen: date) -> date | None:
        """What an assessment calls for; the day of her next screening."""
        category = exam.findings[0].category
        if category is C.PROBABLY_BENIGN:
            return self.probably_benign(exam.date, side)
        if category in (C.SUSPICIOUS, C.HIGHLY_SUSPICIOUS):
            return self.suspicious(exam, side or L.LEFT)
        if self.rng.random() < 0.05:
            return None
        return screen + timedelta(days=self.rng.randint(330, 450))

    def workup(self, day: date, side: rules.Laterality | None, screen: date) -> date | None:
        """The diagnostic exam of a recall, often of the recalled breast alone."""
        if day > self.as_of:
            return None
        side = side or self.rng.choice(SIDES)
        imaged = rules.Imaged(side.value) if self.rng.random() < 0.6 else rules.Imaged.BOTH
        category = _pick(self.rng, WORKUP_MIX)
        exam = self.exam(day, category, K.DIAGNOSTIC, side, imaged)
        return self.after(exam, side, screen)

    def probably_benign(self, start: date, side: rules.Laterality | None) -> date | None:
        """The 6/6/12-month protocol: the first follow-up of that breast alone, then both;
        some late, some lost, most stable and downgraded to benign in the end."""
        side = side or self.rng.choice(SIDES)
        rng, day, steps = self.rng, start, 1
        while True:
            if rng.random() < 0.2:
                return None  # lost to follow-up
            day += timedelta(days=(182 if steps < 3 else 365) + rng.choice((0, 0, 0, 10, 45, 120)))
            if day > self.as_of:
                return None
            imaged = rules.Imaged(side.value) if steps == 1 else rules.Imaged.BOTH
            if rng.random() < 0.03:
                exam = self.exam(day, C.SUSPICIOUS, K.DIAGNOSTIC, side, imaged)
                return self.suspicious(exam, side)
            stays = rng.random() < 0.8 and steps < 4
            category = C.PROBABLY_BENIGN if stays else C.BENIGN
            self.exam(day, category, K.DIAGNOSTIC, side, imaged)
            steps += 1
            if not stays:
                return day + timedelta(days=rng.randint(330, 400))

    def suspicious(self, exam: rules.Exam, side: rules.Laterality) -> date | None:
        """A biopsy recommendation: mostly a biopsy within weeks, sometimes never."""
        rng = self.rng
        if rng.random() < 0.08:  # never acted on: she is lost, or screened again next year
            return None if rng.random() < 0.5 else exam.date + timedelta(days=rng.randint(330, 420))
        day = exam.date + timedelta(days=rng.randint(5, 25))
        if day > self.as_of:
            return None
        malignant = rng.random() < MALIGNANT[exam.findings[0].subdivision]
        return self.biopsied(day, side, malignant, repeat=False)

    def biopsied(
        self, day: date, side: rules.Laterality, malignant: bool, repeat: bool
    ) -> date | None:
        """A biopsy and what follows its result (clinical-rules.md §4)."""
        rng = self.rng
        if rng.random() < 0.4:  # a post-procedure mammogram for the marker clip
            self.exam(day, C.POST_PROCEDURE, K.DIAGNOSTIC, side, rules.Imaged(side.value))
        if day + timedelta(days=10) > self.as_of or rng.random() < 0.01:
            self.biopsy(day, side, "pending", None)  # the result is not on record yet
            return None
        if malignant:
            self.biopsy(day, side, "malignant", None)
            follow = day + timedelta(days=rng.randint(14, 40))
            if follow <= self.as_of:
                self.exam(follow, C.KNOWN_MALIGNANCY, K.DIAGNOSTIC, side)
            return None
        odd = rng.random()
        if not repeat and odd < 0.16:  # high-risk or discordant: a repeat (excision) biopsy
            result, concordant = ("high-risk", None) if odd < 0.1 else ("benign", False)
            self.biopsy(day, side, result, concordant)
            again = day + timedelta(days=rng.randint(20, 60))
            if again > self.as_of:
                return None
            return self.biopsied(again, side, rng.random() < 0.2, repeat=True)
        self.biopsy(day, side, "benign", True)
        if rng.random() < 0.15:
            return None
        follow = day + timedelta(days=rng.randint(170, 200))  # 6 months, that breast
        if follow > self.as_of:
            return None
        self.exam(follow, C.BENIGN, K.DIAGNOSTIC, side, rules.Imaged(side.value))
        return follow + timedelta(days=rng.randint(330, 400))


def history(rng: random.Random, as_of: date, places: Places) -> Course:
    """One patient's course from a first screening 200 days to 8 years before ``as_of``."""
    start = as_of - timedelta(days=rng.randint(200, 8 * 365))
    course = Course(rng, as_of, places, rng.choice(places.facilities), _pick(rng, DENSITY_MIX))
    course.run(start)
    return course
