"""The pure rules core: exams, biopsies, films and policy in; plan, reasons and flags out.

No database, no I/O, no clock: ``as_of`` is always a parameter. Every rule cites the section
of clinical-rules.md it implements; every plan carries the reason that produced it.

Inputs (frozen values; new fields have defaults, so older callers keep working)
-------------------------------------------------------------------------------
``Finding(category, laterality=None, morphology=None, distribution=None, size_class=None,
subdivision=None)``
    ``category`` a :class:`Category`; ``laterality`` left/right/bilateral or None (§2: no side
    or bilateral applies to every breast the exam imaged); ``subdivision`` the BI-RADS 4
    subdivision (:class:`Subdivision` 4A/4B/4C), suspicious findings only. Read-only:
    ``worry`` (§1 order, 4 = 4A < 4B < 4C), ``birads`` ("0".."6", "4B"; None for
    post-procedure), ``label`` ("suspicious (BI-RADS 4B)"), ``as_dict()``.
``Exam(date, facility, findings, kind=None, follow_up_months=None, id=None, imaged=BOTH,
density=None, radiologist=None)``
    ``kind`` screening/diagnostic/None (None is never taken for a diagnostic re-assessment);
    ``follow_up_months`` the radiologist's interval; ``id`` only carried into reasons and
    plans; ``imaged`` :class:`Imaged` both/left/right; ``density`` :class:`Density` a-d and
    ``radiologist`` never change the plan. Derived once: ``facility_key``, ``governing`` (the
    exam's most worrisome finding, for display), ``assessed`` (what it says about each breast,
    left and right: a finding, ``IMPLICIT_NEGATIVE`` when it imaged the breast without one, or
    None), ``assesses``.
``FilmTransfer(from_facility, to_facility, date=None)``
    §6: on ``date`` the films of the source's exams dated on or before it (and what the source
    had on hand by then) moved to ``to_facility``; transfers chain. ``date`` None: all the
    source's films, whenever made (transfers recorded before they had a date).
``Biopsy(date, side, result, concordant=None, facility=None, pathology=None, id=None)``
    ``side`` left/right; ``result`` :class:`BiopsyResult` pending/benign/high-risk/malignant;
    ``concordant`` True/False for a benign result (required), None while pending.
``Policy``
    Adds ``prior_films_days`` (30), ``pathology_result_days`` (10), ``post_biopsy_months`` (6)
    and ``surgical_consultation_days`` (30) to the earlier keys; same TOML and validation.

Outputs
-------
``make_plan(exams, transfers, policy, biopsies=()) -> Plan``
    Depends only on the set of records, never their order, nor on the day it is read.
    ``Plan.action, due, laterality, reason, exam_id, exam_date, facility, category,
    episode_start, episode_step`` are the patient's next step (what the store keeps and the
    reports read): the breast plan due first, on the same day the more urgent (§2); the same
    action on both breasts the same day is one ``bilateral`` step. ``treatment`` (known
    malignancy or a malignant biopsy on either breast) comes first, with no due date and no
    laterality. ``subdivision`` and ``biopsy_id`` complete the step. ``flags`` are the
    date-independent flags, in ``FLAG_CODES`` order, one per code.
    ``Plan.breasts``: a :class:`BreastPlan` per breast that has a course (left first), with
    ``side``, ``action``, ``due``, ``laterality``, ``reason``, ``category``/``subdivision``/
    ``birads``, ``exam_id``/``exam_date``/``facility`` (of the exam the step counts from: for
    an open biopsy recommendation the exam that opened it), ``episode_start``/
    ``episode_step``, ``biopsy_open``, ``biopsy_id``/``biopsy_date``. ``Plan.breast(side)``
    picks one. ``Plan.also``: the other breast's plan when it differs from the next step,
    except when the next step already covers it (same action, bilateral).
``assess(exams, transfers, policy, as_of, biopsies=()) -> Assessment(plan, as_of, flags)``
    The plan read on ``as_of``: its flags plus ``overdue`` and ``lost-to-follow-up``
    (:func:`dated_flags`), in ``FLAG_CODES`` order. :func:`days_overdue` counts the days.
``Flag(code, message, patient_message=None)``
    ``message`` is the staff's voice (reports; what the store keeps), ``patient_message`` the
    patient's (status, letters, e-mail); ``for_patient`` falls back to ``message`` for flags
    read back from the store. Codes: ``FLAG_CODES`` (the §6 table; ``missed-appointment`` is
    raised by the pathway of §7, never by a plan). Actions: ``ACTIONS``, most urgent first
    (``URGENCY_ORDER``).
``chronological(exams)``, ``governing_finding(exam)``
    The §5 order of exams (a day's screening before its diagnostic, the most worrisome last)
    and an exam's governing finding, for views.

Validation (ValueError, one line saying what to fix)
----------------------------------------------------
``validate_exam(exam, today)``: the date (future, before 1900), facility, interval 1-36, at
least one finding, a subdivision only on a suspicious finding, no finding on a breast the
exam did not image ("... which this exam did not image (it imaged the left breast only);
record the exam as imaging both breasts, or give the finding's side as left").
``validate_biopsy(biopsy, today)``: the date, a side of one breast, a benign result's
concordance ("... record it as concordant or discordant"), no concordance while pending.
Parsers: ``parse_assessment`` (category and subdivision: "4b", "0-priors", "need priors"),
``parse_category``, ``parse_subdivision``, ``parse_laterality``, ``parse_kind``,
``parse_imaged``, ``parse_density``, ``parse_biopsy_result``, ``parse_biopsy_side``,
``parse_date``; the descriptors' ``parse_morphology``, ``parse_distribution`` (other
systems' spellings onto §1's terms, free text kept) and ``parse_size_class``, applied to an
exam's findings by ``with_terms(exam)``. Checks ``check_exam_date``, ``check_biopsy_date``,
``check_transfer_date``, ``check_facility``, ``check_follow_up_months``, ``check_finding``,
``check_radiologist``, ``check_descriptors`` (what the store checks in a finding's descriptors
whatever door it came by). The canonical values for the store's CHECK constraints:
``CATEGORIES``, ``SUBDIVISIONS``, ``SIDES``, ``BIOPSY_SIDES``, ``KINDS``, ``IMAGED``,
``DENSITIES``, ``BIOPSY_RESULTS``, ``SIZE_CLASSES``.

Readings chosen where the spec leaves room (each keeps a finding that needs care in sight)
--------------------------------------------------------------------------------------
- An exam whose kind is not recorded does not close a biopsy recommendation (only a
  *diagnostic* re-assessment does); ``biopsy-outstanding`` says to record the kind.
- A biopsy record of any result, pending included, answers the recommendation; a pending
  result then stays in sight (``pathology-result``) even after a later exam of the breast,
  until the result is recorded, unless something more urgent is due.
- A biopsy ends a probably-benign episode (follow-up restarts at step 1); a biopsy after
  known malignancy leaves the breast on treatment.
- A benign result without its concordance, should one reach the rules, is taken as
  discordant; a breast with only post-procedure findings on an exam was not assessed by it.
- ``category-increased`` compares a breast's latest exam with its latest exam of an earlier
  day (so a day's diagnostic never "rises" from that day's screening).
- The "latest exam" of the films flags (current facility, the exam before it) is the latest
  assessed one: a post-procedure exam never governs, though its films count as on hand.
- ``biopsy-outstanding`` is raised for a later screening exam, or one whose kind is not
  recorded, of the breast; ``discordant-biopsy``/``high-risk-lesion`` while that biopsy still
  decides the breast's step (§4: a later exam of the breast resumes the ordinary rules).
"""

