"""The pure rules core: exams, films and policy in; plan, reasons and flags out.

No database, no I/O, no clock: ``as_of`` is always a parameter.
"""

from followup.rules.categories import (
    Category,
    ExamKind,
    Laterality,
    parse_category,
    parse_kind,
    parse_laterality,
)
from followup.rules.dates import add_months, add_years, check_exam_date, parse_date, with_day
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
from followup.rules.model import Assessment, Exam, FilmTransfer, Finding, Flag, Plan, facility_key
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
from followup.rules.validation import check_facility, check_follow_up_months, validate_exam

__all__ = [
    "ACTIONS",
    "DEFAULT_POLICY",
    "FLAG_CODES",
    "Assessment",
    "Category",
    "Exam",
    "ExamKind",
    "FilmTransfer",
    "Finding",
    "Flag",
    "Laterality",
    "Plan",
    "Policy",
    "add_months",
    "add_years",
    "assess",
    "check_exam_date",
    "check_facility",
    "check_follow_up_months",
    "chronological",
    "dated_flags",
    "days_overdue",
    "facility_key",
    "governing_finding",
    "load_policy_text",
    "make_plan",
    "parse_category",
    "parse_date",
    "parse_kind",
    "parse_laterality",
    "parse_policy",
    "policy_changes",
    "policy_from_mapping",
    "policy_from_values",
    "policy_json",
    "policy_toml",
    "validate_exam",
    "with_day",
]
