"""The clinic's policy lives in the database: ``policies`` (each one set, with who and when)
and ``plans_state`` (the one in force, and how far a recompute under it has gone).

Before this revision the policy came from a file on each command line, and the ``settings``
row ``plan_policy`` recorded the values of the last complete ``followup recompute``. That
policy becomes the stored one, set by this upgrade, so nothing is ever recomputed under
different values. Exam changes made since that recompute without the file were planned with
the defaults, so the plans are marked for a recompute under it, which ``followup db upgrade``
(or else the next command that reads plans) finishes. A database whose plans were last
recomputed with the defaults, or never, keeps the defaults and its plans as they are.

Downgrading writes the policy in force back to ``plan_policy`` when the plans follow it, or
are only marked for a recompute under older rules by revision 0009's downgrade
(``recompute_next`` 0).

Revision ID: 0006
Revises: 0005
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from followup.store.clock import actor

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTING = "plan_policy"
# The defaults when this revision was written (the JSON the old code recorded for them).
DEFAULTS = {
    "biopsy_days": 30,
    "comparison_years": 3,
    "incomplete_days": 30,
    "lost_after_days": 90,
    "on_time_days": 30,
    "overdue_repeat_days": 30,
    "probably_benign_later_months": 12,
    "probably_benign_months": [6, 6, 12],
    "routine_months": 12,
    "stable_after_months": 24,
}

settings = sa.table("settings", sa.column("key", sa.String), sa.column("value", sa.Text))
policies = sa.table(
    "policies",
    sa.column("id", sa.Integer),
    sa.column("set_at", sa.DateTime),
    sa.column("set_by", sa.String),
    sa.column("source", sa.Text),
    sa.column("policy", sa.Text),
)
state = sa.table(
    "plans_state",
    sa.column("id", sa.Integer),
    sa.column("policy_id", sa.Integer),
    sa.column("recompute_next", sa.Integer),
)


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.Column("set_by", sa.String(length=128), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "plans_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=True),
        sa.Column("recompute_next", sa.Integer(), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_plans_state_one_row")),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["policies.id"], name=op.f("fk_plans_state_policy_id_policies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans_state")),
    )
    bind = op.get_bind()
    recorded = bind.execute(sa.select(settings.c.value).where(settings.c.key == SETTING)).scalar()
    values = _values(recorded)
    if values is None or values == DEFAULTS:
        bind.execute(state.insert().values(id=1, policy_id=None, recompute_next=None))
    else:
        policy_id = bind.execute(
            policies.insert()
            .values(
                set_at=datetime.now(UTC).replace(tzinfo=None),
                set_by=actor()[:128],
                source=_toml(values),
                policy=json.dumps(values, sort_keys=True),
            )
            .returning(policies.c.id)
        ).scalar_one()
        bind.execute(state.insert().values(id=1, policy_id=policy_id, recompute_next=1))
    bind.execute(settings.delete().where(settings.c.key == SETTING))


def downgrade() -> None:
    bind = op.get_bind()
    in_force = bind.execute(
        sa.select(policies.c.policy)
        .join(state, state.c.policy_id == policies.c.id)
        .where(state.c.recompute_next.is_(None) | (state.c.recompute_next == 0))
    ).scalar()
    if in_force is not None:
        bind.execute(settings.insert().values(key=SETTING, value=in_force))
    op.drop_table("plans_state")
    op.drop_table("policies")


def _values(recorded: str | None) -> dict | None:
    """The recorded policy's values, or None when there is none worth carrying over."""
    if recorded is None:
        return None
    try:
        values = json.loads(recorded)
    except ValueError:
        return None
    return values if isinstance(values, dict) else None


def _toml(values: dict) -> str:
    lines = [
        "# Carried over by `followup db upgrade`: the policy the stored plans were last",
        "# recomputed with (`followup --policy FILE recompute`).",
        "[policy]",
    ]
    lines += [f"{key} = {_toml_value(value)}" for key, value in sorted(values.items())]
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value)  # a number, or text as a TOML basic string
