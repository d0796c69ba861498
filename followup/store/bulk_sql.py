"""The bulk loader's SQL: many rows in one statement, in the driver's own parameter style.

SQLAlchemy's per-row parameter processing would cost more than the database does, so rows go
straight to the driver as tuples, converted as SQLAlchemy would store them (:func:`bind`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from followup.store.models import Base
from followup.store.plan_rows import PLAN_COLUMNS

# An exam's identity is two unique indexes (revision 0007: one for an unknown kind): a row
# that breaks either is skipped, so the INSERT names no conflict target.
EVERY_UNIQUE_KEY = "*"
# Patients whose plan the loader recomputes from the database at the end: those who already had
# exams or films before their rows of this load (temporary, private to the connection).
_staging = MetaData()
TOUCHED = Table(
    "bulk_touched",
    _staging,
    Column("patient_id", Integer, primary_key=True, autoincrement=False),
    prefixes=["TEMPORARY"],
)


class Statements:
    """The loader's SQL, in the driver's parameter style (shared by SQLite and PostgreSQL)."""

    def __init__(self, dialect: Dialect) -> None:
        sqlite = dialect.name == "sqlite"
        mark = "?" if dialect.paramstyle == "qmark" else "%s"

        def insert_many(table: str, columns: Sequence[str], conflict: str = "") -> InsertMany:
            found = _staging.tables.get(table)
            return InsertMany(
                Base.metadata.tables[table] if found is None else found, columns, dialect, conflict
            )

        self.patient = insert_many(
            "patients",
            (
                "external_id",
                "name",
                "birth_date",
                "email",
                "phone",
                "reminders",
                "address",
                "created_at",
            ),
            conflict="external_id",
        )
        exam = ("patient_id", "date", "facility_id", "kind", "follow_up_months", "note")
        exam_more = ("imaged", "density", "radiologist", "created_at")
        self.exam = insert_many("exams", (*exam, *exam_more), conflict=EVERY_UNIQUE_KEY)
        self.finding = insert_many(
            "findings",
            (
                "exam_id",
                "category",
                "laterality",
                "morphology",
                "distribution",
                "size_class",
                "subdivision",
            ),
        )
        transfer = ("patient_id", "from_facility_id", "to_facility_id")
        self.transfer = insert_many(
            "film_transfers", (*transfer, "recorded_at", "date"), conflict=", ".join(transfer)
        )
        biopsy = ("patient_id", "date", "side", "result", "concordant", "facility_id")
        self.biopsy = insert_many(
            "biopsies",
            (*biopsy, "pathology", "note", "created_at"),
            conflict=", ".join(biopsy[:3]),
        )
        self.plan = insert_many("plans", PLAN_COLUMNS)
        self.flag = insert_many("plan_flags", ("patient_id", "code", "message"))
        self.touch = insert_many(TOUCHED.name, ("patient_id",), conflict="patient_id")
        self.exams_above = f"SELECT count(*), coalesce(max(id), 0) FROM exams WHERE id > {mark}"
        # New ids are above this; on SQLite (AUTOINCREMENT, revision 0005) the next one is the
        # largest ever given plus one, which a deleted exam may have held.
        self.last_exam_id = (
            "SELECT max(coalesce((SELECT max(id) FROM exams), 0),"
            " coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'exams'), 0))"
            if sqlite
            else "SELECT coalesce(max(id), 0) FROM exams"
        )
        self.new_exams = (
            "SELECT p.external_id, e.date, e.facility_id, e.kind, e.id FROM exams e"
            f" JOIN patients p ON p.id = e.patient_id WHERE e.id > {mark}"
        )
        # One parameter for the batch's external ids: a JSON array on SQLite, an array on
        # PostgreSQL (no limit on the number of ids, one statement to prepare).
        among = "IN (SELECT value FROM json_each(?))" if sqlite else "= ANY(%s)"
        self.in_list: Callable[[Iterable[Any]], Any] = _json_list if sqlite else list
        self.patients_by_external_id = (
            f"SELECT p.id, p.external_id, p.id > {mark}"
            " AND NOT EXISTS (SELECT 1 FROM exams e WHERE e.patient_id = p.id)"
            " AND NOT EXISTS (SELECT 1 FROM film_transfers t WHERE t.patient_id = p.id)"
            " AND NOT EXISTS (SELECT 1 FROM biopsies b WHERE b.patient_id = p.id)"
            f" FROM patients p WHERE p.external_id {among}"
        )
        self.biopsies_of = (
            "SELECT id, patient_id, date, side, result, concordant, facility_id, pathology"
            f" FROM biopsies WHERE patient_id {among}"
        )


class InsertMany:
    """One INSERT of many rows (tuples in ``columns`` order), as fast as the driver allows.

    SQLite: the driver's executemany, a prepared statement stepped per row in C. PostgreSQL:
    one statement over an array per column (``INSERT ... SELECT * FROM unnest(...)``), since
    psycopg's executemany costs a protocol exchange and some Python per row (5,000 rows/s).
    Either way, calling it returns the number of rows inserted (conflicts skipped)."""

    def __init__(
        self, table: Table, columns: Sequence[str], dialect: Dialect, conflict: str = ""
    ) -> None:
        self._sqlite = dialect.name == "sqlite"
        names = ", ".join(columns)
        if self._sqlite:
            values = f"VALUES ({', '.join('?' for _ in columns)})"
        else:
            arrays = ", ".join(f"%s::{table.c[c].type.compile(dialect=dialect)}[]" for c in columns)
            values = f"SELECT * FROM unnest({arrays})"
        self.sql = f"INSERT INTO {table.name} ({names}) {values}"
        if conflict:
            target = "" if conflict == EVERY_UNIQUE_KEY else f" ({conflict})"
            self.sql += f" ON CONFLICT{target} DO NOTHING"

    def __call__(self, cursor: Any, rows: Sequence[Sequence[Any]]) -> int:
        if self._sqlite:
            cursor.executemany(self.sql, rows)
        else:
            cursor.execute(self.sql, [list(column) for column in zip(*rows, strict=True)])
        return int(cursor.rowcount)


def _json_list(values: Iterable[Any]) -> str:
    return json.dumps(list(values))


def _same(value: Any) -> Any:
    return value


def driver_date(value: Any) -> date:
    """A date as the driver returned it (SQLite: ISO text)."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def bind(type_: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any]:
    """How SQLAlchemy would pass a value of ``type_`` to this driver (SQLite: ISO text)."""
    return type_.dialect_impl(dialect).bind_processor(dialect) or _same
