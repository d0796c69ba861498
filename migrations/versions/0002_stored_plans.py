"""Stored plans: each patient's next follow-up and flags, kept for range-scan reports.

Plans are derived state: this revision computes them from the exams already recorded (with the
default policy; `followup recompute` applies another), and downgrading it loses nothing that
cannot be rebuilt. The tables are written here with Core and local table shapes, so this
revision keeps working whatever the models become later.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Iterator, Sequence
from itertools import groupby

import sqlalchemy as sa
from alembic import op

from followup import rules

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000

exams = sa.table(
    "exams",
    sa.column("id", sa.Integer),
    sa.column("patient_id", sa.Integer),
    sa.column("date", sa.Date),
    sa.column("facility_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("follow_up_months", sa.Integer),
)
findings = sa.table(
    "findings",
    sa.column("exam_id", sa.Integer),
    sa.column("category", sa.String),
    sa.column("laterality", sa.String),
)
facilities = sa.table(
    "facilities",
    sa.column("id", sa.Integer),
    sa.column("key", sa.String),
    sa.column("name", sa.String),
)
transfers = sa.table(
    "film_transfers",
    sa.column("patient_id", sa.Integer),
    sa.column("from_facility_id", sa.Integer),
    sa.column("to_facility_id", sa.Integer),
)


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=True),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("laterality", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("exam_id", sa.Integer(), nullable=True),
        sa.Column("exam_date", sa.Date(), nullable=True),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=24), nullable=True),
        sa.Column("episode_start", sa.Date(), nullable=True),
        sa.Column("episode_step", sa.Integer(), nullable=True),
        sa.Column("flag_codes", sa.String(length=400), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.id"], name=op.f("fk_plans_facility_id_facilities")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_plans_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_plans")),
    )
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.create_index("ix_plans_due", ["due"], unique=False)

    op.create_table(
        "plan_flags",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["plans.patient_id"],
            name=op.f("fk_plan_flags_patient_id_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("patient_id", "code", name=op.f("pk_plan_flags")),
    )
    with op.batch_alter_table("plan_flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_flags_code"), ["code"], unique=False)
    _compute_plans(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("plan_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_flags_code"))

    op.drop_table("plan_flags")
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_index("ix_plans_due")

    op.drop_table("plans")


def _compute_plans(connection: sa.Connection) -> None:
    """Plan every patient who has exams, streaming exams in patient order, in batches."""
    names = dict(connection.execute(sa.select(facilities.c.id, facilities.c.name)).all())
    id_by_name = {name: facility_id for facility_id, name in names.items()}
    moved: dict[int, list[rules.FilmTransfer]] = {}
    for patient_id, source, target in connection.execute(sa.select(transfers)):
        moved.setdefault(patient_id, []).append(rules.FilmTransfer(names[source], names[target]))
    plans, flags = [], []
    for patient_id, patient_exams in _exams_by_patient(connection, names):
        plan = rules.make_plan(patient_exams, moved.get(patient_id, []), rules.DEFAULT_POLICY)
        facility_id = id_by_name[plan.facility] if plan.facility else None
        plans.append(_plan_row(patient_id, plan, facility_id))
        flags += [
            {"patient_id": patient_id, "code": f.code, "message": f.message} for f in plan.flags
        ]
        if len(plans) >= BATCH:
            _write(connection, plans, flags)
            plans, flags = [], []
    _write(connection, plans, flags)


def _exams_by_patient(
    connection: sa.Connection, names: dict[int, str]
) -> Iterator[tuple[int, list[rules.Exam]]]:
    query = (
        sa.select(exams, findings.c.category, findings.c.laterality)
        .join(findings, findings.c.exam_id == exams.c.id)
        .order_by(exams.c.patient_id, exams.c.id)
        .execution_options(yield_per=BATCH)
    )
    rows = connection.execute(query)
    for patient_id, patient_rows in groupby(rows, key=lambda row: row.patient_id):
        by_exam = groupby(patient_rows, key=lambda row: row.id)
        yield patient_id, [_exam(list(exam_rows), names) for _, exam_rows in by_exam]


def _exam(rows: list[sa.Row], names: dict[int, str]) -> rules.Exam:
    first = rows[0]
    return rules.Exam(
        date=first.date,
        facility=names[first.facility_id],
        findings=tuple(
            rules.Finding(
                rules.Category(row.category),
                rules.Laterality(row.laterality) if row.laterality else None,
            )
            for row in rows
        ),
        kind=rules.ExamKind(first.kind) if first.kind else None,
        follow_up_months=first.follow_up_months,
        id=first.id,
    )


def _plan_row(patient_id: int, plan: rules.Plan, facility_id: int | None) -> dict[str, object]:
    return {
        "patient_id": patient_id,
        "action": plan.action,
        "due": plan.due,
        "laterality": plan.laterality.value if plan.laterality else None,
        "reason": plan.reason,
        "exam_id": plan.exam_id,
        "exam_date": plan.exam_date,
        "facility_id": facility_id,
        "category": plan.category.value if plan.category else None,
        "episode_start": plan.episode_start,
        "episode_step": plan.episode_step,
        "flag_codes": " ".join(f.code for f in plan.flags),
    }


def _write(connection: sa.Connection, plans: list[dict], flags: list[dict]) -> None:
    if plans:
        connection.execute(sa.table("plans", *map(sa.column, plans[0])).insert(), plans)
    if flags:
        connection.execute(sa.table("plan_flags", *map(sa.column, flags[0])).insert(), flags)
