"""The facts the rules read and the plan they produce: plain frozen values, no database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache, partial
from typing import NamedTuple

from followup.rules.categories import WORRY_OF, Category, Subdivision
from followup.rules.vocabulary import BiopsyResult, Density, ExamKind, Imaged, Laterality

_Date = date  # the type, for Exam.__init__, whose parameter ``date`` hides it

# The two breasts, in the order every per-breast tuple uses (index 0 is the left breast).
BREASTS = (Laterality.LEFT, Laterality.RIGHT)
# Members as plain names for the hot paths (an enum class attribute is slow on Python 3.11).
_LEFT, _BILATERAL, _BOTH = Laterality.LEFT, Laterality.BILATERAL, Imaged.BOTH
_POST_PROCEDURE = Category.POST_PROCEDURE
UNASSESSED: tuple[None, None] = (None, None)  # the one value for "assessed neither breast"
_UNASSESSED = UNASSESSED


@lru_cache(maxsize=4096)  # a programme has a few hundred facilities, named millions of times
def facility_key(name: str) -> str:
    """Facilities match case- and whitespace-insensitively: "Northside  imaging" is one place."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class Finding:
    """One assessed finding of an exam; descriptors never change the plan by themselves.

    ``subdivision`` is the BI-RADS 4 subdivision (4A/4B/4C) of a suspicious finding, kept as
    given (§1); validation refuses it on any other category."""

    category: Category
    laterality: Laterality | None = None
    morphology: str | None = None
    distribution: str | None = None
    size_class: str | None = None
    subdivision: Subdivision | None = None

    @property
    def worry(self) -> int:
        """Rank for "most worrisome" (§1), 4A < 4B < 4C within suspicious."""
        if self.subdivision is None:
            return WORRY_OF[self.category]
        return WORRY_OF[self.category] + self.subdivision.worry

    @property
    def birads(self) -> str | None:
        """The BI-RADS text for output: "0".."6", or "4A"/"4B"/"4C"; None for post-procedure."""
        if self.subdivision is not None:
            return self.subdivision.value
        number = self.category.birads
        return None if number is None else str(number)

    @property
    def label(self) -> str:
        """The category in words, with the subdivision: "suspicious (BI-RADS 4B)"."""
        if self.subdivision is None:
            return self.category.label
        return f"{self.category.label} (BI-RADS {self.subdivision.value})"

    def as_dict(self) -> dict[str, str | None]:
        """Canonical names, as every output (status JSON, FHIR import checks) shows a finding."""
        return {
            "category": self.category.value,
            "laterality": self.laterality.value if self.laterality else None,
            "morphology": self.morphology,
            "distribution": self.distribution,
            "size_class": self.size_class,
        }


# §2: a breast imaged by an exam without any finding that applies to it was negative on it.
IMPLICIT_NEGATIVE = (
    Finding(Category.NEGATIVE, Laterality.LEFT),
    Finding(Category.NEGATIVE, Laterality.RIGHT),
)
_NEGATIVE_LEFT, _NEGATIVE_RIGHT = IMPLICIT_NEGATIVE


@dataclass(frozen=True, init=False)
class Exam:
    """A mammogram as the rules see it. ``id`` is only carried through into reasons.

    ``imaged`` says which breasts it imaged (both unless told); ``density`` and
    ``radiologist`` are shown and audited, and never change the plan (§1)."""

    date: date
    facility: str
    findings: tuple[Finding, ...]
    kind: ExamKind | None = None
    follow_up_months: int | None = None
    id: int | None = None
    imaged: Imaged = Imaged.BOTH
    density: Density | None = None
    radiologist: str | None = None

    # Derived once at creation: the engine reads them many times per plan, and plans are
    # computed for every patient of a programme in bulk loads and recomputes.
    facility_key: str = field(init=False, repr=False, compare=False)
    governing: Finding | None = field(init=False, repr=False, compare=False)
    # What the exam says about each breast (left, right): the most worrisome finding that
    # applies to it, IMPLICIT_NEGATIVE when it imaged the breast without one, None when it
    # did not assess the breast (not imaged, or only a post-procedure finding applies).
    assessed: tuple[Finding | None, Finding | None] = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        date: _Date,
        facility: str,
        findings: tuple[Finding, ...],
        kind: ExamKind | None = None,
        follow_up_months: int | None = None,
        id: int | None = None,
        imaged: Imaged = Imaged.BOTH,
        density: Density | None = None,
        radiologist: str | None = None,
    ) -> None:
        # One dict update instead of the frozen dataclass's object.__setattr__ per field:
        # a third of the cost of planning a bulk load was building these. Fields left at their
        # default are not stored: the class attribute answers for them.
        governing: Finding | None
        if len(findings) == 1 and imaged is _BOTH:  # nearly every exam
            governing = findings[0]
            # Kept on the finding once worked out: findings are shared (bulk loads build each
            # distinct one once), and this is a pure function of the finding.
            assessed = governing.__dict__.get("_both_breasts")
            if assessed is None:
                assessed = _one_finding_both_breasts(governing)
                governing.__dict__["_both_breasts"] = assessed
        else:
            governing = _most_worrisome(findings)
            assessed = _per_breast(findings, imaged)
        values = self.__dict__
        values.update(
            date=date,
            facility=facility,
            findings=findings,
            kind=kind,
            id=id,
            facility_key=facility_key(facility),
            governing=governing,
            assessed=assessed,
        )
        # Kept small (at most 10 entries, one hash table size): millions are alive in a load.
        if follow_up_months is not None:
            values["follow_up_months"] = follow_up_months
        if imaged is not _BOTH:
            values["imaged"] = imaged
        if density is not None:
            values["density"] = density
        if radiologist is not None:
            values["radiologist"] = radiologist

    @property
    def assesses(self) -> bool:
        """Whether the exam assessed either breast (not a post-procedure exam alone)."""
        return self.assessed is not _UNASSESSED


