"""One patient as a FHIR R4 Bundle: ``followup export fhir``.

The bundle is plain JSON built from dicts (no FHIR library at run time; the tests validate it
with ``fhir.resources``), its codes from :mod:`followup.exchange.fhir_codes`. It is a
``collection`` Bundle holding:

- **Patient**: identifier ``urn:followup:patient-id|<id>``, name (as ``text``), birthDate,
  telecom (email, phone), and extensions of ours for the reminders opt-out and for each film
  transfer (``from``/``to`` facility: whose films are on hand where, which the rules read).
- **Location** per facility (of an exam or a biopsy), ``name`` = the spelling this database
  shows. Each film transfer extension gives its ``date`` too (the films up to that day).
- **Procedure** per exam (not ImagingStudy: an ImagingStudy describes DICOM series and
  instances, which followup does not have; a Procedure is "a mammogram was performed, when,
  where"): code LOINC 24606-6 (screening) or 24605-8 (diagnostic) (text only when the kind
  is unknown), ``performedDateTime`` = the exam date, ``location``, the note as ``note``, and
  the radiologist's recommended interval as an extension of ours; ``bodySite`` the breast it
  imaged when only one; ``performer`` the radiologist who read it (``function.text``
  "radiologist", ``actor.display`` the name); an **Observation** of its breast density
  (RadLex CDE ``RDE1587`` and its a-d answers), ``partOf`` it.
- **Observation** per finding, ``partOf`` its Procedure: code RadLex CDE ``RDE1586``
  (Assessment category) of the HL7 Breast Radiology IG; the value coded three ways: the IG's
  BiRadsAssessmentCategoryCS (``Category0``..``Category6``), its RadLex CDE answer
  (``RDE1586_...``) and SNOMED CT (397138000, 397140005, 397141009, 397143007, 397144001,
  397145000 for categories 0-5; category 6 has no international SNOMED CT concept, so it
  carries the IG codes only), with the canonical category name as ``text``. A 4A/4B/4C
  finding has the IG's Category4A/4B/4C and RadLex answers instead of the plain 4 ones;
  ``incomplete-priors`` (a BI-RADS 0 to the published systems) and ``post-procedure`` (no
  BI-RADS code) carry our own ``urn:followup:category`` code too, which a reader prefers.
  ``bodySite`` is the SNOMED CT breast structure of the side. Descriptors are components:
  morphology as RadLex ``RDE1565`` (calcification type), distribution as ``RDE1568`` (plus the
  SNOMED CT code of the IG's CalcificationDistributionVS), size class under a code of ours;
  each value's ``text`` is the stored term exactly, the codings are added where the IG has
  one.
- a **Procedure** and a pathology **DiagnosticReport** per biopsy
  (:mod:`followup.exchange.fhir_biopsies`).
- **ServiceRequest** for the next follow-up when the stored plan has a due date (treatment has
  none): ``occurrenceDateTime`` = due, code from the IG's ServiceRecommendationsCS plus our
  action code, ``reasonCode.text`` = the plan's reason, ``bodySite`` = the plan's side,
  ``supportingInfo`` = the exam it follows from.

Resource ids are UUIDv5 of the patient id, exam date, facility and kind (and finding
position), so exporting the same records gives the same JSON, byte for byte, in any database:
a round trip (export, import into another database, export) reproduces the bundle exactly.
There is no ``timestamp`` or ``meta.lastUpdated`` for the same reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup import rules
from followup.exchange.fhir_biopsies import biopsy_resources
from followup.exchange.fhir_codes import (
    ACTION_SYSTEM,
    BIRADS_SYSTEM,
    CATEGORY_CODES,
    CATEGORY_DISPLAY,
    CATEGORY_SYSTEM,
    DENSITY_CODE,
    DENSITY_CODES,
    DESCRIPTORS,
    DISTRIBUTION_CODES,
    EXT_FILM_TRANSFER,
    EXT_FOLLOW_UP_MONTHS,
    EXT_REMINDERS,
    ID_NAMESPACE,
    KIND_CODES,
    LOINC,
    MORPHOLOGY_CODES,
    OBSERVATION_CATEGORY,
    PATIENT_ID_SYSTEM,
    PRIORS_CODES,
    RADIOLOGIST,
    RADLEX_SYSTEM,
    RECOMMENDATION_SYSTEM,
    RECOMMENDATIONS,
    SIDE_CODES,
    SNOMED,
    SUBDIVISION_CODES,
    coding,
)
from followup.store.models import Biopsy, Exam, Facility, FilmTransfer, Patient, PlanRecord
from followup.store.patients import get_patient

Json = dict[str, Any]
# Exams of one day and place in the order of clinical-rules.md §5 (a screening before its
# diagnostic work-up), so the same records always give the same bundle.
KIND_ORDER: dict[str | None, int] = {
    None: 0,
    **{kind: rank for rank, kind in enumerate(rules.KINDS, 1)},
}


def _id(*parts: object) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def _ref(resource: Json) -> str:
    return f"urn:uuid:{resource['id']}"


_coding = coding


def _body_site(side: str | None) -> Json | None:
    if side is None:
        return None
    code, display = SIDE_CODES[side]
    return {"coding": [_coding(SNOMED, code, display)], "text": side}


def _compact(resource: Json) -> Json:
    """Drop absent elements: FHIR forbids nulls and empty arrays."""
    return {k: v for k, v in resource.items() if v is not None and v != []}


def _transfer_extension(transfer: FilmTransfer) -> Json:
    return {
        "url": EXT_FILM_TRANSFER,
        "extension": [
            {"url": "from", "valueString": transfer.from_facility.name},
            {"url": "to", "valueString": transfer.to_facility.name},
            {"url": "date", "valueDate": transfer.date.isoformat()},
        ],
    }


def patient_resource(patient: Patient, transfers: Iterable[FilmTransfer] = ()) -> Json:
    telecom = [
        {"system": system, "value": value}
        for system, value in (("email", patient.email), ("phone", patient.phone))
        if value
    ]
    return _compact(
        {
            "resourceType": "Patient",
            "id": _id("patient", patient.external_id),
            "extension": [
                {"url": EXT_REMINDERS, "valueBoolean": bool(patient.reminders)},
                *(_transfer_extension(t) for t in transfers),
            ],
            "identifier": [{"system": PATIENT_ID_SYSTEM, "value": patient.external_id}],
            "name": [{"text": patient.name}] if patient.name else None,
            "telecom": telecom,
            "birthDate": patient.birth_date.isoformat() if patient.birth_date else None,
        }
    )


def location_resource(external_id: str, facility: Facility) -> Json:
    return {
        "resourceType": "Location",
        "id": _id("location", external_id, facility.key),
        "name": facility.name,
    }


def procedure_resource(exam: Exam, subject: Json, location: Json) -> Json:
    code: Json = {"text": "Mammogram"}
    if exam.kind:
        loinc, display = KIND_CODES[exam.kind]
        code = {"coding": [_coding(LOINC, loinc, display)], "text": display}
    extension = None
    if exam.follow_up_months is not None:
        extension = [{"url": EXT_FOLLOW_UP_MONTHS, "valueInteger": exam.follow_up_months}]
    performer = None
    if exam.radiologist:
        performer = [{"function": {"text": RADIOLOGIST}, "actor": {"display": exam.radiologist}}]
    sides = None if exam.imaged == "both" else [_body_site(exam.imaged)]
    return _compact(
        {
            "resourceType": "Procedure",
            "id": _id("exam", subject["id"], exam.date, exam.facility.key, exam.kind or ""),
            "extension": extension,
            "status": "completed",
            "category": {"coding": [_coding(SNOMED, "363679005", "Imaging")]},
            "code": code,
            "subject": {"reference": _ref(subject)},
            "performedDateTime": exam.date.isoformat(),
            "performer": performer,
            "location": {"reference": _ref(location), "display": location["name"]},
            "bodySite": sides,
            "note": [{"text": exam.note}] if exam.note else None,
        }
    )


def _category_value(category: rules.Category, subdivision: str | None) -> Json:
    """The assessment coded for every reader: the IG's systems and SNOMED CT (with 4A/4B/4C
    where given), and our own code for the 2024 categories the published systems lack."""
    if category not in CATEGORY_CODES:  # incomplete-priors, post-procedure
        codings = [_coding(CATEGORY_SYSTEM, category.value)]
        if category is rules.Category.INCOMPLETE_PRIORS:
            zero, zero_snomed = PRIORS_CODES
            codings += [
                _coding(BIRADS_SYSTEM, zero, CATEGORY_DISPLAY[rules.Category.INCOMPLETE]),
                _coding(SNOMED, zero_snomed),
            ]
        return {"coding": codings, "text": category.value}
    birads, radlex, snomed = CATEGORY_CODES[category]
    display = CATEGORY_DISPLAY[category]
    if subdivision is not None:
        birads, display, radlex = SUBDIVISION_CODES[rules.Subdivision(subdivision)]
    codings = [_coding(BIRADS_SYSTEM, birads, display), _coding(RADLEX_SYSTEM, radlex)]
    if snomed:
        codings.append(_coding(SNOMED, snomed))
    return {"coding": codings, "text": category.value}


def _descriptor_value(field: str, term: str) -> Json:
    codings = []
    if field == "morphology" and term in MORPHOLOGY_CODES:
        codings = [_coding(RADLEX_SYSTEM, MORPHOLOGY_CODES[term])]
    elif field == "distribution" and term in DISTRIBUTION_CODES:
        radlex, snomed = DISTRIBUTION_CODES[term]
        codings = [_coding(RADLEX_SYSTEM, radlex), _coding(SNOMED, snomed)]
    return _compact({"coding": codings, "text": term})


def observation_resource(finding: Any, index: int, procedure: Json, subject: Json) -> Json:
    components = [
        {
            "code": {"coding": [_coding(system, code, display)]},
            "valueCodeableConcept": _descriptor_value(field, getattr(finding, field)),
        }
        for field, (system, code, display) in DESCRIPTORS.items()
        if getattr(finding, field)
    ]
    return _compact(
        {
            "resourceType": "Observation",
            "id": _id("finding", procedure["id"], index),
            "status": "final",
            "partOf": [{"reference": _ref(procedure)}],
            "category": [{"coding": [_coding(OBSERVATION_CATEGORY, "imaging", "Imaging")]}],
            "code": {
                "coding": [_coding(RADLEX_SYSTEM, "RDE1586", "Assessment category")],
                "text": "BI-RADS assessment category",
            },
            "subject": {"reference": _ref(subject)},
            "effectiveDateTime": procedure["performedDateTime"],
            "valueCodeableConcept": _category_value(
                rules.Category(finding.category), finding.subdivision
            ),
            "bodySite": _body_site(finding.laterality),
            "component": components,
        }
    )


def density_resource(density: rules.Density, procedure: Json, subject: Json) -> Json:
    """The exam's breast density (RadLex CDE RDE1587), ``partOf`` its Procedure."""
    system, code, display = DENSITY_CODE
    return {
        "resourceType": "Observation",
        "id": _id("density", procedure["id"]),
        "status": "final",
        "partOf": [{"reference": _ref(procedure)}],
        "category": [{"coding": [_coding(OBSERVATION_CATEGORY, "imaging", "Imaging")]}],
        "code": {"coding": [_coding(system, code, display)], "text": "Breast density"},
        "subject": {"reference": _ref(subject)},
        "effectiveDateTime": procedure["performedDateTime"],
        "valueCodeableConcept": {
            "coding": [_coding(RADLEX_SYSTEM, DENSITY_CODES[density])],
            "text": density.value,
        },
    }


