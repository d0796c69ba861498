"""The other enumerated inputs: sides, exam kinds, what an exam imaged, breast density, biopsy
results (clinical-rules.md §1, §2, §4). Each has a parser that accepts what people type and
says what is valid, and a tuple of canonical values (the store's CHECK constraints)."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from followup.rules.categories import fold


class Laterality(StrEnum):
    """Which breast a finding or a follow-up concerns."""

    LEFT = "left"
    RIGHT = "right"
    BILATERAL = "bilateral"


class ExamKind(StrEnum):
    """Why the mammogram was done; BI-RADS 3 belongs to diagnostic work-ups."""

    SCREENING = "screening"
    DIAGNOSTIC = "diagnostic"


class Imaged(StrEnum):
    """Which breasts an exam imaged (§2): both unless recorded as unilateral."""

    BOTH = "both"
    LEFT = "left"
    RIGHT = "right"


class Density(StrEnum):
    """Breast density (§1): ``a`` almost entirely fatty ... ``d`` extremely dense."""

    A = "a"
    B = "b"
    C = "c"
    D = "d"

    @property
    def dense(self) -> bool:
        """``c`` and ``d`` are "dense" (the lay summary's density statement, §7)."""
        return self in (Density.C, Density.D)


class BiopsyResult(StrEnum):
    """A biopsy's pathology result (§4 table)."""

    PENDING = "pending"
    BENIGN = "benign"
    HIGH_RISK = "high-risk"
    MALIGNANT = "malignant"


SIDES = tuple(s.value for s in Laterality)
BIOPSY_SIDES = (Laterality.LEFT.value, Laterality.RIGHT.value)
KINDS = tuple(k.value for k in ExamKind)
IMAGED = tuple(i.value for i in Imaged)
DENSITIES = tuple(d.value for d in Density)
BIOPSY_RESULTS = tuple(r.value for r in BiopsyResult)

_SIDE_ALIASES = {
    "l": Laterality.LEFT,
    "r": Laterality.RIGHT,
    "b": Laterality.BILATERAL,
    "both": Laterality.BILATERAL,
}
_IMAGED_ALIASES = {
    "l": Imaged.LEFT,
    "r": Imaged.RIGHT,
    "b": Imaged.BOTH,
    "bilateral": Imaged.BOTH,
}
_RESULT_ALIASES = {
    "highrisk": BiopsyResult.HIGH_RISK,
    "high-risk-lesion": BiopsyResult.HIGH_RISK,
    "malignancy": BiopsyResult.MALIGNANT,
    "cancer": BiopsyResult.MALIGNANT,
}
_DENSITY_ALIASES = {
    # the ACR BI-RADS 4th edition's numbers (CBIS-DDSM's "breast density" column)
    "1": Density.A,
    "2": Density.B,
    "3": Density.C,
    "4": Density.D,
    "fatty": Density.A,
    "almost-entirely-fatty": Density.A,
    "scattered": Density.B,
    "scattered-fibroglandular": Density.B,
    "heterogeneously-dense": Density.C,
    "extremely-dense": Density.D,
}

E = TypeVar("E", bound=StrEnum)


def _parse(text: str, enum: type[E], aliases: dict[str, E], what: str) -> E:
    folded = fold(text)
    try:
        return aliases.get(folded) or enum(folded)
    except ValueError:
        raise ValueError(
            f"unknown {what} {text!r}; use one of {', '.join(e.value for e in enum)}"
        ) from None


def parse_laterality(text: str) -> Laterality:
    """Read ``left``/``right``/``bilateral`` (or L/R/B, ``both``), case-insensitive."""
    return _parse(text, Laterality, _SIDE_ALIASES, "side")


def parse_kind(text: str) -> ExamKind:
    """Read ``screening`` or ``diagnostic``, case-insensitive."""
    return _parse(text, ExamKind, {}, "exam kind")


def parse_imaged(text: str) -> Imaged:
    """Read ``both``/``left``/``right`` (or B/L/R, ``bilateral``), case-insensitive."""
    return _parse(text, Imaged, _IMAGED_ALIASES, "imaged side")


def parse_density(text: str) -> Density:
    """Read a density letter ``a``-``d`` (or its words, e.g. ``extremely dense``, or the 4th
    edition's numbers 1-4)."""
    return _parse(text, Density, _DENSITY_ALIASES, "breast density")


def parse_biopsy_result(text: str) -> BiopsyResult:
    """Read ``pending``/``benign``/``high-risk``/``malignant``, case-insensitive."""
    return _parse(text, BiopsyResult, _RESULT_ALIASES, "biopsy result")


def parse_biopsy_side(text: str) -> Laterality:
    """A biopsy is of one breast (§4): ``left`` or ``right`` (L/R)."""
    side = _parse(text, Laterality, _SIDE_ALIASES, "biopsy side")
    if side is Laterality.BILATERAL:
        raise ValueError(
            f"a biopsy is of one breast, not {text!r}; use left or right "
            "(record a biopsy of each breast separately)"
        )
    return side
