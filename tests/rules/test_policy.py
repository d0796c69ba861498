"""Policy values: the defaults of clinical-rules.md, overridable by TOML, refused when malformed."""

from __future__ import annotations

import json
import re
from dataclasses import fields

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followup import rules
from followup.rules.policy import bounds
from tests.rules.builders import C, R, S, biopsy, d, exam

DEFAULTS = [
    ("routine_months", 12),
    ("incomplete_days", 30),
    ("biopsy_days", 30),
    ("probably_benign_months", (6, 6, 12)),
    ("probably_benign_later_months", 12),
    ("stable_after_months", 24),
    ("comparison_years", 3),
    ("lost_after_days", 90),
    # revised §1 and §4
    ("prior_films_days", 30),
    ("pathology_result_days", 10),
    ("post_biopsy_months", 6),
    ("surgical_consultation_days", 30),
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
    ("zero", "[policy]\nroutine_months = 0", "months from 1 to 36, not 0"),
    ("negative", "[policy]\nlost_after_days = -5", "days from 1 to 365, not -5"),
    ("float", "[policy]\nbiopsy_days = 7.5", "days from 1 to 365, not 7.5"),
    ("string", '[policy]\ncomparison_years = "three"', 'years from 1 to 10, not "three"'),
    ("bool", "[policy]\nincomplete_days = true", "days from 1 to 365, not true"),
    (
        "scalar-for-list",
        "[policy]\nprobably_benign_months = 6",
        "list of at least one whole number",
    ),
    ("bad-list-item", "[policy]\nprobably_benign_months = [6, 0, 12]", "from 1 to 36, not 0"),
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


INTEGER_KEYS = [f.name for f in fields(rules.Policy) if isinstance(f.default, int)]
SPEC_BOUNDS = {  # clinical-rules.md §9: intervals 1-36 months, windows 1-365 days, 1-10 years
    "routine_months": (1, 36),
    "incomplete_days": (1, 365),
    "biopsy_days": (1, 365),
    "probably_benign_later_months": (1, 36),
    "stable_after_months": (1, 36),
    "comparison_years": (1, 10),
    "lost_after_days": (1, 365),
    "on_time_days": (1, 365),
    # revised §1 and §4
    "prior_films_days": (1, 365),
    "pathology_result_days": (1, 365),
    "post_biopsy_months": (1, 36),
    "surgical_consultation_days": (1, 365),
    # §7 pathway and its ladder
    "recontact_days": (1, 365),
    "reminder_days_before": (1, 365),
    "appointment_grace_days": (1, 365),
    # §8: the audit's window, up to two years (a biennial programme's interval cancers)
    "outcome_days": (1, 730),
    # §7 letters (MQSA's lay summary)
    "result_letter_days": (1, 365),
    "urgent_result_letter_days": (1, 365),
}


def test_every_whole_number_key_has_the_bound_of_its_unit():
    assert {key: bounds(key) for key in SPEC_BOUNDS} == SPEC_BOUNDS
    assert all(bounds(key) for key in INTEGER_KEYS)  # a new key gets one from its name


@pytest.mark.parametrize("key", INTEGER_KEYS)
def test_bounds_are_inclusive_and_named_when_refused(key):
    low, high = bounds(key)
    assert getattr(rules.parse_policy(f"{key} = {low}"), key) == low
    assert getattr(rules.parse_policy(f"{key} = {high}"), key) == high
    for value in (low - 1, high + 1):
        with pytest.raises(ValueError, match=f"'{key}' must be .* from {low} to {high}, not"):
            rules.parse_policy(f"{key} = {value}")


@pytest.mark.parametrize(
    "key", ["routine_months", "comparison_years", "lost_after_days", "incomplete_days"]
)
@pytest.mark.parametrize(
    ("value", "shown"),
    [("1" + "0" * 30, "a 31-digit number"), ("9" * 5000, "a 5000-digit number")],
    ids=["10^30", "5000-digits"],
)
def test_huge_values_are_one_line_naming_key_and_bound(key, value, shown):
    low, high = bounds(key)
    with pytest.raises(ValueError) as raised:
        rules.parse_policy(f"[policy]\n{key} = {value}\n")
    message = str(raised.value)
    assert message.startswith(f"policy key '{key}' must be a whole number of ")
    assert message.endswith(f"from {low} to {high}, not {shown}")
    assert "\n" not in message and len(message) < 200


def test_each_protocol_step_is_bounded_and_the_protocol_is_short():
    with pytest.raises(ValueError, match=r"'probably_benign_months' .* from 1 to 36, not 37"):
        rules.parse_policy("probably_benign_months = [6, 37]")
    with pytest.raises(ValueError, match="at most 12 steps, not 13"):
        rules.parse_policy("probably_benign_months = [" + ", ".join(["6"] * 13) + "]")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"routine_months = 12\n# \xff\xfe\n", "not UTF-8 text (byte 0xff at offset 22)"),
        (b"a = " + b"[" * 70_000, "more than 65,536 bytes"),
        (b"a = " + b"[" * 5_000, "nested too deep"),
        (b"[policy]\nroutine_months = 12\n[reminders]\nx = 1\n", "beside [policy]"),
    ],
    ids=["latin-1", "too-big", "nested", "other-section"],
)
def test_files_that_are_not_policies_are_one_line_errors(content, message):
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        rules.parse_policy(content)
    assert "\n" not in str(raised.value)