def service_request_resource(
    plan: PlanRecord, subject: Json, location: Json | None, procedure: Json | None
) -> Json:
    action = plan.action or ""
    codings = [_coding(ACTION_SYSTEM, action)]
    if action in RECOMMENDATIONS:
        codings.insert(0, _coding(RECOMMENDATION_SYSTEM, *RECOMMENDATIONS[action]))
    return _compact(
        {
            "resourceType": "ServiceRequest",
            "id": _id("plan", subject["id"]),
            "status": "active",
            "intent": "plan",
            "code": {"coding": codings, "text": action},
            "subject": {"reference": _ref(subject)},
            "occurrenceDateTime": plan.due.isoformat() if plan.due else None,
            "reasonCode": [{"text": plan.reason}],
            "bodySite": [_body_site(plan.laterality)] if plan.laterality else None,
            "locationReference": [{"reference": _ref(location)}] if location else None,
            "supportingInfo": [{"reference": _ref(procedure)}] if procedure else None,
        }
    )


def patient_biopsies(session: Session, patient: Patient) -> list[Biopsy]:
    return list(session.scalars(select(Biopsy).where(Biopsy.patient_id == patient.id)))


def export_bundle(session: Session, external_id: str) -> Json:
    """The patient's FHIR R4 Bundle (type collection) as plain JSON-able data."""
    patient = get_patient(session, external_id)
    exams = sorted(patient.exams, key=lambda e: (e.date, e.facility.key, KIND_ORDER[e.kind]))
    transfers = session.scalars(
        select(FilmTransfer).where(FilmTransfer.patient_id == patient.id)
    ).all()
    subject = patient_resource(
        patient, sorted(transfers, key=lambda t: (t.from_facility.key, t.to_facility.key))
    )
    locations: dict[int, Json] = {}
    procedures: dict[int, Json] = {}
    clinical: list[Json] = []
    for exam in exams:
        location = locations.setdefault(
            exam.facility_id, location_resource(patient.external_id, exam.facility)
        )
        procedure = procedure_resource(exam, subject, location)
        procedures[exam.id] = procedure
        clinical.append(procedure)
        clinical.extend(
            observation_resource(f, i, procedure, subject) for i, f in enumerate(exam.findings)
        )
        if exam.density:
            clinical.append(density_resource(rules.Density(exam.density), procedure, subject))
    for biopsy in sorted(patient_biopsies(session, patient), key=lambda b: (b.date, b.side)):
        place = None
        if biopsy.facility is not None:
            place = locations.setdefault(
                biopsy.facility.id, location_resource(patient.external_id, biopsy.facility)
            )
        clinical.extend(biopsy_resources(biopsy, _id, subject, place))
    plan = session.get(PlanRecord, patient.id)
    if plan is not None and plan.due is not None:
        where = locations.get(plan.facility_id) if plan.facility_id else None
        follows = procedures.get(plan.exam_id) if plan.exam_id else None
        clinical.append(service_request_resource(plan, subject, where, follows))
    resources = [subject, *locations.values(), *clinical]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": _ref(r), "resource": r} for r in resources],
    }
