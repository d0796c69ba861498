"""Ids are never reused (issue 11 point 9), and the audit log reads as a history
(``exam history``, ``audit-log``)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import inspect

from tests.conftest import Cli, sql, upgrade_to

EXAM = ("--facility", "Northside Imaging", "--category", "2")


def exam_ids(cli: Cli, patient: str = "P1") -> list[int]:
    return [
        row["id"] for row in json.loads(cli("exam", "list", patient, "--format", "json").stdout)
    ]


@pytest.fixture
def two_exams(cli: Cli) -> Cli:
    cli("patient", "add", "P1")
    cli("exam", "add", "P1", "--date", "2024-01-10", *EXAM)
    cli("exam", "add", "P1", "--date", "2025-01-10", *EXAM, "--note", "first report")
    return cli


def test_a_deleted_exams_id_is_never_given_to_another(two_exams: Cli):
    two_exams("exam", "delete", "2", "--yes")
    out = two_exams("exam", "add", "P1", "--date", "2025-02-01", *EXAM).stdout
    assert out.startswith("Recorded exam 3 for patient P1.")
    two_exams("exam", "delete", "1", "--yes")
    two_exams("exam", "delete", "3", "--yes")  # none left: still no reuse
    assert (
        "Recorded exam 4 " in two_exams("exam", "add", "P1", "--date", "2025-03-01", *EXAM).stdout
    )
    # "exam 2" in the audit log is one exam: added, then deleted; nothing of exam 3 or 4.
    history = json.loads(two_exams("exam", "history", "2", "--format", "json").stdout)
    assert [entry["action"] for entry in history] == ["exam.add", "exam.delete"]
    assert {entry["before"]["date"] for entry in history[1:]} == {"2025-01-10"}


def test_patient_and_film_transfer_ids_are_never_reused(two_exams: Cli):
    """No command deletes these yet; the schema already refuses to hand their ids out twice."""

    def top(table: str) -> int:
        return sql(two_exams.url, f"SELECT max(id) FROM {table}")[0][0]

    two_exams("films", "transfer", "P1", "--from", "Northside Imaging", "--to", "Southside")
    transfer = top("film_transfers")
    sql(two_exams.url, f"DELETE FROM film_transfers WHERE id = {transfer}")
    two_exams("films", "transfer", "P1", "--from", "Northside Imaging", "--to", "Westside")
    assert top("film_transfers") == transfer + 1
    two_exams("patient", "add", "P2")
    patient = top("patients")
    sql(two_exams.url, f"DELETE FROM patients WHERE id = {patient}")
    two_exams("patient", "add", "P3")
    assert top("patients") == patient + 1


def test_an_import_after_a_deletion_attaches_findings_to_the_right_exams(
    two_exams: Cli, tmp_path: Path
):
    """The bulk loader reads new exam ids back above the largest ever given (not the largest
    stored), so its findings land on its own exams."""
    two_exams("exam", "delete", "2", "--yes")
    csv = tmp_path / "in.csv"
    csv.write_text(
        "patient_id,date,facility,category,laterality\n"
        "P1,2025-02-01,Northside Imaging,3,left\n"
        "P9,2025-03-01,Northside Imaging,4a,right\n",
        encoding="utf-8",
    )
    two_exams("import", "exams", str(csv))
    assert exam_ids(two_exams) == [1, 3]
    rows = json.loads(two_exams("exam", "list", "P9", "--format", "json").stdout)
    assert [(r["id"], r["category"], r["laterality"]) for r in rows] == [(4, "suspicious", "right")]


def test_exam_history_reads_who_when_and_each_field(two_exams: Cli):
    bob = Cli(two_exams.url, env={"FOLLOWUP_USER": "bob"})
    bob("exam", "edit", "2", "--category", "3", "--laterality", "left", "--note", "reviewed")
    two_exams("exam", "delete", "2", "--yes")
    table = bob("exam", "history", "2").stdout.splitlines()
    assert table[0] == "Exam 2 of patient P1"
    assert table[2].split() == ["WHEN", "(UTC)", "BY", "WHAT", "FIELD", "BEFORE", "AFTER"]
    edited = next(line for line in table if " bob " in line)
    assert edited.split()[3:] == ["edited", "findings", "benign", "probably-benign", "left"]
    assert any(line.split() == ["note", "first", "report", "reviewed"] for line in table)
    rows = bob("exam", "history", "2", "--format", "csv").stdout.splitlines()
    assert rows[0] == "at,by,action,exam_id,patient_id,field,before,after,biopsy_id"
    assert any(r.endswith(",bob,edited,2,P1,note,first report,reviewed,") for r in rows)
    assert any(",deleted,2,P1,findings,probably-benign left," in r for r in rows)
    assert "no exam with id 9 was ever recorded" in bob("exam", "history", "9", code=1).stderr


def test_an_imported_exam_starts_with_the_state_it_was_recorded_in(cli: Cli, tmp_path: Path):
    csv = tmp_path / "in.csv"
    csv.write_text("patient_id,date,facility,category\nP1,2025-02-01,N,2\n", encoding="utf-8")
    cli("import", "exams", str(csv))
    cli("exam", "edit", "1", "--kind", "screening")
    history = json.loads(cli("exam", "history", "1", "--format", "json").stdout)
    assert (history[0]["action"], history[0]["by"]) == ("exam.recorded", None)
    assert history[0]["after"]["kind"] is None and history[1]["after"]["kind"] == "screening"


def test_audit_log_of_a_patient_and_of_everyone(two_exams: Cli):
    two_exams("patient", "add", "P2")
    two_exams("exam", "add", "P2", "--date", "2024-05-01", *EXAM)
    two_exams("films", "transfer", "P1", "--from", "Northside Imaging", "--to", "Southside")
    own = json.loads(two_exams("audit-log", "P1", "--format", "json").stdout)
    assert [(e["action"], e["exam_id"]) for e in own] == [
        ("exam.add", 1),
        ("exam.add", 2),
        ("films.transfer", None),
    ]
    assert own[2]["changes"] == [
        {"field": "date", "before": None, "after": date.today().isoformat()},
        {"field": "from", "before": None, "after": "Northside Imaging"},
        {"field": "to", "before": None, "after": "Southside"},
    ]
    everyone = json.loads(two_exams("audit-log", "--format", "json").stdout)
    assert {e["patient_id"] for e in everyone} == {"P1", "P2"} and len(everyone) == 4
    assert "films transferred" in two_exams("audit-log", "P1").stdout
    assert "patient add" in two_exams("audit-log", "NOPE", code=1).stderr


# -- the revision (0005) --------------------------------------------------------------------


def _schema(url: str) -> dict[str, object]:
    """Everything a table is made of but its primary key's spelling."""
    from followup.store.database import Database, resolve_url

    database = Database(resolve_url(url))
    try:
        with database.engine.connect() as conn:
            found = inspect(conn)
            return {
                table: (
                    [{**c, "type": str(c["type"])} for c in found.get_columns(table)],
                    found.get_foreign_keys(table),
                    found.get_unique_constraints(table),
                    sorted(found.get_check_constraints(table), key=lambda c: c["name"]),
                    sorted(found.get_indexes(table), key=lambda i: i["name"]),
                )
                for table in found.get_table_names()
                if table != "alembic_version"
            }
    finally:
        database.close()


