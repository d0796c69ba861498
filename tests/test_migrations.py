"""The schema only through Alembic: a single head, models that match, a reversible history."""

from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from followup.store import migrate
from followup.store.database import HEAD_REVISION, Database, resolve_url
from followup.store.models import Base
from tests.conftest import Cli, sql


def test_single_head_matches_code():
    assert migrate.heads() == [HEAD_REVISION]


def test_models_match_migrations(db_url):
    database = Database(resolve_url(db_url))
    migrate.upgrade(database)
    with database.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    database.close()
    assert diff == []


def test_upgrade_downgrade_upgrade_keeps_the_data(db_url):
    cli = Cli(db_url)
    cli("patient", "add", "P1", "--name", "Ana")
    cli(
        "exam",
        "add",
        "P1",
        "--date",
        "2025-01-31",
        "--facility",
        "N",
        "--category",
        "3",
        "--laterality",
        "left",
    )
    backup = None
    if "://" not in db_url:
        backup = db_url + ".bak"
        cli("db", "backup", backup)
    cli("db", "downgrade", "base")
    database = Database(resolve_url(db_url))
    with database.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    database.close()
    assert "empty" in cli("db", "current").stdout
    assert "created" not in cli("db", "upgrade").stdout
    assert cli("patient", "list", "--format", "json").stdout.strip() == "[]"
    cli("patient", "add", "P1", "--name", "Ana")
    if backup:  # the backup taken before the round trip still opens at head, data intact
        assert "Ana" in Cli(backup)("patient", "show", "P1").stdout


def test_downgrading_the_plans_revision_keeps_the_records_and_upgrade_replans(db_url):
    """Plans are derived: 0002 down drops them, 0002 up recomputes them from the exams."""
    cli = Cli(db_url)
    cli("patient", "add", "P1", "--name", "Ana")
    cli(
        "exam",
        "add",
        "P1",
        "--date",
        "2025-01-31",
        "--facility",
        "Northside",
        "--category",
        "probably benign",
        "--laterality",
        "left",
        "--kind",
        "diagnostic",
    )
    cli("films", "transfer", "P1", "--from", "Northside", "--to", "Southside")
    before = cli("status", "P1", "--as-of", "2025-03-01", "--format", "json").stdout
    cli("db", "downgrade", "0001")
    assert "0001" in cli("db", "current").stdout
    assert "followup db upgrade" in cli("exam", "list", "P1", code=1).stderr
    assert f"0001 -> {HEAD_REVISION}" in cli("db", "upgrade").stdout
    assert cli("status", "P1", "--as-of", "2025-03-01", "--format", "json").stdout == before
    database = Database(resolve_url(db_url))
    with database.engine.connect() as conn:
        row = conn.execute(text("SELECT action, due, laterality FROM plans")).one()
    database.close()
    assert (row.action, str(row.due), row.laterality) == (
        "short-interval-follow-up",
        "2025-07-31",
        "left",
    )


def test_init_reports_what_it_did(db_url):
    cli = Cli(db_url)
    assert "created schema revision" in cli("init").stdout
    assert "already at" in cli("init").stdout


def test_unknown_downgrade_target_is_usage_error(sqlite_url):
    cli = Cli(sqlite_url)
    cli("init")
    assert "unknown revision" in cli("db", "downgrade", "zzz", code=2).stderr


FINDING_COLUMNS = "id, exam_id, category, laterality, morphology, distribution, size_class"


def _finding_rows(db_url: str) -> list[tuple[object, ...]]:
    """The findings as every revision since 0001 holds them (0009 adds a column)."""
    database = Database(resolve_url(db_url))
    with database.engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {FINDING_COLUMNS} FROM findings ORDER BY id")).all()
    database.close()
    return [tuple(row) for row in rows]


