"""``followup import exams`` as a library: a clinic's CSV into the database, in one transaction.

A script (or a web upload) imports without Click::

    with CsvImport("export.csv", today=date.today()) as job:
        result = job.run(database)  # a Database, or anything with .transaction()

The file is read, checked and buffered a batch at a time (:func:`chunks_of`), each batch
written by :class:`followup.store.bulk.BulkLoader` as it comes, the plans last. All of it is
written or none: a refused row (unless the caller keeps them, ``rejected=``), a file that stops
being CSV text, a dry run, or any error rolls the transaction back. Nothing here touches the
terminal: errors are the exceptions below, for the caller to word.
"""

from __future__ import annotations

import csv
import gc
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import AbstractContextManager, closing, contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, NamedTuple, Protocol, TextIO

from followup.exchange.csv_columns import ColumnMap, Defaults, map_columns
from followup.exchange.csv_import import ExamReader, Rejected, open_csv
from followup.store.bulk import BulkLoader, LoadResult
from followup.store.bulk_rows import DEFAULT_BATCH, RowBuffer, Staged

if TYPE_CHECKING:
    from _csv import Reader

    from sqlalchemy.orm import Session

GC_THRESHOLD = 100_000  # allocations between young-generation collections (Python's: 700)


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
    """How to read the rows: everything :func:`chunks_of` needs."""

    columns: ColumnMap
    defaults: Defaults
    today: date
    keep_rejected: bool
    batch_size: int = DEFAULT_BATCH


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
        request = ReadRequest(self.columns, self.defaults, self.today, rejected is not None)
        with closing(chunks_of(self._stream, self._reader, request)) as chunks, fewer_collections():
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
