"""Policy values: the defaults of clinical-rules.md, overridable by TOML, refused when malformed."""

from __future__ import annotations

import pytest

from followup import rules
from tests.rules.builders import C, S, d, exam

DEFAULTS = [
    ("routine_months", 12),
    ("incomplete_days", 30),
    ("biopsy_days", 30),
    ("probably_benign_months", (6, 6, 12)),
    ("probably_benign_later_months", 12),
    ("stable_after_months", 24),
    ("comparison_years", 3),
    ("lost_after_days", 90),
]


@pytest.mark.parametrize(("name", "value"), DEFAULTS, ids=[n for n, _ in DEFAULTS])
def test_defaults_are_those_of_the_spec(name, value):
    assert getattr(rules.DEFAULT_POLICY, name) == value
    assert getattr(rules.load_policy_text(""), name) == value


def test_toml_overrides_only_what_it_names():
    policy = rules.load_policy_text(
        """
        [policy]
        routine_months = 24
        probably-benign-months = [4, 6, 12]
        lost_after_days = 60
        """
    )
    assert policy.routine_months == 24
    assert policy.probably_benign_months == (4, 6, 12)
    assert policy.lost_after_days == 60
    assert policy.comparison_years == 3 and policy.biopsy_days == 30


def test_top_level_keys_without_a_section_are_read_too():
    assert rules.load_policy_text("comparison_years = 5").comparison_years == 5


def _plan(policy, *exams):
    return rules.make_plan(list(exams), [], policy)


def test_policy_drives_every_interval():
    policy = rules.load_policy_text(
        """
        [policy]
        routine_months = 24
        incomplete_days = 14
        biopsy_days = 7
        probably_benign_months = [3, 6]
        probably_benign_later_months = 18
        stable_after_months = 12
        comparison_years = 2
        lost_after_days = 30
        """
    )
    assert _plan(policy, exam("2025-01-31", C.BENIGN)).due == d("2027-01-31")
    assert _plan(policy, exam("2025-01-31", C.INCOMPLETE)).due == d("2025-02-14")
    made = _plan(policy, exam("2025-01-31", C.SUSPICIOUS))
    assert made.due == d("2025-02-07") and "7 days" in made.reason
    assert _plan(policy, exam("2025-01-31", C.HIGHLY_SUSPICIOUS)).due == d("2025-02-07")
    pb = [
        exam(day, C.PROBABLY_BENIGN, S.LEFT) for day in ("2024-01-10", "2024-04-10", "2024-10-10")
    ]
    assert _plan(policy, pb[0]).due == d("2024-04-10")  # 3 months
    assert _plan(policy, *pb[:2]).due == d("2024-10-10")  # 6 months
    third = _plan(policy, *pb)
    assert third.due == d("2026-04-10")  # past the protocol: 18 months
    # a 3rd exam is past a 2-step protocol, but 9 months < 12: not yet stable
    assert "stable-probably-benign" not in [f.code for f in third.flags]
    stable = _plan(policy, *pb, exam("2025-01-10", C.PROBABLY_BENIGN, S.LEFT))
    assert "stable-probably-benign" in [f.code for f in stable.flags]
    # two years of films are enough under this policy
    two_years = _plan(policy, exam("2023-01-31", C.BENIGN), exam("2025-01-31", C.BENIGN))
    assert "short-comparison-history" not in [f.code for f in two_years.flags]
    overdue = rules.assess([exam("2024-01-01", C.BENIGN)], [], policy, d("2026-01-31"))
    assert [f.code for f in overdue.flags if f.code != "short-comparison-history"] == ["overdue"]
    late = rules.assess([exam("2024-01-01", C.BENIGN)], [], policy, d("2026-02-01"))
    assert "lost-to-follow-up" in [f.code for f in late.flags]


MALFORMED = [
    ("not-toml", "routine_months = ", "not valid TOML"),
    ("unknown-key", "[policy]\nroutine_month = 12", "routine_month"),
    ("zero", "[policy]\nroutine_months = 0", "positive whole number"),
    ("negative", "[policy]\nlost_after_days = -5", "positive whole number"),
    ("float", "[policy]\nbiopsy_days = 7.5", "positive whole number"),
    ("string", '[policy]\ncomparison_years = "three"', "positive whole number"),
    ("bool", "[policy]\nincomplete_days = true", "positive whole number"),
    (
        "scalar-for-list",
        "[policy]\nprobably_benign_months = 6",
        "list of at least one whole number",
    ),
    ("bad-list-item", "[policy]\nprobably_benign_months = [6, 0, 12]", "positive whole number"),
    ("empty-protocol", "[policy]\nprobably_benign_months = []", "at least one"),
    ("section-not-table", "policy = 3", "table"),
]


@pytest.mark.parametrize(
    ("text", "message"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_policy_is_a_clear_value_error(text, message):
    with pytest.raises(ValueError, match=message):
        rules.load_policy_text(text)


def test_policy_from_mapping_accepts_parsed_tables():
    policy = rules.policy_from_mapping({"policy": {"biopsy_days": 14}})
    assert policy.biopsy_days == 14
    assert policy == rules.Policy(biopsy_days=14)
