"""Text tables for people (reports, the status timeline), and the plain text of a value.

Shared by the commands and anything else that shows a listing as text; the CSV and JSON
writers of :mod:`followup.cli.output` use :func:`plain` and :func:`closing_rows` too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from itertools import chain, islice
from typing import Any, TextIO

TABLE_SAMPLE = 500
MAX_CELL = 60
MIN_WRAP = 20  # a terminal narrower than this for the last column: no wrapping, one line


def plain(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    if isinstance(value, dict):  # e.g. the due report's ``also``: its values, in order
        return " ".join(str(plain(v)) for v in value.values() if v is not None)
    return value


def _text(value: Any) -> str:
    """A cell's whole text for a table: one line, control characters shown, not obeyed
    (stored data may predate the checks)."""
    from followup.rules.text import escape_controls

    text = "" if value is None else str(plain(value))
    return escape_controls(" ".join(text.splitlines()) if "\n" in text or "\r" in text else text)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _cell(value: Any) -> str:
    return _cut(_text(value), MAX_CELL)


@contextmanager
def closing_rows(rows: Iterable[Any]) -> Iterator[None]:
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
    with closing_rows(rows):
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
