"""The code systems and codes of followup's FHIR bundles, in one place, both ways.

Writing uses the tables (category -> codes); reading uses the reverse look-ups built from the
same tables (code -> category), so a code added here is written and read alike. A new coded
field (a new descriptor, a density, a biopsy result) gets its table here and a line in
:mod:`followup.exchange.fhir_write` and :mod:`followup.exchange.fhir_read`.

Sources: the HL7 US Breast Radiology IG (its CodeSystems BiRadsAssessmentCategoryCS, RadLexCDE,
ServiceRecommendationsCS and its CalcificationDistributionVS, copied in tests/data), LOINC
and SNOMED CT.
"""

from __future__ import annotations

import uuid

from followup import rules

OURS = "urn:followup"
PATIENT_ID_SYSTEM = f"{OURS}:patient-id"
ACTION_SYSTEM = f"{OURS}:action"
DESCRIPTOR_SYSTEM = f"{OURS}:descriptor"
EXT_REMINDERS = f"{OURS}:extension:reminders"
EXT_FOLLOW_UP_MONTHS = f"{OURS}:extension:follow-up-months"
EXT_FILM_TRANSFER = f"{OURS}:extension:film-transfer"
EXT_CONCORDANT = f"{OURS}:extension:concordant"
# Our own codes where no published system has one: the canonical category (the 2024 categories
# of clinical-rules.md §1), a breast biopsy as followup records it, its result.
CATEGORY_SYSTEM = f"{OURS}:category"
PROCEDURE_SYSTEM = f"{OURS}:procedure"
BIOPSY_CODE = ("breast-biopsy", "Breast biopsy")
BIOPSY_RESULT_SYSTEM = f"{OURS}:biopsy-result"
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, f"{OURS}:fhir")

IG = "http://hl7.org/fhir/us/breast-radiology/CodeSystem"
BIRADS_SYSTEM = f"{IG}/BiRadsAssessmentCategoryCS"
# The IG's own example report (STU 1 ballot) spells the system in the plural: read both.
BIRADS_SYSTEMS = (BIRADS_SYSTEM, f"{IG}/BiRadsAssessmentCategoriesCS")
RADLEX_SYSTEM = f"{IG}/RadLexCDE"
RECOMMENDATION_SYSTEM = f"{IG}/ServiceRecommendationsCS"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
# The pathology report of a biopsy (LOINC's part "Pathology" and its final diagnosis report).
PATHOLOGY_CATEGORY = (LOINC, "LP7839-6", "Pathology")
PATHOLOGY_REPORT = (LOINC, "22637-3", "Pathology report final diagnosis Narrative")


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    """A FHIR Coding (``display`` only when given)."""
    found = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found


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
# The BI-RADS 4 subdivision (clinical-rules.md §1): BiRadsAssessmentCategoryCS, its display,
# RadLex CDE RDE1586 answer. Written beside the plain category 4 codes (SNOMED CT has none).
S = rules.Subdivision
SUBDIVISION_CODES: dict[rules.Subdivision, tuple[str, str, str]] = {
    S.A: (
        "Category4A",
        "Category 4A (Low suspicion)",
        "RDE1586_category4ASuspiciousAbnormalityLowLikelihoodOfBeingCancer",
    ),
    S.B: (
        "Category4B",
        "Category 4B (Moderate suspicion)",
        "RDE1586_category4BSuspiciousAbnormalityModerateLikelihoodOfBeingCancer",
    ),
    S.C: (
        "Category4C",
        "Category 4C (High suspicion)",
        "RDE1586_category4CSuspiciousAbnormalityHighLikelihoodOfBeingCancer",
    ),
}
SUBDIVISION_BY_CODE = {
    code: sub for sub, (birads, _, radlex) in SUBDIVISION_CODES.items() for code in (birads, radlex)
}
# "incomplete: need prior mammograms" is a BI-RADS 0 for the published systems (its own name
# in CATEGORY_SYSTEM); post-procedure has no BI-RADS code at all (CATEGORY_SYSTEM only).
PRIORS_CODES = ("Category0", "397138000")
CATEGORY_BY_CODE = {
    **{code: cat for cat, codes in CATEGORY_CODES.items() for code in codes if code},
    **{code: C.SUSPICIOUS for code in SUBDIVISION_BY_CODE},
}
CATEGORY_SYSTEMS = (*BIRADS_SYSTEMS, RADLEX_SYSTEM, SNOMED)

SIDE_CODES = {
    "left": ("80248007", "Left breast structure"),
    "right": ("73056007", "Right breast structure"),
    "bilateral": ("63762007", "Both breasts"),
}
SIDE_BY_CODE = {code: side for side, (code, _) in SIDE_CODES.items()}

KIND_CODES = {
    "screening": ("24606-6", "MG Breast Screening"),
    "diagnostic": ("24605-8", "MG Breast Diagnostic"),
}
KIND_BY_CODE = {code: kind for kind, (code, _) in KIND_CODES.items()}

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
DESCRIPTOR_BY_CODE = {(s, c): field for field, (s, c, _) in DESCRIPTORS.items()}

# The exam's breast density (clinical-rules.md §1): an Observation of RadLex CDE RDE1587.
DENSITY_CODE = (RADLEX_SYSTEM, "RDE1587", "Breast composition category")
DENSITY_CODES = {
    rules.Density.A: "RDE1587_categoryATheBreastsAreAlmostEntirelyFatty",
    rules.Density.B: "RDE1587_categoryBThereAreScatteredAreasOfFibroglandularDensity",
    rules.Density.C: "RDE1587_categoryCTheBreastsAreHeterogeneouslyDense",
    rules.Density.D: "RDE1587_categoryDTheBreastsAreExtremelyDense",
}
DENSITY_BY_CODE = {code: density for density, code in DENSITY_CODES.items()}
RADIOLOGIST = "radiologist"  # Procedure.performer.function.text of the exam's reader

# plan action -> ServiceRecommendationsCS code
RECOMMENDATIONS = {
    "additional-imaging": ("AdditionalViews", "Additional views"),
    "routine-screening": ("Mammogram", "Mammogram"),
    "short-interval-follow-up": ("Follow-up", "Follow-up"),
    "biopsy": ("Biopsy", "Biopsy"),
    "treatment": ("SurgicalConsult", "Surgical consult"),
    "prior-films": ("CompareToPriorExams", "Compare to prior exams"),
    "surgical-consultation": ("SurgicalConsult", "Surgical consult"),
}
