"""Each breast's own course, biopsies, the 2024 categories, dated film transfers (issue 13).

- ``exams`` gain ``imaged`` (both/left/right; every exam recorded before imaged both),
  ``density`` (a-d) and ``radiologist``; ``findings`` gain ``subdivision`` (4A/4B/4C) and
  their category CHECK allows ``incomplete-priors`` and ``post-procedure``.
- ``biopsies``: a new table, ids never reused (AUTOINCREMENT on SQLite, as revision 0005 gave
  the other audited records); ``audit_log.biopsy_id`` names the biopsy an entry is about.
- ``film_transfers.date``: the films of the source up to that day moved. A transfer recorded
  before took the day it was recorded (``recorded_at``), NOT NULL from then on.
- ``plans`` keep the step's subdivision and biopsy and the other breast's plan (``also_*``);
  the due index covers ``also_side``, ``also_action`` and ``also_due`` too (the due
  report's ``also``).
- The plans are marked for a recompute under the policy in force (the rules changed), which
  ``followup db upgrade`` finishes, or else the next command that reads plans.

Columns are added with ``ALTER TABLE ... ADD COLUMN`` on both databases (SQLite takes a
column's own CHECK there). SQLite cannot change a CHECK or make a column NOT NULL in place, so
``findings`` (the category CHECK) and ``film_transfers`` (``date`` NOT NULL) are rebuilt from
their stored definitions, as revision 0005 does; PostgreSQL alters them in place.

Downgrading keeps what the older schema can hold: exams and findings lose the new columns (a
unilateral exam reads as imaging both breasts, 4A/4B/4C as plain suspicious),
``incomplete-priors`` becomes ``incomplete``, post-procedure findings are removed (the older
rules have no such category and would let one govern) with any exam left without a finding,
transfers lose their dates (all the source's films, as the older rules read every transfer),
biopsies are dropped (every one added with ``biopsy add`` stays described in the audit log),
and the plans are marked for a recompute, which the older version finishes under its rules.

Revision ID: 0009
Revises: 0008
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_CATEGORIES = (
    "incomplete",
    "negative",
    "benign",
    "probably-benign",
    "suspicious",
    "highly-suspicious",
    "known-malignancy",
)
NEW_CATEGORIES = (*OLD_CATEGORIES, "incomplete-priors", "post-procedure")

# (table, column, type and default as SQL, CHECK or None), in the order they are added.
CHECKED_COLUMNS = (
    ("exams", "imaged", "VARCHAR(8) DEFAULT 'both' NOT NULL", ("both", "left", "right")),
    ("exams", "density", "VARCHAR(1)", ("a", "b", "c", "d")),
    ("exams", "radiologist", "VARCHAR(200)", None),
    ("findings", "subdivision", "VARCHAR(2)", ("4A", "4B", "4C")),
    ("audit_log", "biopsy_id", "INTEGER", None),
)
PLAN_COLUMNS = (
    ("subdivision", sa.String(length=2)),
    ("biopsy_id", sa.Integer()),
    ("also_side", sa.String(length=8)),
    ("also_action", sa.String(length=32)),
    ("also_due", sa.Date()),
    ("also_laterality", sa.String(length=16)),
    ("also_reason", sa.Text()),
)
OLD_COVERING = ["due", "action", "laterality", "facility_id", "flag_codes"]
NEW_COVERING = [*OLD_COVERING, "also_side", "also_action", "also_due"]


def _compared(column: str, values: Sequence[str]) -> str:
    """As the models write it: value by value, never an IN list (revision 0004)."""
    return " OR ".join([f"{column} IS NULL", *(f"{column} = '{v}'" for v in values)])


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    for table, column, definition, values in CHECKED_COLUMNS:
        _add_column(table, column, definition, values)
    _set_category_check(NEW_CATEGORIES, OLD_CATEGORIES)
    _date_transfers()
    _create_biopsies()
    for column, type_ in PLAN_COLUMNS:
        op.add_column("plans", sa.Column(column, type_, nullable=True))
    op.drop_index("ix_plans_due", table_name="plans")
    op.create_index("ix_plans_due", "plans", NEW_COVERING)
    _mark_recompute()


def downgrade() -> None:
    _mark_recompute_for_older_rules()
    op.drop_index("ix_plans_due", table_name="plans")
    op.create_index("ix_plans_due", "plans", OLD_COVERING)
    for column, _ in reversed(PLAN_COLUMNS):
        _drop_column("plans", column, checked=False)
    op.drop_table("biopsies")
    _drop_column("film_transfers", "date", checked=False)
    op.execute("UPDATE findings SET category = 'incomplete' WHERE category = 'incomplete-priors'")
    op.execute("DELETE FROM findings WHERE category = 'post-procedure'")
    op.execute(
        "DELETE FROM exams WHERE NOT EXISTS (SELECT 1 FROM findings f WHERE f.exam_id = exams.id)"
    )
    _set_category_check(OLD_CATEGORIES, NEW_CATEGORIES)
    for table, column, _, values in reversed(CHECKED_COLUMNS):
        _drop_column(table, column, checked=values is not None)


# -- columns -------------------------------------------------------------------------------


def _add_column(table: str, column: str, definition: str, values: Sequence[str] | None) -> None:
    """``ALTER TABLE ... ADD COLUMN`` with its named CHECK (SQLite keeps it on the column)."""
    name = f"ck_{table}_{column}"
    check = f" CONSTRAINT {name} CHECK ({_compared(column, values)})" if values else ""
    if _sqlite():
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}{check}")
        return
    op.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
    if values:
        op.create_check_constraint(op.f(name), table, _compared(column, values))


def _drop_column(table: str, column: str, checked: bool) -> None:
    """SQLite drops a column with its own CHECK in place (3.35+); PostgreSQL drops both."""
    if checked and not _sqlite():
        op.drop_constraint(op.f(f"ck_{table}_{column}"), table, type_="check")
    op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")


def _set_category_check(categories: Sequence[str], replaced: Sequence[str]) -> None:
    new, old = _compared("category", categories), _compared("category", replaced)
    if _sqlite():
        definition = _definition("findings")
        _rebuild("findings", _replace_once(re.escape(old), new, definition, "findings"))
        return
    op.drop_constraint(op.f("ck_findings_category"), "findings", type_="check")
    op.create_check_constraint(op.f("ck_findings_category"), "findings", new)


def _date_transfers() -> None:
    """Each transfer recorded so far took place the day it was recorded."""
    op.add_column("film_transfers", sa.Column("date", sa.Date(), nullable=True))
    if _sqlite():
        op.execute("UPDATE film_transfers SET date = substr(recorded_at, 1, 10)")
        definition = _definition("film_transfers")
        dated = _replace_once(r"\bdate DATE\b", "date DATE NOT NULL", definition, "film_transfers")
        _rebuild("film_transfers", dated)
        return
    op.execute("UPDATE film_transfers SET date = CAST(recorded_at AS DATE)")
    op.alter_column("film_transfers", "date", existing_type=sa.Date(), nullable=False)


def _create_biopsies() -> None:
    op.create_table(
        "biopsies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("concordant", sa.Boolean(), nullable=True),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("pathology", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("side = 'left' OR side = 'right'", name=op.f("ck_biopsies_side")),
        sa.CheckConstraint(
            "result = 'pending' OR result = 'benign' OR result = 'high-risk' OR "
            "result = 'malignant'",
            name=op.f("ck_biopsies_result"),
        ),
        sa.CheckConstraint(
            "(result = 'benign' AND concordant IS NOT NULL) OR (result = 'pending' AND "
            "concordant IS NULL) OR result = 'high-risk' OR result = 'malignant'",
            name=op.f("ck_biopsies_concordance"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.id"], name=op.f("fk_biopsies_facility_id_facilities")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_biopsies_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_biopsies")),
        sa.UniqueConstraint(
            "patient_id", "date", "side", name=op.f("uq_biopsies_patient_id_date_side")
        ),
        sqlite_autoincrement=True,
    )


def _mark_recompute() -> None:
    """The rules that made the stored plans changed: every plan is recomputed under the
    policy in force by the next command that needs them (``followup db upgrade`` does it at
    once). A database without patients has nothing to recompute."""
    op.execute("UPDATE plans_state SET recompute_next = 1 WHERE EXISTS (SELECT 1 FROM patients)")


def _mark_recompute_for_older_rules() -> None:
    """The older version recomputes every plan under its rules before it reads one. Marked
    0 ("from the first patient", as 1) when the plans followed the policy in force, so that
    revision 0006's downgrade still carries that policy back to the settings row (it carries
    no policy whose own recompute is unfinished, which keeps the mark 1)."""
    op.execute(
        "UPDATE plans_state SET recompute_next = "
        "CASE WHEN recompute_next IS NULL THEN 0 ELSE 1 END "
        "WHERE EXISTS (SELECT 1 FROM patients)"
    )


# -- SQLite table rebuilds (as revision 0005) ----------------------------------------------


def _definition(table: str) -> str:
    sql = op.get_bind().exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    )
    return sql.scalar_one()


def _replace_once(pattern: str, replacement: str, text: str, table: str) -> str:
    changed, count = re.subn(pattern, lambda _: replacement, text, count=1)
    if count != 1:
        raise RuntimeError(
            f"the definition of table {table} is not the one this revision expects; "
            "restore the backup taken before `followup db upgrade`"
        )
    return changed


def _rebuild(table: str, definition: str) -> None:
    """SQLite's way to change a table: new table, copy, drop, rename, indexes again (foreign
    keys are off: migrations/env.py). An AUTOINCREMENT table's sequence is carried over, so
    an id given before (and its row deleted since) is still never given again."""
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
    sequence = bind.exec_driver_sql(
        "SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)
    ).scalar()
    new = f"_{table}_new"
    op.execute(
        _replace_once(rf'^CREATE TABLE "?{table}"? \(', f"CREATE TABLE {new} (", definition, table)
    )
    op.execute(f"INSERT INTO {new} SELECT * FROM {table}")
    op.execute(f"DROP TABLE {table}")
    op.execute(f"ALTER TABLE {new} RENAME TO {table}")
    for sql in extras:
        op.execute(sql)
    if sequence is not None:
        op.execute(
            f"UPDATE sqlite_sequence SET seq = max(seq, {int(sequence)}) WHERE name = '{table}'"
        )
        op.execute(
            f"INSERT INTO sqlite_sequence (name, seq) SELECT '{table}', {int(sequence)} "
            f"WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = '{table}')"
        )
