"""The audit log as people read it: who, when, what, and each field before -> after.

Plain values in (what followup.store.audit reads: snapshots of a record as JSON-able dicts),
rows and objects out, for the table, CSV and JSON writers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol

ROW_COLUMNS = (
    "at",
    "by",
    "action",
    "exam_id",
    "patient_id",
    "field",
    "before",
    "after",
    "biopsy_id",
)
ROW_HEADERS = ("when (UTC)", "by", "what", "exam", "patient", "field", "before", "after", "biopsy")
ACTIONS = {
    "exam.recorded": "recorded",
    "exam.add": "added",
    "exam.edit": "edited",
    "exam.delete": "deleted",
    "films.transfer": "films transferred",
    "biopsy.add": "biopsy added",
    "biopsy.edit": "biopsy edited",
    "biopsy.delete": "biopsy deleted",
    "contact.add": "contact recorded",
    "patient.close": "tracking closed",
    "patient.reopen": "tracking reopened",
    "facility.edit": "facility edited",
    "clinic.set": "clinic set",
}
# The order fields are shown in; a field a later version adds comes after these.
FIELDS = (
    "date",
    "outcome",
    "appointment",
    "facility",
    "kind",
    "imaged",
    "findings",
    "density",
    "radiologist",
    "follow_up_months",
    "side",
    "result",
    "concordant",
    "pathology",
    "note",
    "from",
    "to",
    "name",
    "address",
    "phone",
)
HIDDEN = frozenset({"id"})  # the exam's own id is in its own column
NOT_KNOWN = "(not logged)"


class Entry(Protocol):
    """What the view needs of one entry (followup.store.audit.AuditRecord)."""

    at: datetime | None
    actor: str | None
    action: str
    exam_id: int | None
    patient_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    biopsy_id: int | None


def finding_text(finding: dict[str, Any]) -> str:
    """``probably-benign left (punctate, grouped, micro)``, ``suspicious 4B left``."""
    words = [finding.get("category") or "?"]
    if finding.get("subdivision"):
        words.append(finding["subdivision"])
    if finding.get("laterality"):
        words.append(finding["laterality"])
    details = [finding.get(k) for k in ("morphology", "distribution", "size_class")]
    shown = ", ".join(d for d in details if d)
    return " ".join(words) + (f" ({shown})" if shown else "")


def value_text(field: str, value: Any) -> str:
    """A field's value in words; empty for none."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):  # a biopsy's concordance
        return "yes" if value else "no"
    if field == "findings" and isinstance(value, list):
        return "; ".join(finding_text(f) for f in value if isinstance(f, dict))
    return str(value)


def changes(entry: Entry) -> list[tuple[str, str, str]]:
    """(field, before, after) of each field that differs; an addition shows every field it
    set, a deletion every field it held."""
    before, after = entry.before or {}, entry.after or {}
    known = [f for f in FIELDS if f in before or f in after]
    later = sorted((set(before) | set(after)) - set(FIELDS) - HIDDEN)
    found = []
    for field in [*known, *later]:
        old, new = value_text(field, before.get(field)), value_text(field, after.get(field))
        if old != new:
            found.append((field, old, new))
    return found


def when(at: datetime | None) -> str:
    return at.isoformat(sep=" ", timespec="seconds") if at is not None else NOT_KNOWN


def entry_json(entry: Entry) -> dict[str, Any]:
    """One entry for scripts: the whole before/after records, and the changes."""
    return {
        "at": entry.at.isoformat(timespec="seconds") if entry.at else None,
        "by": entry.actor,
        "action": entry.action,
        "exam_id": entry.exam_id,
        "biopsy_id": entry.biopsy_id,
        "patient_id": entry.patient_id,
        "changes": [
            {"field": f, "before": b or None, "after": a or None} for f, b, a in changes(entry)
        ],
        "before": entry.before,
        "after": entry.after,
    }


def entry_rows(entries: Iterable[Entry], repeat: bool = True) -> Iterator[dict[str, Any]]:
    """One row per changed field. ``repeat=False`` (the table) leaves who, when and what
    blank on an entry's second and later rows, so each entry reads as one block."""
    for entry in entries:
        head = {
            "at": when(entry.at),
            "by": entry.actor or NOT_KNOWN,
            "action": ACTIONS.get(entry.action, entry.action),
            "exam_id": entry.exam_id,
            "patient_id": entry.patient_id,
            "biopsy_id": entry.biopsy_id,
        }
        lines = changes(entry) or [("", "", "")]
        for index, (field, before, after) in enumerate(lines):
            shown = head if repeat or index == 0 else dict.fromkeys(head, "")
            yield {**shown, "field": field, "before": before, "after": after}


def columns_for(single_exam: bool) -> tuple[Sequence[str], Sequence[str]]:
    """The table's columns and headers: one exam's history needs no exam column."""
    if not single_exam:
        return ROW_COLUMNS, ROW_HEADERS
    left_out = ("exam_id", "patient_id", "biopsy_id")
    kept = [i for i, c in enumerate(ROW_COLUMNS) if c not in left_out]
    return [ROW_COLUMNS[i] for i in kept], [ROW_HEADERS[i] for i in kept]
