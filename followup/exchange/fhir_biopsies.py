"""A biopsy and its pathology result in FHIR R4, both ways (clinical-rules.md §4).

- **Procedure**: code ``urn:followup:procedure|breast-biopsy`` ("Breast biopsy"),
  ``performedDateTime`` = the biopsy date, ``bodySite`` = the SNOMED CT breast structure of its
  side, ``location`` = its facility (when recorded), the note as ``note``, and ``report`` naming
  its pathology report.
- **DiagnosticReport** (the pathology): category LOINC LP7839-6 (Pathology), code LOINC
  22637-3 (Pathology report final diagnosis); ``status`` ``registered`` while the result is
  pending, else ``final``; the result coded in ``conclusionCode``
  (``urn:followup:biopsy-result|benign``, ``high-risk``, ``malignant``, ``pending``), the
  pathology text (e.g. "fibroadenoma") as ``conclusion``, and the radiology-pathology
  concordance as an extension of ours (``valueBoolean``), absent when not recorded.

Ids are UUIDv5 of the patient, date and side (one biopsy per patient, day and breast), so the
same records give the same JSON and a round trip reproduces the bundle exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from followup import rules
from followup.exchange.fhir_codes import (
    BIOPSY_CODE,
    BIOPSY_RESULT_SYSTEM,
    EXT_CONCORDANT,
    PATHOLOGY_CATEGORY,
    PATHOLOGY_REPORT,
    PROCEDURE_SYSTEM,
    SIDE_BY_CODE,
    SIDE_CODES,
    SNOMED,
)
from followup.exchange.fhir_codes import coding as _coding
from followup.store.models import Biopsy

Json = dict[str, Any]


@dataclass(frozen=True)
class IncomingBiopsy:
    """A biopsy as a bundle states it, its note, and how messages name it (``where``)."""

    biopsy: rules.Biopsy
    note: str | None
    where: str


def biopsy_resources(
    biopsy: Biopsy, ids: Callable[..., str], subject: Json, location: Json | None
) -> tuple[Json, Json]:
    """The Procedure and the pathology DiagnosticReport of a stored biopsy; ``ids(*parts)``
    makes the resources' stable ids."""
    procedure_id = ids("biopsy", subject["id"], biopsy.date, biopsy.side)
    report = _report(biopsy, ids("pathology", procedure_id), subject)
    code, display = SIDE_CODES[biopsy.side]
    procedure = {
        "resourceType": "Procedure",
        "id": procedure_id,
        "status": "completed",
        "code": {"coding": [_coding(PROCEDURE_SYSTEM, *BIOPSY_CODE)], "text": BIOPSY_CODE[1]},
        "subject": {"reference": f"urn:uuid:{subject['id']}"},
        "performedDateTime": biopsy.date.isoformat(),
        "bodySite": [{"coding": [_coding(SNOMED, code, display)], "text": biopsy.side}],
        "report": [{"reference": f"urn:uuid:{report['id']}"}],
    }
    if location is not None:
        procedure["location"] = {
            "reference": f"urn:uuid:{location['id']}",
            "display": location["name"],
        }
    if biopsy.note:
        procedure["note"] = [{"text": biopsy.note}]
    return procedure, report


def _report(biopsy: Biopsy, report_id: str, subject: Json) -> Json:
    system, code, display = PATHOLOGY_REPORT
    category_system, category_code, category_display = PATHOLOGY_CATEGORY
    report: Json = {
        "resourceType": "DiagnosticReport",
        "id": report_id,
        "status": "registered" if biopsy.result == "pending" else "final",
        "category": [{"coding": [_coding(category_system, category_code, category_display)]}],
        "code": {"coding": [_coding(system, code, display)], "text": "Pathology"},
        "subject": {"reference": f"urn:uuid:{subject['id']}"},
        "effectiveDateTime": biopsy.date.isoformat(),
        "conclusionCode": [
            {"coding": [_coding(BIOPSY_RESULT_SYSTEM, biopsy.result)], "text": biopsy.result}
        ],
    }
    if biopsy.concordant is not None:
        report["extension"] = [{"url": EXT_CONCORDANT, "valueBoolean": bool(biopsy.concordant)}]
    if biopsy.pathology:
        report["conclusion"] = biopsy.pathology
    return report


# -- reading ---------------------------------------------------------------------------------


def is_biopsy(procedure: Json) -> bool:
    """Whether a Procedure is a biopsy as followup writes one (else it is read as an exam)."""
    codings = (procedure.get("code") or {}).get("coding") or []
    return any(
        c.get("system") == PROCEDURE_SYSTEM and c.get("code") == BIOPSY_CODE[0] for c in codings
    )


def read_biopsy(procedure: Json, report: Json | None, facility: str | None) -> IncomingBiopsy:
    """A biopsy Procedure and its pathology report (None: no report, which cannot say the
    result: an error naming the biopsy). ValueError for what cannot be read."""
    performed = procedure.get("performedDateTime")
    if not performed:
        raise ValueError("a biopsy Procedure has no performedDateTime; each biopsy needs its date")
    day = rules.parse_date(performed[:10])
    side = _side(procedure.get("bodySite") or [])
    where = f"the biopsy of {day.isoformat()} of the {side.value} breast"
    if report is None:
        raise ValueError(f"{where} has no pathology report (Procedure.report); it holds the result")
    result = _result(report, where)
    concordant = next(
        (
            e.get("valueBoolean")
            for e in report.get("extension") or []
            if e.get("url") == EXT_CONCORDANT
        ),
        None,
    )
    notes = [n["text"] for n in procedure.get("note") or [] if n.get("text")]
    biopsy = rules.Biopsy(
        date=day,
        side=side,
        result=result,
        concordant=concordant,
        facility=facility,
        pathology=report.get("conclusion"),
    )
    return IncomingBiopsy(biopsy, "\n".join(notes) or None, where)


def _side(sites: list[Json]) -> rules.Laterality:
    for site in sites:
        for coding in site.get("coding") or []:
            if coding.get("system") == SNOMED and coding.get("code") in SIDE_BY_CODE:
                return rules.parse_biopsy_side(SIDE_BY_CODE[coding["code"]])
        if site.get("text"):
            return rules.parse_biopsy_side(site["text"])
    raise ValueError("a biopsy Procedure has no bodySite; each biopsy is of one breast")


def _result(report: Json, where: str) -> rules.BiopsyResult:
    for concept in report.get("conclusionCode") or []:
        for coding in concept.get("coding") or []:
            if coding.get("system") == BIOPSY_RESULT_SYSTEM:
                return rules.parse_biopsy_result(coding.get("code") or "")
    raise ValueError(
        f"the pathology report of {where} has no result coded in {BIOPSY_RESULT_SYSTEM}"
    )
