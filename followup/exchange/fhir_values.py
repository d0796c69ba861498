"""What a FHIR exam says, coded value by coded value, as the rules' values: the assessment
(with 4A/4B/4C, and our own code of the 2024 categories first), the side, the descriptors, the
kind, and the exam's breast density, imaged breast and radiologist. No database; ValueError
for a value that cannot be read (the caller names the resource).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from followup import rules
from followup.exchange.fhir_codes import (
    CATEGORY_BY_CODE,
    CATEGORY_SYSTEM,
    CATEGORY_SYSTEMS,
    DENSITY_BY_CODE,
    DENSITY_CODE,
    DESCRIPTOR_BY_CODE,
    DESCRIPTORS,
    KIND_BY_CODE,
    LOINC,
    RADIOLOGIST,
    SIDE_BY_CODE,
    SNOMED,
    SUBDIVISION_BY_CODE,
)

Json = dict[str, Any]


def codes(concept: Json | None) -> Iterator[tuple[str | None, str | None]]:
    for coding in (concept or {}).get("coding") or []:
        yield coding.get("system"), coding.get("code")


def coded_category(concept: Json) -> rules.Category | None:
    for system, code in codes(concept):
        if system == CATEGORY_SYSTEM and code:
            return rules.parse_category(code)  # ours, the canonical name: read first
    for system, code in codes(concept):
        if system in CATEGORY_SYSTEMS and code in CATEGORY_BY_CODE:
            return CATEGORY_BY_CODE[code]
    return None


def subdivision(concept: Json) -> rules.Subdivision | None:
    for system, code in codes(concept):
        if system in CATEGORY_SYSTEMS and code in SUBDIVISION_BY_CODE:
            return SUBDIVISION_BY_CODE[code]
    return None


def category(value: Json) -> rules.Category:
    return coded_category(value) or rules.parse_category(value.get("text") or "")


def is_density(observation: Json) -> bool:
    system, code, _ = DENSITY_CODE
    return (system, code) in set(codes(observation.get("code")))


def density(observations: list[Json]) -> rules.Density | None:
    for observation in observations:
        value = observation.get("valueCodeableConcept") or {}
        for system, code in codes(value):
            if system == DENSITY_CODE[0] and code in DENSITY_BY_CODE:
                return DENSITY_BY_CODE[code]
        return rules.parse_density(value.get("text") or "")
    return None


def radiologist(procedure: Json) -> str | None:
    for performer in procedure.get("performer") or []:
        if (performer.get("function") or {}).get("text") == RADIOLOGIST:
            return (performer.get("actor") or {}).get("display")
    return None


def imaged(procedure: Json) -> rules.Imaged:
    sides = [side(site) for site in procedure.get("bodySite") or []]
    if len(sides) == 1 and sides[0] in (rules.Laterality.LEFT, rules.Laterality.RIGHT):
        return rules.Imaged(sides[0].value)
    return rules.Imaged.BOTH


def side(sites: Json | None) -> rules.Laterality | None:
    if not sites:
        return None
    for system, code in codes(sites):
        if system == SNOMED and code in SIDE_BY_CODE:
            return rules.Laterality(SIDE_BY_CODE[code])
    return rules.parse_laterality(sites.get("text") or "")


def finding(observation: Json) -> rules.Finding:
    descriptors: dict[str, str | None] = dict.fromkeys(DESCRIPTORS)
    for component in observation.get("component") or []:
        for key in codes(component.get("code")):
            if key in DESCRIPTOR_BY_CODE:
                descriptors[DESCRIPTOR_BY_CODE[key]] = (
                    component.get("valueCodeableConcept") or {}
                ).get("text")
    value = observation.get("valueCodeableConcept") or {}
    return rules.Finding(
        category=category(value),
        laterality=side(observation.get("bodySite")),
        morphology=descriptors["morphology"],
        distribution=descriptors["distribution"],
        size_class=descriptors["size_class"],
        subdivision=subdivision(value),
    )


def kind(code: Json | None) -> rules.ExamKind | None:
    for system, value in codes(code):
        if system == LOINC and value in KIND_BY_CODE:
            return rules.ExamKind(KIND_BY_CODE[value])
    return None
