"""The reminder log follows the ladder of clinical-rules.md §7; each patient's calendar event.

- ``reminders``: one row per patient, due date and *step* (``upcoming``, ``overdue-1``,
  ``overdue-2``, ... as ``followup.rules.ladder.Step.key`` writes it), unique, instead of a
  kind and a repeat number (``overdue_repeat_days``: an overdue reminder every 30 days,
  forever). The existing rows map to steps so that nobody is mailed again for a step she
  had under another name:

  * ``upcoming`` (repeat 0) is the step ``upcoming``;
  * ``overdue`` repeat *n* went out in the period that began ``max(1, n x R)`` days after the
    due date (R the ``overdue_repeat_days`` of the policy in force, default 30): it counts as
    the step of ``overdue_steps_days`` (default 1, 30, 60) that had fallen by then, at least
    the first. With the defaults, repeat 0 is ``overdue-1``, 1 is ``overdue-2``, 2 and later
    ``overdue-3`` (the last);
  * rows that come to the same step are one: the one sent is kept (else the one furthest on,
    then the latest), the others are removed from the reminder log; every e-mail sent stays
    on record as a contact (below).

- ``contacts``: every reminder the log holds as sent becomes an ``email-sent`` contact of the
  patient's pathway on the day it was sent (as a run of this version records them), and her
  summary's latest contact follows. ``settings.ladder_started``: the day of the first e-mail
  sent, when the log has one (followup.store.ladder_start), so the upgraded programme
  carries on with the steps that fall from then on and never mails a backlog.
- ``calendar_events``: the calendar event each patient was last given, with its revision
  (SEQUENCE), so that every newer .ics updates her one event (followup.store.calendar_events).

SQLite cannot drop a column that a constraint names: ``reminders`` is rebuilt from its stored
definition with only those columns and constraints changed (as revision 0008 does), and back.
PostgreSQL alters it in place.

Downgrading keeps what the older schema holds: ``upcoming`` is ``upcoming`` repeat 0 and
``overdue-k`` ``overdue`` repeat k - 1 (the default mapping read backwards); the contacts and
``ladder_started`` stay (the pathway's revision 0010 holds them); ``calendar_events`` is
dropped (the older version gives a new event UID for each due date anyway).

Revision ID: 0011
Revises: 0010
"""

import json
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_REPEAT_DAYS = 30  # the retired policy key overdue_repeat_days
DEFAULT_STEPS = (1, 30, 60)  # overdue_steps_days
MIGRATED_BY = "followup db upgrade 0011"
MIGRATED_NOTE = "reminder e-mail, from the reminder log of an earlier version"
STEP_CHECK = "step = 'upcoming' OR step LIKE 'overdue-%'"
KIND_CHECK = "kind IN ('upcoming', 'overdue')"
# The SQLite definition's pieces, as revisions 0001 and 0008 wrote them, and what replaces them.
OLD_COLUMNS = r"kind VARCHAR\(16\) NOT NULL,(\s*)sequence INTEGER DEFAULT '0' NOT NULL,(\s*)"
NEW_COLUMNS = r"step VARCHAR\(16\) NOT NULL,(\s*)"
OLD_UNIQUE = (
    "CONSTRAINT uq_reminders_patient_id_due_kind_sequence UNIQUE (patient_id, due, kind, sequence)"
)
NEW_UNIQUE = "CONSTRAINT uq_reminders_patient_id_due_step UNIQUE (patient_id, due, step)"
OLD_CHECK = f"CONSTRAINT ck_reminders_kind CHECK ({KIND_CHECK})"
NEW_CHECK = f"CONSTRAINT ck_reminders_step CHECK ({STEP_CHECK})"
# Which of two rows that come to one step is kept: the sent one, else the one furthest on.
RANK = "CASE {t}.status WHEN 'sent' THEN 3 WHEN 'sending' THEN 2 WHEN 'pending' THEN 1 ELSE 0 END"

reminders = sa.table(
    "reminders",
    sa.column("status", sa.String),
    sa.column("sent_at", sa.DateTime),
    sa.column("claimed_at", sa.DateTime),
    sa.column("created_at", sa.DateTime),
)
settings = sa.table("settings", sa.column("key", sa.String), sa.column("value", sa.Text))


