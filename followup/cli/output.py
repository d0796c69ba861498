"""One output writer for every listing: an aligned table, JSON, or spreadsheet-safe CSV.

Rows stream: CSV and JSON are written as they come, so a report of a million rows needs no
more memory than one row. The table sizes its columns from the first rows only.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from itertools import chain, islice
from typing import Any, TextIO

# OWASP CSV injection: a cell a spreadsheet would run as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TABLE_SAMPLE = 500
MAX_CELL = 60


def neutralise(value: Any) -> Any:
    """Prefix a quote to text a spreadsheet would read as a formula; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return value


_FORMULA_FIRST = frozenset(FORMULA_STARTS)  # each start is one character
CELL_CACHE = 10_000


def _csv_cells() -> Callable[[Any], Any]:
    """``neutralise(_plain(value))`` for one CSV file, fast for what a large report is made of:
    plain text, whole numbers and empty cells pass straight through, and dates and flag lists
    (a few thousand distinct values in a million rows) are converted once each."""
    converted: dict[Any, Any] = {}

    def cell(value: Any) -> Any:
        kind = value.__class__
        if kind is str:
            return "'" + value if value[:1] in _FORMULA_FIRST else value
        if kind is int or value is None:
            return value
        if kind is bool:
            return "true" if value else "false"
        if kind is not tuple and kind is not date:
            return neutralise(_plain(value))
        text = converted.get(value)
        if text is None:
            if len(converted) >= CELL_CACHE:
                converted.clear()
            text = converted[value] = neutralise(_plain(value))
        return text

    return cell


def write_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    write, cell = writer.writerow, _csv_cells()
    count = 0
    for row in rows:
        write(list(map(cell, map(row.get, columns))))
        count += 1
    return count


def csv_line(values: Sequence[Any]) -> str:
    """``values`` as one line of :func:`write_csv` without its line end (neutralised, plain,
    quoted by the csv module where needed): for writers that put lines together from parts."""
    cells = [neutralise(_plain(value)) for value in values]
    if cells == [None] or cells == [""]:
        return ""  # the csv module quotes an empty cell alone on its line; as a part it is empty
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)  # the line end decides quoting too
    return buffer.getvalue()[:-1]


# What makes text more than its own CSV cell: the csv module quotes it, or a spreadsheet would
# run it as a formula (the start of a text follows NUL in plain_cells).
_CARE = (",", '"', "\r", "\n", *("\0" + start for start in FORMULA_STARTS))


def plain_cells(texts: Iterable[str | None]) -> bool:
    """Whether each text is its own CSV cell as it is (None an empty one), checked on all of
    them at once: a large report checks a batch of rows in a few scans, not each cell."""
    joined = "\0" + "\0".join(filter(None, texts))
    return not any(mark in joined for mark in _CARE)


def csv_cell(text: str | None) -> str:
    """One text as its CSV cell (:func:`csv_line` of it alone)."""
    return text if text and plain_cells((text,)) else csv_line((text,))


class CsvParts(dict[Any, str]):
    """The CSV text (:func:`csv_line`) of the values ``cells(key)``, worked out once per key:
    for the parts of lines that repeat across a large report (codes, dates, facilities)."""

    def __init__(self, cells: Callable[[Any], Sequence[Any]] = tuple) -> None:
        super().__init__()
        self.cells = cells

    def __missing__(self, key: Any) -> str:
        text = self[key] = csv_line(self.cells(key))
        return text


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def write_json(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    """A JSON array, one element a line, written as the rows come."""
    count = 0
    for row in rows:
        out.write("[\n  " if count == 0 else ",\n  ")
        out.write(json.dumps(row, default=_json_default, ensure_ascii=False))
        count += 1
    out.write("[]\n" if count == 0 else "\n]\n")
    return count


def dump_json(value: Any, out: TextIO) -> None:
    """One JSON document (an object), indented for people."""
    out.write(json.dumps(value, default=_json_default, indent=2, ensure_ascii=False) + "\n")


def _cell(value: Any) -> str:
    text = "" if value is None else str(_plain(value))
    text = text.replace("\n", " ")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def write_table(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[str],
    out: TextIO,
    headers: Sequence[str] | None = None,
    empty: str = "(nothing to show)",
    width: int | None = None,
) -> int:
    """An aligned text table; widths come from the first rows, later ones are cut to fit.

    With ``width`` (a terminal's), the last column is cut so that lines fit in it.
    """
    headers = list(headers or [c.replace("_", " ") for c in columns])
    iterator: Iterator[dict[str, Any]] = iter(rows)
    sample = list(islice(iterator, TABLE_SAMPLE))
    widths = [
        max([len(h), *(len(_cell(r.get(c))) for r in sample)])
        for h, c in zip(headers, columns, strict=True)
    ]
    if width is not None:
        room = width - sum(widths[:-1]) - 2 * (len(widths) - 1)
        widths[-1] = max(min(widths[-1], room), len(headers[-1]))
    out.write("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    out.write("\n")
    count = 0
    for row in chain(sample, iterator):
        cells = [_cell(row.get(c))[:w].ljust(w) for c, w in zip(columns, widths, strict=True)]
        out.write("  ".join(cells).rstrip() + "\n")
        count += 1
    if count == 0:
        out.write(empty + "\n")
    return count


def write_rows(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[str],
    fmt: str,
    out: TextIO,
    headers: Sequence[str] | None = None,
) -> int:
    """Write ``rows`` in ``fmt``; returns how many rows were written."""
    if fmt == "json":
        return write_json(rows, out)
    if fmt == "csv":
        return write_csv(rows, columns, out)
    return write_table(rows, columns, out, headers)


@contextmanager
def output_stream(path: str | None) -> Iterator[TextIO]:
    """Standard output, or FILE created readable by its owner only: outputs hold health data.

    An existing file is truncated and its mode set to 0600 as well.
    """
    if path is None or path == "-":
        yield sys.stdout
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with open(fd, "w", encoding="utf-8", newline="") as out:
        yield out