def test_findings_checks_revision_keeps_findings_and_still_refuses_bad_values(db_url):
    """0004 rebuilds findings on SQLite (new CHECK text): rows, ids, index, cascade and the
    checks themselves survive, both ways."""
    cli = Cli(db_url)
    cli("patient", "add", "P1")
    for day, category, side in (("2024-01-31", "2", "left"), ("2025-01-31", "3", "right")):
        cli("exam", "add", "P1", "--date", day, "--facility", "N", "--category", category,
            "--laterality", side)  # fmt: skip
    before = _finding_rows(db_url)
    assert len(before) == 2
    cli("db", "downgrade", "0003")
    assert _finding_rows(db_url) == before
    cli("db", "upgrade")
    assert _finding_rows(db_url) == before
    database = Database(resolve_url(db_url))
    with database.engine.connect() as conn:
        assert "ix_findings_exam_id" in {i["name"] for i in inspect(conn).get_indexes("findings")}
        for column, value in (("category", "'maybe'"), ("laterality", "'middle'")):
            trans = conn.begin_nested() if conn.in_transaction() else conn.begin()
            try:
                conn.execute(text(f"UPDATE findings SET {column} = {value}"))
                raise AssertionError(f"the {column} check let {value} through")
            except IntegrityError:
                trans.rollback()
    database.close()
    cli("exam", "delete", "1", "--yes")  # the cascade from exams still reaches findings
    assert [row[1] for row in _finding_rows(db_url)] == [2]


def test_sqlite_checks_findings_without_an_ephemeral_table_per_row(sqlite_url):
    """An IN list of 3+ values in a CHECK makes SQLite fill a temporary table for every row
    inserted: four times the cost of the row itself in bulk imports."""
    Cli(sqlite_url)("init")
    database = Database(resolve_url(sqlite_url))
    with database.engine.connect() as conn:
        for table, columns in (
            ("findings", "exam_id, category, laterality, morphology"),
            ("exams", "patient_id, date, facility_id, kind, follow_up_months, created_at"),
        ):
            marks = ", ".join("?" for _ in columns.split(","))
            program = conn.exec_driver_sql(
                f"EXPLAIN INSERT INTO {table} ({columns}) VALUES ({marks})",
                tuple(None for _ in columns.split(",")),
            ).all()
            assert not [op for op in program if op[1] == "OpenEphemeral"], table
    database.close()


def test_exam_identity_revision_both_ways(db_url):
    """0007: an exam is one of a patient, day, facility and kind. Up: the rows kept, a
    screening and a diagnostic exam of one day both fit, an exam of unknown kind is still
    unique; down: refused while two exams share a day and place, then the old key back, and
    on SQLite the AUTOINCREMENT counter where it was (ids never reused)."""
    cli = Cli(db_url)
    cli("patient", "add", "P1")
    day = ("--date", "2025-01-31", "--facility", "N")
    cli("exam", "add", "P1", "--date", "2024-01-31", "--facility", "N", "--category", "1")
    cli("exam", "add", "P1", *day, "--category", "0", "--kind", "screening")
    cli("exam", "delete", "2", "--yes")
    cli("db", "downgrade", "0006")
    exams = sql(db_url, "SELECT id, date, kind FROM exams ORDER BY id")
    cli("db", "upgrade")
    assert sql(db_url, "SELECT id, date, kind FROM exams ORDER BY id") == exams
    added = cli("exam", "add", "P1", *day, "--category", "0", "--kind", "screening").stdout
    assert added.startswith("Recorded exam 3 ")  # exam 2's id is not handed out again
    cli(
        "exam", "add", "P1", *day, "--category", "3", "--laterality", "left", "--kind", "diagnostic"
    )
    with pytest.raises(IntegrityError):  # the index of unknown kinds: no second such exam
        sql(
            db_url,
            "INSERT INTO exams (patient_id, date, facility_id, created_at) SELECT patient_id, "
            "date, facility_id, created_at FROM exams WHERE id = 1",
        )
    refused = cli("db", "downgrade", "0006", code=1).stderr
    assert "exams 3 and 4 are of one patient, day and facility" in refused
    assert cli("db", "current").stdout.startswith(HEAD_REVISION)  # nothing was changed
    cli("exam", "delete", "4", "--yes")
    cli("db", "downgrade", "0006")
    assert "0006" in cli("db", "current").stdout
    cli("db", "upgrade")
    later = cli("exam", "add", "P1", *day, "--category", "3", "--kind", "diagnostic").stdout
    assert int(later.split()[2]) > 4  # (PostgreSQL's failed insert above took 5 for good)


def _reminder_rows(db_url: str) -> list[tuple[object, ...]]:
    database = Database(resolve_url(db_url))
    with database.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM reminders ORDER BY id")).mappings().all()
    database.close()
    return [dict(row) for row in rows]


