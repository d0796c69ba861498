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
from itertools import chain, islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from followup.exchange.spreadsheet import NEEDS_CARE, csv_text, csv_writer, neutralise

if TYPE_CHECKING:
    from followup.files import AtomicFile

TABLE_SAMPLE = 500
MAX_CELL = 60
MIN_WRAP = 20  # a terminal narrower than this for the last column: no wrapping, one line


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return value


CELL_CACHE = 10_000


def _csv_cells() -> Callable[[Any], Any]:
    """``neutralise(_plain(value))`` for one CSV file, fast for what a large report is made of:
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
            return neutralise(_plain(value))
        text = converted.get(value)
        if text is None:
            if len(converted) >= CELL_CACHE:
                converted.clear()
            text = converted[value] = neutralise(_plain(value))
        return text

    return cell


def write_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str], out: TextIO) -> int:
    writer = csv_writer(out)
    writer.writerow(columns)
    write, cell = writer.writerow, _csv_cells()
    count = 0
    with _closing(rows):
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
    with _closing(rows):
        for row in rows:
            out.write("[\n  " if count == 0 else ",\n  ")
            out.write(_json_text(json.dumps(row, default=_json_default, ensure_ascii=False)))
            count += 1
    out.write("[]\n" if count == 0 else "\n]\n")
    return count


def dump_json(value: Any, out: TextIO) -> None:
    """One JSON document (an object), indented for people."""
    text = json.dumps(value, default=_json_default, indent=2, ensure_ascii=False)
    out.write(_json_text(text) + "\n")


def _text(value: Any) -> str:
    """A cell's whole text for a table: one line, control characters shown, not obeyed
    (stored data may predate the checks)."""
    from followup.rules.text import escape_controls

    text = "" if value is None else str(_plain(value))
    return escape_controls(" ".join(text.splitlines()) if "\n" in text or "\r" in text else text)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _cell(value: Any) -> str:
    return _cut(_text(value), MAX_CELL)


@contextmanager
def _closing(rows: Iterable[Any]) -> Iterator[None]:
    """Close a generator of rows when writing stops, early too (a reader that went away):
    its database cursor is closed while the database still is open."""
    try:
        yield
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()


def write_table(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[str],
    out: TextIO,
    headers: Sequence[str] | None = None,
    empty: str = "(nothing to show)",
    width: int | None = None,
    *,
    widths: dict[str, int] | None = None,
    wrap: bool = False,
) -> int:
    """An aligned text table, for people.

    Column widths come from every row of a list or tuple, and from the first TABLE_SAMPLE
    rows of a stream (a report of a million rows): ``widths`` gives the least width of the
    columns whose values are known in advance (actions, codes), so that a later row never
    has them cut. Other cells longer than their column are cut, with "…".

    With ``width`` (a terminal's) the lines fit in it: the last column is cut to the room
    left, or with ``wrap`` wrapped onto lines of its own under the column. With ``wrap`` and
    no width (not a terminal), the last column is never cut.
    """
    headers = list(headers or [c.replace("_", " ") for c in columns])
    with _closing(rows):
        iterator: Iterator[dict[str, Any]] = iter(rows)
        whole = isinstance(rows, list | tuple)
        sample = list(rows) if whole else list(islice(iterator, TABLE_SAMPLE))
        sizes = [
            max([len(h), (widths or {}).get(c, 0), *(len(_cell(r.get(c))) for r in sample)])
            for h, c in zip(headers, columns, strict=True)
        ]
        room = None if width is None else width - sum(sizes[:-1]) - 2 * (len(sizes) - 1)
        if room is not None and not wrap:
            sizes[-1] = max(min(sizes[-1], room), len(headers[-1]))
        heads = (h.upper().ljust(w) for h, w in zip(headers, sizes, strict=True))
        out.write("  ".join(heads).rstrip() + "\n")
        last = _Last(
            columns[-1], sizes[-1], room, wrap, indent=sum(sizes[:-1]) + 2 * len(sizes[:-1])
        )
        count = 0
        for row in sample if whole else chain(sample, iterator):
            cells = [
                _cut(_text(row.get(c)), w).ljust(w) for c, w in zip(columns, sizes, strict=True)
            ]
            cells[-1] = last.text(row.get(columns[-1]))
            out.write("  ".join(cells).rstrip() + "\n")
            count += 1
    if count == 0:
        out.write(empty + "\n")
    return count


class _Last:
    """The last column of a table: cut to its width, or (``wrap``) whole, wrapped to the
    room a terminal leaves, continuation lines indented under the column."""

    def __init__(self, column: str, size: int, room: int | None, wrap: bool, indent: int) -> None:
        self.size, self.room, self.wrap, self.indent = size, room, wrap, indent

    def text(self, value: Any) -> str:
        text = _text(value)
        if not self.wrap:
            return _cut(text, self.size)
        if self.room is None or self.room < MIN_WRAP or len(text) <= self.room:
            return text
        import textwrap

        lines = textwrap.wrap(text, self.room, break_on_hyphens=False)
        return ("\n" + " " * self.indent).join(lines)


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