def test_toml_written_is_read_back_to_the_same_policy():
    policy = rules.Policy(routine_months=24, probably_benign_months=(4, 6, 12))
    text = rules.policy_toml(policy, ("policy 2, set by ana",))
    assert text.startswith("# policy 2, set by ana\n[policy]\n")
    assert "routine_months = 24  # default 12\n" in text and "biopsy_days = 30\n" in text
    assert rules.parse_policy(text) == policy
    assert rules.parse_policy(rules.policy_toml(rules.DEFAULT_POLICY)) == rules.DEFAULT_POLICY


def test_a_stored_policy_reads_back_whatever_keys_the_version_knows():
    stored = json.loads(rules.policy_json(rules.Policy(biopsy_days=14)))
    stored.pop("on_time_days")  # a key added since: its default
    stored["retired_key"] = 5  # a key removed since: left out
    stored["routine_months"] = 48  # stored before the bound: kept, its plans used it
    policy = rules.policy_from_values(stored)
    assert (policy.biopsy_days, policy.on_time_days, policy.routine_months) == (14, 30, 48)


def _policies() -> st.SearchStrategy[rules.Policy]:
    """Any policy within bounds, keys drawn from the dataclass (new keys included)."""
    values: dict[str, st.SearchStrategy[object]] = {}
    for f in fields(rules.Policy):
        low, high = bounds(f.name)
        whole = st.integers(low, high)
        values[f.name] = (
            st.lists(whole, min_size=1, max_size=12).map(tuple)
            if isinstance(f.default, tuple)
            else whole
        )
    return st.builds(rules.Policy, **values)


@given(_policies())
@settings(max_examples=200, deadline=None)
def test_any_policy_within_bounds_round_trips_through_toml_and_json(policy):
    assert rules.parse_policy(rules.policy_toml(policy)) == policy
    assert rules.policy_from_values(json.loads(rules.policy_json(policy))) == policy


def test_biopsy_and_prior_films_intervals_are_policy_values():
    policy = rules.load_policy_text(
        """
        [policy]
        prior_films_days = 14
        pathology-result-days = 7
        post_biopsy_months = 12
        surgical_consultation_days = 21
        """
    )
    suspicious = exam("2025-01-10", C.SUSPICIOUS, S.LEFT)

    def left(*biopsies):  # type: ignore[no-untyped-def]
        return rules.make_plan([suspicious], [], policy, list(biopsies)).breast(S.LEFT)

    assert left(biopsy("2025-02-01", S.LEFT, R.PENDING)).due == d("2025-02-08")
    assert left(biopsy("2025-02-01", S.LEFT, R.BENIGN, True)).due == d("2026-02-01")
    assert left(biopsy("2025-02-01", S.LEFT, R.HIGH_RISK)).due == d("2025-02-22")
    assert left(biopsy("2025-02-01", S.LEFT, R.BENIGN, False)).due == d("2025-02-22")
    priors = _plan(policy, exam("2025-01-10", C.INCOMPLETE_PRIORS))
    assert priors.due == d("2025-01-24") and "14 days" in priors.reason
    with pytest.raises(ValueError, match="from 1 to 36"):
        rules.load_policy_text("post_biopsy_months = 0")


def test_a_retired_key_is_refused_saying_what_replaced_it():
    """overdue_repeat_days (reminders repeated every 30 days, forever) gave way to the ladder
    of §7; a file still naming it is told so, in one line (a stored one reads back)."""
    with pytest.raises(ValueError, match=r"overdue_repeat_days' is retired: .*overdue_steps_days"):
        rules.parse_policy("[policy]\noverdue_repeat_days = 30\n")
    stored = rules.policy_from_values({"overdue_repeat_days": 45, "lost_after_days": 60})
    assert stored == rules.Policy(lost_after_days=60)
