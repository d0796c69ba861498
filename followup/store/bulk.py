"""Bulk loading: many patients, exams and films in the caller's one transaction, then plans.

What the CSV importer, ``followup demo`` and the benchmarks use to write many rows fast. Rows
are plain frozen values with canonical text (``"probably-benign"``, ``"left"``; the rules'
StrEnums are accepted as they are). Memory stays flat whatever the size of the load:

- rows are buffered up to ``batch_size`` and written with Core ``insert()`` executemany into
  temporary staging tables, then moved into the real tables with set-based
  ``INSERT ... SELECT``; patient ids are resolved by a join on ``external_id`` in SQL, so no
  patient-id map is ever held in Python (only the facility cache, a few hundred entries);
- exams already stored (same patient, date and facility, facility compared by
  :func:`followup.rules.facility_key`) or repeated in the input are skipped and counted;
- at :meth:`BulkLoader.finish` the plans of every patient who got an exam or a film transfer
  are recomputed with the rules and written, reading her exams back from the database a chunk
  of patients at a time (ordered by patient), with the same inputs as
  :func:`followup.store.plans.refresh_plan`, so the stored plans are identical to it.

Nothing is committed here: an error anywhere leaves the caller's transaction to roll back, and
with it every row of the load.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    exists,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from followup import rules
from followup.store.clock import now
from followup.store.errors import InvalidInput
from followup.store.models import (
    CATEGORIES,
    KINDS,
    SIDES,
    Exam,
    Facility,
    FilmTransfer,
    Finding,
    Patient,
    PlanFlag,
    PlanRecord,
)
from followup.store.patients import check_external_id
from followup.store.plans import plan_values, rules_finding

DEFAULT_BATCH = 20_000
PLAN_CHUNK = 2_000
FINDING_CACHE = 10_000


@dataclass(frozen=True)
class PatientRow:
    """A patient to add; a patient whose ``external_id`` is already stored is left as she is."""

    external_id: str
    name: str | None = None
    birth_date: date | None = None
    email: str | None = None
    phone: str | None = None
    reminders: bool = True


@dataclass(frozen=True)
class FindingRow:
    """One finding, canonical text: category in models.CATEGORIES, laterality in SIDES."""

    category: str
    laterality: str | None = None
    morphology: str | None = None
    distribution: str | None = None
    size_class: str | None = None


@dataclass(frozen=True)
class ExamRow:
    """One exam of a patient (by external id) with at least one finding."""

    patient: str
    date: date
    facility: str
    findings: tuple[FindingRow, ...]
    kind: str | None = None
    follow_up_months: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class TransferRow:
    """The films of ``from_facility`` are on hand at ``to_facility`` for this patient."""

    patient: str
    from_facility: str
    to_facility: str


Row = PatientRow | ExamRow | TransferRow


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
    plans_written: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# Staging tables: temporary, private to the connection, created and dropped by each load.
_staging = MetaData()
_stage_patients = Table(
    "bulk_stage_patients",
    _staging,
    Column("external_id", String(64)),
    Column("name", String(200)),
    Column("birth_date", Date),
    Column("email", String(320)),
    Column("phone", String(64)),
    Column("reminders", Boolean),
    prefixes=["TEMPORARY"],
)
_stage_exams = Table(
    "bulk_stage_exams",
    _staging,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("external_id", String(64)),
    Column("date", Date),
    Column("facility_id", Integer),
    Column("kind", String(16)),
    Column("follow_up_months", Integer),
    Column("note", Text),
    Column("patient_id", Integer),
    Column("dup", Boolean),
    prefixes=["TEMPORARY"],
)
_stage_findings = Table(
    "bulk_stage_findings",
    _staging,
    Column("pos", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer),
    Column("category", String(24)),
    Column("laterality", String(16)),
    Column("morphology", String(64)),
    Column("distribution", String(64)),
    Column("size_class", String(16)),
    prefixes=["TEMPORARY"],
)
_stage_transfers = Table(
    "bulk_stage_transfers",
    _staging,
    Column("external_id", String(64)),
    Column("from_id", Integer),
    Column("to_id", Integer),
    Column("patient_id", Integer),
    prefixes=["TEMPORARY"],
)
# Patients whose plan must be recomputed at the end.
_touched = Table(
    "bulk_touched",
    _staging,
    Column("patient_id", Integer, primary_key=True, autoincrement=False),
    prefixes=["TEMPORARY"],
)
_STAGING_TABLES = (_stage_patients, _stage_exams, _stage_findings, _stage_transfers, _touched)

_CATEGORIES = frozenset(CATEGORIES)
_SIDES = frozenset(SIDES)
_KINDS = frozenset(KINDS)
_KIND_OF = {None: None, **{kind.value: kind for kind in rules.ExamKind}}


class _FindingValues(NamedTuple):
    """A finding's stored columns, by name, as :func:`rules_finding` reads them."""

    category: str
    laterality: str | None
    morphology: str | None
    distribution: str | None
    size_class: str | None