def _rows(url: str) -> dict[str, list[tuple]]:
    tables = ("patients", "exams", "findings", "film_transfers", "plans", "audit_log")
    return {t: sorted(sql(url, f"SELECT * FROM {t}"), key=repr) for t in tables}


def test_the_revision_keeps_rows_constraints_and_starts_above_logged_ids(sqlite_cli: Cli):
    cli = sqlite_cli
    cli("patient", "add", "P1")
    for day in ("2023-01-10", "2024-01-10", "2025-01-10"):
        cli("exam", "add", "P1", "--date", day, *EXAM)
    cli("films", "transfer", "P1", "--from", "Northside Imaging", "--to", "Southside")
    cli("db", "downgrade", "0004")
    original = sql(cli.url, "SELECT name, sql FROM sqlite_master ORDER BY name")
    assert "AUTOINCREMENT" not in str(original)
    sql(cli.url, "DELETE FROM exams WHERE id = 3")  # deleted before the upgrade, as on main
    sql(cli.url, "INSERT INTO audit_log (at, actor, action, patient_id, exam_id, detail) "
                 "VALUES ('2025-01-11 00:00:00', 'x', 'exam.delete', 1, 3, '{}')")  # fmt: skip
    schema, rows = _schema(cli.url), _rows(cli.url)
    upgrade_to(cli.url, "0006")  # 0007 and 0009 change the exams on purpose
    assert _rows(cli.url) == rows
    upgraded = _schema(cli.url)
    assert {t: upgraded[t] for t in schema} == schema  # columns, FKs, uniques, CHECKs, indexes
    cli("db", "upgrade")
    definitions = dict(sql(cli.url, "SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
    for table in ("patients", "exams", "film_transfers", "policies", "biopsies"):
        assert "PRIMARY KEY AUTOINCREMENT" in definitions[table], table
    assert "Recorded exam 4 " in cli("exam", "add", "P1", "--date", "2025-02-01", *EXAM).stdout
    cli("exam", "delete", "1", "--yes")  # the cascade to findings still holds
    assert [r[1] for r in sql(cli.url, "SELECT id, exam_id FROM findings ORDER BY id")] == [2, 4]
    assert sql(cli.url, "PRAGMA foreign_keys") == [(1,)]  # back on for the pool
    assert sql(cli.url, "PRAGMA foreign_key_check") == []
    cli("db", "downgrade", "0004")  # and back: the definitions revision 0001 wrote
    back = dict(sql(cli.url, "SELECT name, sql FROM sqlite_master ORDER BY name"))
    assert {name: back[name] for name, _ in original} == dict(original)


def test_postgresql_sequences_never_reuse_without_the_revision(postgres_url: str):
    cli = Cli(postgres_url)
    cli("patient", "add", "P1")
    cli("exam", "add", "P1", "--date", "2024-01-10", *EXAM)
    cli("db", "downgrade", "0004")
    sql(postgres_url, "DELETE FROM exams")
    cli("db", "upgrade")
    assert "Recorded exam 2 " in cli("exam", "add", "P1", "--date", "2025-01-10", *EXAM).stdout
