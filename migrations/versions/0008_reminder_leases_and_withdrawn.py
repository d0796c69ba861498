"""Reminder claims get a lease (``claimed_until``), and withdrawn reminders their own status.

- ``claimed_until``: a run renews its claims while it lives, and another run takes a claim over
  only once its lease has expired (followup.store.reminder_claims). It replaces trusting the
  claimer's host name and pid, which a run in another PID namespace made lie. Claims left by a
  run of the old code keep the rule that code applied: they expire an hour after the claim.
- ``status``: a reminder that no longer applies (the plan changed, the patient opted out) was
  stored as ``failed``, although it never failed; it is now ``withdrawn``. Every ``failed`` row
  was one (a send that fails goes back to ``pending``), so all of them become ``withdrawn``, and
  back on a downgrade. The CHECK compares value by value, as revision 0004 explains.

SQLite cannot alter a CHECK constraint: the table is rebuilt from its stored definition with
only that constraint changed (as revision 0005 does), and back. PostgreSQL swaps it in place.

Revision ID: 0008
Revises: 0007
"""

import re
from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STALE_AFTER = timedelta(hours=1)  # when the old code took a claim for abandoned
OLD_CHECK = "status IN ('pending', 'sending', 'sent', 'failed')"
NEW_CHECK = "status = 'pending' OR status = 'sending' OR status = 'sent' OR status = 'withdrawn'"
COLUMN = "claimed_until DATETIME, "  # as SQLite's ALTER TABLE ADD COLUMN writes it

reminders = sa.table(
    "reminders",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("claimed_at", sa.DateTime),
    sa.column("claimed_until", sa.DateTime),
)


def upgrade() -> None:
    op.add_column("reminders", sa.Column("claimed_until", sa.DateTime(), nullable=True))
    _lease_old_claims()
    if _sqlite():
        _rebuild(_swapped(_definition(), OLD_CHECK, NEW_CHECK), {"failed": "withdrawn"})
    else:
        _swap_check(NEW_CHECK, {"failed": "withdrawn"})


def downgrade() -> None:
    if _sqlite():
        definition = _swapped(_swapped(_definition(), NEW_CHECK, OLD_CHECK), COLUMN, "")
        _rebuild(definition, {"withdrawn": "failed"}, "claimed_until")
    else:
        _swap_check(OLD_CHECK, {"withdrawn": "failed"})
        op.drop_column("reminders", "claimed_until")


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _lease_old_claims() -> None:
    bind = op.get_bind()
    claims = bind.execute(
        sa.select(reminders.c.id, reminders.c.claimed_at).where(reminders.c.status == "sending")
    ).all()
    for claim_id, claimed_at in claims:
        until = (claimed_at + OLD_STALE_AFTER) if claimed_at is not None else None
        bind.execute(
            reminders.update().where(reminders.c.id == claim_id).values(claimed_until=until)
        )


def _swap_check(check: str, renamed: dict[str, str]) -> None:
    name = op.f("ck_reminders_status")
    op.drop_constraint(name, "reminders", type_="check")
    for old, new in renamed.items():
        op.execute(reminders.update().where(reminders.c.status == old).values(status=new))
    op.create_check_constraint(name, "reminders", check)


def _definition() -> str:
    sql = op.get_bind().exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'reminders'"
    )
    return sql.scalar_one()


def _swapped(text: str, old: str, new: str) -> str:
    return _once(re.escape(old), new, text)


def _once(pattern: str, replacement: str, text: str) -> str:
    changed, count = re.subn(pattern, replacement, text, count=1)
    if count != 1:
        raise RuntimeError(
            "the definition of table reminders is not the one this revision expects; "
            "restore the backup taken before `followup db upgrade`"
        )
    return changed


def _rebuild(definition: str, renamed: dict[str, str], dropped: str | None = None) -> None:
    """SQLite's way to change a table: new table, copy (statuses renamed, ``dropped`` left
    out), drop, rename, indexes again."""
    bind = op.get_bind()
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError(
            "foreign keys must be off to rebuild a table; run this revision through "
            "`followup db upgrade`"
        )
    extras = list(
        bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
            "AND tbl_name = 'reminders' AND sql IS NOT NULL"
        ).scalars()
    )
    columns = [
        row[1] for row in bind.exec_driver_sql("PRAGMA table_info(reminders)") if row[1] != dropped
    ]
    cases = " ".join(f"WHEN '{old}' THEN '{new}'" for old, new in renamed.items())
    values = [f"CASE status {cases} ELSE status END" if c == "status" else c for c in columns]
    new = _once(r'^CREATE TABLE "?reminders"? \(', "CREATE TABLE _reminders_new (", definition)
    op.execute(new)
    op.execute(
        f"INSERT INTO _reminders_new ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM reminders"
    )
    op.execute("DROP TABLE reminders")
    op.execute("ALTER TABLE _reminders_new RENAME TO reminders")
    for sql in extras:
        op.execute(sql)
