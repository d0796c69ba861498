"""The outcomes audit as people and scripts read it: a table, the JSON object of cli.md, CSV rows.

The table has one block per group (facility or radiologist, then all of them), the figures in
the order a radiologist reads an audit: exams, recall rate, cancers, cancer detection rate,
PPV1, PPV2, PPV3, sensitivity, specificity, open outcomes; each beside its BCSC average and
acceptable range, a ``!`` on a figure outside its range, and a short note under any figure
outside its range or resting on fewer than 30 exams. JSON and CSV carry the same figures,
rates as numbers (fractions of 1; cancer detection per 1,000) with what each rests on.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from followup.rules.audit import (
    MIN_EXAMS_TO_JUDGE,
    REFERENCES,
    AuditFigures,
    AuditReport,
    Rate,
    Reference,
)

OUTSIDE_MARK = "!"
_PER_1000 = "cancer_detection_per_1000"

# The JSON fields of cli.md first, in its order; then what a reader needs besides.
GROUP_FIELDS = (
    "group",
    "screening_exams",
    "diagnostic_exams",
    "positive_screens",
    "recall_rate",
    "cancers",
    "true_positives",
    "false_negatives",
    "cancer_detection_per_1000",
    "ppv1",
    "ppv2",
    "ppv3",
    "sensitivity",
    "specificity",
    "biopsies_recommended",
    "biopsies_done",
    "open_outcomes",
    "outside_range",
    "too_few_to_judge",
    "positive_diagnostic_exams",
    "false_positives",
    "true_negatives",
    "closed_screens",
    "cancers_in_open_windows",
    "open_positives",
    "open_biopsy_recommendations",
    "awaiting_biopsy_results",
    "exams_without_kind",
    "post_procedure_exams",
    "known_malignancy_exams",
    *(f"{ref.name}_{part}" for ref in REFERENCES for part in ("numerator", "denominator")),
)
CSV_COLUMNS = GROUP_FIELDS


def group_label(figures: AuditFigures) -> str | None:
    """The group's name as JSON and CSV give it: ``all`` for the total, None for the exams
    whose radiologist is not recorded."""
    return "all" if figures.total else figures.group


def group_json(figures: AuditFigures) -> dict[str, Any]:
    """One group's figures under the field names of cli.md (plus each rate's numerator and
    denominator, and the counts open outcomes and exclusions are made of)."""
    rates = figures.rates()
    row: dict[str, Any] = {
        name: getattr(figures, name) for name in GROUP_FIELDS if hasattr(figures, name)
    }
    row["group"] = group_label(figures)
    row.update((name, rate.value) for name, rate in rates.items())
    row["outside_range"] = list(figures.outside_range())
    row["too_few_to_judge"] = list(figures.too_few_to_judge())
    for name, rate in rates.items():
        row[f"{name}_numerator"] = rate.numerator
        row[f"{name}_denominator"] = rate.denominator
    return {name: row[name] for name in GROUP_FIELDS}


def references_json() -> dict[str, dict[str, Any]]:
    """The BCSC averages and minimally acceptable ranges of clinical-rules.md §8."""
    return {
        ref.name: {
            "label": ref.label,
            "unit": "per 1000" if ref.name == _PER_1000 else "fraction",
            "bcsc_average": ref.bcsc,
            "acceptable_min": None if ref.low is None else float(ref.low),
            "acceptable_max": None if ref.high is None else float(ref.high),
        }
        for ref in REFERENCES
    }


def audit_json(report: AuditReport, facility: str | None = None) -> dict[str, Any]:
    """The object of cli.md "Audit": ``{"from", "to", "by", "groups", "references"}`` and the
    facility the exams were restricted to (or null), the as-of date, window and last exam day
    with a known outcome that the figures depend on."""
    return {
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "by": report.by,
        "as_of": report.as_of.isoformat(),
        "outcome_days": report.outcome_days,
        "outcomes_known_through": report.outcomes_known_through.isoformat(),
        "facility": facility,
        "groups": [group_json(figures) for figures in report.groups],
        "references": references_json(),
    }


def csv_rows(report: AuditReport) -> list[dict[str, Any]]:
    """One row per group, columns :data:`CSV_COLUMNS`, rates as numbers and lists as
    space-separated names; write them with the CLI's CSV writer, which neutralises text a
    spreadsheet would run as a formula (a facility or radiologist name is free text)."""
    rows = []
    for figures in report.groups:
        row = group_json(figures)
        row["outside_range"] = " ".join(row["outside_range"])
        row["too_few_to_judge"] = " ".join(row["too_few_to_judge"])
        rows.append(row)
    return rows


# The table.

_RESTS_ON = {  # "{n} of {d} ...": the header says outcome figures need a window that has ended
    "recall_rate": ("screen", "screens"),
    "cancer_detection_per_1000": ("screen", "screens"),
    "ppv1": ("positive screen", "positive screens"),
    "ppv2": ("biopsy recommendation", "biopsy recommendations"),
    "ppv3": ("recommendation biopsied", "recommendations biopsied"),  # ACR: per exam
    "sensitivity": ("screen followed by a cancer", "screens followed by a cancer"),
    "specificity": ("screen without a cancer", "screens without a cancer"),
}
_LABELS = {_PER_1000: "Cancer detection per 1,000"}
_HEADERS = ("FIGURE", "VALUE", "", "RESTS ON", "BCSC", "ACCEPTABLE")
_RIGHT = (False, True, False, False, False, False)
WIDTH = 100
EN_DASH = "\u2013"

Row = tuple[str, str, str, str, str, str]
Line = tuple[Row, list[str]]  # a row and the notes under it


def _count(value: int) -> str:
    return f"{value:,}"


def _plural(count: int, one: str, many: str) -> str:
    return f"{_count(count)} {one if count == 1 else many}"


def _number(value: Fraction | float, per_1000: bool) -> str:
    """A rate as the table shows it: one decimal, in % or per 1,000."""
    return f"{float(value):.1f}" if per_1000 else f"{float(value) * 100:.1f}%"


def _bound(value: Fraction, per_1000: bool) -> str:
    return f"{float(value) * (1 if per_1000 else 100):g}"


def _bounds(ref: Reference) -> str:
    per_1000 = ref.name == _PER_1000
    unit = "" if per_1000 else "%"
    if ref.low is not None and ref.high is not None:
        return f"{_bound(ref.low, per_1000)}{EN_DASH}{_bound(ref.high, per_1000)}{unit}"
    if ref.low is not None:
        return f"\u2265 {_bound(ref.low, per_1000)}{unit}"
    return f"\u2264 {_bound(ref.high, per_1000)}{unit}" if ref.high is not None else ""


def _rate_line(ref: Reference, rate: Rate) -> Line:
    per_1000 = ref.name == _PER_1000
    exact = rate.exact
    one, many = _RESTS_ON[ref.name]
    rests = f"{_count(rate.numerator)} of {_plural(rate.denominator, one, many)}"
    bcsc = f"{ref.bcsc:g}" if per_1000 else f"{ref.bcsc * 100:.1f}%"
    outside = ref.outside(rate)
    row = (
        _LABELS.get(ref.name, ref.label),
        "\u2014" if exact is None else _number(exact, per_1000),
        OUTSIDE_MARK if outside else "",
        rests if rate.denominator else f"no {many}",
        bcsc,
        _bounds(ref),
    )
    notes = []
    if outside:
        below = ref.low is not None and exact is not None and exact < ref.low
        notes.append(f"{'below' if below else 'above'} the acceptable range ({_bounds(ref)})")
    if 0 < rate.denominator < MIN_EXAMS_TO_JUDGE:
        notes.append(f"{_plural(rate.denominator, 'exam', 'exams')}: too few to judge")
    return row, ["; ".join(notes)] if notes else []


def _count_line(label: str, value: int, rests: str = "") -> Line:
    return (label, _count(value), "", rests, "", ""), []


def _block_lines(figures: AuditFigures) -> list[Line]:
    """The rows of one group, in the order a radiologist reads them."""
    rates = figures.rates()
    by_name = {ref.name: ref for ref in REFERENCES}

    def rate(name: str) -> Line:
        return _rate_line(by_name[name], rates[name])

    return [
        _count_line(
            "Screening exams", figures.screening_exams, f"{figures.positive_screens:,} positive"
        ),
        _count_line(
            "Diagnostic exams",
            figures.diagnostic_exams,
            f"{figures.positive_diagnostic_exams:,} positive",
        ),
        rate("recall_rate"),
        _count_line(
            "Cancers",
            figures.cancers,
            f"{figures.true_positives:,} after a positive screen,"
            f" {figures.false_negatives:,} after a negative one",
        ),
        rate(_PER_1000),
        rate("ppv1"),
        rate("ppv2"),
        rate("ppv3"),
        rate("sensitivity"),
        rate("specificity"),
        _count_line("Open outcomes", figures.open_outcomes),
        _count_line("  positive, window open", figures.open_positives),
        _count_line("  biopsy advised, no result", figures.open_biopsy_recommendations),
        _count_line("  awaiting a biopsy result", figures.awaiting_biopsy_results),
    ]


def _title(figures: AuditFigures, by: str | None) -> str:
    if figures.total:
        return {"facility": "All facilities", "radiologist": "All radiologists"}.get(
            by or "", "All exams"
        )
    if figures.group is None:
        return f"{(by or 'group').capitalize()} not recorded"
    return f"{(by or 'group').capitalize()}: {figures.group}"


def _block_notes(figures: AuditFigures, days: int) -> list[str]:
    """What the figures leave out, said under the block so nobody mistakes it for nothing."""
    notes = []
    if figures.exams_without_kind:
        count = figures.exams_without_kind
        notes.append(
            f"{_plural(count, 'exam', 'exams')} without a kind (screening or diagnostic): in"
            f" neither count; record the kind to audit {'it' if count == 1 else 'them'}."
        )
    if figures.post_procedure_exams or figures.known_malignancy_exams:
        notes.append(
            f"Not audited (exams): {_count(figures.post_procedure_exams)} post-procedure,"
            f" {_count(figures.known_malignancy_exams)} known-malignancy."
        )
    if figures.cancers_in_open_windows:
        notes.append(
            f"{_plural(figures.cancers_in_open_windows, 'cancer is', 'cancers are')} already"
            f" known after screens whose {days}-day window has not ended: counted once it has."
        )
    if figures.open_biopsy_recommendations:
        notes.append(
            "A biopsy recommendation with no biopsy on record counts in PPV2 as no cancer once"
            f" its window has ended (no malignant result within {days} days; ACR: no known"
            " tissue diagnosis); one whose biopsy is pending waits for its result: record"
            " the biopsies and their results."
        )
    return notes


def _header(report: AuditReport, facility: str | None) -> list[str]:
    known, days = report.outcomes_known_through, report.outcome_days
    grouping = f", by {report.by}" if report.by else ""
    if facility is not None:
        grouping = f" at {facility}{grouping}"
    awaiting = report.total.awaiting_biopsy_results
    if known >= report.end:
        window = "Every exam's window has ended: the outcome figures are complete."
        if awaiting:
            window = (
                "Every exam's window has ended; the outcome figures leave out the exams"
                " awaiting a pending biopsy's result (open outcomes)."
            )
    elif known < report.start:
        window = (
            f"No exam's window has ended yet: the outcome figures (cancers to specificity) wait"
            f" for exams dated up to {days} days before the as-of date."
        )
    else:
        window = (
            f"Outcome figures (cancers to specificity) rest on the exams up to {known}, whose"
            " window has ended; later ones wait for theirs (the positive ones are open"
            " outcomes)."
        )
        if awaiting:
            window += " So are the exams awaiting a pending biopsy's result."
    return [
        f"Outcomes audit of the exams of {report.start} to {report.end}{grouping},"
        f" as of {report.as_of}.",
        f"A cancer: a malignant biopsy or known-malignancy exam within {days} days after the"
        " exam (its window).",
        window,
        "BCSC: the Breast Cancer Surveillance Consortium average. ACCEPTABLE: the minimally"
        f" acceptable range; {OUTSIDE_MARK} marks a figure outside it.",
    ]


def _aligned(row: Row, widths: Sequence[int]) -> str:
    cells = [
        cell.rjust(width) if right else cell.ljust(width)
        for cell, width, right in zip(row, widths, _RIGHT, strict=True)
    ]
    return ("  " + "  ".join(cells)).rstrip()


def _wrapped(text: str, indent: int) -> list[str]:
    pad = " " * indent
    return textwrap.wrap(text, WIDTH, initial_indent=pad, subsequent_indent=pad + "  ")


def _width(rows: Sequence[Row], column: int) -> int:
    """The column's width over the rows that have something after it: a cell that ends its
    line (the counts' words under RESTS ON) may run on without widening the column."""
    return max(
        (len(row[column]) for row in rows if column == 0 or any(row[column + 1 :])), default=0
    )


def audit_table(report: AuditReport, facility: str | None = None) -> str:
    """The audit as a person reads it: a header (naming the ``facility`` the exams were
    restricted to, if any), then one block per group, columns aligned across blocks so that
    groups compare at a glance."""
    blocks = [(figures, _block_lines(figures)) for figures in report.groups]
    every_row = [_HEADERS, *(row for _, lines in blocks for row, _notes in lines)]
    widths = [_width(every_row, i) for i in range(len(_HEADERS))]
    note_indent = 2 + widths[0] + 2
    lines = [wrapped for text in _header(report, facility) for wrapped in _wrapped(text, 0)]
    for figures, block in blocks:
        lines += ["", _title(figures, report.by), _aligned(_HEADERS, widths)]
        for row, notes in block:
            lines.append(_aligned(row, widths))
            lines += [w for note in notes for w in _wrapped(f"note: {note}", note_indent)]
        for note in _block_notes(figures, report.outcome_days):
            lines += _wrapped(note, 2)
    return "\n".join(lines) + "\n"