def upgrade() -> None:
    step = _step_sql(*_ladder())
    _contacts_for_sent_emails()
    _start_ladder()
    op.execute(
        "DELETE FROM reminders WHERE EXISTS (SELECT 1 FROM reminders o "
        "WHERE o.patient_id = reminders.patient_id AND o.due = reminders.due "
        f"AND {step.format(t='o')} = {step.format(t='reminders')} "
        f"AND ({RANK.format(t='o')} > {RANK.format(t='reminders')} "
        f"OR ({RANK.format(t='o')} = {RANK.format(t='reminders')} AND o.id > reminders.id)))"
    )
    if _sqlite():
        definition = _definition()
        definition = _once(OLD_COLUMNS, r"step VARCHAR(16) NOT NULL,\2", definition)
        definition = _swapped(_swapped(definition, OLD_UNIQUE, NEW_UNIQUE), OLD_CHECK, NEW_CHECK)
        _rebuild(definition, {"step": step.format(t="reminders")})
    else:
        op.add_column("reminders", sa.Column("step", sa.String(length=16), nullable=True))
        op.execute(f"UPDATE reminders SET step = {step.format(t='reminders')}")
        op.alter_column("reminders", "step", nullable=False)
        op.drop_constraint(
            op.f("uq_reminders_patient_id_due_kind_sequence"), "reminders", type_="unique"
        )
        op.drop_constraint(op.f("ck_reminders_kind"), "reminders", type_="check")
        op.drop_column("reminders", "kind")
        op.drop_column("reminders", "sequence")
        op.create_unique_constraint(
            op.f("uq_reminders_patient_id_due_step"), "reminders", ["patient_id", "due", "step"]
        )
        op.create_check_constraint(op.f("ck_reminders_step"), "reminders", STEP_CHECK)
    _create_calendar_events()


def downgrade() -> None:
    op.drop_table("calendar_events")
    kind = "CASE WHEN step = 'upcoming' THEN 'upcoming' ELSE 'overdue' END"
    repeat = "CASE WHEN step = 'upcoming' THEN 0 ELSE CAST(substr(step, 9) AS INTEGER) - 1 END"
    if _sqlite():
        definition = _definition()
        found = re.search(NEW_COLUMNS, definition)
        space = found.group(1) if found else ""
        old = f"kind VARCHAR(16) NOT NULL,{space}sequence INTEGER DEFAULT '0' NOT NULL,{space}"
        definition = _once(NEW_COLUMNS, old.replace("\\", "\\\\"), definition)
        definition = _swapped(_swapped(definition, NEW_UNIQUE, OLD_UNIQUE), NEW_CHECK, OLD_CHECK)
        _rebuild(definition, {"kind": kind, "sequence": repeat})
        return
    op.add_column("reminders", sa.Column("kind", sa.String(length=16), nullable=True))
    op.add_column(
        "reminders", sa.Column("sequence", sa.Integer(), server_default="0", nullable=False)
    )
    op.execute(f"UPDATE reminders SET kind = {kind}, sequence = {repeat}")
    op.alter_column("reminders", "kind", nullable=False)
    op.drop_constraint(op.f("uq_reminders_patient_id_due_step"), "reminders", type_="unique")
    op.drop_constraint(op.f("ck_reminders_step"), "reminders", type_="check")
    op.drop_column("reminders", "step")
    op.create_unique_constraint(
        op.f("uq_reminders_patient_id_due_kind_sequence"),
        "reminders",
        ["patient_id", "due", "kind", "sequence"],
    )
    op.create_check_constraint(op.f("ck_reminders_kind"), "reminders", KIND_CHECK)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _ladder() -> tuple[int, tuple[int, ...]]:
    """``overdue_repeat_days`` and the sorted ``overdue_steps_days`` of the policy in force
    (revision 0006 stores every value it came to as JSON), else the defaults."""
    stored = op.get_bind().exec_driver_sql(
        "SELECT p.policy FROM plans_state s JOIN policies p ON p.id = s.policy_id"
    )
    values = json.loads(stored.scalar() or "{}")
    repeat = int(values.get("overdue_repeat_days", DEFAULT_REPEAT_DAYS))
    steps = tuple(sorted({int(day) for day in values.get("overdue_steps_days", DEFAULT_STEPS)}))
    return repeat, steps or DEFAULT_STEPS


