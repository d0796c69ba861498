"""The clinic's policy lives in the database (issue 11 points 10 and 5; clinical-rules.md §9,
cli.md ``policy``): set once, applied by every command, kept with its history."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from followup import rules
from followup.store.database import HEAD_REVISION
from tests.conftest import Cli, probably_benign_exam, sql, upgrade_to

AS_OF = "2025-06-01"
CLINIC = "[policy]\nprobably_benign_months = [4, 6, 12]\nlost_after_days = 60\n"
# What the code before this change recorded in settings after `--policy FILE recompute`.
OLD_SETTING = json.dumps(
    {
        "biopsy_days": 30,
        "comparison_years": 3,
        "incomplete_days": 30,
        "lost_after_days": 60,
        "on_time_days": 30,
        "overdue_repeat_days": 30,
        "probably_benign_later_months": 12,
        "probably_benign_months": [4, 6, 12],
        "routine_months": 12,
        "stable_after_months": 24,
    },
    sort_keys=True,
)


@pytest.fixture
def clinic(cli: Cli) -> Cli:
    for patient, day in (("P1", "2025-01-31"), ("P2", "2024-12-20")):
        cli("patient", "add", patient, "--email", f"{patient.lower()}@example.org")
        probably_benign_exam(cli, patient, day)
    return cli


def policy_file(tmp_path: Path, content: str | bytes = CLINIC, name: str = "clinic.toml") -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def due(cli: Cli) -> dict[str, str]:
    out = cli("due", "--as-of", AS_OF, "--within", "365", "--format", "json").stdout
    return {row["patient_id"]: row["due"] for row in json.loads(out)}


def status_due(cli: Cli, patient: str) -> str:
    return json.loads(cli("status", patient, "--format", "json").stdout)["next"]["due"]


def test_a_patients_database_uses_the_defaults_until_she_sets_one(cli: Cli):
    cli("patient", "add", "P1")
    probably_benign_exam(cli, "P1", "2025-01-31")
    shown = cli("policy", "show").stdout
    assert shown.startswith("# The defaults of clinical-rules.md: no policy has been set")
    assert "probably_benign_months = [6, 6, 12]\n" in shown and "# default" not in shown
    assert "No policy has been set" in cli("policy", "history").stdout
    assert cli("policy", "history", "--format", "json").stdout.strip() == "[]"
    assert status_due(cli, "P1") == "2025-07-31" == due(cli)["P1"]


def test_policy_set_is_what_every_command_applies(clinic: Cli, tmp_path: Path):
    """The bug: `--policy clinic.toml recompute`, then any command without it mixed policies,
    and status (live, defaults) and due (stored plans) disagreed."""
    setter = Cli(clinic.url, env={"FOLLOWUP_USER": "coordinator"})
    out = setter("policy", "set", policy_file(tmp_path)).stdout
    assert "Stored policy 1, set by coordinator: probably_benign_months [6, 6, 12] -> " in out
    assert "Recomputed the plans of 2 patients." in out
    assert due(clinic) == {"P1": "2025-05-31", "P2": "2025-04-20"}
    for patient, day in due(clinic).items():
        assert status_due(clinic, patient) == day
    # A new exam, by another user without any option, is planned under the stored policy.
    clinic("patient", "add", "P3")
    added = clinic("exam", "add", "P3", "--date", "2025-03-01", "--facility", "Northside Imaging",
                   "--category", "3", "--laterality", "left").stdout  # fmt: skip
    assert "due 2025-07-01" in added and due(clinic)["P3"] == "2025-07-01" == status_due(
        clinic, "P3"
    )
    flags = clinic("flags", "--code", "lost-to-follow-up", "--as-of", "2025-06-25").stdout
    assert "P2" in flags  # 66 days past 2025-04-20 > lost_after_days 60 (default 90)
    reminded = clinic("remind", "--dry-run", "--as-of", "2025-05-20", "--format", "json").stdout
    assert {row["patient_id"]: row["due"] for row in json.loads(reminded)} == {
        "P1": "2025-05-31",
        "P2": "2025-04-20",
    }


def test_policy_show_is_a_policy_file_and_history_keeps_each_one(clinic: Cli, tmp_path: Path):
    Cli(clinic.url, env={"FOLLOWUP_USER": "ana"})("policy", "set", policy_file(tmp_path))
    shown = clinic("policy", "show").stdout
    assert shown.startswith("# Policy 1, set ") and shown.splitlines()[0].endswith(" by ana.")
    assert "probably_benign_months = [4, 6, 12]  # default [6, 6, 12]\n" in shown
    assert "routine_months = 12\n" in shown  # defaults included
    again = clinic("policy", "set", policy_file(tmp_path, shown, "shown.toml")).stdout
    assert again.startswith("The policy in ") and "nothing changed" in again
    Cli(clinic.url, env={"FOLLOWUP_USER": "bob"})(
        "policy", "set", policy_file(tmp_path, "routine_months = 24\n", "second.toml")
    )
    history = json.loads(clinic("policy", "history", "--format", "json").stdout)
    assert [(h["policy"], h["set_by"], h["in_force"]) for h in history] == [
        (1, "ana", False),
        (2, "bob", True),
    ]
    assert history[1]["changes"] == [
        {"key": "routine_months", "before": 12, "after": 24},
        {"key": "probably_benign_months", "before": [4, 6, 12], "after": [6, 6, 12]},
        {"key": "lost_after_days", "before": 60, "after": 90},
    ]
    assert history[1]["values"]["routine_months"] == 24 and history[0]["set_at"]
    table = clinic("policy", "history").stdout
    assert "routine_months 12 -> 24" in table.splitlines()[2]


def test_the_policy_option_and_variable_are_refused(clinic: Cli, tmp_path: Path):
    path = policy_file(tmp_path)
    refused = clinic("--policy", path, "due", code=2).stderr
    assert f"store it once with `followup policy set {path}`" in refused
    from_env = Cli(clinic.url, env={"FOLLOWUP_POLICY": path})
    for command in (("due",), ("status", "P1"), ("remind", "--dry-run"), ("recompute",)):
        result = from_env(*command, code=1)
        assert "FOLLOWUP_POLICY is set" in result.stderr and "policy set" in result.stderr
    assert "Stored policy 1" in from_env("policy", "set", path).stdout  # how to move it in
    assert due(clinic)["P1"] == "2025-05-31"


BAD_FILES = [
    ("latin-1", "routine_months = 12  # r\xe9vis\xe9\n".encode("latin-1"), "not UTF-8 text"),
    ("routine_months", b"routine_months = 1000000000000000000000\n", "months from 1 to 36"),
    ("comparison_years", b"comparison_years = 99999999999\n", "years from 1 to 10"),
    ("lost_after_days", b"lost_after_days = " + b"9" * 5000 + b"\n", "days from 1 to 365"),
    ("incomplete_days", b"[policy]\nincomplete-days = 1" + b"0" * 40 + b"\n", "not a 41-digit"),
    ("a-year-and-a-day", b"incomplete_days = 366\n", "days from 1 to 365, not 366"),
    ("zero", b"routine_months = 0\n", "months from 1 to 36, not 0"),
    ("type", b'biopsy_days = "14"\n', 'days from 1 to 365, not "14"'),
    ("unknown", b"routine_month = 12\n", "unknown policy key"),
    # the ladder of clinical-rules.md §7 replaced it (issue 14): the file is told what to do
    (
        "retired",
        b"overdue_repeat_days = 30\n",
        "is retired: overdue reminders no longer repeat, they follow overdue_steps_days",
    ),
    ("not-toml", b"routine_months = \n", "not valid TOML"),
    ("nested", b"x = " + b"[" * 5000, "nested too deep"),
    ("too-big", b"# " + b"x" * 70_000 + b"\nroutine_months = 12\n", "more than 65,536 bytes"),
]


@pytest.mark.parametrize(
    ("content", "message"), [b[1:] for b in BAD_FILES], ids=[b[0] for b in BAD_FILES]
)
def test_a_bad_policy_file_is_one_line_and_changes_nothing(
    clinic: Cli, tmp_path: Path, content: bytes, message: str
):
    path = policy_file(tmp_path, content)
    for command in (("policy", "set", path), ("status", "P1", "--policy", path)):
        result = clinic(*command, code=1)
        assert result.stderr.startswith(f"Error: policy file {path}: ")
        assert message in result.stderr
        assert result.stderr.count("\n") == 1 and len(result.stderr) < 300
    assert clinic("policy", "history", "--format", "json").stdout.strip() == "[]"
    assert due(clinic)["P1"] == "2025-07-31"


def test_an_unreadable_policy_file_is_one_line(clinic: Cli, tmp_path: Path):
    for path in (str(tmp_path / "missing.toml"), str(tmp_path)):
        result = clinic("policy", "set", path, code=1)
        assert result.stderr.startswith(f"Error: cannot read the policy file {path}: ")


def _old_database(cli: Cli, setting: str | None) -> None:
    """The database as the code before this change left it: at revision 0005 (the last
    before the policy moved in), with the settings row its `--policy FILE recompute` wrote."""
    cli("db", "downgrade", "0005")
    if setting is not None:
        sql(cli.url, "INSERT INTO settings (key, value) VALUES ('plan_policy', :v)", v=setting)


def test_an_older_database_keeps_the_policy_its_plans_were_made_with(clinic: Cli):
    _old_database(clinic, OLD_SETTING)
    assert "followup db upgrade" in clinic("due", code=1).stderr
    out = clinic("db", "upgrade").stdout
    assert f"0005 -> {HEAD_REVISION}" in out and "Recomputed the plans of 2 patients" in out
    assert due(clinic) == {"P1": "2025-05-31", "P2": "2025-04-20"}
    shown = clinic("policy", "show").stdout
    assert "lost_after_days = 60  # default 90" in shown
    (record,) = json.loads(clinic("policy", "history", "--format", "json").stdout)
    # keys the policy gained since (issue 13's biopsy and prior-films intervals) read back
    # with their defaults, and a key retired since (overdue_repeat_days, issue 14) is left
    # out, as policy_from_values says: the stored policy keeps working
    defaults = json.loads(rules.policy_json(rules.DEFAULT_POLICY))
    kept = {k: v for k, v in json.loads(OLD_SETTING).items() if k != "overdue_repeat_days"}
    assert "overdue_repeat_days" not in defaults
    assert record["in_force"] and record["values"] == {**defaults, **kept}
    assert sql(clinic.url, "SELECT value FROM settings WHERE key = 'plan_policy'") == []
    # and back: the revision below finds the setting it knew
    clinic("db", "downgrade", "0005")
    assert sql(clinic.url, "SELECT value FROM settings WHERE key = 'plan_policy'") == [
        (OLD_SETTING,)
    ]


def test_an_older_database_without_a_policy_keeps_the_defaults(clinic: Cli):
    _old_database(clinic, None)
    upgrade_to(clinic.url, "0006")
    assert sql(clinic.url, "SELECT policy_id, recompute_next FROM plans_state") == [(None, None)]
    out = clinic("db", "upgrade").stdout  # 0009 recomputes: the rules changed (issue 13)
    assert f"0006 -> {HEAD_REVISION}" in out
    assert clinic("policy", "show").stdout.startswith("# The defaults")
    assert due(clinic) == {"P1": "2025-07-31", "P2": "2025-06-20"}


def test_a_report_running_while_a_policy_is_set_sees_one_policy(clinic: Cli):
    """A report's transaction is one snapshot (SQLite's own, REPEATABLE READ on PostgreSQL):
    a policy set and recomputed meanwhile, batch by batch, never shows half-way through it,
    and the report holds nothing up."""
    from datetime import date

    from followup.store.database import open_database
    from followup.store.policies import policy_in_force, set_policy
    from followup.store.recompute import finish_recompute
    from followup.store.reports import DueQuery, due_rows

    report, setter = open_database(clinic.url), open_database(clinic.url)
    outcome: list[object] = []

    def set_and_recompute() -> None:
        try:
            with setter.transaction() as session:
                set_policy(session, CLINIC.encode(), "clinic.toml")
            outcome.append(finish_recompute(setter, lambda done, total: None, batch=1))
        except Exception as exc:  # reported by the assertion below
            outcome.append(exc)

    def read(session) -> dict[str, str]:  # type: ignore[no-untyped-def]
        rows = due_rows(session, DueQuery(date(2025, 6, 1), 365), policy_in_force(session))
        return {row["patient_id"]: str(row["due"]) for row in rows}

    try:
        with report.transaction(write=False) as session:
            first = read(session)
            thread = threading.Thread(target=set_and_recompute)
            thread.start()
            thread.join(60)
            assert outcome == [2]  # both plans recomputed while the report was open
            assert read(session) == first == {"P1": "2025-07-31", "P2": "2025-06-20"}
    finally:
        report.close()
        setter.close()
    assert due(clinic) == {"P1": "2025-05-31", "P2": "2025-04-20"}


def test_postgresql_policy_change_waits_for_a_writer_that_read_the_policy(postgres_url: str):
    """An exam change (or import, or the reminder queue) planning under the policy holds it
    shared until it commits; a policy change waits (here: gives up after 300 ms)."""
    from followup.store.database import open_database
    from followup.store.policies import policy_in_force, set_policy

    Cli(postgres_url)("init")
    writer, setter = open_database(postgres_url), open_database(postgres_url)
    outcome: list[str] = []

    def try_to_set() -> None:
        try:
            with setter.transaction() as session:
                session.execute(text("SET LOCAL lock_timeout = '300ms'"))
                set_policy(session, CLINIC.encode(), "clinic.toml")
            outcome.append("set")
        except Exception as exc:  # the lock timeout
            outcome.append(type(exc).__name__)

    try:
        with writer.transaction() as session:
            policy_in_force(session)
            thread = threading.Thread(target=try_to_set)
            thread.start()
            thread.join(60)
        assert outcome == ["OperationalError"]
        try_to_set()
        assert outcome == ["OperationalError", "set"]
    finally:
        writer.close()
        setter.close()
