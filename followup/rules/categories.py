"""Assessment categories, the BI-RADS 4 subdivision, the urgency of actions (clinical-rules.md
§1, §2).

Input is forgiving (names, BI-RADS numbers, common spellings); output is always canonical.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Category(StrEnum):
    """BI-RADS assessment category, by canonical name (§1 table)."""

    INCOMPLETE = "incomplete"
    INCOMPLETE_PRIORS = "incomplete-priors"
    NEGATIVE = "negative"
    BENIGN = "benign"
    PROBABLY_BENIGN = "probably-benign"
    SUSPICIOUS = "suspicious"
    HIGHLY_SUSPICIOUS = "highly-suspicious"
    KNOWN_MALIGNANCY = "known-malignancy"
    POST_PROCEDURE = "post-procedure"

    @property
    def birads(self) -> int | None:
        """The BI-RADS number 0-6; None for ``post-procedure``, which has none (a finding's
        :attr:`~followup.rules.Finding.birads` is the text, with 4A/4B/4C)."""
        return _BIRADS[self]

    @property
    def action(self) -> str | None:
        """The action code of §1; None for ``post-procedure``, which never governs."""
        return _ACTION[self]

    @property
    def worry(self) -> int:
        """Rank for "most worrisome" (§1 order), not the BI-RADS number: incomplete outranks 3.

        ``post-procedure`` ranks below everything: any assessed finding governs before it."""
        return _WORRY[self]

    @property
    def label(self) -> str:
        """The category in words, as reasons and messages say it ("probably benign")."""
        return LABEL_OF[self]


class Subdivision(StrEnum):
    """The BI-RADS 4 subdivision of a suspicious finding (§1, §10: likelihood of malignancy
    4A >2-10%, 4B >10-50%, 4C >50-<95%)."""

    A = "4A"
    B = "4B"
    C = "4C"

    @property
    def worry(self) -> int:
        """Within suspicious: plain 4 = 4A < 4B < 4C (§1)."""
        return _SUBDIVISION_WORRY[self]


_BIRADS: dict[Category, int | None] = {
    Category.INCOMPLETE: 0,
    Category.INCOMPLETE_PRIORS: 0,
    Category.NEGATIVE: 1,
    Category.BENIGN: 2,
    Category.PROBABLY_BENIGN: 3,
    Category.SUSPICIOUS: 4,
    Category.HIGHLY_SUSPICIOUS: 5,
    Category.KNOWN_MALIGNANCY: 6,
    Category.POST_PROCEDURE: None,
}

_ACTION: dict[Category, str | None] = {
    Category.INCOMPLETE: "additional-imaging",
    Category.INCOMPLETE_PRIORS: "prior-films",
    Category.NEGATIVE: "routine-screening",
    Category.BENIGN: "routine-screening",
    Category.PROBABLY_BENIGN: "short-interval-follow-up",
    Category.SUSPICIOUS: "biopsy",
    Category.HIGHLY_SUSPICIOUS: "biopsy",
    Category.KNOWN_MALIGNANCY: "treatment",
    Category.POST_PROCEDURE: None,
}

# §1: negative < benign < probably-benign < incomplete-priors < incomplete < suspicious
# < highly-suspicious; known-malignancy takes the patient out of tracking, so it outranks all.
# Spaced by 4 so that a finding's worry can add its BI-RADS 4 subdivision (0-2).
_WORRY = {
    Category.POST_PROCEDURE: -4,
    Category.NEGATIVE: 0,
    Category.BENIGN: 4,
    Category.PROBABLY_BENIGN: 8,
    Category.INCOMPLETE_PRIORS: 12,
    Category.INCOMPLETE: 16,
    Category.SUSPICIOUS: 20,
    Category.HIGHLY_SUSPICIOUS: 24,
    Category.KNOWN_MALIGNANCY: 28,
}
_SUBDIVISION_WORRY = {Subdivision.A: 0, Subdivision.B: 1, Subdivision.C: 2}

# §2: most urgent first. A higher number is more urgent.
URGENCY_ORDER = (
    "treatment",
    "surgical-consultation",
    "biopsy",
    "pathology-result",
    "additional-imaging",
    "prior-films",
    "short-interval-follow-up",
    "routine-screening",
)
URGENCY = {action: len(URGENCY_ORDER) - rank for rank, action in enumerate(URGENCY_ORDER)}

# The same facts as plain dicts, for the engine's hot paths: on Python 3.11 an enum property
# or class attribute costs several dict lookups (``Category.BENIGN`` ~10x a global name).
ACTION_OF = dict(_ACTION)
WORRY_OF = dict(_WORRY)
LABEL_OF = {c: c.value.replace("-", " ") for c in Category}
LABEL_OF[Category.INCOMPLETE_PRIORS] = "incomplete, needs prior mammograms"

# The canonical values, for the store's CHECK constraints and the command-line choices.
CATEGORIES = tuple(c.value for c in Category)
SUBDIVISIONS = tuple(s.value for s in Subdivision)

_ALIASES: dict[str, tuple[Category, Subdivision | None]] = {
    "0": (Category.INCOMPLETE, None),
    "0-priors": (Category.INCOMPLETE_PRIORS, None),
    "0-prior": (Category.INCOMPLETE_PRIORS, None),
    "need-prior-mammograms": (Category.INCOMPLETE_PRIORS, None),
    "needs-prior-mammograms": (Category.INCOMPLETE_PRIORS, None),
    "need-priors": (Category.INCOMPLETE_PRIORS, None),
    "needs-priors": (Category.INCOMPLETE_PRIORS, None),
    "incomplete-need-prior-mammograms": (Category.INCOMPLETE_PRIORS, None),
    "1": (Category.NEGATIVE, None),
    "2": (Category.BENIGN, None),
    "3": (Category.PROBABLY_BENIGN, None),
    "4": (Category.SUSPICIOUS, None),
    "4a": (Category.SUSPICIOUS, Subdivision.A),
    "4b": (Category.SUSPICIOUS, Subdivision.B),
    "4c": (Category.SUSPICIOUS, Subdivision.C),
    "suspicious-4a": (Category.SUSPICIOUS, Subdivision.A),
    "suspicious-4b": (Category.SUSPICIOUS, Subdivision.B),
    "suspicious-4c": (Category.SUSPICIOUS, Subdivision.C),
    "5": (Category.HIGHLY_SUSPICIOUS, None),
    "6": (Category.KNOWN_MALIGNANCY, None),
    "malignant": (Category.KNOWN_MALIGNANCY, None),
    "malignancy": (Category.KNOWN_MALIGNANCY, None),
    "known-malignant": (Category.KNOWN_MALIGNANCY, None),
    "normal": (Category.NEGATIVE, None),
    "post-biopsy": (Category.POST_PROCEDURE, None),
    "post-procedural": (Category.POST_PROCEDURE, None),
}
_ALIASES.update({c.value: (c, None) for c in Category})

_BIRADS_PREFIX = re.compile(r"^(?:bi-?rads|birads)-?(?=\w)")


def fold(text: str) -> str:
    """Lower-case and turn any run of spaces, underscores or hyphens into one hyphen."""
    return re.sub(r"[\s_\-]+", "-", text.strip().lower())


def parse_assessment(text: str) -> tuple[Category, Subdivision | None]:
    """Read a category as people write it, keeping a BI-RADS 4 subdivision: ``4b`` is
    (suspicious, 4B), ``need priors`` is (incomplete-priors, None), ``BI-RADS 3`` is
    (probably-benign, None).

    Raises ValueError whose message lists the valid names.
    """
    folded = _BIRADS_PREFIX.sub("", fold(text))
    try:
        return _ALIASES[folded]
    except KeyError:
        raise ValueError(
            f"unknown category {text!r}; use one of {', '.join(CATEGORIES)}"
            " or a BI-RADS number 0-6 (4A/4B/4C accepted; 0-priors for incomplete-priors)"
        ) from None


def parse_category(text: str) -> Category:
    """The category alone (see :func:`parse_assessment`, which also keeps 4A/4B/4C)."""
    return parse_assessment(text)[0]


def parse_subdivision(text: str) -> Subdivision:
    """Read ``4A``/``4B``/``4C`` (or ``a``/``b``/``c``), case-insensitive."""
    folded = fold(text).upper()
    try:
        return Subdivision(folded if folded.startswith("4") else f"4{folded}")
    except ValueError:
        raise ValueError(
            f"unknown BI-RADS 4 subdivision {text!r}; use one of {', '.join(SUBDIVISIONS)}"
        ) from None
