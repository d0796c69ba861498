"""An exam is one patient's exam of one day, facility *and kind* (clinical-rules.md §5).

Until now the unique key of ``exams`` was (patient, date, facility), so a screening exam and
the diagnostic work-up that followed it the same day at the same place could not both be
recorded. The key becomes (patient, date, facility, kind). NULLs are distinct in a unique
constraint, so exams whose kind was not recorded get a partial unique index of their own
(patient, date, facility WHERE kind IS NULL): two such records of one day and place are still
one exam.

SQLite cannot drop a table's constraint, so the table is rebuilt as its manual says (foreign
keys off, which migrations/env.py does; new table, copy, drop, rename, indexes again) from its
stored definition with only the unique constraint changed, as revision 0005 does, keeping
the AUTOINCREMENT counter where it was (ids are never reused).

Downgrading puts the old key back, which cannot hold two exams of one day and place: it is
refused, naming them, while the database holds any.

Revision ID: 0007
Revises: 0006
"""

import re
from collections.abc import Sequence

from alembic import op

from followup.store.errors import Conflict

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_NAME = "uq_exams_patient_id_date_facility_id"
NEW_NAME = "uq_exams_patient_id_date_facility_id_kind"
OLD_COLUMNS = "patient_id, date, facility_id"
NEW_COLUMNS = "patient_id, date, facility_id, kind"
UNKNOWN_KIND = "uq_exams_unknown_kind"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(_swap_key(_definition(), OLD_NAME, OLD_COLUMNS, NEW_NAME, NEW_COLUMNS))
    else:
        op.drop_constraint(OLD_NAME, "exams", type_="unique")
        op.create_unique_constraint(NEW_NAME, "exams", NEW_COLUMNS.split(", "))
    op.execute(
        f"CREATE UNIQUE INDEX {UNKNOWN_KIND} ON exams (patient_id, date, facility_id) "
        "WHERE kind IS NULL"
    )


def downgrade() -> None:
    _refuse_same_day_exams()
    op.execute(f"DROP INDEX {UNKNOWN_KIND}")
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(_swap_key(_definition(), NEW_NAME, NEW_COLUMNS, OLD_NAME, OLD_COLUMNS))
    else:
        op.drop_constraint(NEW_NAME, "exams", type_="unique")
        op.create_unique_constraint(OLD_NAME, "exams", OLD_COLUMNS.split(", "))


def _refuse_same_day_exams() -> None:
    """Revision 0006 holds one exam per patient, day and facility: name two that clash."""
    clash = (
        op.get_bind()
        .exec_driver_sql(
            "SELECT a.id, b.id FROM exams a JOIN exams b ON a.patient_id = b.patient_id "
            "AND a.date = b.date AND a.facility_id = b.facility_id AND a.id < b.id "
            "ORDER BY a.id LIMIT 1"
        )
        .first()
    )
    if clash is not None:  # a user error (exit 1, one line), rolled back whole
        raise Conflict(
            f"exams {clash[0]} and {clash[1]} are of one patient, day and facility (exams of "
            "two kinds), which the earlier schema cannot hold; delete or move one "
            "(`followup exam delete`/`exam edit`) before downgrading"
        )


def _definition() -> str:
    sql = op.get_bind().exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'exams'"
    )
    return sql.scalar_one()


def _swap_key(sql: str, old: str, old_columns: str, new: str, new_columns: str) -> str:
    changed, count = re.subn(
        rf"CONSTRAINT {old} UNIQUE \({re.escape(old_columns)}\)",
        f"CONSTRAINT {new} UNIQUE ({new_columns})",
        sql,
        count=1,
    )
    if count != 1:
        raise RuntimeError(
            "the definition of table exams is not the one this revision expects; "
            "restore the backup taken before `followup db upgrade`"
        )
    return changed


def _rebuild(definition: str) -> None:
    """SQLite's way to change a table: new table, copy, drop, rename, indexes again."""
    bind = op.get_bind()
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError(
            "foreign keys must be off to rebuild a table (dropping it would delete the rows "
            "that refer to it); run this revision through `followup db upgrade`"
        )
    found = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND tbl_name = 'exams' "
        "AND sql IS NOT NULL"
    )
    extras = list(found.scalars())
    # AUTOINCREMENT's counter (revision 0005): dropping the table deletes it, and the copy's
    # starts at the largest id stored, which a deleted exam may have exceeded.
    given = bind.exec_driver_sql(
        "SELECT seq FROM sqlite_sequence WHERE name = 'exams'"
    ).scalar_one_or_none()
    new, count = re.subn(r'^CREATE TABLE "?exams"? \(', "CREATE TABLE _exams_new (", definition)
    if count != 1:
        raise RuntimeError("the definition of table exams does not start as expected")
    op.execute(new)
    op.execute("INSERT INTO _exams_new SELECT * FROM exams")
    op.execute("DROP TABLE exams")
    op.execute("ALTER TABLE _exams_new RENAME TO exams")
    for sql in extras:
        op.execute(sql)
    if given is not None:
        op.execute(f"UPDATE sqlite_sequence SET seq = max(seq, {int(given)}) WHERE name = 'exams'")
        op.execute(
            f"INSERT INTO sqlite_sequence (name, seq) SELECT 'exams', {int(given)} "
            "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'exams')"
        )
