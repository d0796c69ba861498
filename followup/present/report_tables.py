"""The coordinator reports as people read them: the due table's marks and headers, the
widths of columns whose values are known in advance, the rows of the stats table.

Plain values in (the rows of :mod:`followup.store.reports` and the figures of
:mod:`followup.store.adherence`), rows out, for the table writer or a web page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from followup.rules.engine import ACTIONS, FLAG_CODES

# The table, for people: overdue first and marked, short headers, cut to fit a terminal.
DUE_TABLE = (
    "overdue",
    "due",
    "patient_id",
    "name",
    "phone",
    "action",
    "laterality",
    "facility",
    "tracking",
    "last_contact",
    "flags",
    "also",
)
DUE_HEADERS = (
    "overdue",
    "due",
    "patient",
    "name",
    "phone",
    "action",
    "side",
    "facility",
    "tracking",
    "contacted",
    "other flags",
    "other breast",
)
# Columns whose values are known in advance are as wide as the widest, whatever rows come
# first: a report's first rows must not decide that a later one is cut.
_ACTION_WIDTH = max(map(len, ACTIONS))
DUE_WIDTHS = {
    "due": 10,
    "action": _ACTION_WIDTH,
    "laterality": len("bilateral"),
    "tracking": len("scheduled 2025-01-31"),
    "last_contact": 10,
}
FLAG_WIDTHS = {"code": max(map(len, FLAG_CODES)), "due": 10, "action": _ACTION_WIDTH}
# Shown in their own columns, not among the other flags.
SHOWN = ("overdue", "lost-to-follow-up", "missed-appointment")


def marked(row: dict) -> dict:
    """`! 20 days` (`! 120 days lost`) in the overdue column instead of a boolean, a number
    and two flags; the pathway in one cell (`scheduled 2025-07-01`, `missed 2025-05-20`,
    `closed`); the other flags after them."""
    late = row["days_overdue"]
    lost = " lost" if "lost-to-follow-up" in row["flags"] else ""
    return {
        **row,
        "overdue": f"! {late} days{lost}" if late else "",
        "tracking": _tracking_cell(row),
        "flags": " ".join(code for code in row["flags"] if code not in SHOWN),
    }


def _tracking_cell(row: dict) -> str:
    if row["state"] == "scheduled":
        return f"scheduled {row['appointment']}"
    if "missed-appointment" in row["flags"]:
        return f"missed {row['appointment']}"
    return "closed" if row["state"] == "closed" else ""


# ``stats``: CSV keeps each count and its percentage in columns of their own (``on_time``,
# ``on_time_pct``); the table, for people, writes the percentage beside the count
# (``12 (34.5%)``).
OUTCOMES = ("on_time", "late", "lost", "open")
STATS_COLUMNS = (
    "section",
    "step",
    "due",
    *OUTCOMES,
    "due_pct",
    *(f"{o}_pct" for o in OUTCOMES),
)
STATS_HEADERS = ("section", "step", "due / patients", "on time", "late", "lost", "open")
# (section as shown, counts key, percentages key) of the figures counted from the plans.
COUNTED = (
    ("next action", "actions", "actions_pct"),
    ("flag", "flags", "flags_pct"),
    ("pathway", "tracking", "tracking_pct"),
)


def _beside(count: Any, pct: float | None) -> str:
    """``12 (34.5%)``; the count alone where no percentage applies."""
    return str(count) if pct is None else f"{count} ({pct:.1f}%)"


def _scope_rows(figures: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for step in figures["probably_benign"]:
        yield {"section": "probably-benign step", "due_pct": None, **step}
    for section, counts, shares in COUNTED:
        for key, count in figures[counts].items():
            yield {"section": section, "step": key, "due": count, "due_pct": figures[shares][key]}


def _for_table(row: dict[str, Any]) -> dict[str, Any]:
    shown = {**row, "due": _beside(row["due"], row.get("due_pct"))}
    for outcome in OUTCOMES:
        if outcome in row:
            shown[outcome] = _beside(row[outcome], row.get(f"{outcome}_pct"))
    return shown


def stats_rows(figures: dict[str, Any], *, table: bool) -> Iterator[dict[str, Any]]:
    """The rows of ``stats``: the probably-benign steps, then patients by next action, by
    flag in force and by pathway state (their counts in the ``due`` column), of one scope's
    figures or of each group's (``--by``) with its name first."""
    groups = figures.get("groups", [figures])
    for group in groups:
        for row in _scope_rows(group):
            if "group" in group:
                row = {"group": group["group"], **row}
            yield _for_table(row) if table else row
