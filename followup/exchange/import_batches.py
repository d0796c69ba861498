"""A clinic's CSV read, checked and buffered a batch at a time, in this process or another.

Reading and checking the rows is about as much work as writing them, and both are
single-threaded: for a large file :func:`batches_from_process` reads in a second process while
the caller writes the previous batch (a third one plans; see :mod:`followup.store.plan_rows`).
The batches are the same either way: :func:`read_batches` makes them, here or there.

Nothing here touches the database or the terminal: the caller writes each batch with
:meth:`followup.store.bulk.BulkLoader.write` and decides what to do with the rejected rows.
"""

from __future__ import annotations

import csv
import gc
import multiprocessing
import os
import queue
import traceback
from collections.abc import Iterator
from datetime import date
from typing import Any, NamedTuple

from followup.exchange.csv_import import ColumnMap, Defaults, ExamReader, Rejected, open_csv
from followup.store.bulk import DEFAULT_BATCH, RowBuffer, Staged
from followup.store.plan_rows import HELPER_NICENESS

AHEAD = 2  # batches the reading process may be ahead of the writer (memory stays flat)
POLL_SECONDS = 1.0  # how often a writer waiting for a batch checks the reader is still alive
GC_THRESHOLD = 100_000  # as the import's own: rows are short-lived garbage


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
    """What to read, and how: everything :func:`read_batches` needs, picklable."""

    path: str
    columns: ColumnMap
    defaults: Defaults
    today: date
    keep_rejected: bool
    batch_size: int = DEFAULT_BATCH


def read_batches(request: ReadRequest) -> Iterator[Chunk]:
    """Chunks of the file after its header (mapped by the caller into ``request.columns``).

    Without ``keep_rejected`` reading stops at the first refused row: its chunk is the last.
    """
    with open_csv(request.path) as stream:
        reader = csv.reader(stream)
        next(reader)
        exam_reader = ExamReader(request.columns, request.defaults, request.today)
        buffer = RowBuffer(request.batch_size, request.today)
        rejected: list[Rejected] = []
        patient = None
        try:
            for item in exam_reader.read(reader, lambda: reader.line_num):
                if type(item) is Rejected:
                    rejected.append(item)
                    if not request.keep_rejected:
                        break
                    continue
                if item.patient is not patient:  # her rows are adjacent: add her once
                    patient = item.patient
                    buffer.add_patient(patient)
                buffer.add_exam(item.exam)
                if buffer.full:
                    yield Chunk(buffer.take(), rejected, stream.buffer.tell(), exam_reader.rows)
                    rejected = []
        except (csv.Error, UnicodeDecodeError) as exc:
            line = reader.line_num + 1
            raise Unreadable(line, isinstance(exc, UnicodeDecodeError), str(exc)) from None
        yield Chunk(buffer.take(), rejected, stream.buffer.tell(), exam_reader.rows)


def batches_from_process(request: ReadRequest) -> Iterator[Chunk]:
    """:func:`read_batches` run in a spawned process, a few chunks ahead of the caller.

    An error there (a bad file, a refused row) is raised here, as it would have been in this
    process. The process is stopped when the caller stops iterating, whatever the reason.
    """
    context = multiprocessing.get_context("spawn")
    chunks: Any = context.Queue(maxsize=AHEAD)
    process = context.Process(target=_read_into, args=(chunks, request), daemon=True)
    process.start()
    try:
        while True:
            message = _next(chunks, process)
            if message is None:
                return
            if isinstance(message, BaseException):
                raise message
            yield message
    finally:
        if process.is_alive():
            process.terminate()
        process.join()
        chunks.close()
        chunks.cancel_join_thread()


def _next(chunks: Any, process: Any) -> Any:
    while True:
        try:
            return chunks.get(timeout=POLL_SECONDS)
        except queue.Empty:
            if not process.is_alive():
                raise RuntimeError(
                    f"the process reading the file stopped unexpectedly (exit status "
                    f"{process.exitcode}); nothing was imported"
                ) from None


def _read_into(chunks: Any, request: ReadRequest) -> None:
    """The reading process: every chunk, then None; or the error that stopped it."""
    os.nice(HELPER_NICENESS)  # the writing process is the pipeline's bottleneck: it goes first
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    try:
        for chunk in read_batches(request):
            chunks.put(chunk)
        chunks.put(None)
    except Exception as exc:  # raised again in the writing process, which reports it
        exc.add_note("in the process reading the file:\n" + traceback.format_exc())
        chunks.put(exc)
