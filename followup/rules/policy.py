"""Policy values of clinical-rules.md, set from a TOML file, each within sane bounds (§9).

Every default is a policy value so a programme can set its own; plans name the rule they used.
A clinic's policy is stored in its database (``followup.store.policies``); this module only
turns text into a :class:`Policy` and back, so every door (``policy set``, the ``status
--policy`` preview, a stored policy read back) checks values the same way.

Bounds follow the unit a key's name carries (clinical-rules.md §9: intervals 1-36 months,
windows 1-365 days, comparison 1-10 years): a key added to :class:`Policy` gets its bound from
its name (``*_months``, ``*_days``, ``*_years``), or from :data:`KEY_BOUNDS`, with no other
change here. A list value (``probably_benign_months``) bounds each of its steps.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Policy:
    """The numbers the rules use; defaults are those of clinical-rules.md."""

    routine_months: int = 12
    incomplete_days: int = 30
    # §1: an "incomplete: need prior mammograms" assessment is resolved within this many days.
    prior_films_days: int = 30
    biopsy_days: int = 30
    # §4: after a biopsy, by its result.
    pathology_result_days: int = 10
    post_biopsy_months: int = 6
    surgical_consultation_days: int = 30
    probably_benign_months: tuple[int, ...] = (6, 6, 12)
    probably_benign_later_months: int = 12
    stable_after_months: int = 24
    comparison_years: int = 3
    lost_after_days: int = 90
    # §7, the ladder: the upcoming reminder this many days before the due date, then the
    # overdue steps on these days after it (the last by certified mail), then nothing more.
    reminder_days_before: int = 30
    overdue_steps_days: tuple[int, ...] = (1, 30, 60)
    # Adherence statistics: a return within this many days after the due date is on time.
    on_time_days: int = 30
    # §7: a patient called less than this many days ago is left off the to-call list.
    recontact_days: int = 14
    # §7: an appointment passed by more than this many days with no exam or biopsy since is
    # missed (``missed-appointment``), and she is back on the lists.
    appointment_grace_days: int = 7
    # §8: the outcomes audit counts a cancer within this many days after an exam.
    outcome_days: int = 365
    # §7, §10 (MQSA): the result letter (lay summary) within this many days of the exam,
    # within the second for a suspicious or highly suspicious result.
    result_letter_days: int = 30
    urgent_result_letter_days: int = 7


DEFAULT_POLICY = Policy()

UNIT_BOUNDS = {"months": (1, 36), "days": (1, 365), "years": (1, 10)}
# Keys whose bound is not the one of the unit in their name. The audit's window may reach two
# years: a programme that screens every two years counts its interval cancers over both.
KEY_BOUNDS: dict[str, tuple[int, int]] = {"outcome_days": (1, 730)}
COUNT_BOUNDS = (1, 1000)  # a whole number whose name carries no unit
MAX_STEPS = 12  # the longest list a key may hold (a protocol of follow-up steps)
MAX_TEXT = 200
# Keys earlier versions took, and what replaced them: a policy file naming one is refused with
# this (a stored policy naming one reads back without it: policy_from_values).
RETIRED_KEYS = {
    "overdue_repeat_days": (
        "overdue reminders no longer repeat, they follow overdue_steps_days (default "
        "[1, 30, 60]) then stop; remove it from the file"
    ),
}
MAX_FILE_BYTES = 65_536  # a policy file is a dozen lines; anything bigger is not one
_SHOWN = 40  # characters of a refused value or key quoted in an error


def _unit(name: str) -> str | None:
    return next((part for part in name.split("_") if part in UNIT_BOUNDS), None)


def bounds(name: str) -> tuple[int, int]:
    """The smallest and largest value allowed for whole-number key ``name``."""
    unit = _unit(name)
    return KEY_BOUNDS.get(name) or (UNIT_BOUNDS[unit] if unit else COUNT_BOUNDS)


def _shown(value: Any) -> str:
    """A refused value as the error quotes it: one short line whatever was given."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**12:
        return f"a {len(str(abs(value)))}-digit number"
    text = json.dumps(value, ensure_ascii=True, default=str)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _whole(name: str, value: Any, checked: bool) -> int:
    low, high = bounds(name)
    unit = _unit(name)
    what = f"a whole number of {unit}" if unit else "a whole number"
    wrong = isinstance(value, bool) or not isinstance(value, int)
    if wrong or (checked and not low <= value <= high):
        raise ValueError(
            f"policy key {name!r} must be {what} from {low} to {high}, not {_shown(value)}"
        )
    return value


def _steps(name: str, value: Any, checked: bool) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(
            f"policy key {name!r} must be a list of at least one whole number, e.g. [6, 6, 12]"
        )
    if checked and len(value) > MAX_STEPS:
        raise ValueError(
            f"policy key {name!r} must list at most {MAX_STEPS} steps, not {len(value)}"
        )
    return tuple(_whole(name, item, checked) for item in value)