def applies_to(finding: Finding, breast: Laterality, imaged: Imaged) -> bool:
    """§2: a finding with a side applies to that breast; without one, or ``bilateral``, to
    every breast the exam imaged. A finding on a breast not imaged applies to nothing (input
    validation refuses it)."""
    if imaged is not _BOTH and imaged != breast:
        return False
    side = finding.laterality
    return side is None or side is _BILATERAL or side is breast


def _one_finding_both_breasts(only: Finding) -> tuple[Finding | None, Finding | None]:
    """:func:`_per_breast` for one finding on an exam of both breasts (nearly every exam)."""
    side = only.laterality
    if only.category is _POST_PROCEDURE:
        return _UNASSESSED
    if side is None or side is _BILATERAL:
        return (only, only)
    if side is _LEFT:
        return (only, _NEGATIVE_RIGHT)
    return (_NEGATIVE_LEFT, only)


def _per_breast(
    findings: tuple[Finding, ...], imaged: Imaged
) -> tuple[Finding | None, Finding | None]:
    """The finding that governs each breast on this exam (§2; post-procedure never governs)."""
    procedure = any(f.category is _POST_PROCEDURE for f in findings)
    if procedure and all(f.category is _POST_PROCEDURE for f in findings):
        return _UNASSESSED
    best: list[Finding | None] = [None, None]
    for index, breast in enumerate(BREASTS):
        if imaged is not _BOTH and imaged != breast:
            continue
        for finding in findings:
            if finding.category is _POST_PROCEDURE:
                continue
            current = best[index]
            if applies_to(finding, breast, imaged) and (
                current is None or finding.worry > current.worry
            ):
                best[index] = finding
        if best[index] is None and not procedure:
            best[index] = IMPLICIT_NEGATIVE[index]
    if best[0] is None and best[1] is None:
        return _UNASSESSED
    return (best[0], best[1])


def _most_worrisome(findings: tuple[Finding, ...]) -> Finding | None:
    """The finding that governs the exam as a whole (§1 order, not the BI-RADS number), for
    display and for ordering same-day exams.

    When the most worrisome category is found on both sides (or on two sides in two findings),
    it is taken as bilateral. None for no findings (an invalid exam, refused by validation).
    """
    if len(findings) <= 1:
        return findings[0] if findings else None
    top = max(f.worry for f in findings)
    worst = [f for f in findings if f.worry == top]
    sides = {f.laterality for f in worst if f.laterality is not None}
    if len(sides) > 1:
        return Finding(worst[0].category, Laterality.BILATERAL, subdivision=worst[0].subdivision)
    return next((f for f in worst if f.laterality is not None), worst[0])


@dataclass(frozen=True)
class FilmTransfer:
    """The films of ``from_facility`` are now on hand at ``to_facility`` (§6).

    ``date`` is the day of the transfer: it moves the films of the source's exams dated on or
    before it (and what the source had on hand by then from earlier transfers). None means all
    the source's films, whenever made, at whatever time: transfers recorded before they were
    dated."""

    from_facility: str
    to_facility: str
    date: date | None = None

    @property
    def from_key(self) -> str:
        return facility_key(self.from_facility)

    @property
    def to_key(self) -> str:
        return facility_key(self.to_facility)


@dataclass(frozen=True)
class Biopsy:
    """A biopsy of one breast and its pathology result (§4).

    ``concordant`` is the radiology-pathology correlation: required (True/False) for a benign
    result, meaningless (None) while pending. ``facility`` and ``pathology`` (e.g.
    "fibroadenoma", "ADH") are optional and only carried into messages."""

    date: date
    side: Laterality
    result: BiopsyResult
    concordant: bool | None = None
    facility: str | None = None
    pathology: str | None = None
    id: int | None = None


