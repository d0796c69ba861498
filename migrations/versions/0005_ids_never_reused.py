"""Ids that are never reused: patients, exams and film transfers get SQLite AUTOINCREMENT.

SQLite gives a new row the largest rowid plus one, so deleting the newest exam handed its id
to the next one, and the audit log's "exam 5" could mean two exams. With AUTOINCREMENT a new
id is above every id the table ever held. PostgreSQL's sequences never hand an id out twice
already: nothing changes there.

SQLite cannot add AUTOINCREMENT to a table, so each table is rebuilt the way its manual says
(foreign keys off, which migrations/env.py does for every revision; new table, copy, drop,
rename; indexes and triggers made again; every reference checked before commit). The new
table's definition is the stored one with only its primary key changed, so its columns,
CHECK constraints, foreign keys and unique constraints stay exactly as they are, whatever
revisions before this one added. The sequence starts above the ids the audit log names too, so
an exam deleted before this upgrade does not hand its id on either.

Revision ID: 0005
Revises: 0004
"""

import re
from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> the audit log's column naming its ids (None: the log does not name them)
TABLES = {"patients": "patient_id", "exams": "exam_id", "film_transfers": None}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, audited in TABLES.items():
        _rebuild(table, _with_autoincrement(table, _definition(table)))
        if audited:
            _start_sequence_above(table, audited)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        _rebuild(table, _without_autoincrement(table, _definition(table)))


def _definition(table: str) -> str:
    sql = op.get_bind().exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    )
    return sql.scalar_one()


def _replace_once(pattern: str, replacement: str, text: str, table: str) -> str:
    changed, count = re.subn(pattern, replacement, text, count=1)
    if count != 1:
        raise RuntimeError(
            f"the definition of table {table} is not the one this revision expects; "
            "restore the backup taken before `followup db upgrade`"
        )
    return changed


def _with_autoincrement(table: str, sql: str) -> str:
    """``id INTEGER NOT NULL ... CONSTRAINT pk_T PRIMARY KEY (id)`` -> the same primary key
    written on the column, where SQLite accepts AUTOINCREMENT."""
    sql = _replace_once(rf",\s*CONSTRAINT pk_{table} PRIMARY KEY \(id\)", "", sql, table)
    return _replace_once(
        r"\(\s*id INTEGER NOT NULL,",
        f"(\n\tid INTEGER NOT NULL CONSTRAINT pk_{table} PRIMARY KEY AUTOINCREMENT,",
        sql,
        table,
    )


def _without_autoincrement(table: str, sql: str) -> str:
    """The definition revision 0001 wrote: the primary key as the first table constraint."""
    sql = _replace_once(
        rf"id INTEGER NOT NULL CONSTRAINT pk_{table} PRIMARY KEY AUTOINCREMENT,",
        "id INTEGER NOT NULL,",
        sql,
        table,
    )
    constraint = f", \n\tCONSTRAINT pk_{table} PRIMARY KEY (id)"
    first = sql.find(", \n\tCONSTRAINT ")
    at = first if first >= 0 else sql.rindex("\n)")
    return sql[:at] + constraint + sql[at:]


def _rebuild(table: str, definition: str) -> None:
    """SQLite's way to change a table: new table, copy, drop, rename, indexes again."""
    bind = op.get_bind()
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError(
            "foreign keys must be off to rebuild a table (dropping it would delete the rows "
            "that refer to it); run this revision through `followup db upgrade`"
        )
    found = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND tbl_name = ? "
        "AND sql IS NOT NULL",
        (table,),
    )
    extras = list(found.scalars())
    new = f"_{table}_new"
    op.execute(
        _replace_once(rf'^CREATE TABLE "?{table}"? \(', f"CREATE TABLE {new} (", definition, table)
    )
    op.execute(f"INSERT INTO {new} SELECT * FROM {table}")
    op.execute(f"DROP TABLE {table}")
    op.execute(f"ALTER TABLE {new} RENAME TO {table}")
    for sql in extras:
        op.execute(sql)


def _start_sequence_above(table: str, audited: str) -> None:
    """The next id above every one the audit log names, not only the ones still stored."""
    named = f"(SELECT max({audited}) FROM audit_log)"
    op.execute(
        f"UPDATE sqlite_sequence SET seq = max(seq, coalesce({named}, 0)) WHERE name = '{table}'"
    )
    op.execute(
        f"INSERT INTO sqlite_sequence (name, seq) SELECT '{table}', {named} "
        f"WHERE {named} IS NOT NULL "
        f"AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = '{table}')"
    )
