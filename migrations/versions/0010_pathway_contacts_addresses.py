"""The follow-up pathway (clinical-rules.md §7) and the addresses letters need.

- ``contacts``: each patient's pathway log (attempts to reach her and their outcomes,
  appointments, closings, reopens), with who recorded each and when; ids never reused.
- ``patients``: her postal ``address``, and the summary of her log the reports read with her
  row (closed, since when, the pending appointment, the latest contact and call); all NULL
  for the existing patients, who have no log yet. Partial index on ``appointment``.
- ``facilities``: ``address`` and ``phone``; ``clinic``: the letters' sender (one row).

Columns are added with ALTER TABLE on both databases (no table rebuild, so the patients'
AUTOINCREMENT of revision 0005 stays); the downgrade drops them the same way (SQLite 3.35+).

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOMES = (
    "reached",
    "no-answer",
    "left-message",
    "letter-sent",
    "wrong-number",
    "scheduled",
    "declined",
    "moved-away",
    "deceased",
    "care-elsewhere",
    "email-sent",
    "reopened",
)
# (column, type): all nullable, NULL for the rows already there.
PATIENT_COLUMNS = (
    ("address", sa.Text),
    ("closed_reason", lambda: sa.String(length=16)),
    ("closed_on", sa.Date),
    ("appointment", sa.Date),
    ("last_contact", sa.Date),
    ("last_outcome", lambda: sa.String(length=16)),
    ("last_call", sa.Date),
)
FACILITY_COLUMNS = (("address", sa.Text), ("phone", lambda: sa.String(length=64)))
HAS_APPOINTMENT = sa.text("appointment IS NOT NULL")


def _one_of(column: str, values: Sequence[str]) -> str:
    """As models._one_of: compared one by one (an IN list costs SQLite a table per row)."""
    return " OR ".join([f"{column} IS NULL", *(f"{column} = '{v}'" for v in values)])


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("appointment", sa.Date(), nullable=True),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        sa.CheckConstraint(_one_of("outcome", OUTCOMES), name=op.f("ck_contacts_outcome")),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.id"], name=op.f("fk_contacts_facility_id_facilities")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_contacts_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_contacts_patient_id"), "contacts", ["patient_id"])
    op.create_table(
        "clinic",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_clinic_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic")),
    )
    for table, columns in (("patients", PATIENT_COLUMNS), ("facilities", FACILITY_COLUMNS)):
        for name, kind in columns:
            op.add_column(table, sa.Column(name, kind(), nullable=True))
    op.create_index(
        "ix_patients_appointment",
        "patients",
        ["appointment"],
        sqlite_where=HAS_APPOINTMENT,
        postgresql_where=HAS_APPOINTMENT,
    )


def downgrade() -> None:
    op.drop_index("ix_patients_appointment", table_name="patients")
    for table, columns in (("patients", PATIENT_COLUMNS), ("facilities", FACILITY_COLUMNS)):
        for name, _ in columns:
            _drop_column(table, name)
    op.drop_table("clinic")
    op.drop_index(op.f("ix_contacts_patient_id"), table_name="contacts")
    op.drop_table("contacts")


def _drop_column(table: str, column: str) -> None:
    """ALTER TABLE ... DROP COLUMN on both: batch mode would rebuild the table on SQLite and
    lose what revision 0005 gave it (AUTOINCREMENT)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        op.drop_column(table, column)
