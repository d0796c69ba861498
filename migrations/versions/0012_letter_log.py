"""The letter log (issue 14 point 6) and the clinic's letter settings.

- ``letters``: one row per letter produced (patient, kind, what it is about, the reprint
  number, when and by whom); unique on (patient, kind, subject, reprint), so two overlapping
  ``letters`` runs produce each letter once; ids never reused.
- ``clinic``: ``density_not_dense`` and ``density_dense`` (the clinic's own breast density
  statements; NULL is the federal wording) and ``paper`` (letter or a4; NULL is letter).

Columns are added with ALTER TABLE on both databases and dropped the same way (SQLite 3.35+),
as in revision 0010.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("result", "reminder", "overdue", "films-request")
SHAPE = (
    "(kind = 'result' AND exam_id IS NOT NULL) OR "
    "((kind = 'reminder' OR kind = 'overdue') AND due IS NOT NULL AND step IS NOT NULL) OR "
    "(kind = 'films-request' AND facility_id IS NOT NULL)"
)
CLINIC_COLUMNS = (
    ("density_not_dense", sa.Text),
    ("density_dense", sa.Text),
    ("paper", lambda: sa.String(length=8)),
)


def upgrade() -> None:
    op.create_table(
        "letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("reprint", sa.Integer(), server_default="0", nullable=False),
        sa.Column("exam_id", sa.Integer(), nullable=True),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("step", sa.String(length=16), nullable=True),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("letter_date", sa.Date(), nullable=False),
        sa.Column("produced_at", sa.DateTime(), nullable=False),
        sa.Column("produced_by", sa.String(length=128), nullable=False),
        sa.CheckConstraint(
            " OR ".join(f"kind = '{k}'" for k in KINDS), name=op.f("ck_letters_kind")
        ),
        sa.CheckConstraint(SHAPE, name=op.f("ck_letters_shape")),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.id"], name=op.f("fk_letters_facility_id_facilities")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_letters_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letters")),
        sa.UniqueConstraint(
            "patient_id",
            "kind",
            "subject",
            "reprint",
            name=op.f("uq_letters_patient_id_kind_subject_reprint"),
        ),
        sqlite_autoincrement=True,
    )
    for name, kind in CLINIC_COLUMNS:
        op.add_column("clinic", sa.Column(name, kind(), nullable=True))


def downgrade() -> None:
    for name, _ in CLINIC_COLUMNS:
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE clinic DROP COLUMN {name}")
        else:
            op.drop_column("clinic", name)
    op.drop_table("letters")
