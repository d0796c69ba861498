"""One patient as a FHIR R4 Bundle, and back: ``followup export fhir`` / ``import fhir``.

The bundle is plain JSON built from dicts (no FHIR library at run time; the tests validate it
with ``fhir.resources``). It is a ``collection`` Bundle holding:

- **Patient**: identifier ``urn:followup:patient-id|<id>``, name (as ``text``), birthDate,
  telecom (email, phone), and extensions of ours for the reminders opt-out and for each film
  transfer (``from``/``to`` facility: whose films are on hand where, which the rules read).
- **Location** per facility, ``name`` = the spelling this database shows.
- **Procedure** per exam (not ImagingStudy: an ImagingStudy describes DICOM series and
  instances, which followup does not have; a Procedure is "a mammogram was performed, when,
  where"): code LOINC 24606-6 (screening) or 24605-8 (diagnostic) (text only when the kind
  is unknown), ``performedDateTime`` = the exam date, ``location``, the note as ``note``, and
  the radiologist's recommended interval as an extension of ours.
- **Observation** per finding, ``partOf`` its Procedure: code RadLex CDE ``RDE1586``
  (Assessment category) of the HL7 Breast Radiology IG; the value coded three ways: the IG's
  BiRadsAssessmentCategoryCS (``Category0``..``Category6``), its RadLex CDE answer
  (``RDE1586_...``) and SNOMED CT (397138000, 397140005, 397141009, 397143007, 397144001,
  397145000 for categories 0-5; category 6 has no international SNOMED CT concept, so it
  carries the IG codes only), with the canonical category name as ``text``. ``bodySite`` is
  the SNOMED CT breast structure of the side. Descriptors are components: morphology as
  RadLex ``RDE1565`` (calcification type), distribution as ``RDE1568`` (plus the SNOMED CT
  code of the IG's CalcificationDistributionVS), size class under a code of ours; each value's
  ``text`` is the stored term exactly, the codings are added where the IG has one.
- **ServiceRequest** for the next follow-up when the stored plan has a due date (treatment has
  none): ``occurrenceDateTime`` = due, code from the IG's ServiceRecommendationsCS plus our
  action code, ``reasonCode.text`` = the plan's reason, ``bodySite`` = the plan's side,
  ``supportingInfo`` = the exam it follows from.

Resource ids are UUIDv5 of the patient id, exam date and facility (and finding position), so
exporting the same records gives the same JSON, byte for byte, in any database: a round trip
(export, import into another database, export) reproduces the bundle exactly. There is no
``timestamp`` or ``meta.lastUpdated`` for the same reason.

Import reads such bundles (and, as far as the codes allow, other producers' ones). It is
all-or-nothing, in the caller's one transaction: the patient is created when unknown; when she
exists, her stored details must equal the bundle's, otherwise nothing is imported and the
message names the differing fields (merging health records silently is worse than asking).
An exam already stored (same date and facility) with the same content is skipped, one with
different content is refused; film transfers not yet recorded are added. The ServiceRequest
is not read back: the plan is recomputed from the exams under this database's policy.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup import rules
from followup.store.errors import Conflict, InvalidInput
from followup.store.exams import add_exam, exam_snapshot, find_facility, transfer_films
from followup.store.models import Exam, Facility, FilmTransfer, Patient, PlanRecord
from followup.store.patients import PatientDetails, add_patient, find_patient, get_patient
from followup.store.plans import refresh_plan

Json = dict[str, Any]

OURS = "urn:followup"
PATIENT_ID_SYSTEM = f"{OURS}:patient-id"
ACTION_SYSTEM = f"{OURS}:action"
DESCRIPTOR_SYSTEM = f"{OURS}:descriptor"
EXT_REMINDERS = f"{OURS}:extension:reminders"
EXT_FOLLOW_UP_MONTHS = f"{OURS}:extension:follow-up-months"
EXT_FILM_TRANSFER = f"{OURS}:extension:film-transfer"
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, f"{OURS}:fhir")

IG = "http://hl7.org/fhir/us/breast-radiology/CodeSystem"
BIRADS_SYSTEM = f"{IG}/BiRadsAssessmentCategoryCS"
RADLEX_SYSTEM = f"{IG}/RadLexCDE"
RECOMMENDATION_SYSTEM = f"{IG}/ServiceRecommendationsCS"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

C = rules.Category
# category -> (BiRadsAssessmentCategoryCS, RadLexCDE RDE1586 answer, SNOMED CT or None)
CATEGORY_CODES: dict[rules.Category, tuple[str, str, str | None]] = {
    C.INCOMPLETE: ("Category0", "RDE1586_category0IncompleteNeedAdditionalImaging", "397138000"),
    C.NEGATIVE: ("Category1", "RDE1586_category1Negative", "397140005"),
    C.BENIGN: ("Category2", "RDE1586_category2BenignFinding", "397141009"),
    C.PROBABLY_BENIGN: ("Category3", "RDE1586_category3ProbablyBenignFinding", "397143007"),
    C.SUSPICIOUS: ("Category4", "RDE1586_category4SuspiciousAbnormality", "397144001"),
    C.HIGHLY_SUSPICIOUS: (
        "Category5",
        "RDE1586_category5HighlySuggestiveOfMalignancy",
        "397145000",
    ),
    C.KNOWN_MALIGNANCY: ("Category6", "RDE1586_category6KnownBiopsyProvenMalignancy", None),
}
CATEGORY_DISPLAY = {
    C.INCOMPLETE: "Category 0 (Incomplete)",
    C.NEGATIVE: "Category 1 (Negative)",
    C.BENIGN: "Category 2 (Benign)",
    C.PROBABLY_BENIGN: "Category 3 (Probably Benign)",
    C.SUSPICIOUS: "Category 4 (Suspicious)",
    C.HIGHLY_SUSPICIOUS: "Category 5 (Highly Suggestive of Malignancy)",
    C.KNOWN_MALIGNANCY: "Category 6 (Known Biopsy-Proven Malignancy)",
}
# 4A/4B/4C are all "suspicious" here (clinical-rules.md §1).
_CATEGORY_BY_CODE = {
    **{code: cat for cat, codes in CATEGORY_CODES.items() for code in codes if code},
    **{f"Category4{x}": C.SUSPICIOUS for x in "ABC"},
}

SIDE_CODES = {
    "left": ("80248007", "Left breast structure"),
    "right": ("73056007", "Right breast structure"),
    "bilateral": ("63762007", "Both breasts"),
}
_SIDE_BY_CODE = {code: side for side, (code, _) in SIDE_CODES.items()}

KIND_CODES = {
    "screening": ("24606-6", "MG Breast Screening"),
    "diagnostic": ("24605-8", "MG Breast Diagnostic"),
}
_KIND_BY_CODE = {code: kind for kind, (code, _) in KIND_CODES.items()}

# clinical-rules.md §1 terms -> RadLex CDE answers (the IG's spellings, typos included).
MORPHOLOGY_CODES = {
    "amorphous": "RDE1565_amorphous",
    "coarse": "RDE1565_coarse",
    "coarse heterogeneous": "RDE1565_coarseHeterogeneous",
    "dystrophic": "RDE1565_dystrophic",
    "fine linear branching": "RDE1565_fineLinear",
    "fine pleomorphic": "RDE1565_finePleomorphic",
    "large rod-like": "RDE1565_largeRoadlike",
    "milk of calcium": "RDE1565_milkOfCalcium",
    "punctate": "RDE1565_punctate",
    "rim": "RDE1565_rim",
    "round": "RDE1565_round",
    "skin": "RDE1565_skin",
    "suture": "RDE1565_sature",
    "vascular": "RDE1565_vascular",
}
# term -> (RadLex CDE answer, SNOMED CT of CalcificationDistributionVS)
DISTRIBUTION_CODES = {
    "diffuse": ("RDE1568_diffuse", "129764001"),
    "grouped": ("RDE1568_grouped", "129766004"),
    "linear": ("RDE1568_linear", "129765000"),
    "regional": ("RDE1568_regional", "129767008"),
    "segmental": ("RDE1568_segmental", "129768003"),
}
# finding field -> (system, code, display) of its component
DESCRIPTORS = {
    "morphology": (RADLEX_SYSTEM, "RDE1565", "Calcification type"),
    "distribution": (RADLEX_SYSTEM, "RDE1568", "Calcification distribution"),
    "size_class": (DESCRIPTOR_SYSTEM, "size-class", "Calcification size class"),
}
_DESCRIPTOR_BY_CODE = {(s, c): field for field, (s, c, _) in DESCRIPTORS.items()}

# plan action -> ServiceRecommendationsCS code
RECOMMENDATIONS = {
    "additional-imaging": ("AdditionalViews", "Additional views"),
    "routine-screening": ("Mammogram", "Mammogram"),
    "short-interval-follow-up": ("Follow-up", "Follow-up"),
    "biopsy": ("Biopsy", "Biopsy"),
    "treatment": ("SurgicalConsult", "Surgical consult"),
}


# -- export -----------------------------------------------------------------------------------


def _id(*parts: object) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def _ref(resource: Json) -> str:
    return f"urn:uuid:{resource['id']}"


def _coding(system: str, code: str, display: str | None = None) -> Json:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


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
    return _compact(
        {
            "resourceType": "Procedure",
            "id": _id("exam", subject["id"], exam.date, exam.facility.key),
            "extension": extension,
            "status": "completed",
            "category": {"coding": [_coding(SNOMED, "363679005", "Imaging")]},
            "code": code,
            "subject": {"reference": _ref(subject)},
            "performedDateTime": exam.date.isoformat(),
            "location": {"reference": _ref(location), "display": location["name"]},
            "note": [{"text": exam.note}] if exam.note else None,
        }
    )


def _category_value(category: rules.Category) -> Json:
    birads, radlex, snomed = CATEGORY_CODES[category]
    codings = [
        _coding(BIRADS_SYSTEM, birads, CATEGORY_DISPLAY[category]),
        _coding(RADLEX_SYSTEM, radlex),
    ]
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
            "valueCodeableConcept": _category_value(rules.Category(finding.category)),
            "bodySite": _body_site(finding.laterality),
            "component": components,
        }
    )


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


def export_bundle(session: Session, external_id: str) -> Json:
    """The patient's FHIR R4 Bundle (type collection) as plain JSON-able data."""
    patient = get_patient(session, external_id)
    exams = sorted(patient.exams, key=lambda e: (e.date, e.facility.key))
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
    plan = session.get(PlanRecord, patient.id)
    if plan is not None and plan.due is not None:
        location = locations.get(plan.facility_id) if plan.facility_id else None
        procedure = procedures.get(plan.exam_id) if plan.exam_id else None
        clinical.append(service_request_resource(plan, subject, location, procedure))
    resources = [subject, *locations.values(), *clinical]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": _ref(r), "resource": r} for r in resources],
    }


