"""The facts the rules read and the plan they produce: plain frozen values, no database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from followup.rules.categories import Category, ExamKind, Laterality


@lru_cache(maxsize=4096)  # a programme has a few hundred facilities, named millions of times
def facility_key(name: str) -> str:
    """Facilities match case- and whitespace-insensitively: "Northside  imaging" is one place."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class Finding:
    """One assessed finding of an exam; descriptors never change the plan by themselves."""

    category: Category
    laterality: Laterality | None = None
    morphology: str | None = None
    distribution: str | None = None
    size_class: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        """Canonical names, as every output (status JSON, FHIR import checks) shows a finding."""
        return {
            "category": self.category.value,
            "laterality": self.laterality.value if self.laterality else None,
            "morphology": self.morphology,
            "distribution": self.distribution,
            "size_class": self.size_class,
        }


@dataclass(frozen=True, init=False)
class Exam:
    """A mammogram as the rules see it. ``id`` is only carried through into reasons."""

    date: date
    facility: str
    findings: tuple[Finding, ...]
    kind: ExamKind | None = None
    follow_up_months: int | None = None
    id: int | None = None

    # Derived once at creation: the engine reads them many times per plan, and plans are
    # computed for every patient of a programme in bulk loads and recomputes.
    facility_key: str = field(init=False, repr=False, compare=False)
    governing: Finding | None = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        date: date,
        facility: str,
        findings: tuple[Finding, ...],
        kind: ExamKind | None = None,
        follow_up_months: int | None = None,
        id: int | None = None,
    ) -> None:
        # One dict update instead of the frozen dataclass's object.__setattr__ per field:
        # a third of the cost of planning a bulk load was building these.
        self.__dict__.update(
            date=date,
            facility=facility,
            findings=findings,
            kind=kind,
            follow_up_months=follow_up_months,
            id=id,
            facility_key=facility_key(facility),
            governing=_most_worrisome(findings),
        )


def _most_worrisome(findings: tuple[Finding, ...]) -> Finding | None:
    """The finding that governs (clinical-rules.md §1 order, not the BI-RADS number).

    When the most worrisome category is found on both sides (or on two sides in two findings),
    it is taken as bilateral: the follow-up must cover both breasts. None for no findings
    (an invalid exam, refused by validation).
    """
    if len(findings) <= 1:
        return findings[0] if findings else None
    top = max(f.category.worry for f in findings)
    worst = [f for f in findings if f.category.worry == top]
    sides = {f.laterality for f in worst if f.laterality is not None}
    if len(sides) > 1:
        return Finding(worst[0].category, Laterality.BILATERAL)
    return next((f for f in worst if f.laterality is not None), worst[0])


@dataclass(frozen=True)
class FilmTransfer:
    """The films of ``from_facility`` are now on hand at ``to_facility``."""

    from_facility: str
    to_facility: str

    @property
    def from_key(self) -> str:
        return facility_key(self.from_facility)

    @property
    def to_key(self) -> str:
        return facility_key(self.to_facility)


@dataclass(frozen=True)
class Flag:
    """A stable ``code`` for machines and a ``message`` that tells a person what to do."""

    code: str
    message: str


@dataclass(frozen=True)
class Plan:
    """The next step for one patient, independent of the as-of date (so it can be stored).

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


@dataclass(frozen=True)
class Assessment:
    """A plan read on a given day: the plan plus every flag in force that day."""

    plan: Plan
    as_of: date
    flags: tuple[Flag, ...] = field(default=())
