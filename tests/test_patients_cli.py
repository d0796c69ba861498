"""``followup patient ...`` through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json


def test_add_show_list_edit(cli):
    out = cli(
        "patient",
        "add",
        "P1",
        "--name",
        "Ana Silva",
        "--birth-date",
        "1970-03-02",
        "--email",
        "ana@example.org",
        "--phone",
        "555-0100",
    ).stdout
    assert "Added patient P1" in out
    shown = json.loads(cli("patient", "show", "P1", "--format", "json").stdout)
    assert shown == {
        "patient_id": "P1",
        "name": "Ana Silva",
        "birth_date": "1970-03-02",
        "email": "ana@example.org",
        "phone": "555-0100",
        "reminders": True,
        "address": None,
    }
    cli("patient", "add", "P2", "--no-reminders")
    listed = json.loads(cli("patient", "list", "--format", "json").stdout)
    assert [p["patient_id"] for p in listed] == ["P1", "P2"]
    assert listed[1]["reminders"] is False
    assert "P1" in cli("patient", "list").stdout
    out = cli("patient", "edit", "P1", "--email", "", "--no-reminders").stdout
    assert "email" in out and "reminders" in out
    shown = json.loads(cli("patient", "show", "P1", "--format", "json").stdout)
    assert shown["email"] is None and shown["reminders"] is False


def test_duplicate_patient_refused(cli):
    cli("patient", "add", "P1")
    result = cli("patient", "add", "P1", "--name", "Other", code=1)
    assert result.stderr.startswith("Error: patient P1 already exists")
    assert "followup patient edit P1" in result.stderr
    assert "Traceback" not in result.output
    assert json.loads(cli("patient", "show", "P1", "--format", "json").stdout)["name"] is None


def test_unknown_patient_names_the_fix(cli):
    cli("init")
    result = cli("patient", "show", "NOPE", code=1)
    assert "followup patient add NOPE" in result.stderr


def test_bad_values_are_usage_errors(cli):
    assert "not an email" in cli("patient", "add", "P1", "--email", "nope", code=1).stderr
    assert "YYYY-MM-DD" in cli("patient", "add", "P1", "--birth-date", "1970-13-01", code=2).stderr
    assert "without spaces" in cli("patient", "add", "A B", code=1).stderr
    assert cli("patient", "list", "--format", "json").stdout.strip() == "[]"


def test_edit_without_changes_is_refused(cli):
    cli("patient", "add", "P1")
    assert "nothing to change" in cli("patient", "edit", "P1", code=2).stderr