# -- import -----------------------------------------------------------------------------------


class BundleError(InvalidInput):
    """The file is not a bundle followup can read; the message says what is missing."""


@dataclass(frozen=True)
class ImportSummary:
    patient_id: str
    created: bool
    added: int
    skipped: int
    transfers: int


@dataclass(frozen=True)
class _ParsedExam:
    exam: rules.Exam
    note: str | None
    where: str  # for messages: "the exam of 2025-01-31 at Northside Imaging"


class _Resources:
    """The bundle's resources in order, and by every name a reference may use (fullUrl and
    Type/id)."""

    def __init__(self, bundle: Any) -> None:
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise BundleError("the file is not a FHIR Bundle (resourceType must be 'Bundle')")
        self.all: list[Json] = []
        self.by_reference: dict[str, Json] = {}
        for entry in bundle.get("entry") or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict) or "resourceType" not in resource:
                raise BundleError("a bundle entry has no resource; every entry needs one")
            self.all.append(resource)
            if entry.get("fullUrl"):
                self.by_reference[entry["fullUrl"]] = resource
            if resource.get("id"):
                self.by_reference[f"{resource['resourceType']}/{resource['id']}"] = resource

    def of_type(self, kind: str) -> list[Json]:
        return [r for r in self.all if r["resourceType"] == kind]

    def resolve(self, reference: Json | None) -> Json | None:
        return self.by_reference.get((reference or {}).get("reference") or "")


