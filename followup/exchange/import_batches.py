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
import multiprocessing
import traceback
from collections.abc import Iterator
from datetime import date
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import IO, Any, NamedTuple

from followup.exchange.csv_columns import ColumnMap, Defaults
from followup.exchange.csv_import import ExamReader, Rejected, open_csv
from followup.store.bulk import DEFAULT_BATCH, RowBuffer, Staged
from followup.store.errors import HelperStopped
from followup.store.helper_process import become_helper, interrupts_ignored

EXIT_WAIT_SECONDS = 5.0  # for a reading process that died, to report its exit status


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
    """Chunks of the file at ``request.path`` after its header (mapped by the caller)."""
    with open_csv(request.path) as stream:
        reader = csv.reader(stream)
        next(reader)
        yield from chunks_of(stream, reader, request)


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


def batches_from_process(request: ReadRequest) -> Iterator[Chunk]:
    """:func:`read_batches` run in a spawned process, a chunk or so ahead of the caller.

    An error there (a bad file, a refused row) is raised here, as it would have been in this
    process. The chunks come through a one-way pipe whose writing end only the reading
    process holds: if it dies, even halfway through sending a chunk, this end reads the end of
    the pipe and raises, instead of waiting forever. The process is stopped when the caller
    stops iterating, whatever the reason.
    """
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_read_into, args=(sender, request), daemon=True)
    with interrupts_ignored():
        process.start()
    sender.close()  # the reading process holds the only writing end now
    try:
        while (message := _receive(receiver, process)) is not None:
            if isinstance(message, BaseException):
                raise message
            yield message
    finally:
        if process.is_alive():
            process.terminate()
        process.join()
        receiver.close()


def _receive(receiver: Connection, process: BaseProcess) -> Any:
    try:
        return receiver.recv()
    except (EOFError, OSError):  # OSError: the pipe ended halfway through a chunk
        process.join(EXIT_WAIT_SECONDS)
        raise HelperStopped(
            f"the process reading the file stopped unexpectedly (exit status "
            f"{process.exitcode}); nothing was imported"
        ) from None


def _read_into(sender: Connection, request: ReadRequest) -> None:
    """The reading process: every chunk, then None; or the error that stopped it."""
    become_helper()
    try:
        for chunk in read_batches(request):
            sender.send(chunk)
        sender.send(None)
    except (BrokenPipeError, ConnectionResetError):
        return  # the writing process stopped reading: it has its own error to report
    except Exception as exc:  # raised again in the writing process, which reports it
        exc.add_note("in the process reading the file:\n" + traceback.format_exc())
        sender.send(exc)
    finally:
        sender.close()