from followup.rules.categories import (
    CATEGORIES,
    SUBDIVISIONS,
    URGENCY_ORDER,
    Category,
    Subdivision,
    parse_assessment,
    parse_category,
    parse_subdivision,
)
from followup.rules.dates import (
    add_months,
    add_years,
    check_biopsy_date,
    check_exam_date,
    check_transfer_date,
    parse_date,
    with_day,
)
from followup.rules.descriptors import (
    SIZE_CLASSES,
    check_descriptors,
    parse_distribution,
    parse_morphology,
    parse_size_class,
    with_terms,
)
from followup.rules.engine import (
    ACTIONS,
    FLAG_CODES,
    assess,
    chronological,
    dated_flags,
    days_overdue,
    governing_finding,
    make_plan,
)
from followup.rules.model import (
    IMPLICIT_NEGATIVE,
    Assessment,
    Biopsy,
    BreastPlan,
    Exam,
    FilmTransfer,
    Finding,
    Flag,
    Plan,
    facility_key,
)
from followup.rules.policy import (
    DEFAULT_POLICY,
    Policy,
    load_policy_text,
    parse_policy,
    policy_changes,
    policy_from_mapping,
    policy_from_values,
    policy_json,
    policy_toml,
)
from followup.rules.validation import (
    check_facility,
    check_finding,
    check_follow_up_months,
    check_radiologist,
    validate_biopsy,
    validate_exam,
)
from followup.rules.vocabulary import (
    BIOPSY_RESULTS,
    BIOPSY_SIDES,
    DENSITIES,
    IMAGED,
    KINDS,
    SIDES,
    BiopsyResult,
    Density,
    ExamKind,
    Imaged,
    Laterality,
    parse_biopsy_result,
    parse_biopsy_side,
    parse_density,
    parse_imaged,
    parse_kind,
    parse_laterality,
)

__all__ = [
    "ACTIONS",
    "BIOPSY_RESULTS",
    "BIOPSY_SIDES",
    "CATEGORIES",
    "DEFAULT_POLICY",
    "DENSITIES",
    "FLAG_CODES",
    "IMAGED",
    "IMPLICIT_NEGATIVE",
    "KINDS",
    "SIDES",
    "SIZE_CLASSES",
    "SUBDIVISIONS",
    "URGENCY_ORDER",
    "Assessment",
    "Biopsy",
    "BiopsyResult",
    "BreastPlan",
    "Category",
    "Density",
    "Exam",
    "ExamKind",
    "FilmTransfer",
    "Finding",
    "Flag",
    "Imaged",
    "Laterality",
    "Plan",
    "Policy",
    "Subdivision",
    "add_months",
    "add_years",
    "assess",
    "check_biopsy_date",
    "check_descriptors",
    "check_exam_date",
    "check_facility",
    "check_finding",
    "check_follow_up_months",
    "check_radiologist",
    "check_transfer_date",
    "chronological",
    "dated_flags",
    "days_overdue",
    "facility_key",
    "governing_finding",
    "load_policy_text",
    "make_plan",
    "parse_assessment",
    "parse_biopsy_result",
    "parse_biopsy_side",
    "parse_category",
    "parse_date",
    "parse_density",
    "parse_distribution",
    "parse_imaged",
    "parse_kind",
    "parse_laterality",
    "parse_morphology",
    "parse_policy",
    "parse_size_class",
    "parse_subdivision",
    "policy_changes",
    "policy_from_mapping",
    "policy_from_values",
    "policy_json",
    "policy_toml",
    "validate_biopsy",
    "validate_exam",
    "with_day",
    "with_terms",
]
