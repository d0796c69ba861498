"""One output writer for every listing: an aligned table, JSON, or spreadsheet-safe CSV.

Rows stream: CSV and JSON are written as they come, so a report of a million rows needs no
more memory than one row. The table sizes its columns from the first rows only.
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from followup.exchange.spreadsheet import NEEDS_CARE, csv_text, csv_writer, neutralise
from followup.present.tables import closing_rows, plain, write_table

if TYPE_CHECKING:
    from followup.files import AtomicFile

CELL_CACHE = 10_000


def _csv_cells() -> Callable[[Any], Any]:
    """``neutralise(plain(value))`` for one CSV file, fast for what a large report is made of:
    plain text, whole numbers and empty cells pass straight through, and dates and flag lists
    (a few thousand distinct values in a million rows) are converted once each."""
    converted: dict[Any, Any] = {}

    def cell(value: Any) -> Any:
        kind = value.__class__
        if kind is str:
            return neutralise(value) if value[:1] in NEEDS_CARE else value
        if kind is int or value is None:
            return value
        if kind is bool:
            return "true" if value else "false"
        if kind is not tuple and kind is not date:
            return neutralise(plain(value))
        text = converted.get(value)
        if text is None:
            if len(converted) >= CELL_CACHE:
                converted.clear()
            text = converted[value] = neutralise(plain(value))
        return text

    return cell


def write_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str], out: TextIO) -> int:
    writer = csv_writer(out)
    writer.writerow(columns)
    write, cell = writer.writerow, _csv_cells()
    count = 0
    with closing_rows(rows):
        for row in rows:
            write(list(map(cell, map(row.get, columns))))
            count += 1
    return count


def csv_line(values: Sequence[Any]) -> str:
    """``values`` as one line of :func:`write_csv` without its line end (neutralised, plain,
    quoted by the csv module where needed): for writers that put lines together from parts."""
    cells = [neutralise(plain(value)) for value in values]
    if cells == [None] or cells == [""]:
        return ""  # the csv module quotes an empty cell alone on its line; as a part it is empty
    return csv_text(cells)


# What makes text more than its own CSV cell: the csv module quotes it, or a spreadsheet would
# run it as a formula, or it starts with quotes before one (the start of a text follows NUL
# in plain_cells).
_CARE = (",", '"', "\r", "\n", *("\0" + start for start in NEEDS_CARE))


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


# JSON escapes C0 controls itself; DEL and C1 controls it leaves as they are, and a lone
# surrogate cannot be written as UTF-8: escape them too (the same JSON value, safe to print).
_JSON_UNSAFE = re.compile("[\x7f-\x9f\ud800-\udfff]")


def _json_text(text: str) -> str:
    if _JSON_UNSAFE.search(text) is None:
        return text
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def write_json(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    """A JSON array, one element a line, written as the rows come."""
    count = 0
    with closing_rows(rows):
        for row in rows:
            out.write("[\n  " if count == 0 else ",\n  ")
            out.write(_json_text(json.dumps(row, default=_json_default, ensure_ascii=False)))
            count += 1
    out.write("[]\n" if count == 0 else "\n]\n")
    return count


def dump_json(value: Any, out: TextIO) -> None:
    """One JSON document (an object), indented for people."""
    text = json.dumps(value, default=_json_default, indent=2, ensure_ascii=False)
    write_text(_json_text(text) + "\n", out)


def write_text(text: str, out: TextIO) -> None:
    """A whole report's text, a line at a time: one write of a large text to a pipe whose
    reader has gone (``| head``) ends in a short write that Python (3.11) does not report,
    so the command would exit 0 having dropped the rest; written in lines, the next write
    sees the broken pipe and the command stops as every report does (exit 141)."""
    out.writelines(text.splitlines(keepends=True))


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


def _protected(reads: Sequence[str | Path]) -> list[tuple[str | Path, str]]:
    """What no output may overwrite: the command's database and policy file (from the
    click context), and the files it reads."""
    from followup.cli.context import AppContext

    context = click.get_current_context(silent=True)
    app = context.find_object(AppContext) if context is not None else None
    mine = app.protected_files() if app is not None else []
    return [*mine, *((path, "a file this command reads") for path in reads)]


@contextmanager
def output_file(
    path: str, *, force: bool = False, reads: Sequence[str | Path] = (), binary: bool = False
) -> Iterator[AtomicFile]:
    """FILE written whole or not at all, 0600, never through a link, never over the database
    or ``reads``, an existing file only with ``force`` (see :mod:`followup.files`)."""
    from followup.files import atomic_file

    with atomic_file(path, force=force, protected=_protected(reads), binary=binary) as handle:
        yield handle


@contextmanager
def output_stream(
    path: str | None, *, force: bool = False, reads: Sequence[str | Path] = (), binary: bool = False
) -> Iterator[Any]:
    """Standard output (no FILE, or ``-``), or FILE as :func:`output_file` writes it."""
    if path is None or path == "-":
        yield sys.stdout.buffer if binary else sys.stdout
        return
    with output_file(path, force=force, reads=reads, binary=binary) as handle:
        yield handle.stream


class _EscapingWriter(io.TextIOWrapper):
    """Standard output on a terminal: control characters in what is written (stored data
    that predates the checks, a CSV or note shown raw) are shown as ``\\x1b``, never obeyed;
    line breaks and tabs pass."""

    def write(self, text: str) -> int:
        from followup.rules.text import escape_controls

        return super().write(escape_controls(text, keep="\n\t"))


def guard_terminal() -> None:
    """Put :class:`_EscapingWriter` in place of standard output when it is a terminal (files
    and pipes get the data as it is)."""
    stream = sys.stdout
    if isinstance(stream, _EscapingWriter) or not stream.isatty():
        return
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        return
    stream.flush()
    sys.stdout = _EscapingWriter(
        buffer, encoding=stream.encoding, errors="backslashreplace", line_buffering=True
    )