def _extension(resource: Json, url: str) -> Any:
    for extension in resource.get("extension") or []:
        if extension.get("url") == url:
            return next((v for k, v in extension.items() if k.startswith("value")), None)
    return None


def _codes(concept: Json | None) -> Iterable[tuple[str | None, str | None]]:
    for coding in (concept or {}).get("coding") or []:
        yield coding.get("system"), coding.get("code")


def _transfers(resource: Json) -> list[tuple[str, str]]:
    pairs = []
    for extension in resource.get("extension") or []:
        if extension.get("url") == EXT_FILM_TRANSFER:
            parts = {e.get("url"): e.get("valueString") for e in extension.get("extension") or []}
            if not parts.get("from") or not parts.get("to"):
                raise BundleError("a film-transfer extension lacks its 'from' or 'to' facility")
            pairs.append((parts["from"], parts["to"]))
    return pairs


def _patient_facts(resource: Json) -> tuple[str, PatientDetails]:
    identifiers = resource.get("identifier") or []
    ours = [i for i in identifiers if i.get("system") == PATIENT_ID_SYSTEM and i.get("value")]
    chosen = ours or [i for i in identifiers if i.get("value")]
    if not chosen:
        raise BundleError(
            f"the Patient has no identifier; followup needs one (system {PATIENT_ID_SYSTEM})"
        )
    names = resource.get("name") or [{}]
    name = (
        names[0].get("text")
        or " ".join([*(names[0].get("given") or []), names[0].get("family") or ""]).strip()
    )
    telecom = {t.get("system"): t.get("value") for t in resource.get("telecom") or []}
    reminders = _extension(resource, EXT_REMINDERS)
    birth = resource.get("birthDate")
    identifier = chosen[0]["value"]
    if not isinstance(identifier, str):  # FHIR's identifier.value is a string
        raise BundleError(
            f"the Patient's identifier value {identifier!r} is not text; FHIR writes it as a "
            f'string, e.g. "{identifier}"'
        )
    return identifier, PatientDetails(
        name=name or None,
        birth_date=rules.parse_date(birth) if birth else None,
        email=telecom.get("email"),
        phone=telecom.get("phone"),
        reminders=True if reminders is None else bool(reminders),
    )