def _refused(db_url: str, statement: str) -> bool:
    database = Database(resolve_url(db_url))
    try:
        with database.engine.begin() as conn:
            conn.execute(text(statement))
    except IntegrityError:
        return True
    finally:
        database.close()
    return False


def _definitions(db_url: str) -> dict[str, str]:
    database = Database(resolve_url(db_url))
    with database.engine.connect() as conn:
        found = conn.execute(
            text("SELECT name, sql FROM sqlite_master WHERE tbl_name = :t"), {"t": "reminders"}
        )
        definitions = dict(found.all())
    database.close()
    return definitions


def test_reminder_revision_renames_withdrawn_and_leases_old_claims_both_ways(db_url):
    """0008: 'failed' rows (all of them withdrawn reminders) become 'withdrawn' and back; a
    claim left by the old code expires when the old code would have taken it for abandoned;
    the CHECK refuses the other revision's word; SQLite's table comes back as it was."""
    cli = Cli(db_url)
    cli("patient", "add", "P1")
    cli("db", "downgrade", "0007")
    before = _definitions(db_url) if "://" not in db_url else {}
    insert = (
        "INSERT INTO reminders (patient_id, due, kind, sequence, status, message_id, created_at, "
        "claimed_at, claimed_by, attempts, last_error) VALUES "
        "(1, '2025-06-20', 'upcoming', 0, 'failed', '<a@x>', '2025-06-01 08:00:00', NULL, NULL, "
        "0, 'withdrawn: the follow-up date changed'), "
        "(1, '2025-06-20', 'overdue', 0, 'sending', '<b@x>', '2025-06-01 08:00:00', "
        "'2025-06-02 09:30:00', 'host:12:ab', 0, NULL), "
        "(1, '2025-06-20', 'overdue', 1, 'sent', '<c@x>', '2025-06-01 08:00:00', "
        "'2025-06-02 09:00:00', 'host:12:ab', 1, NULL)"
    )
    assert not _refused(db_url, insert)
    old = _reminder_rows(db_url)
    cli("db", "upgrade")
    rows = _reminder_rows(db_url)
    assert [r["status"] for r in rows] == ["withdrawn", "sending", "sent"]
    leases = [r["claimed_until"] and str(r["claimed_until"])[:19] for r in rows]
    assert leases == [None, "2025-06-02 10:30:00", None]  # claimed_at + the old hour
    assert rows[0]["last_error"] == "withdrawn: the follow-up date changed"
    assert _refused(db_url, "UPDATE reminders SET status = 'failed' WHERE id = 1")
    cli("db", "downgrade", "0007")
    assert _reminder_rows(db_url) == old
    assert _refused(db_url, "UPDATE reminders SET status = 'withdrawn' WHERE id = 1")
    if before:
        assert _definitions(db_url) == before  # table and index as 0001 wrote them


# -- revision 0009: each breast, biopsies, dated transfers (issue 13 point 8) ---------------


def _json(cli: Cli, *args: str) -> object:
    import json

    return json.loads(cli(*args, "--format", "json").stdout)


def test_revision_0009_upgrade_keeps_every_record_dates_transfers_and_replans(db_url):
    cli = Cli(db_url)
    cli("patient", "add", "P1")
    for day, place, category in (("2024-01-10", "Old Town", "2"), ("2025-01-10", "N", "3")):
        cli("exam", "add", "P1", "--date", day, "--facility", place, "--category", category,
            "--laterality", "left", "--kind", "diagnostic")  # fmt: skip
    cli("films", "transfer", "P1", "--from", "Old Town", "--to", "N")
    cli("db", "downgrade", "0008")
    sql(db_url, "UPDATE film_transfers SET recorded_at = '2024-03-05 23:59:00'")
    sql(db_url, "UPDATE plans SET action = 'biopsy', due = '2000-01-01'")  # stale plans
    before = _finding_rows(db_url)
    out = cli("db", "upgrade").stdout
    assert f"0008 -> {HEAD_REVISION}" in out and "Recomputed the plans of 1 patients" in out
    assert _finding_rows(db_url) == before
    exams = _json(cli, "exam", "list", "P1")
    assert [(e["id"], e["imaged"], e["density"], e["radiologist"]) for e in exams] == [
        (1, "both", None, None),
        (2, "both", None, None),
    ]
    assert [(f["date"], f["from"], f["to"]) for f in _json(cli, "films", "list", "P1")] == [
        ("2024-03-05", "Old Town", "N")  # the day it was recorded
    ]
    ((action, due, also),) = sql(db_url, "SELECT action, due, also_action FROM plans")
    assert (action, str(due), also) == (
        "short-interval-follow-up",
        "2025-07-10",
        "routine-screening",
    )
    assert sql(db_url, "SELECT recompute_next FROM plans_state") == [(None,)]