@dataclass(frozen=True, init=False)
class Flag:
    """A stable ``code`` for machines and a message that tells a person what to do, in two
    voices (§6): ``message`` speaks to staff (reports; it is what the store keeps) and
    ``patient_message`` to the patient herself (status, letters, e-mail)."""

    code: str
    message: str
    patient_message: str | None = None

    def __init__(self, code: str, message: str, patient_message: str | None = None) -> None:
        self.__dict__.update(code=code, message=message, patient_message=patient_message)

    @property
    def for_patient(self) -> str:
        """The patient's voice, or the staff's where a flag was built without one (stored)."""
        return self.patient_message or self.message


class BreastPlan(NamedTuple):
    """One breast's course and its next step (§2), counted from its latest exam or biopsy.

    ``side`` is the breast; ``laterality`` the side the step concerns (``bilateral`` for
    routine screening and the 2nd+ probably-benign steps). ``category``/``subdivision`` and
    ``exam_*`` are those of the exam the step counts from (for an open biopsy recommendation,
    the exam that opened it; else the breast's latest exam); ``biopsy_id``/``biopsy_date`` the
    biopsy behind the step, if one is; ``biopsy_open`` whether a biopsy recommendation is open.
    A named tuple: two are built for every patient planned, millions in a bulk load.
    """

    side: Laterality
    action: str | None
    due: date | None
    laterality: Laterality | None
    reason: str
    category: Category | None = None
    subdivision: Subdivision | None = None
    exam_id: int | None = None
    exam_date: date | None = None
    facility: str | None = None
    episode_start: date | None = None
    episode_step: int | None = None
    biopsy_open: bool = False
    biopsy_id: int | None = None
    biopsy_date: date | None = None

    @property
    def birads(self) -> str | None:
        """The assessment's BI-RADS text ("3", "4B"), None when there is none."""
        if self.subdivision is not None:
            return self.subdivision.value
        number = self.category.birads if self.category is not None else None
        return None if number is None else str(number)


# Builds a BreastPlan from a tuple of all its fields, in order, without the named tuple's
# Python-level __new__ (two are made for every patient planned; a quarter of the time).
make_breast_plan: Callable[[tuple[object, ...]], BreastPlan] = partial(tuple.__new__, BreastPlan)


@dataclass(frozen=True, init=False)
class Plan:
    """The next step for one patient, independent of the as-of date (so it can be stored).

    ``action`` ... ``episode_step`` describe the patient's next step: the breast plan due first
    (on the same day the more urgent, §2); ``subdivision`` and ``biopsy_id`` complete it.
    ``also`` holds the other breast's plan when it differs; ``breasts`` every breast's plan
    (left first; a breast nothing was recorded about has none).
    ``flags`` holds only the flags that do not depend on the date the plan is read;
    ``overdue`` and ``lost-to-follow-up`` come from :func:`followup.rules.engine.dated_flags`.
    """

    action: str | None
    due: date | None
    laterality: Laterality | None
    reason: str
    flags: tuple[Flag, ...] = ()
    exam_id: int | None = None
    exam_date: date | None = None
    facility: str | None = None
    category: Category | None = None
    episode_start: date | None = None
    episode_step: int | None = None
    also: tuple[BreastPlan, ...] = ()
    breasts: tuple[BreastPlan, ...] = ()
    subdivision: Subdivision | None = None
    biopsy_id: int | None = None

    def __init__(
        self,
        action: str | None,
        due: date | None,
        laterality: Laterality | None,
        reason: str,
        flags: tuple[Flag, ...] = (),
        exam_id: int | None = None,
        exam_date: date | None = None,
        facility: str | None = None,
        category: Category | None = None,
        episode_start: date | None = None,
        episode_step: int | None = None,
        also: tuple[BreastPlan, ...] = (),
        breasts: tuple[BreastPlan, ...] = (),
        subdivision: Subdivision | None = None,
        biopsy_id: int | None = None,
    ) -> None:
        # As for Exam: one dict update, not object.__setattr__ per field (a plan per patient),
        # and fields at their default left to the class attribute (a smaller dict).
        values = self.__dict__
        values.update(
            action=action,
            due=due,
            laterality=laterality,
            reason=reason,
            exam_id=exam_id,
            exam_date=exam_date,
            facility=facility,
            category=category,
            breasts=breasts,
        )
        if flags:
            values["flags"] = flags
        if episode_step is not None or episode_start is not None:
            values["episode_start"] = episode_start
            values["episode_step"] = episode_step
        if also:
            values["also"] = also
        if subdivision is not None:
            values["subdivision"] = subdivision
        if biopsy_id is not None:
            values["biopsy_id"] = biopsy_id

    def breast(self, side: Laterality) -> BreastPlan | None:
        """The plan of the ``left`` or ``right`` breast, None when it has no course yet."""
        return next((b for b in self.breasts if b.side is side), None)


@dataclass(frozen=True)
class Assessment:
    """A plan read on a given day: the plan plus every flag in force that day."""

    plan: Plan
    as_of: date
    flags: tuple[Flag, ...] = field(default=())
