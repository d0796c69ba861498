"""``followup import exams`` as a library: a clinic's CSV into the database, in one transaction.

A script (or a web upload) imports without Click::

    with CsvImport("export.csv", today=date.today()) as job:
        result = job.run(database)  # a Database, or anything with .transaction()

The file is read, checked and buffered a batch at a time (:func:`chunks_of`), each batch
written by :class:`followup.store.bulk.BulkLoader` as it comes, the plans last. Reading and
checking the rows is about as much work as writing them, and both are single-threaded: for a
large file :func:`batches_from_process` reads in a second process while this one writes the
previous batch (a third one plans: :mod:`followup.store.plan_worker`). The batches are the
same either way: :func:`read_batches` makes them, here or there.

All of it is written or none: a refused row (unless the caller keeps them, ``rejected=``), a
file that stops being CSV text, a dry run, or any error rolls the transaction back. Nothing
here touches the terminal: errors are the exceptions below, for the caller to word.
"""

from __future__ import annotations

import csv
import gc
import multiprocessing
import os
import traceback
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import AbstractContextManager, closing, contextmanager
from dataclasses import dataclass
from datetime import date
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, NamedTuple, Protocol, TextIO

from followup.exchange.csv_columns import ColumnMap, Defaults, map_columns
from followup.exchange.csv_import import ExamReader, Rejected, open_csv
from followup.store.bulk import BulkLoader, LoadResult
from followup.store.bulk_rows import DEFAULT_BATCH, RowBuffer, Staged
from followup.store.errors import HelperStopped
from followup.store.helper_process import GC_THRESHOLD, become_helper, interrupts_ignored

if TYPE_CHECKING:
    from _csv import Reader

    from sqlalchemy.orm import Session

READER_PROCESS_BYTES = 4 << 20  # files from 4 MiB (about 40,000 rows) are read in a process
EXIT_WAIT_SECONDS = 5.0  # for a reading process that died, to report its exit status


class Chunk(NamedTuple):
    """A batch to write, the rows refused since the previous one, and how far reading got."""

    staged: Staged
    rejected: list[Rejected]
    position: int  # bytes of the file read
    rows: int  # records read (blank lines not counted)


class ImportRefused(Exception):
    """The file cannot be imported as it is; nothing was written."""


class EmptyFile(ImportRefused):
    """The file has no header row."""


class RowRefused(ImportRefused):
    """A row is wrong (and refused rows are not being kept): ``reason`` says why."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(line, reason)
        self.line, self.reason = line, reason


class Unreadable(ImportRefused):
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


def chunks_of(stream: TextIO, reader: Reader, request: ReadRequest) -> Generator[Chunk]:
    """Chunks of the rows ``reader`` (a csv.reader of ``stream``, past the header) yields.

    Without ``request.keep_rejected`` reading stops at the first refused row: its chunk is the
    last. ``Chunk.position`` stays 0 where the stream cannot tell it (a pipe).
    """
    exam_reader = ExamReader(request.columns, request.defaults, request.today)
    buffer = RowBuffer(request.batch_size, request.today)
    position = stream.buffer.tell if stream.seekable() else _nowhere
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


def batches_from_process(request: ReadRequest) -> Generator[Chunk]:
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


def _receive(receiver: Connection, process: BaseProcess) -> Chunk | BaseException | None:
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


class Transactions(Protocol):
    """Where to import: a :class:`followup.store.database.Database`, or the CLI's context."""

    def transaction(self) -> AbstractContextManager[Session]: ...


@dataclass(frozen=True)
class ImportResult:
    """What an import did (or, ``dry_run``, would have done)."""

    loaded: LoadResult
    rows: int  # records read
    rejected: int  # rows refused and handed to ``rejected``
    dry_run: bool


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back after counting everything."""

    def __init__(self, result: ImportResult) -> None:
        super().__init__("dry run")
        self.result = result


class CsvImport:
    """One import of the CSV file at ``path``: opened and its header mapped at once (so the
    caller sees :attr:`columns` before anything is read), its rows read by :meth:`run`.

    ``overrides`` are ``COLUMN=FIELD`` mappings and ``defaults`` the values of missing
    columns, as ``import exams --map/--default-*`` take them; ``today`` is the day no exam
    may be after. Raises :class:`EmptyFile`, :class:`Unreadable` or
    :class:`followup.exchange.csv_columns.MappingError`.
    """

    def __init__(
        self,
        path: str,
        overrides: Sequence[str] = (),
        defaults: Defaults | None = None,
        *,
        today: date,
    ) -> None:
        self.path = path
        self.defaults = defaults or Defaults()
        self.today = today
        self._stream = open_csv(path)
        try:
            self._reader = csv.reader(self._stream)
            self.columns = map_columns(self._header(), overrides, self.defaults)
        except BaseException:
            self._stream.close()
            raise

    def __enter__(self) -> CsvImport:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stream.close()

    def _header(self) -> list[str]:
        try:
            return next(self._reader)
        except StopIteration:
            raise EmptyFile("the file is empty; a header row is needed") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise Unreadable(1, isinstance(exc, UnicodeDecodeError), str(exc)) from None

    def _chunks(self, request: ReadRequest) -> Generator[Chunk]:
        """The file's batches: read in a second process when it is a file large enough for
        that to pay (starting one costs about half a second); here, from the stream past the
        header, otherwise (a pipe, such as ``<(unzip -p export.zip)``, can only be read once).
        """
        path = request.path
        if os.path.isfile(path) and os.path.getsize(path) >= READER_PROCESS_BYTES:
            return batches_from_process(request)
        return chunks_of(self._stream, self._reader, request)

    def run(
        self,
        database: Transactions,
        *,
        dry_run: bool = False,
        rejected: Callable[[Rejected], None] | None = None,
        before_commit: Callable[[], None] | None = None,
        progress: Callable[[Iterator[Chunk]], Iterator[Chunk]] | None = None,
    ) -> ImportResult:
        """Import the rows, in one transaction of ``database``.

        ``rejected`` is given each refused row (the import goes on); without it the first one
        stops the import (:class:`RowRefused`). ``before_commit`` runs last in the transaction
        (not in a dry run): whatever it writes is then on disk before the import commits.
        ``progress`` wraps the stream of batches (a progress bar by ``Chunk.position``).
        """
        keep = rejected is not None
        request = ReadRequest(self.path, self.columns, self.defaults, self.today, keep)
        with closing(self._chunks(request)) as chunks, fewer_collections():
            try:
                with database.transaction() as session:
                    batches = progress(chunks) if progress else chunks
                    result = _load(session, batches, self.today, rejected, dry_run)
                    if dry_run:
                        raise _DryRun(result)
                    if before_commit is not None:
                        before_commit()
            except _DryRun as done:
                result = done.result
        return result


def _load(
    session: Session,
    chunks: Iterator[Chunk],
    today: date,
    rejected: Callable[[Rejected], None] | None,
    dry_run: bool,
) -> ImportResult:
    """Write each batch, then the plans."""
    refused = rows = 0
    with BulkLoader(session, today=today) as loader:
        for chunk in chunks:
            for item in chunk.rejected:
                if rejected is None:
                    raise RowRefused(item.line, item.reason)
                rejected(item)
                refused += 1
            loader.write(chunk.staged)
            rows = chunk.rows
        return ImportResult(loader.finish(), rows, refused, dry_run)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Millions of short-lived rows would trigger the cyclic GC every 700 allocations, scanning
    every object each time (about a quarter of the import's time). Collect less often, and
    never rescan what was loaded before the import; cycles are still collected, so memory
    stays flat."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()
