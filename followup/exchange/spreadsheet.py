"""CSV cells a spreadsheet opens safely, both ways: what every CSV writer does to a cell, and
what ``import exams`` undoes, so that export -> import gives back the same records.

- **Formulas** (OWASP CSV injection): a cell starting with ``=``, ``+``, ``-``, ``@``, tab or
  carriage return would be run by a spreadsheet; it is written with a leading ``'``. So that
  reading back is exact, a cell that already starts with quotes before such a character
  (``'=x``) gets one more, and :func:`restore` takes exactly one away.
- **Line breaks**: a cell holding LF or CR is always quoted. Python's csv writer quotes only
  the characters of its line terminator, so with ``"\\n"`` a lone CR went out bare, and
  LibreOffice split the row there (evaluating what followed as a new row's formula).
  :func:`csv_writer` writes with ``"\\r\\n"`` (every CR and LF quoted) and ends lines with LF.
"""

from __future__ import annotations

import csv
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_FIRST = frozenset(FORMULA_STARTS)  # each start is one character


def _formula_like(text: str) -> bool:
    """Whether ``text`` is, after any leading quotes, something a spreadsheet would run."""
    return text.lstrip("'")[:1] in FORMULA_FIRST


def neutralise(value: Any) -> Any:
    """Prefix a quote to text a spreadsheet would read as a formula (and to text that starts
    with quotes before one, so :func:`restore` is exact); numbers stay numbers."""
    if isinstance(value, str) and value[:1] in NEEDS_CARE and _formula_like(value):
        return "'" + value
    return value


# The first characters of a text that may need a quote: a formula's, or a quote before one.
NEEDS_CARE = FORMULA_FIRST | {"'"}


def restore(text: str) -> str:
    """The text a neutralised cell stood for: ``'=1+1`` -> ``=1+1``, ``''=x`` -> ``'=x``; any
    other text as it is (``'quoted'`` stays)."""
    if text[:1] == "'" and _formula_like(text[1:]):
        return text[1:]
    return text


class _LineFeed:
    """Hands each line the csv writer makes to ``out`` with LF for its CRLF ending (the
    writer writes one whole line per call)."""

    __slots__ = ("_write",)

    def __init__(self, out: IO[str]) -> None:
        self._write = out.write

    def write(self, line: str) -> int:
        return self._write(line[:-2] + "\n")


def csv_writer(out: IO[str]) -> Any:
    """A csv writer onto ``out`` that quotes every cell holding CR or LF (see the module
    docstring) and ends lines with LF. Cells are written as given: neutralise them first."""
    return csv.writer(_LineFeed(out), lineterminator="\r\n")


def csv_text(cells: list[Any]) -> str:
    """One line of :func:`csv_writer` as text, without its line end."""
    lines: list[str] = []
    csv.writer(_Collect(lines), lineterminator="\r\n").writerow(cells)
    return lines[0][:-2]


class _Collect:
    __slots__ = ("append",)

    def __init__(self, lines: list[str]) -> None:
        self.append = lines.append

    def write(self, line: str) -> None:
        self.append(line)