def _category(value: Json) -> rules.Category:
    for system, code in _codes(value):
        if system in (BIRADS_SYSTEM, RADLEX_SYSTEM, SNOMED) and code in _CATEGORY_BY_CODE:
            return _CATEGORY_BY_CODE[code]
    return rules.parse_category(value.get("text") or "")


def _side(sites: Json | None) -> rules.Laterality | None:
    if not sites:
        return None
    for system, code in _codes(sites):
        if system == SNOMED and code in _SIDE_BY_CODE:
            return rules.Laterality(_SIDE_BY_CODE[code])
    return rules.parse_laterality(sites.get("text") or "")


def _finding(observation: Json) -> rules.Finding:
    descriptors: dict[str, str | None] = dict.fromkeys(DESCRIPTORS)
    for component in observation.get("component") or []:
        for key in _codes(component.get("code")):
            if key in _DESCRIPTOR_BY_CODE:
                descriptors[_DESCRIPTOR_BY_CODE[key]] = (
                    component.get("valueCodeableConcept") or {}
                ).get("text")
    return rules.Finding(
        category=_category(observation.get("valueCodeableConcept") or {}),
        laterality=_side(observation.get("bodySite")),
        **descriptors,
    )


def _kind(code: Json | None) -> rules.ExamKind | None:
    for system, value in _codes(code):
        if system == LOINC and value in _KIND_BY_CODE:
            return rules.ExamKind(_KIND_BY_CODE[value])
    return None


def _facility(procedure: Json, resources: _Resources) -> str:
    location = procedure.get("location") or {}
    name = (resources.resolve(location) or {}).get("name") or location.get("display")
    if not name:
        raise BundleError("a Procedure has no location; followup needs the facility of each exam")
    return name


def _exam(procedure: Json, observations: list[Json], resources: _Resources) -> _ParsedExam:
    performed = procedure.get("performedDateTime")
    if not performed:
        raise BundleError("a Procedure has no performedDateTime; each exam needs its date")
    day = rules.parse_date(performed[:10])
    facility = _facility(procedure, resources)
    where = f"the exam of {day.isoformat()} at {facility}"
    if not observations:
        raise BundleError(f"{where} has no Observation with its assessment category")
    try:
        findings = tuple(_finding(o) for o in observations)
    except ValueError as exc:
        raise BundleError(f"{where}: {exc}") from None
    notes = [n["text"] for n in procedure.get("note") or [] if n.get("text")]
    exam = rules.Exam(
        date=day,
        facility=facility,
        findings=findings,
        kind=_kind(procedure.get("code")),
        follow_up_months=_extension(procedure, EXT_FOLLOW_UP_MONTHS),
    )
    return _ParsedExam(exam, "\n".join(notes) or None, where)


@dataclass(frozen=True)
class ParsedBundle:
    external_id: str
    details: PatientDetails
    exams: list[_ParsedExam]
    transfers: list[tuple[str, str]]


