"""A clinic's CSV read, checked and buffered a batch at a time.

Nothing here touches the database or the terminal: the caller writes each batch with
:meth:`followup.store.bulk.BulkLoader.write` and decides what to do with the rejected rows.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from typing import IO, Any, NamedTuple

from followup.exchange.csv_columns import ColumnMap, Defaults
from followup.exchange.csv_import import ExamReader, Rejected
from followup.store.bulk_rows import DEFAULT_BATCH, RowBuffer, Staged


class Chunk(NamedTuple):
    """A batch to write, the rows refused since the previous one, and how far reading got."""

    staged: Staged
    rejected: list[Rejected]
    position: int  # bytes of the file read
    rows: int  # records read (blank lines not counted)


class Unreadable(Exception):
    """The file stops being CSV or UTF-8 text at ``line`` (approximate: text is decoded in
    blocks)."""

    def __init__(self, line: int, not_utf8: bool, detail: str) -> None:
        super().__init__(line, not_utf8, detail)
        self.line, self.not_utf8, self.detail = line, not_utf8, detail


class ReadRequest(NamedTuple):
    """How to read the rows: everything :func:`chunks_of` needs."""

    columns: ColumnMap
    defaults: Defaults
    today: date
    keep_rejected: bool
    batch_size: int = DEFAULT_BATCH


def chunks_of(stream: IO[str], reader: Any, request: ReadRequest) -> Iterator[Chunk]:
    """Chunks of the rows ``reader`` (a csv.reader of ``stream``, past the header) yields.

    Without ``request.keep_rejected`` reading stops at the first refused row: its chunk is the
    last. ``Chunk.position`` stays 0 where the stream cannot tell it (a pipe).
    """
    exam_reader = ExamReader(request.columns, request.defaults, request.today)
    buffer = RowBuffer(request.batch_size, request.today)
    position = stream.buffer.tell if stream.seekable() else _nowhere  # type: ignore[attr-defined]
    rejected: list[Rejected] = []
    patient = None
    try:
        for item in exam_reader.read(reader, lambda: reader.line_num):
            if type(item) is Rejected:
                rejected.append(item)
                if not request.keep_rejected:
                    break
                continue
            if item.patient is not patient:  # a new run of her rows (repeats are counted)
                patient = item.patient
                buffer.add_patient(patient)
            buffer.add_exam(item.exam)
            if buffer.full:
                yield Chunk(buffer.take(), rejected, position(), exam_reader.rows)
                rejected = []
    except (csv.Error, UnicodeDecodeError) as exc:  # in the record that starts on next_line
        line = exam_reader.next_line
        raise Unreadable(line, isinstance(exc, UnicodeDecodeError), str(exc)) from None
    yield Chunk(buffer.take(), rejected, position(), exam_reader.rows)


def _nowhere() -> int:
    return 0