def _checked(name: str, value: Any, checked: bool = True) -> Any:
    """``value`` for key ``name`` as the rules take it, of the type of its default and (when
    ``checked``) within its bounds; ValueError names the key and the bound."""
    default = getattr(DEFAULT_POLICY, name)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"policy key {name!r} must be true or false, not {_shown(value)}")
        return value
    if isinstance(default, int):
        return _whole(name, value, checked)
    if isinstance(default, tuple):
        return _steps(name, value, checked)
    if isinstance(default, str):
        if not isinstance(value, str) or (checked and len(value) > MAX_TEXT):
            raise ValueError(f"policy key {name!r} must be text of at most {MAX_TEXT} characters")
        return value
    raise TypeError(f"policy key {name!r}: no check for {type(default).__name__} values")


def policy_from_mapping(data: dict[str, Any]) -> Policy:
    """Build a Policy from a parsed TOML document: ``[policy]`` keys, or the same keys at the
    top level. ValueError names the bad key and why; unknown keys are refused."""
    table = data.get("policy", data)
    if not isinstance(table, dict):
        raise ValueError("the [policy] section must be a table of key = value lines")
    others = [key for key in data if key != "policy"] if "policy" in data else []
    if others:
        raise ValueError(
            f"unknown section or key {_shown(others[0])} beside [policy]; put every key under "
            "[policy]"
        )
    known = {f.name for f in fields(Policy)}
    changes: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name in RETIRED_KEYS:
            raise ValueError(f"policy key {name!r} is retired: {RETIRED_KEYS[name]}")
        if name not in known:
            raise ValueError(_unknown(key, known))
        changes[name] = _checked(name, value)
    return replace(DEFAULT_POLICY, **changes)


def _unknown(key: str, known: set[str]) -> str:
    near = difflib.get_close_matches(key.replace("-", "_"), known, n=1)
    hint = f"did you mean {near[0]}?" if near else f"the keys are {', '.join(sorted(known))}"
    return f"unknown policy key {_shown(key)}; {hint}"


def parse_policy(data: bytes | str) -> Policy:
    """A policy file's content (UTF-8 TOML) as a Policy; ValueError, one line, otherwise."""
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"it holds more than {MAX_FILE_BYTES:,} bytes, which no policy file needs")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"it is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                "save it as UTF-8"
            ) from None
    try:
        parsed = tomllib.loads(data)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"it is not valid TOML: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise ValueError("it is not a policy file: its values are nested too deep") from None
    except ValueError:  # Python refuses to read a whole number of thousands of digits
        raise ValueError(_huge_number(data)) from None
    return policy_from_mapping(parsed)


_HUGE = re.compile(r"^[ \t]*([A-Za-z0-9_-]+)[ \t]*=[ \t]*[+-]?([0-9_]{1000,})", re.M)


def _huge_number(text: str) -> str:
    """The error for a number too long for Python to read, naming its key and bound."""
    found = _HUGE.search(text)
    if found is None:
        return "it is not a policy file: a value is thousands of digits long"
    name = found.group(1).replace("-", "_")
    low, high = bounds(name)
    unit = _unit(name)
    what = f"a whole number of {unit}" if unit else "a whole number"
    digits = len(found.group(2).replace("_", ""))
    return f"policy key {name!r} must be {what} from {low} to {high}, not a {digits}-digit number"


def load_policy_text(text: str) -> Policy:
    """Parse TOML text into a Policy; ValueError on malformed TOML or values."""
    return parse_policy(text)


def policy_values(policy: Policy) -> dict[str, Any]:
    """Every value of ``policy`` (defaults included) as JSON-able data, lists for steps."""
    return {key: list(v) if isinstance(v, tuple) else v for key, v in asdict(policy).items()}


def policy_json(policy: Policy) -> str:
    """The canonical text of a policy's values: what the database stores and compares."""
    return json.dumps(policy_values(policy), sort_keys=True)


def policy_from_values(values: dict[str, Any]) -> Policy:
    """A stored policy read back. Keys this version no longer knows are left out and keys it
    added take their defaults; types are checked, bounds are not (a policy stored before a
    bound was added keeps the values its plans were made with)."""
    known = {f.name for f in fields(Policy)}
    return replace(
        DEFAULT_POLICY,
        **{
            key: _checked(key, value, checked=False)
            for key, value in values.items()
            if key in known
        },
    )


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def policy_toml(policy: Policy, header: tuple[str, ...] = ()) -> str:
    """The policy as a TOML file that ``policy set`` reads back to the same values: every key,
    defaults included, a value that differs from its default followed by the default."""
    lines = [f"# {line}" for line in header]
    lines.append("[policy]")
    for key, value in asdict(policy).items():
        default = getattr(DEFAULT_POLICY, key)
        note = "" if value == default else f"  # default {_toml_value(default)}"
        lines.append(f"{key} = {_toml_value(value)}{note}")
    return "\n".join(lines) + "\n"


def policy_changes(before: Policy, after: Policy) -> list[tuple[str, Any, Any]]:
    """(key, old value, new value) of every key whose value differs, in the Policy's order."""
    return [
        (f.name, getattr(before, f.name), getattr(after, f.name))
        for f in fields(Policy)
        if getattr(before, f.name) != getattr(after, f.name)
    ]


def describe_value(value: Any) -> str:
    """A value as TOML writes it, for messages and tables."""
    return _toml_value(value)
