"""The coordinator reports as people read them: the due table's marks and headers, the
widths of columns whose values are known in advance, the rows of the stats table.

Plain values in (the rows of :mod:`followup.store.reports` and the figures of
:mod:`followup.store.adherence`), rows out, for the table writer or a web page.
"""

from __future__ import annotations

from typing import Any

from followup.rules.engine import ACTIONS, FLAG_CODES

# The table, for people: overdue first and marked, short headers, cut to fit a terminal.
DUE_TABLE = (
    "overdue",
    "due",
    "patient_id",
    "name",
    "action",
    "laterality",
    "facility",
    "flags",
    "also",
)
DUE_HEADERS = (
    "overdue",
    "due",
    "patient",
    "name",
    "action",
    "side",
    "facility",
    "other flags",
    "other breast",
)
# Columns whose values are known in advance are as wide as the widest, whatever rows come
# first: a report's first rows must not decide that a later one is cut.
_ACTION_WIDTH = max(map(len, ACTIONS))
DUE_WIDTHS = {"due": 10, "action": _ACTION_WIDTH, "laterality": len("bilateral")}
FLAG_WIDTHS = {"code": max(map(len, FLAG_CODES)), "due": 10, "action": _ACTION_WIDTH}
DATED = ("overdue", "lost-to-follow-up")


def marked(row: dict) -> dict:
    """`! 20 days` (`! 120 days lost`) in the overdue column instead of a boolean, a number
    and two flags; the other flags after it."""
    late = row["days_overdue"]
    lost = " lost" if "lost-to-follow-up" in row["flags"] else ""
    return {
        **row,
        "overdue": f"! {late} days{lost}" if late else "",
        "flags": " ".join(code for code in row["flags"] if code not in DATED),
    }


# A section, then the keys of a probably-benign step (followup.store.adherence.STEP_COLUMNS).
STATS_COLUMNS = ("section", "step", "due", "on_time", "late", "lost", "open")
STATS_HEADERS = ("section", "step", "due / patients", "on time", "late", "lost", "open")


def stats_rows(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """One table of ``stats``: the probably-benign steps, then patients by next action and
    by flag in force (their counts in the ``due`` column)."""
    return [
        *({"section": "probably-benign step", **step} for step in figures["probably_benign"]),
        *(
            {"section": "next action", "step": action, "due": count}
            for action, count in figures["actions"].items()
        ),
        *(
            {"section": "flag", "step": code, "due": count}
            for code, count in figures["flags"].items()
        ),
    ]
