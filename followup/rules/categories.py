"""Assessment categories, sides and exam kinds (clinical-rules.md §1).

Input is forgiving (names, BI-RADS numbers, common spellings); output is always canonical.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Category(StrEnum):
    """BI-RADS assessment category, by canonical name."""

    INCOMPLETE = "incomplete"
    NEGATIVE = "negative"
    BENIGN = "benign"
    PROBABLY_BENIGN = "probably-benign"
    SUSPICIOUS = "suspicious"
    HIGHLY_SUSPICIOUS = "highly-suspicious"
    KNOWN_MALIGNANCY = "known-malignancy"

    @property
    def birads(self) -> int:
        return _BIRADS[self]

    @property
    def action(self) -> str:
        """The action code of clinical-rules.md §1."""
        return _ACTION[self]

    @property
    def worry(self) -> int:
        """Rank for "most worrisome": not the BI-RADS number (incomplete outranks 3)."""
        return _WORRY[self]


_BIRADS = {
    Category.INCOMPLETE: 0,
    Category.NEGATIVE: 1,
    Category.BENIGN: 2,
    Category.PROBABLY_BENIGN: 3,
    Category.SUSPICIOUS: 4,
    Category.HIGHLY_SUSPICIOUS: 5,
    Category.KNOWN_MALIGNANCY: 6,
}

_ACTION = {
    Category.INCOMPLETE: "additional-imaging",
    Category.NEGATIVE: "routine-screening",
    Category.BENIGN: "routine-screening",
    Category.PROBABLY_BENIGN: "short-interval-follow-up",
    Category.SUSPICIOUS: "biopsy",
    Category.HIGHLY_SUSPICIOUS: "biopsy",
    Category.KNOWN_MALIGNANCY: "treatment",
}

# negative < benign < probably-benign < incomplete < suspicious < highly-suspicious;
# known-malignancy takes the patient out of tracking, so it outranks everything.
_WORRY = {
    Category.NEGATIVE: 0,
    Category.BENIGN: 1,
    Category.PROBABLY_BENIGN: 2,
    Category.INCOMPLETE: 3,
    Category.SUSPICIOUS: 4,
    Category.HIGHLY_SUSPICIOUS: 5,
    Category.KNOWN_MALIGNANCY: 6,
}

_ALIASES: dict[str, Category] = {
    "0": Category.INCOMPLETE,
    "1": Category.NEGATIVE,
    "2": Category.BENIGN,
    "3": Category.PROBABLY_BENIGN,
    "4": Category.SUSPICIOUS,
    "4a": Category.SUSPICIOUS,
    "4b": Category.SUSPICIOUS,
    "4c": Category.SUSPICIOUS,
    "5": Category.HIGHLY_SUSPICIOUS,
    "6": Category.KNOWN_MALIGNANCY,
    "malignant": Category.KNOWN_MALIGNANCY,
    "malignancy": Category.KNOWN_MALIGNANCY,
    "known-malignant": Category.KNOWN_MALIGNANCY,
    "normal": Category.NEGATIVE,
}
_ALIASES.update({c.value: c for c in Category})

_BIRADS_PREFIX = re.compile(r"^(?:bi-?rads|birads)-?(?=\w)")


def _fold(text: str) -> str:
    """Lower-case and turn any run of spaces, underscores or hyphens into one hyphen."""
    return re.sub(r"[\s_\-]+", "-", text.strip().lower())


def parse_category(text: str) -> Category:
    """Read a category as people write it: ``probably benign``, ``BI-RADS 3``, ``4b``.

    Raises ValueError whose message lists the valid names.
    """
    folded = _BIRADS_PREFIX.sub("", _fold(text))
    try:
        return _ALIASES[folded]
    except KeyError:
        raise ValueError(
            f"unknown category {text!r}; use one of {', '.join(c.value for c in Category)}"
            " or a BI-RADS number 0-6 (4A/4B/4C accepted)"
        ) from None


class Laterality(StrEnum):
    """Which breast a finding or a follow-up concerns."""

    LEFT = "left"
    RIGHT = "right"
    BILATERAL = "bilateral"


_SIDE_ALIASES = {
    "l": Laterality.LEFT,
    "r": Laterality.RIGHT,
    "b": Laterality.BILATERAL,
    "both": Laterality.BILATERAL,
}


def parse_laterality(text: str) -> Laterality:
    """Read ``left``/``right``/``bilateral`` (or L/R/B, ``both``), case-insensitive."""
    folded = _fold(text)
    try:
        return _SIDE_ALIASES.get(folded) or Laterality(folded)
    except ValueError:
        raise ValueError(
            f"unknown side {text!r}; use one of {', '.join(s.value for s in Laterality)}"
        ) from None


class ExamKind(StrEnum):
    """Why the mammogram was done; BI-RADS 3 belongs to diagnostic work-ups."""

    SCREENING = "screening"
    DIAGNOSTIC = "diagnostic"


def parse_kind(text: str) -> ExamKind:
    """Read ``screening`` or ``diagnostic``, case-insensitive."""
    try:
        return ExamKind(_fold(text))
    except ValueError:
        raise ValueError(
            f"unknown exam kind {text!r}; use one of {', '.join(k.value for k in ExamKind)}"
        ) from None
