"""Policy values of clinical-rules.md, overridable by a TOML file.

Every default is a policy value so a programme can set its own; plans name the rule they used.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Policy:
    """The numbers the rules use; defaults are those of clinical-rules.md."""

    routine_months: int = 12
    incomplete_days: int = 30
    biopsy_days: int = 30
    probably_benign_months: tuple[int, ...] = (6, 6, 12)
    probably_benign_later_months: int = 12
    stable_after_months: int = 24
    comparison_years: int = 3
    lost_after_days: int = 90
    # Reminders: an overdue follow-up is reminded again every this many days.
    overdue_repeat_days: int = 30
    # Adherence statistics: a return within this many days after the due date is on time.
    on_time_days: int = 30


DEFAULT_POLICY = Policy()


def policy_from_mapping(data: dict[str, Any]) -> Policy:
    """Build a Policy from a parsed TOML table; ValueError names the bad key and why."""
    known = {f.name: f for f in fields(Policy)}
    table = data.get("policy", data)
    if not isinstance(table, dict):
        raise ValueError("the [policy] section must be a table of key = value lines")
    changes: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in known:
            raise ValueError(f"unknown policy key {key!r}; known keys: {', '.join(sorted(known))}")
        changes[name] = _checked(name, value, isinstance(getattr(DEFAULT_POLICY, name), tuple))
    return replace(DEFAULT_POLICY, **changes)


def _checked(name: str, value: Any, is_sequence: bool) -> Any:
    """Positive whole numbers only: a zero or negative interval would schedule nonsense."""
    items = value if is_sequence and isinstance(value, list) else [value]
    if is_sequence and not (isinstance(value, list) and value):
        raise ValueError(
            f"policy key {name!r} must be a list of at least one whole number, e.g. [6, 6, 12]"
        )
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or item < 1:
            raise ValueError(f"policy key {name!r} must be a positive whole number, not {item!r}")
    return tuple(items) if is_sequence else value


def load_policy_text(text: str) -> Policy:
    """Parse TOML text into a Policy; ValueError on malformed TOML or values."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"the policy file is not valid TOML: {exc}") from None
    return policy_from_mapping(data)