def test_revision_0009_downgrade_keeps_what_the_older_schema_holds(db_url):
    cli = Cli(db_url)
    cli("patient", "add", "P1")
    cli("exam", "add", "P1", "--date", "2025-01-10", "--facility", "N", "--category", "4b",
        "--laterality", "left", "--imaged", "left", "--density", "d",
        "--radiologist", "Dr A", "--kind", "diagnostic")  # fmt: skip
    cli("exam", "add", "P1", "--date", "2025-01-20", "--facility", "N", "--category", "0-priors")
    cli("biopsy", "add", "P1", "--date", "2025-01-25", "--side", "left", "--result", "pending")
    cli("exam", "add", "P1", "--date", "2025-01-26", "--facility", "N",
        "--category", "post-procedure", "--laterality", "left")  # fmt: skip
    cli("films", "transfer", "P1", "--from", "N", "--to", "S", "--date", "2025-01-27")
    cli("db", "downgrade", "0008")
    assert sql(db_url, "SELECT id, category, laterality FROM findings ORDER BY id") == [
        (1, "suspicious", "left"),
        (2, "incomplete", None),  # the older schema's one incomplete category
    ]
    assert [row[0] for row in sql(db_url, "SELECT id FROM exams ORDER BY id")] == [1, 2]
    assert len(sql(db_url, "SELECT id FROM film_transfers")) == 1
    database = Database(resolve_url(db_url))
    with database.engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        exam_columns = {c["name"] for c in inspect(conn).get_columns("exams")}
    database.close()
    assert "biopsies" not in tables and "imaged" not in exam_columns
    assert sql(db_url, "SELECT recompute_next FROM plans_state") == [(0,)]  # for older rules
    logged = sql(db_url, "SELECT action FROM audit_log WHERE action LIKE 'biopsy.%'")
    assert logged == [("biopsy.add",)]  # what the biopsy said is still in the log
    cli("db", "upgrade")
    shown = _json(cli, "status", "P1", "--as-of", "2025-02-01")
    assert [(e["category"], e["imaged"]) for e in shown["exams"]] == [
        ("suspicious", "both"),
        ("incomplete", "both"),
    ]
    assert shown["biopsies"] == []
    assert shown["next"]["action"] == "biopsy"  # nothing that needs care dropped out of sight


# -- revision 0010: the pathway (issue 14) ----------------------------------------------------


def _columns(db_url: str, table: str) -> set[str]:
    database = Database(resolve_url(db_url))
    with database.engine.connect() as conn:
        found = {c["name"] for c in inspect(conn).get_columns(table)}
    database.close()
    return found


PATHWAY_COLUMNS = {
    "address",
    "closed_reason",
    "closed_on",
    "appointment",
    "last_contact",
    "last_outcome",
    "last_call",
}


def test_pathway_revision_down_and_up_keeps_the_other_records(db_url):
    """0010 adds the contacts log, the clinic, and columns to patients and facilities;
    its downgrade drops exactly those (the patients' table keeps its AUTOINCREMENT)."""
    cli = Cli(db_url)
    cli("patient", "add", "P1", "--name", "Ana", "--address", "12 Main St\\nSpringfield")
    cli("exam", "add", "P1", "--date", "2025-01-31", "--facility", "N", "--category", "3",
        "--laterality", "left", "--kind", "diagnostic")  # fmt: skip
    cli("contact", "P1", "--outcome", "scheduled", "--date", "2025-08-01",
        "--appointment", "2025-08-20")  # fmt: skip
    cli("facility", "edit", "N", "--phone", "555")
    cli("clinic", "set", "--name", "Clinic")
    before = cli("exam", "list", "P1", "--format", "json").stdout
    cli("db", "downgrade", "0009")
    database = Database(resolve_url(db_url))
    with database.engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        if "://" not in db_url:
            patients = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'patients'"
            ).scalar()
            assert "AUTOINCREMENT" in patients
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    database.close()
    assert not {"contacts", "clinic"} & tables
    assert not PATHWAY_COLUMNS & _columns(db_url, "patients")
    assert not {"address", "phone"} & _columns(db_url, "facilities")
    assert f"0009 -> {HEAD_REVISION}" in cli("db", "upgrade").stdout
    assert cli("exam", "list", "P1", "--format", "json").stdout == before
    assert _columns(db_url, "patients") >= PATHWAY_COLUMNS
    assert "no contact recorded" in cli("contact", "list", "P1").stdout
    cli("contact", "P1", "--outcome", "reached")
    assert "reached" in cli("contact", "list", "P1").stdout