def parse_bundle(bundle: Any) -> ParsedBundle:
    """The patient, her exams and film transfers as the bundle states them; no database.

    A malformed value anywhere (a bad date, text where an object belongs) is a BundleError
    naming the problem, never a traceback.
    """
    try:
        return _parse(bundle)
    except BundleError:
        raise
    except (ValueError, TypeError, AttributeError) as exc:
        raise BundleError(f"the bundle cannot be read: {exc}") from None


def _parse(bundle: Any) -> ParsedBundle:
    resources = _Resources(bundle)
    patients = resources.of_type("Patient")
    if len(patients) != 1:
        raise BundleError(
            f"the bundle holds {len(patients)} Patient resources; import one patient per bundle"
        )
    external_id, details = _patient_facts(patients[0])
    by_procedure: dict[int, list[Json]] = {}
    for observation in resources.of_type("Observation"):
        for part in observation.get("partOf") or []:
            target = resources.resolve(part)
            if target is not None:
                by_procedure.setdefault(id(target), []).append(observation)
    exams = [
        _exam(p, by_procedure.get(id(p), []), resources) for p in resources.of_type("Procedure")
    ]
    return ParsedBundle(external_id, details, exams, _transfers(patients[0]))


def _same_patient(patient: Patient, details: PatientDetails) -> None:
    differ = [
        field
        for field in ("name", "birth_date", "email", "phone", "reminders")
        if getattr(patient, field) != getattr(details, field)
    ]
    if differ:
        raise Conflict(
            f"patient {patient.external_id} exists with a different {', '.join(differ)} than "
            f"the bundle; nothing was imported. Make them agree (`followup patient edit "
            f"{patient.external_id} ...` or edit the bundle) and import again"
        )


def _comparable(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in snapshot.items() if k not in ("id", "facility")}


def _stored_twin(session: Session, patient: Patient, parsed: _ParsedExam) -> Exam | None:
    """The stored exam of the same date and facility, if it says the same; refuse otherwise."""
    facility = find_facility(session, parsed.exam.facility)
    if facility is None:
        return None
    stored = next(
        (e for e in patient.exams if e.date == parsed.exam.date and e.facility_id == facility.id),
        None,
    )
    if stored is None:
        return None
    incoming = _comparable(
        {
            "date": parsed.exam.date.isoformat(),
            "kind": parsed.exam.kind.value if parsed.exam.kind else None,
            "follow_up_months": parsed.exam.follow_up_months,
            "note": parsed.note,
            "findings": [f.as_dict() for f in parsed.exam.findings],
        }
    )
    if incoming != _comparable(exam_snapshot(stored)):
        raise Conflict(
            f"{parsed.where} differs from the stored exam {stored.id}; nothing was imported. "
            f"Check it with `followup exam list {patient.external_id}` and edit or delete one"
        )
    return stored


def import_bundle(
    session: Session, bundle: Any, *, today: date, policy: rules.Policy
) -> ImportSummary:
    """Store the bundle's patient, new exams and film transfers, then refresh her plan."""
    parsed_bundle = parse_bundle(bundle)
    patient = find_patient(session, parsed_bundle.external_id)
    created = patient is None
    if patient is None:
        patient = add_patient(session, parsed_bundle.external_id, parsed_bundle.details)
    else:
        _same_patient(patient, parsed_bundle.details)
    added = skipped = 0
    for parsed in parsed_bundle.exams:
        if _stored_twin(session, patient, parsed) is not None:
            skipped += 1
            continue
        add_exam(
            session,
            patient.external_id,
            parsed.exam,
            note=parsed.note,
            today=today,
            policy=policy,
            refresh=False,
        )
        session.expire(patient, ["exams"])
        added += 1
    moved = _import_transfers(session, patient, parsed_bundle.transfers, policy)
    if added and not moved:  # transfer_films refreshed the plan already
        refresh_plan(session, patient.id, policy)
    return ImportSummary(patient.external_id, created, added, skipped, moved)


def _import_transfers(
    session: Session, patient: Patient, pairs: list[tuple[str, str]], policy: rules.Policy
) -> int:
    """Record the transfers not yet recorded (after the exams, whose facilities they name)."""
    recorded = {
        (t.from_facility.key, t.to_facility.key)
        for t in session.scalars(select(FilmTransfer).where(FilmTransfer.patient_id == patient.id))
    }
    moved = 0
    for source, target in pairs:
        if (rules.facility_key(source), rules.facility_key(target)) in recorded:
            continue
        transfer_films(session, patient.external_id, source, target, policy=policy)
        moved += 1
    return moved
