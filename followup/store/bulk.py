"""Bulk loading: many patients, exams and films in the caller's one transaction, then plans.

What the CSV importer, ``followup demo`` and the benchmarks use to write many rows fast (the
rows: :mod:`followup.store.bulk_rows`; the SQL: :mod:`followup.store.bulk_sql`). Memory stays
flat whatever the size of the load:

- rows are checked and buffered up to ``batch_size`` as plain tuples by a
  :class:`~followup.store.bulk_rows.RowBuffer` (no database: the CSV import runs it in the
  process that reads the file), then written with the driver's executemany:
  patients with ``ON CONFLICT DO NOTHING``; exams likewise on their unique key (patient,
  date, facility), their new ids read back by an id range; then their findings, film
  transfers and biopsies (likewise on their unique keys). Patient ids are looked up for the
  batch only (one query), so no patient-id map is ever held for the whole load (only the
  facility cache, a few hundred entries, :mod:`followup.store.bulk_facilities`);
- exams already stored (same patient, date and facility, facility compared by
  :func:`followup.rules.facility_key`) or repeated in the input are skipped and counted, when
  they say the same (:mod:`followup.store.bulk_stored`);
- plans are written with the same inputs as :func:`followup.store.plans.refresh_plan`, so they
  are identical to it. A patient whose exams and films are all in the batch being written
  (created by this load, nothing stored for her before: the bulk of a first import) gets her
  plan from the rows just written, computed by :mod:`followup.store.plan_rows` (in a worker
  process, :mod:`followup.store.plan_worker`, once the load is past PLAN_WORKER_AFTER
  batches); any other patient who got an exam, film transfer or biopsy is noted in a
  temporary table and her plan is recomputed at :meth:`BulkLoader.finish`, reading her
  records back from the database (:mod:`followup.store.rules_inputs`) a chunk of patients at
  a time.

Nothing is committed here: an error anywhere leaves the caller's transaction to roll back, and
with it every row of the load.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Selectable,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from followup import rules
from followup.store.bulk_facilities import FacilityIds
from followup.store.bulk_rows import DEFAULT_BATCH, Row, RowBuffer, Staged
from followup.store.bulk_sql import TOUCHED, Statements, bind, driver_date
from followup.store.bulk_stored import refuse_different
from followup.store.clock import now
from followup.store.contacts import refresh_tracking_of
from followup.store.database import driver_connection
from followup.store.errors import InvalidInput
from followup.store.models import PlanFlag, PlanRecord
from followup.store.plan_rows import PlanRows, plan_batch, rows_for
from followup.store.plan_worker import PlanWorker
from followup.store.rules_inputs import (
    NOTHING,
    AnySelect,
    Choice,
    FindingCache,
    biopsy_value,
    read_inputs,
)

PLAN_CHUNK = 2_000
PLAN_WORKER_AFTER = 3  # batches planned here before a load is big enough to pay for a worker
LOAD_CACHE_KIB = 65_536  # SQLite page cache of the load's connection (64 MiB), then restored


@dataclass
class LoadResult:
    """What a load did; duplicates are rows skipped because they were already there."""

    patients_added: int = 0
    patients_existing: int = 0
    facilities_added: int = 0
    exams_added: int = 0
    exams_duplicate: int = 0
    findings_added: int = 0
    transfers_added: int = 0
    transfers_duplicate: int = 0
    biopsies_added: int = 0
    biopsies_duplicate: int = 0
    plans_written: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# A buffered exam: its _Statements.exam parameters (the patient by external id until the flush
# resolves her id), date, and findings' columns. Plain tuples of atoms only, which the garbage
# collector stops tracking: buffered row objects would make every collection walk the batch.
_Exam = tuple[tuple[Any, ...], date, tuple[tuple[str | None, ...], ...]]


class _Batch(NamedTuple):
    """What a flush wrote that the in-memory plans need."""

    exams: list[tuple[int, int, _Exam]]  # patient pk, exam id, exam
    transfers: list[tuple[int, int, int, date]]  # patient pk, from and to facility id, date
    biopsies: list[tuple[int, rules.Biopsy]]  # patient pk, biopsy (with its new id)


class BulkLoader:
    """Loads rows into the caller's transaction; call :meth:`finish` once, at the end.

    Example::

        with database.transaction() as session, BulkLoader(session, policy) as loader:
            loader.add_all(rows)          # PatientRow, ExamRow, TransferRow in any mix
            result = loader.finish()      # writes what is buffered, then the plans

    Rows are checked and buffered by a :class:`RowBuffer`; :meth:`write` also takes batches
    buffered elsewhere (the CSV import checks its rows in another process). Used as a context
    manager, a load that fails before :meth:`finish` still stops its plan worker at once.

    A patient must be added (now or before) before her exams and transfers are written; an
    exam or transfer for an unknown patient raises InvalidInput naming her.
    """

    def __init__(
        self,
        session: Session,
        policy: rules.Policy | None = None,
        *,
        batch_size: int = DEFAULT_BATCH,
        today: date | None = None,
    ) -> None:
        from followup.store.policies import policy_in_force

        self.session = session
        self.policy = policy or policy_in_force(session)  # plans follow the policy in force
        self.result = LoadResult()
        self._buffer = RowBuffer(batch_size, today)
        self.today = today or now().date()  # the day of a transfer given without one
        self._conn: Connection = session.connection()
        dialect = self._conn.dialect
        self._sqlite = dialect.name == "sqlite"
        # Rows go straight to the driver's executemany as tuples, converted as SQLAlchemy
        # would store them: its per-row parameter processing would cost more than the database.
        self._cursor = driver_connection(self._conn).cursor()
        self._day = bind(Date(), dialect)
        self.created_at = bind(DateTime(), dialect)(now())
        self._facility = FacilityIds(session, self._conn, self.result)
        self._days: dict[date, Any] = {}  # date -> as the driver takes it (a few thousand)
        self._findings = FindingCache()
        self._worker: PlanWorker | None = None
        self._batches = 0
        self._finished = False
        self._sql = Statements(dialect)
        # Patients created by this load have ids above this (the load holds the write lock on
        # SQLite; ids come from an ever-growing sequence on PostgreSQL).
        self._last_patient = self._scalar("SELECT coalesce(max(id), 0) FROM patients")
        self._cache_size = self._bigger_cache() if self._sqlite else None
        self._conn.execute(text(f"DROP TABLE IF EXISTS {TOUCHED.name}"))
        TOUCHED.create(self._conn)

    def __enter__(self) -> BulkLoader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the plan worker, if one was started, and close the driver cursor (:meth:`finish`
        does both)."""
        self._stop_worker()
        self._cursor.close()

    def _stop_worker(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    # -- adding rows -------------------------------------------------------------------

    def add_all(self, rows: Iterable[Row]) -> LoadResult:
        """Add every row; writes a batch whenever ``batch_size`` rows are buffered."""
        for row in rows:
            self.add(row)
        return self.result

    def add(self, row: Row) -> None:
        self._buffer.add(row)
        self._maybe_flush()

    # -- writing -----------------------------------------------------------------------

    def _maybe_flush(self) -> None:
        if self._buffer.full:
            self.write(self._buffer.take())

    def flush(self) -> None:
        """Write what is buffered."""
        if len(self._buffer):
            self.write(self._buffer.take())

    def write(self, staged: Staged) -> None:
        """Write one batch: patients first, then exams and findings, then transfers and
        biopsies, then the plans of the patients whose records are all in this batch."""
        self.result.patients_existing += staged.repeats[0]
        self.result.exams_duplicate += staged.repeats[1]
        if staged.patients:
            self._flush_patients(staged.patients)
        if not (staged.exams or staged.transfers or staged.biopsies):
            return
        exams = [self._exam(exam) for exam in staged.exams]
        transfers = [
            (patient, self._facility(source), self._facility(target), day or self.today)
            for patient, source, target, day in staged.transfers
        ]
        patients = self._resolve_patients(
            exams, [t[0] for t in transfers] + [b[0] for b in staged.biopsies]
        )
        batch = _Batch(
            self._flush_exams(patients, exams),
            self._flush_transfers(patients, transfers),
            self._flush_biopsies(patients, staged.biopsies),
        )
        new = {pid for pid, is_new in patients.values() if is_new}
        self._plan(batch, new)
        earlier = {p for p, *_ in batch.exams if p not in new}
        earlier.update(p for p, *_ in batch.transfers if p not in new)
        earlier.update(p for p, _ in batch.biopsies if p not in new)
        if earlier:
            self._sql.touch(self._cursor, [(p,) for p in sorted(earlier)])

    def _exam(self, exam: tuple[Any, ...]) -> _Exam:
        """A staged exam with its facility id and the date as the driver takes it."""
        patient, day, facility, kind, months, note, imaged, density, radiologist, findings = exam
        bound = self._days.get(day) or self._days.setdefault(day, self._day(day))
        facility_id = self._facility(facility)
        staged = (patient, bound, facility_id, kind, months, note, imaged, density, radiologist)
        return (*staged, self.created_at), day, findings

    def _flush_patients(self, rows: list[tuple[Any, ...]]) -> None:
        day, created = self._day, self.created_at
        added = self._sql.patient(
            self._cursor,
            [(*row[:2], day(row[2]) if row[2] else None, *row[3:], created) for row in rows],
        )
        self.result.patients_added += added
        self.result.patients_existing += len(rows) - added

    def _resolve_patients(
        self, exams: list[_Exam], others: list[str]
    ) -> dict[str, tuple[int, bool]]:
        """external id -> (patient pk, whether all her records are in this batch) for the
        batch's exams and the patients of its other records; an unknown patient is an error
        naming her."""
        wanted = {staged[0] for staged, *_ in exams}
        wanted.update(others)
        self._cursor.execute(
            self._sql.patients_by_external_id, (self._last_patient, self._sql.in_list(wanted))
        )
        found = {external_id: (pid, bool(new)) for pid, external_id, new in self._cursor}
        if len(found) < len(wanted):
            order = [s[0] for s, *_ in exams] + others
            unknown = next(p for p in order if p not in found)
            raise InvalidInput(
                f"no patient with id {unknown!r}; add her (a PatientRow) before her exams"
            )
        return found

    def _flush_exams(
        self, patients: dict[str, tuple[int, bool]], exams: list[_Exam]
    ) -> list[tuple[int, int, _Exam]]:
        """Insert the batch's exams (those already stored are skipped), then their findings;
        returns the exams written: patient pk, new exam id, exam."""
        if not exams:  # a batch of transfers or biopsies only (PostgreSQL needs a row)
            return []
        last = self._scalar(self._sql.last_exam_id)
        self._sql.exam(self._cursor, [(patients[exam[0][0]][0], *exam[0][1:]) for exam in exams])
        written: list[tuple[int, int, _Exam]] = []
        findings: list[tuple[Any, ...]] = []
        ids = self._new_exam_ids(last, exams)
        for exam, exam_id in zip(exams, ids, strict=True):
            if exam_id is not None:
                written.append((patients[exam[0][0]][0], exam_id, exam))
                for columns in exam[2]:
                    findings.append((exam_id, *columns))
        if findings:
            self._sql.finding(self._cursor, findings)
        skipped = [exam for exam, exam_id in zip(exams, ids, strict=True) if exam_id is None]
        refuse_different(self._conn, patients, skipped, self._facility.names)
        self.result.exams_added += len(written)
        self.result.exams_duplicate += len(exams) - len(written)
        self.result.findings_added += len(findings)
        return written

    def _new_exam_ids(self, last: int, exams: list[_Exam]) -> Sequence[int | None]:
        """The id given to each buffered exam (None: skipped as already stored).

        On SQLite (one writer; a new id is the largest ever given plus one), when the rows
        above ``last`` are exactly as many as the batch and contiguous, they are the batch in
        order.
        Otherwise (some skipped; PostgreSQL, whose sequences other sessions share) they are
        matched by their unique key.
        """
        if self._sqlite:
            self._cursor.execute(self._sql.exams_above, (last,))
            count, top = self._cursor.fetchone()
            if count == len(exams) and top == last + count:
                return range(last + 1, top + 1)
        self._cursor.execute(self._sql.new_exams, (last,))
        new = {row[:4]: row[4] for row in self._cursor}
        return [new.get(exam[0][:4]) for exam in exams]

    def _flush_transfers(
        self, patients: dict[str, tuple[int, bool]], staged: list[tuple[str, int, int, date]]
    ) -> list[tuple[int, int, int, date]]:
        """Insert the batch's transfers (a pair already recorded is skipped, whatever its
        date); all of them touch the patient's plan."""
        transfers = [(patients[p][0], s, t, d) for p, s, t, d in staged]
        if transfers:
            day, created = self._day, self.created_at
            added = self._sql.transfer(
                self._cursor, [(p, s, t, created, day(d)) for p, s, t, d in transfers]
            )
            self.result.transfers_added += added
            self.result.transfers_duplicate += len(transfers) - added
        return transfers

    def _flush_biopsies(
        self, patients: dict[str, tuple[int, bool]], staged: list[tuple[Any, ...]]
    ) -> list[tuple[int, rules.Biopsy]]:
        """Insert the batch's biopsies (one already stored for that patient, day and side is
        skipped); returns those written, as the rules see them, with their new ids."""
        if not staged:
            return []
        created, place = self.created_at, self._facility
        rows = [
            (patients[p][0], self._day(day), side, result, agrees, f and place(f), *texts, created)
            for p, day, side, result, agrees, f, *texts in staged
        ]
        added = self._sql.biopsy(self._cursor, rows)
        self.result.biopsies_added += added
        self.result.biopsies_duplicate += len(rows) - added
        self._cursor.execute(self._sql.biopsies_of, (self._sql.in_list({r[0] for r in rows}),))
        keys, names = {row[:3] for row in rows}, self._facility.names
        written = []
        for biopsy_id, patient, day, side, result, agrees, place, found in self._cursor.fetchall():
            if (patient, day, side) in keys:
                name = names[place] if place else None
                biopsy = biopsy_value(
                    biopsy_id, driver_date(day), side, result, agrees, name, found
                )
                written.append((patient, biopsy))
        return written

    def _scalar(self, sql: str) -> Any:
        self._cursor.execute(sql)
        return self._cursor.fetchone()[0]

    def _bigger_cache(self) -> int:
        """Give this connection's SQLite page cache LOAD_CACHE_KIB at least (index pages of a
        big file stay in memory); returns the setting to restore."""
        old = self._scalar("PRAGMA cache_size")
        kib = -old if old < 0 else old * self._scalar("PRAGMA page_size") // 1024
        if kib < LOAD_CACHE_KIB:
            self._cursor.execute(f"PRAGMA cache_size = -{LOAD_CACHE_KIB}")
        return int(old)

    # -- plans -------------------------------------------------------------------------

    def replan(self, patients: Selectable) -> None:
        """Have :meth:`finish` recompute the plans of ``patients`` (a query of primary keys)
        from what the database holds for them then."""
        self._conn.execute(insert(TOUCHED).from_select(["patient_id"], patients))

    def finish(self) -> LoadResult:
        """Write the last batch, then the plans of patients who had records before this load
        (or in earlier batches of it); drop the staging table."""
        if self._finished:
            raise RuntimeError("BulkLoader.finish() was already called")
        self._finished = True
        try:
            self.flush()
            if self._worker is not None:
                for rows in self._worker.drain():
                    self._write_plans(rows)
        finally:
            self._stop_worker()
        touched = select(TOUCHED.c.patient_id)
        # Plans written from an earlier batch are written again: count each patient once.
        self.result.plans_written -= self._conn.execute(
            select(func.count())
            .select_from(PlanRecord)
            .where(PlanRecord.patient_id.in_(touched), PlanRecord.patient_id > self._last_patient)
        ).scalar_one()
        self._conn.execute(delete(PlanFlag).where(PlanFlag.patient_id.in_(touched)))
        self._conn.execute(delete(PlanRecord).where(PlanRecord.patient_id.in_(touched)))
        for chunk in self._touched_chunks():
            plans = self._stored_plans(chunk)
            self._write_plans(rows_for(plans, self._facility, self._day))
        if self._cache_size is not None:
            self._cursor.execute(f"PRAGMA cache_size = {self._cache_size}")
        self.close()
        self.session.expire_all()  # ORM objects loaded before the load are stale now
        # New exams reopen and answer appointments (§7); patients new to this load have no log.
        refresh_tracking_of(self.session, touched)
        TOUCHED.drop(self._conn)
        return self.result

    def _plan(self, batch: _Batch, new: set[int]) -> None:
        """Plans of the batch's patients whose records are all in it, from the rows just
        written. A load past PLAN_WORKER_AFTER batches computes them in a
        :class:`~followup.store.plan_worker.PlanWorker` (the second core) and writes each
        batch's rows when they come back."""
        exams = [
            (patient_pk, exam_id, day, *staged[2:5], *staged[6:9], findings)
            for patient_pk, exam_id, (staged, day, findings) in batch.exams
            if patient_pk in new
        ]
        transfers = [t for t in batch.transfers if t[0] in new]
        biopsies = [b for b in batch.biopsies if b[0] in new]
        self._batches += 1
        if self._worker is None and self._batches > PLAN_WORKER_AFTER:
            self._worker = PlanWorker(self.policy, self._sqlite)
        names = self._facility.names
        if self._worker is None:
            policy, day = self.policy, self._day
            rows = plan_batch(exams, transfers, biopsies, names, policy, day, self._findings)
            self._write_plans(rows)
            return
        self._worker.submit(exams, transfers, biopsies, dict(names))
        for rows in self._worker.ready():
            self._write_plans(rows)

    def _write_plans(self, rows: PlanRows) -> None:
        if rows.plans:
            self._sql.plan(self._cursor, rows.plans)
        if rows.flags:
            self._sql.flag(self._cursor, rows.flags)
        self.result.plans_written += len(rows.plans)

    def _touched_chunks(self) -> Iterator[list[int]]:
        """Touched patient pks in ascending chunks (keyset paging: no id list in memory)."""
        last = 0
        while True:
            chunk = list(
                self._conn.execute(
                    select(TOUCHED.c.patient_id)
                    .where(TOUCHED.c.patient_id > last)
                    .order_by(TOUCHED.c.patient_id)
                    .limit(PLAN_CHUNK)
                ).scalars()
            )
            if not chunk:
                return
            yield chunk
            last = chunk[-1]

    def _stored_plans(self, chunk: Sequence[int]) -> list[tuple[int, rules.Plan]]:
        """Plans of touched patients, from what the database holds for them now."""
        inputs = read_inputs(self._conn, _touched_between(chunk[0], chunk[-1]), self._findings)
        return [(p, inputs.get(p, NOTHING).plan(self.policy)) for p in chunk]


def _touched_between(first: int, last: int) -> Choice:
    """The touched patients ``first..last`` (primary keys)."""

    def choose(query: AnySelect, patient: InstrumentedAttribute[int]) -> AnySelect:
        return query.join(TOUCHED, TOUCHED.c.patient_id == patient).where(
            patient.between(first, last)
        )

    return choose


def load(
    session: Session,
    rows: Iterable[Row],
    policy: rules.Policy | None = None,
    *,
    batch_size: int = DEFAULT_BATCH,
    today: date | None = None,
) -> LoadResult:
    """Load ``rows`` (streamed) and write the plans: :class:`BulkLoader` in one call."""
    with BulkLoader(session, policy, batch_size=batch_size, today=today) as loader:
        loader.add_all(rows)
        return loader.finish()


__all__ = ["BulkLoader", "LoadResult", "load"]