# -- revision 0011: the reminder ladder, calendar events (issue 14 points 4 and 8) ----------

OLD_LOG = (  # P1 due 2025-05-01 reminded by the old code every 30 days; P2's upcoming pending
    "INSERT INTO reminders (patient_id, due, kind, sequence, status, message_id, created_at, "
    "sent_at, attempts) VALUES "
    "(1, '2025-05-01', 'upcoming', 0, 'sent', '<a@x>', '2025-04-01 08:00:00', "
    "'2025-04-01 08:00:05', 1), "
    "(1, '2025-05-01', 'overdue', 0, 'sent', '<b@x>', '2025-05-02 08:00:00', "
    "'2025-05-02 08:00:05', 1), "
    "(1, '2025-05-01', 'overdue', 1, 'sent', '<c@x>', '2025-05-31 08:00:00', "
    "'2025-05-31 08:00:05', 1), "
    "(1, '2025-05-01', 'overdue', 2, 'sent', '<d@x>', '2025-06-30 08:00:00', "
    "'2025-06-30 08:00:05', 1), "
    "(1, '2025-05-01', 'overdue', 3, 'sent', '<e@x>', '2025-07-30 08:00:00', "
    "'2025-07-30 08:00:05', 1), "
    "(1, '2025-05-01', 'overdue', 4, 'pending', '<f@x>', '2025-08-29 08:00:00', NULL, 0), "
    "(2, '2025-06-20', 'upcoming', 0, 'pending', '<g@x>', '2025-05-25 08:00:00', NULL, 0)"
)


def test_reminder_ladder_revision_maps_the_old_log_and_back(db_url):
    """0011: old (kind, repeat) rows become steps (repeat 0, 1, 2+ are overdue-1, -2, -3
    under the default ladder; rows that come to one step keep the sent one), every e-mail
    sent becomes an email-sent contact, the ladder starts on the first one: after the
    upgrade nobody is mailed again. Down: the steps back as (kind, repeat), contacts kept."""
    cli = Cli(db_url)
    for patient, day in (("P1", "2024-05-01"), ("P2", "2024-06-20")):
        cli("patient", "add", patient, "--email", f"{patient.lower()}@example.org")
        cli("exam", "add", patient, "--date", day, "--facility", "N", "--category", "1")
    cli("db", "downgrade", "0010")
    sql(db_url, OLD_LOG)
    assert f"0010 -> {HEAD_REVISION}" in cli("db", "upgrade").stdout
    rows = sql(db_url, "SELECT id, patient_id, step, status FROM reminders ORDER BY id")
    assert rows == [
        (1, 1, "upcoming", "sent"),
        (2, 1, "overdue-1", "sent"),
        (3, 1, "overdue-2", "sent"),
        (5, 1, "overdue-3", "sent"),  # repeats 2, 3 and 4 are all the last step: one row
        (7, 2, "upcoming", "pending"),
    ]
    contacts = _json(cli, "contact", "list", "P1")
    assert [(c["date"], c["outcome"]) for c in contacts] == [
        (day, "email-sent")
        for day in ("2025-04-01", "2025-05-02", "2025-05-31", "2025-06-30", "2025-07-30")
    ]  # every e-mail sent, those removed from the reminder log too
    status = _json(cli, "status", "P1", "--as-of", "2025-08-01")
    assert status["tracking"]["last_contact"] == {"date": "2025-07-30", "outcome": "email-sent"}
    assert sql(db_url, "SELECT value FROM settings WHERE key = 'ladder_started'") == [
        ("2025-04-01",)
    ]
    # P1 had every step under its old name: nothing more; P2 carries on with the ladder
    for day, expected in (
        ("2025-06-01", [("P2", "upcoming", "retry")]),
        ("2025-08-01", [("P2", "overdue-2", "new")]),
    ):
        listed = _json(cli, "remind", "--dry-run", "--as-of", day)
        assert [(r["patient_id"], r["step"], r["state"]) for r in listed] == expected
    cli("calendar", "P2", "--as-of", "2025-06-01")  # a row in the new table
    cli("db", "downgrade", "0010")
    back = sql(db_url, "SELECT id, kind, sequence, status FROM reminders ORDER BY id")
    assert back == [
        (1, "upcoming", 0, "sent"),
        (2, "overdue", 0, "sent"),
        (3, "overdue", 1, "sent"),
        (5, "overdue", 2, "sent"),
        (7, "upcoming", 0, "pending"),
    ]
    assert len(sql(db_url, "SELECT id FROM contacts WHERE outcome = 'email-sent'")) == 5
    assert "calendar_events" not in _tables(db_url)
    cli("db", "upgrade")  # and up again: the same steps, no second contact for an e-mail
    assert sql(db_url, "SELECT id, patient_id, step, status FROM reminders ORDER BY id") == rows
    assert len(sql(db_url, "SELECT id FROM contacts WHERE outcome = 'email-sent'")) == 5