class BulkLoader:
    """Loads rows into the caller's transaction; call :meth:`finish` once, at the end.

    Example::

        with database.transaction() as session:
            loader = BulkLoader(session, policy)
            loader.add_all(rows)          # PatientRow, ExamRow, TransferRow in any mix
            result = loader.finish()      # writes what is buffered, then the plans

    A patient must be added (now or before) before her exams and transfers are flushed; an
    exam or transfer for an unknown patient raises InvalidInput naming her.
    """

    def __init__(
        self,
        session: Session,
        policy: rules.Policy = rules.DEFAULT_POLICY,
        *,
        batch_size: int = DEFAULT_BATCH,
        today: date | None = None,
    ) -> None:
        self.session = session
        self.policy = policy
        self.batch_size = batch_size
        self.today = today
        self.result = LoadResult()
        self.created_at = now()
        self._conn: Connection = session.connection()
        sqlite = self._conn.dialect.name == "sqlite"
        # Staging rows go straight to the driver's executemany as tuples: SQLAlchemy's
        # per-row parameter processing would cost more than the database does.
        self._mark = "?" if self._conn.dialect.paramstyle == "qmark" else "%s"
        self._day = date.isoformat if sqlite else _same
        self._facilities: dict[str, int] = {}  # key -> id
        self._facility_names: dict[str, int] = {}  # spelling as given -> id
        self._finding_cache: dict[tuple[str | None, ...], rules.Finding] = {}
        self._patients: list[tuple[Any, ...]] = []
        self._patient_ids: set[str] = set()
        self._exams: list[tuple[Any, ...]] = []
        self._findings: list[tuple[Any, ...]] = []
        self._exam_keys: set[tuple[str, date, int]] = set()
        self._transfers: list[tuple[Any, ...]] = []
        self._seq = 0
        self._pos = 0
        self._finished = False
        for table in _STAGING_TABLES:
            self._conn.execute(text(f"DROP TABLE IF EXISTS {table.name}"))
            table.create(self._conn)

    # -- adding rows -------------------------------------------------------------------

    def add_all(self, rows: Iterable[Row]) -> LoadResult:
        """Add every row; flushes a batch whenever ``batch_size`` rows are buffered."""
        for row in rows:
            self.add(row)
        return self.result

    def add(self, row: Row) -> None:
        if isinstance(row, ExamRow):
            self.add_exam(row)
        elif isinstance(row, PatientRow):
            self.add_patient(row)
        elif isinstance(row, TransferRow):
            self.add_transfer(row)
        else:
            raise TypeError(f"not a bulk row: {type(row).__name__}")

    def add_patient(self, row: PatientRow) -> None:
        external_id = check_external_id(row.external_id)
        if external_id in self._patient_ids:
            self.result.patients_existing += 1
            return
        self._patient_ids.add(external_id)
        birth = self._day(row.birth_date) if row.birth_date else None
        self._patients.append(
            (external_id, row.name, birth, row.email, row.phone, bool(row.reminders))
        )
        self._maybe_flush()

    def add_exam(self, row: ExamRow) -> None:
        _check_exam(row, self.today)
        facility_id = self._facility_names.get(row.facility) or self.facility_id(row.facility)
        key = (row.patient, row.date, facility_id)
        if key in self._exam_keys:
            self.result.exams_duplicate += 1
            return
        self._exam_keys.add(key)
        self._seq += 1
        seq = self._seq
        self._exams.append(
            (
                seq,
                row.patient,
                self._day(row.date),
                facility_id,
                row.kind,
                row.follow_up_months,
                row.note,
            )
        )
        for f in row.findings:
            self._pos += 1
            self._findings.append(
                (
                    self._pos,
                    seq,
                    f.category,
                    f.laterality,
                    f.morphology,
                    f.distribution,
                    f.size_class,
                )
            )
        self._maybe_flush()

    def add_transfer(self, row: TransferRow) -> None:
        source, target = self.facility_id(row.from_facility), self.facility_id(row.to_facility)
        if source == target:
            raise InvalidInput(
                f"film transfer of patient {row.patient}: from and to name the same facility "
                f"({row.to_facility!r}); give two different ones"
            )
        self._transfers.append((row.patient, source, target))
        self._maybe_flush()

    def facility_id(self, name: str) -> int:
        """The id of the facility matching ``name`` (created with this spelling if new)."""
        try:
            display = rules.check_facility(name)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        key = rules.facility_key(display)
        facility_id = self._facilities.get(key)
        if facility_id is None:
            facility_id = self._conn.execute(
                select(Facility.id).where(Facility.key == key)
            ).scalar_one_or_none()
            if facility_id is None:
                facility_id = self._conn.execute(
                    insert(Facility).values(key=key, name=display).returning(Facility.id)
                ).scalar_one()
                self.result.facilities_added += 1
            self._facilities[key] = facility_id
        self._facility_names[name] = facility_id
        return facility_id

    # -- writing -----------------------------------------------------------------------

    def _maybe_flush(self) -> None:
        if len(self._exams) + len(self._patients) + len(self._transfers) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Write what is buffered: patients first, then exams and findings, then transfers."""
        if self._patients:
            self._flush_patients()
        if self._exams:
            self._flush_exams()
        if self._transfers:
            self._flush_transfers()

    def _flush_patients(self) -> None:
        conn, stage = self._conn, _stage_patients
        self._stage(stage, self._patients)
        new = ~exists().where(Patient.external_id == stage.c.external_id)
        columns = ["external_id", "name", "birth_date", "email", "phone", "reminders"]
        added = self._count(
            insert(Patient).from_select(
                [*columns, "created_at"],
                select(*(stage.c[c] for c in columns), literal(self.created_at)).where(new),
            )
        )
        self.result.patients_added += added
        self.result.patients_existing += len(self._patients) - added
        conn.execute(delete(stage))
        self._patients.clear()
        self._patient_ids.clear()

    def _flush_exams(self) -> None:
        conn, stage, staged_findings = self._conn, _stage_exams, _stage_findings
        self._stage(stage, self._exams)
        self._stage(staged_findings, self._findings)
        self._resolve_patients(stage)
        same_exam = and_(
            Exam.patient_id == stage.c.patient_id,
            Exam.date == stage.c.date,
            Exam.facility_id == stage.c.facility_id,
        )
        conn.execute(update(stage).values(dup=exists().where(same_exam)))
        columns = ["patient_id", "date", "facility_id", "kind", "follow_up_months", "note"]
        fresh = stage.c.dup.is_(False)
        added = self._count(
            insert(Exam).from_select(
                [*columns, "created_at"],
                select(*(stage.c[c] for c in columns), literal(self.created_at))
                .where(fresh)
                .order_by(stage.c.seq),
            )
        )
        finding_columns = ["category", "laterality", "morphology", "distribution", "size_class"]
        findings = self._count(
            insert(Finding).from_select(
                ["exam_id", *finding_columns],
                select(Exam.id, *(staged_findings.c[c] for c in finding_columns))
                .select_from(staged_findings)
                .join(stage, stage.c.seq == staged_findings.c.seq)
                .join(Exam, same_exam)
                .where(fresh)
                .order_by(staged_findings.c.pos),
            )
        )
        self._touch(select(stage.c.patient_id).where(fresh))
        self.result.exams_added += added
        self.result.exams_duplicate += len(self._exams) - added
        self.result.findings_added += findings
        conn.execute(delete(staged_findings))
        conn.execute(delete(stage))
        self._exams.clear()
        self._findings.clear()
        self._exam_keys.clear()

    def _flush_transfers(self) -> None:
        conn, stage = self._conn, _stage_transfers
        self._stage(stage, self._transfers)
        self._resolve_patients(stage)
        known = exists().where(
            FilmTransfer.patient_id == stage.c.patient_id,
            FilmTransfer.from_facility_id == stage.c.from_id,
            FilmTransfer.to_facility_id == stage.c.to_id,
        )
        rows = select(
            stage.c.patient_id, stage.c.from_id, stage.c.to_id, literal(self.created_at)
        ).where(~known)
        added = self._count(
            insert(FilmTransfer).from_select(
                ["patient_id", "from_facility_id", "to_facility_id", "recorded_at"],
                rows.distinct(),
            )
        )
        self._touch(select(stage.c.patient_id))
        self.result.transfers_added += added
        self.result.transfers_duplicate += len(self._transfers) - added
        conn.execute(delete(stage))
        self._transfers.clear()

    def _count(self, statement: Any) -> int:
        """Execute ``statement`` and return how many rows it wrote (psycopg forgets it on
        close unless asked to keep it)."""
        options = {"preserve_rowcount": True}
        return self._conn.execute(statement, execution_options=options).rowcount

    def _stage(self, table: Table, rows: list[tuple[Any, ...]]) -> None:
        """executemany of plain tuples into the first columns of a staging table."""
        columns = [c.name for c in table.columns][: len(rows[0])]
        marks = ", ".join([self._mark] * len(columns))
        self._conn.exec_driver_sql(
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", rows
        )

    def _resolve_patients(self, stage: Table) -> None:
        """Patient ids by a join in SQL; an unknown patient is an error naming her."""
        patient_id = (
            select(Patient.id).where(Patient.external_id == stage.c.external_id).scalar_subquery()
        )
        self._conn.execute(update(stage).values(patient_id=patient_id))
        unknown = self._conn.execute(
            select(stage.c.external_id).where(stage.c.patient_id.is_(None)).limit(1)
        ).scalar()
        if unknown is not None:
            raise InvalidInput(
                f"no patient with id {unknown!r}; add her (a PatientRow) before her exams"
            )

    def _touch(self, patient_ids: Any) -> None:
        candidates = patient_ids.subquery()
        new = ~exists().where(_touched.c.patient_id == candidates.c.patient_id)
        self._conn.execute(
            insert(_touched).from_select(
                ["patient_id"], select(candidates.c.patient_id).where(new).distinct()
            )
        )

    # -- plans -------------------------------------------------------------------------

    def finish(self) -> LoadResult:
        """Write the last batch, then the plans of every patient touched; drop the staging."""
        if self._finished:
            raise RuntimeError("BulkLoader.finish() was already called")
        self._finished = True
        self.flush()
        touched = select(_touched.c.patient_id)
        self._conn.execute(delete(PlanFlag).where(PlanFlag.patient_id.in_(touched)))
        self._conn.execute(delete(PlanRecord).where(PlanRecord.patient_id.in_(touched)))
        for chunk in self._touched_chunks():
            self._write_plans(chunk)
        for table in reversed(_STAGING_TABLES):
            table.drop(self._conn)
        self.session.expire_all()  # ORM objects loaded before the load are stale now
        return self.result

    def _touched_chunks(self) -> Iterator[list[int]]:
        """Touched patient ids in ascending chunks (keyset paging: no id list in memory)."""
        last = 0
        while True:
            chunk = list(
                self._conn.execute(
                    select(_touched.c.patient_id)
                    .where(_touched.c.patient_id > last)
                    .order_by(_touched.c.patient_id)
                    .limit(PLAN_CHUNK)
                ).scalars()
            )
            if not chunk:
                return
            yield chunk
            last = chunk[-1]

    def _write_plans(self, chunk: Sequence[int]) -> None:
        exams = self._chunk_exams(chunk[0], chunk[-1])
        transfers = self._chunk_transfers(chunk[0], chunk[-1])
        plans: list[dict[str, Any]] = []
        flags: list[dict[str, Any]] = []
        for patient_id in chunk:
            plan = rules.make_plan(
                exams.get(patient_id, ()), transfers.get(patient_id, ()), self.policy
            )
            facility_id = self.facility_id(plan.facility) if plan.facility else None
            values = plan_values(plan, facility_id)
            plans.append({"patient_id": patient_id, **values})
            flags.extend(
                {"patient_id": patient_id, "code": f.code, "message": f.message} for f in plan.flags
            )
        self._conn.execute(insert(PlanRecord), plans)
        if flags:
            self._conn.execute(insert(PlanFlag), flags)
        self.result.plans_written += len(plans)

    def _chunk_exams(self, first: int, last: int) -> dict[int, list[rules.Exam]]:
        """The exams of touched patients ``first..last`` as the rules see them (as
        :func:`followup.store.plans.rules_inputs` reads them: stored facility spelling, ids,
        findings in id order)."""
        query = (
            select(
                Exam.patient_id,
                Exam.id,
                Exam.date,
                Exam.kind,
                Exam.follow_up_months,
                Facility.name.label("facility"),
                Finding.category,
                Finding.laterality,
                Finding.morphology,
                Finding.distribution,
                Finding.size_class,
            )
            .join(_touched, _touched.c.patient_id == Exam.patient_id)
            .join(Facility, Facility.id == Exam.facility_id)
            .join(Finding, Finding.exam_id == Exam.id)
            .where(Exam.patient_id.between(first, last))
            .order_by(Exam.patient_id, Exam.date, Exam.id, Finding.id)
        )
        grouped: dict[int, list[rules.Exam]] = defaultdict(list)
        exam: tuple[Any, ...] | None = None
        findings: list[rules.Finding] = []
        for patient_id, exam_id, day, kind, months, facility, *finding in self._conn.execute(query):
            if exam is None or exam[1] != exam_id:
                if exam is not None:
                    grouped[exam[0]].append(_rules_exam(exam, findings))
                exam, findings = (patient_id, exam_id, day, kind, months, facility), []
            findings.append(self._finding(tuple(finding)))
        if exam is not None:
            grouped[exam[0]].append(_rules_exam(exam, findings))
        return grouped

    def _finding(self, values: tuple[str | None, ...]) -> rules.Finding:
        """Findings repeat a lot and are immutable: build each distinct one once."""
        finding = self._finding_cache.get(values)
        if finding is None:
            if len(self._finding_cache) >= FINDING_CACHE:  # free-text descriptors: stay bounded
                self._finding_cache.clear()
            finding = self._finding_cache[values] = rules_finding(_FindingValues(*values))
        return finding

    def _chunk_transfers(self, first: int, last: int) -> dict[int, list[rules.FilmTransfer]]:
        source, target = Facility.__table__.alias("source"), Facility.__table__.alias("target")
        query = (
            select(FilmTransfer.patient_id, source.c.name, target.c.name.label("to_name"))
            .join(_touched, _touched.c.patient_id == FilmTransfer.patient_id)
            .join(source, source.c.id == FilmTransfer.from_facility_id)
            .join(target, target.c.id == FilmTransfer.to_facility_id)
            .where(FilmTransfer.patient_id.between(first, last))
        )
        grouped: dict[int, list[rules.FilmTransfer]] = defaultdict(list)
        for patient_id, from_name, to_name in self._conn.execute(query):
            grouped[patient_id].append(rules.FilmTransfer(from_name, to_name))
        return grouped


def _same(value: Any) -> Any:
    return value


def _rules_exam(exam: tuple[Any, ...], findings: list[rules.Finding]) -> rules.Exam:
    _patient_id, exam_id, day, kind, months, facility = exam
    return rules.Exam(
        date=day,
        facility=facility,
        findings=tuple(findings),
        kind=_KIND_OF[kind],
        follow_up_months=months,
        id=exam_id,
    )


def _check_exam(row: ExamRow, today: date | None) -> None:
    """Cheap checks that turn what the database would refuse into a clear InvalidInput."""
    problem = _exam_problem(row, today)
    if problem:
        raise InvalidInput(f"exam of patient {row.patient} on {row.date}: {problem}")


def _exam_problem(row: ExamRow, today: date | None) -> str | None:
    if not row.findings:
        return "no finding; give its category"
    for finding in row.findings:
        if finding.category not in _CATEGORIES:
            return f"unknown category {finding.category!r}; use one of {', '.join(CATEGORIES)}"
        if finding.laterality is not None and finding.laterality not in _SIDES:
            return f"unknown side {finding.laterality!r}; use one of {', '.join(SIDES)}"
    if row.kind is not None and row.kind not in _KINDS:
        return f"unknown exam kind {row.kind!r}; use one of {', '.join(KINDS)}"
    try:
        rules.check_follow_up_months(row.follow_up_months)
        if today is not None:
            rules.check_exam_date(row.date, today)
    except ValueError as exc:
        return str(exc)
    return None


def load(
    session: Session,
    rows: Iterable[Row],
    policy: rules.Policy = rules.DEFAULT_POLICY,
    *,
    batch_size: int = DEFAULT_BATCH,
    today: date | None = None,
) -> LoadResult:
    """Load ``rows`` (streamed) and write the plans: :class:`BulkLoader` in one call."""
    loader = BulkLoader(session, policy, batch_size=batch_size, today=today)
    loader.add_all(rows)
    return loader.finish()


__all__ = [
    "BulkLoader",
    "ExamRow",
    "FindingRow",
    "LoadResult",
    "PatientRow",
    "TransferRow",
    "load",
]
