"""Calcification descriptors (clinical-rules.md §1): morphology, distribution, size class.

Descriptors never change the plan; they are kept for the radiologist and the letters. One
reading for every way in (``exam add``, CSV, FHIR): the spellings of other systems (CBIS-DDSM
and DDSM write ``PLEOMORPHIC``, ``LUCENT_CENTER``, ``CLUSTERED``) become the BI-RADS 5th
edition terms (lucent-centred and eggshell are now "rim", clustered is now "grouped"), a
combination (``PUNCTATE-PLEOMORPHIC``) is read term by term, and other text is kept as written
(spaces tidied): descriptors are free text. Reading a term already read gives it back
unchanged, so a record exported and imported again says the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from followup.rules.model import Exam, Finding
from followup.rules.text import check_text

DESCRIPTOR_MAX = 64  # characters: the stored column's width
SIZE_CLASSES = ("macro", "micro")
NOT_GIVEN = frozenset({"", "n/a", "na", "none", "-", "null"})

MORPHOLOGY_TERMS = {
    "pleomorphic": "fine pleomorphic",
    "fine pleomorphic": "fine pleomorphic",
    "fine linear branching": "fine linear branching",
    "fine linear": "fine linear branching",
    "amorphous": "amorphous",
    "coarse heterogeneous": "coarse heterogeneous",
    "punctate": "punctate",
    "round and regular": "round",
    "round": "round",
    "lucent center": "rim",
    "lucent centered": "rim",
    "lucent centred": "rim",
    "eggshell": "rim",
    "rim": "rim",
    "coarse": "coarse",
    "popcorn": "coarse",
    "vascular": "vascular",
    "dystrophic": "dystrophic",
    "milk of calcium": "milk of calcium",
    "skin": "skin",
    "large rodlike": "large rod-like",
    "large rod like": "large rod-like",
    "suture": "suture",
}
DISTRIBUTION_TERMS = {
    "clustered": "grouped",
    "grouped": "grouped",
    "diffusely scattered": "diffuse",
    "diffuse": "diffuse",
    "scattered": "diffuse",
    "regional": "regional",
    "linear": "linear",
    "segmental": "segmental",
}


def fold_term(text: str) -> str:
    """``Fine_Pleomorphic``, ``fine-pleomorphic`` and ``fine  pleomorphic`` all read as
    ``fine pleomorphic`` (lower case, runs of space/_/- as one space)."""
    return re.sub(r"[\s_\-]+", " ", text.strip().lower()).strip()


def _descriptor(text: str, terms: dict[str, str], what: str) -> str | None:
    check_text(text, what)
    cleaned = " ".join(text.split())
    if cleaned.lower() in NOT_GIVEN:
        return None
    folded = fold_term(cleaned)
    if folded in terms:
        return terms[folded]
    parts = [fold_term(p) for p in cleaned.split("-")]
    if len(parts) > 1 and all(p in terms for p in parts):
        cleaned = ", ".join(dict.fromkeys(terms[p] for p in parts))
    check_descriptor(cleaned, what)
    return cleaned


def parse_morphology(text: str) -> str | None:
    """A calcification morphology as written anywhere, as §1 names it (None: not given)."""
    return _descriptor(text, MORPHOLOGY_TERMS, "morphology")


def parse_distribution(text: str) -> str | None:
    """A calcification distribution as written anywhere, as §1 names it (None: not given)."""
    return _descriptor(text, DISTRIBUTION_TERMS, "distribution")


def parse_size_class(text: str) -> str:
    """``macro`` or ``micro``, case-insensitive."""
    folded = text.strip().lower()
    if folded not in SIZE_CLASSES:
        raise ValueError(f"unknown size class {text!r}; use {' or '.join(SIZE_CLASSES)}")
    return folded


def check_descriptor(value: str | None, what: str) -> None:
    """A stored descriptor: text without control characters, at most DESCRIPTOR_MAX long."""
    check_text(value, what)
    if value is not None and len(value) > DESCRIPTOR_MAX:
        raise ValueError(f"the {what} is longer than {DESCRIPTOR_MAX} characters; shorten it")


def check_descriptors(
    morphology: str | None, distribution: str | None, size_class: str | None = None
) -> None:
    """What the store checks in every finding's descriptors, whatever door it came by."""
    check_descriptor(morphology, "morphology")
    check_descriptor(distribution, "distribution")
    if size_class is not None and size_class not in SIZE_CLASSES:
        raise ValueError(f"unknown size class {size_class!r}; use {' or '.join(SIZE_CLASSES)}")


def with_terms(exam: Exam) -> Exam:
    """The exam with each finding's descriptors read as :func:`parse_morphology`,
    :func:`parse_distribution` and :func:`parse_size_class` read them: what the store records,
    whichever door the exam came by (a reader that parsed them already gets them back as
    they are)."""
    findings = tuple(_finding_terms(f) for f in exam.findings)
    return exam if findings == exam.findings else replace(exam, findings=findings)


def _finding_terms(finding: Finding) -> Finding:
    def read(value: str | None, parse: Callable[[str], str | None]) -> str | None:
        return None if value is None else parse(value)

    return replace(
        finding,
        morphology=read(finding.morphology, parse_morphology),
        distribution=read(finding.distribution, parse_distribution),
        size_class=read(finding.size_class, parse_size_class),
    )