def test_reminder_ladder_revision_reads_the_repeat_of_the_stored_policy(db_url):
    """A clinic that had set overdue_repeat_days = 20: its repeat 1 went out 20 days after
    the due date, before the ladder's day 30, so it counts as overdue-1... and repeat 0 too:
    one row for that step (the later one), then overdue-2 for repeat 2 (day 40 >= 30)."""
    cli = Cli(db_url)
    cli("patient", "add", "P1", "--email", "p1@example.org")
    cli("exam", "add", "P1", "--date", "2024-05-01", "--facility", "N", "--category", "1")
    cli("db", "downgrade", "0010")
    sql(db_url, "INSERT INTO policies (set_at, set_by, source, policy) VALUES "
         "('2025-01-01 00:00:00', 'x', '', '{\"overdue_repeat_days\": 20}')")  # fmt: skip
    sql(db_url, "UPDATE plans_state SET policy_id = (SELECT max(id) FROM policies)")
    sql(db_url, OLD_LOG.split(", (1, '2025-05-01', 'overdue', 3")[0])
    cli("db", "upgrade")
    rows = sql(db_url, "SELECT id, step FROM reminders ORDER BY id")
    assert rows == [(1, "upcoming"), (3, "overdue-1"), (4, "overdue-2")]


def _tables(db_url: str) -> set[str]:
    database = Database(resolve_url(db_url))
    with database.engine.connect() as conn:
        found = set(inspect(conn).get_table_names())
    database.close()
    return found


# -- revision 0012: the letter log (issue 14 point 6) -----------------------------------------


def test_letter_log_revision_down_and_up(db_url, tmp_path):
    """0012 adds the letter log and the clinic's letter settings; its downgrade drops exactly
    those, keeping the clinic's address and the pathway log."""
    cli = Cli(db_url)
    cli("clinic", "set", "--name", "Clinic", "--address", "1 A St\\nTown", "--paper", "a4")
    cli("patient", "add", "P1", "--name", "Ana", "--address", "2 B St\\nTown")
    cli("exam", "add", "P1", "--date", "2025-07-10", "--facility", "N", "--category", "1")
    cli("facility", "edit", "N", "--phone", "555", "--address", "3 C St\\nTown")
    cli("letters", "--as-of", "2025-07-15", "-o", str(tmp_path / "l.pdf"))
    cli("db", "downgrade", "0011")
    database = Database(resolve_url(db_url))
    with database.engine.connect() as conn:
        assert "letters" not in set(inspect(conn).get_table_names())
        outcomes = conn.execute(text("SELECT outcome FROM contacts")).scalars().all()
    database.close()
    assert outcomes == ["letter-sent"]  # the pathway log stays
    assert not {"density_not_dense", "density_dense", "paper"} & _columns(db_url, "clinic")
    assert f"0011 -> {HEAD_REVISION}" in cli("db", "upgrade").stdout
    assert json.loads(cli("clinic", "show", "--format", "json").stdout)["address"] == "1 A St\nTown"
    out = cli("letters", "--dry-run", "--format", "json", "--as-of", "2025-07-15").stdout
    assert [row["kind"] for row in json.loads(out)] == ["result"]  # the log went with 0012