def _step_sql(repeat: int, steps: tuple[int, ...]) -> str:
    """The step an old row (alias ``{t}``) counts as: see the module docstring. A template:
    ``.format(t=alias)``."""
    later = " ".join(
        f"WHEN {{t}}.sequence * {repeat} >= {day} THEN 'overdue-{number}'"
        for number, day in reversed(list(enumerate(steps, start=1)))
        if number > 1
    )
    return f"CASE WHEN {{t}}.kind = 'upcoming' THEN 'upcoming' {later} ELSE 'overdue-1' END"


def _contacts_for_sent_emails() -> None:
    """Every e-mail the log holds as sent, as the ``email-sent`` contact it is (§7), dated the
    day it went out (older rows may lack ``sent_at``), unless she has one of that day already
    (a database upgraded, downgraded and upgraded again); then the latest contact of each
    patient concerned, as followup.rules.tracking.summarize reads it (an e-mail is no call,
    closing or appointment: nothing else of her summary changes)."""
    moment = "COALESCE(r.sent_at, r.claimed_at, r.created_at)"
    day = f"date({moment})" if _sqlite() else f"CAST({moment} AS DATE)"
    op.execute(
        sa.text(
            "INSERT INTO contacts (patient_id, date, outcome, note, recorded_at, recorded_by) "
            f"SELECT r.patient_id, {day}, 'email-sent', :note, {moment}, :who "
            "FROM reminders r WHERE r.status = 'sent' AND NOT EXISTS (SELECT 1 FROM contacts c "
            f"WHERE c.patient_id = r.patient_id AND c.outcome = 'email-sent' AND c.date = {day}) "
            f"ORDER BY {moment}, r.id"
        ).bindparams(note=MIGRATED_NOTE, who=MIGRATED_BY)
    )
    latest = (
        "SELECT c.{column} FROM contacts c WHERE c.patient_id = patients.id "
        "AND c.outcome <> 'reopened' ORDER BY c.date DESC, c.id DESC LIMIT 1"
    )
    op.execute(
        sa.text(
            f"UPDATE patients SET last_contact = ({latest.format(column='date')}), "
            f"last_outcome = ({latest.format(column='outcome')}) "
            "WHERE id IN (SELECT patient_id FROM contacts WHERE recorded_by = :who)"
        ).bindparams(who=MIGRATED_BY)
    )


def _start_ladder() -> None:
    """``ladder_started``: the day of the first e-mail the log holds as sent, if any and if
    not set already."""
    bind = op.get_bind()
    if bind.execute(sa.select(settings.c.value).where(settings.c.key == "ladder_started")).first():
        return
    moment = sa.func.coalesce(reminders.c.sent_at, reminders.c.claimed_at, reminders.c.created_at)
    first = bind.execute(
        sa.select(sa.func.min(moment)).where(reminders.c.status == "sent")
    ).scalar()
    if first is not None:
        bind.execute(settings.insert().values(key="ladder_started", value=first.date().isoformat()))


def _create_calendar_events() -> None:
    op.create_table(
        "calendar_events",
        sa.Column("patient_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "kind = 'follow-up' OR kind = 'appointment' OR kind = 'cancelled'",
            name=op.f("ck_calendar_events_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_calendar_events_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_calendar_events")),
    )


def _definition() -> str:
    sql = op.get_bind().exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'reminders'"
    )
    return sql.scalar_one()


def _swapped(text: str, old: str, new: str) -> str:
    return _once(re.escape(old), new.replace("\\", "\\\\"), text)


def _once(pattern: str, replacement: str, text: str) -> str:
    changed, count = re.subn(pattern, replacement, text, count=1)
    if count != 1:
        raise RuntimeError(
            "the definition of table reminders is not the one this revision expects; "
            "restore the backup taken before `followup db upgrade`"
        )
    return changed


def _rebuild(definition: str, computed: dict[str, str]) -> None:
    """SQLite's way to change a table: new table, copy (the columns of the new definition;
    ``computed`` ones from their SQL), drop, rename, indexes again."""
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
    new = _once(r'^CREATE TABLE "?reminders"? \(', "CREATE TABLE _reminders_new (", definition)
    op.execute(new)
    columns = [row[1] for row in bind.exec_driver_sql("PRAGMA table_info(_reminders_new)")]
    values = [computed.get(column, column) for column in columns]
    op.execute(
        f"INSERT INTO _reminders_new ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM reminders"
    )
    op.execute("DROP TABLE reminders")
    op.execute("ALTER TABLE _reminders_new RENAME TO reminders")
    for sql in extras:
        op.execute(sql)
