"""Issue 14 points 2 and 4: ``followup remind`` follows the ladder of clinical-rules.md §7.

"The first cron run mailed 1,549 patients, including women overdue since 2019 with an .ics for
a date in 2019, and overdue e-mails repeat every 30 days forever." Through the CLI, into a
real Maildir, on SQLite and PostgreSQL: the first run sends only the steps that fall that day
(and upcoming reminders in their window); daily runs send each step once; after the last one
nothing more for that due date; closed, scheduled and deceased patients get none; each
e-mail is an ``email-sent`` contact, which is not a call.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest
from remind_support import mail_env, maildir_messages, reminder_rows

from tests.conftest import Cli, sql

START = date(2025, 6, 2)  # the programme's first real run
# patient: the date of her (negative) exam, so due 12 months later
PROGRAMME = {
    "O1": "2018-03-01",  # overdue since 2019-03-01
    "O2": "2022-05-10",  # overdue since 2023
    "T1": "2024-06-01",  # due the day before START: overdue-1 falls on it
    "T2": "2024-05-03",  # due 30 days before: overdue-2 falls on START
    "T3": "2024-04-03",  # due 60 days before: overdue-3, the last, falls on START
    "L1": "2024-05-23",  # overdue-1 fell 9 days before START: never sent; overdue-2 is
    "U1": "2024-06-22",  # due in 20 days: the upcoming reminder is in its window
    "U2": "2024-07-17",  # due in 45 days: upcoming on START + 15
    "S1": "2024-06-01",  # as T1, but booked for 2025-06-20 (missed from 2025-06-28)
    "C1": "2024-06-01",  # as T1, but closed (declined)
}
FIRST_RUN = {("T1", "overdue-1"), ("T2", "overdue-2"), ("T3", "overdue-3"), ("U1", "upcoming")}
# what 100 daily runs from START send: (as-of date, step), each once
EXPECTED = {
    "T1": [("2025-06-02", "overdue-1"), ("2025-07-01", "overdue-2"), ("2025-07-31", "overdue-3")],
    "T2": [("2025-06-02", "overdue-2"), ("2025-07-02", "overdue-3")],
    "T3": [("2025-06-02", "overdue-3")],
    "L1": [("2025-06-22", "overdue-2"), ("2025-07-22", "overdue-3")],
    "U1": [
        ("2025-06-02", "upcoming"),
        ("2025-06-23", "overdue-1"),
        ("2025-07-22", "overdue-2"),
        ("2025-08-21", "overdue-3"),
    ],
    "U2": [("2025-06-17", "upcoming"), ("2025-07-18", "overdue-1"), ("2025-08-16", "overdue-2")],
    # scheduled: nothing; missed (2025-06-28): the step in force then, then the next ones
    "S1": [("2025-06-28", "overdue-1"), ("2025-07-01", "overdue-2"), ("2025-07-31", "overdue-3")],
}


@pytest.fixture
def programme(db_url: str, tmp_path: Path) -> Cli:
    cli = Cli(db_url, env=mail_env(tmp_path))
    for patient, day in PROGRAMME.items():
        cli("patient", "add", patient, "--email", f"{patient.lower()}@example.org")
        cli("exam", "add", patient, "--date", day, "--facility", "Northside Imaging",
            "--category", "negative")  # fmt: skip
    cli("contact", "S1", "--outcome", "scheduled", "--date", "2025-05-30",
        "--appointment", "2025-06-20")  # fmt: skip
    cli("patient", "close", "C1", "--reason", "declined", "--date", "2025-05-30")
    return cli


def run(cli: Cli, maildir: Path, day: date, *args: str) -> dict:
    out = cli("remind", "--as-of", str(day), "--transport", f"maildir:{maildir}",
              "--format", "json", *args).stdout  # fmt: skip
    return json.loads(out)


def sent_steps(url: str) -> set[tuple[str, str]]:
    return {(r.external_id, r.step) for r in reminder_rows(url) if r.status == "sent"}


def test_the_first_run_sends_only_what_falls_that_day(programme: Cli, tmp_path: Path):
    maildir = tmp_path / "Maildir"
    dry = programme("remind", "--dry-run", "--as-of", str(START), "--format", "json").stdout
    assert {(r["patient_id"], r["step"]) for r in json.loads(dry)} == FIRST_RUN
    assert sql(programme.url, "SELECT * FROM settings WHERE key = 'ladder_started'") == []
    summary = run(programme, maildir, START)
    assert (summary["sent"], summary["failed"]) == (4, 0)
    assert sent_steps(programme.url) == FIRST_RUN
    assert sorted(m["To"] for m in maildir_messages(maildir)) == [
        "t1@example.org", "t2@example.org", "t3@example.org", "u1@example.org"
    ]  # fmt: skip
    assert sql(programme.url, "SELECT value FROM settings WHERE key = 'ladder_started'") == [
        (str(START),)
    ]
    # no .ics for 2019 went out: every attachment is a date the ladder is at now
    for message in maildir_messages(maildir):
        (attachment,) = list(message.iter_attachments())
        body = attachment.get_content()
        assert "DTSTART;VALUE=DATE:2025" in (body if isinstance(body, str) else body.decode())


def test_daily_runs_send_each_step_once_then_nothing_more(programme: Cli, tmp_path: Path):
    maildir = tmp_path / "Maildir"
    totals = [run(programme, maildir, START + timedelta(days=d))["sent"] for d in range(100)]
    assert totals[0] == len(FIRST_RUN)
    rows = [r for r in reminder_rows(programme.url) if r.status == "sent"]
    keys = [(r.external_id, r.due, r.step) for r in rows]
    assert len(keys) == len(set(keys)) == sum(totals)  # each (patient, due, step) at most once
    messages = maildir_messages(maildir)
    assert len(messages) == len({m["Message-ID"] for m in messages}) == sum(totals)
    contacts = sql(
        programme.url,
        "SELECT p.external_id, c.date FROM contacts c JOIN patients p ON p.id = c.patient_id "
        "WHERE c.outcome = 'email-sent' ORDER BY c.date, c.id",
    )
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    by_patient: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        by_patient[row.external_id].append(row.step)
    for patient, day in contacts:  # one contact per e-mail, dated the day of its run
        found[patient].append((str(day)[:10], by_patient[patient][len(found[patient])]))
    assert dict(found) == EXPECTED
    overdue = defaultdict(int)
    for patient, step in sent_steps(programme.url):
        overdue[patient] += step.startswith("overdue")
    assert max(overdue.values()) == 3  # and then they stop


def test_an_email_is_a_contact_not_a_call(programme: Cli, tmp_path: Path):
    run(programme, tmp_path / "Maildir", START)
    listed = json.loads(programme("contact", "list", "T1", "--format", "json").stdout)
    assert [(c["date"], c["outcome"]) for c in listed] == [(str(START), "email-sent")]
    due = json.loads(programme("due", "--as-of", str(START), "--format", "json").stdout)
    assert {r["patient_id"]: r["last_contact"] for r in due}["T1"] == str(START)
    to_call = programme("due", "--to-call", "--as-of", str(START), "--format", "json").stdout
    assert "T1" in {r["patient_id"] for r in json.loads(to_call)}  # she is still to be called


def test_a_scheduled_patient_gets_none_until_she_misses_it(programme: Cli, tmp_path: Path):
    maildir = tmp_path / "Maildir"
    for offset in range(26):  # booked for 2025-06-20, scheduled through 2025-06-27
        run(programme, maildir, START + timedelta(days=offset))
    assert "s1@example.org" not in {m["To"] for m in maildir_messages(maildir)}
    assert run(programme, maildir, date(2025, 6, 28))["sent"] == 1
    assert ("S1", "overdue-1") in sent_steps(programme.url)


def test_closing_or_booking_after_queueing_withdraws_the_reminder(programme: Cli, tmp_path):
    """A reminder queued by a run that then lost its transport is not sent once she is
    closed or booked: it is withdrawn when it is claimed."""
    from followup.rules import DEFAULT_POLICY
    from followup.store.database import open_database
    from followup.store.reminders import queue

    database = open_database(programme.url)
    with database.transaction() as session:
        queue(session, START, None, DEFAULT_POLICY, "example.org")
    database.close()
    programme("patient", "close", "T1", "--reason", "moved-away", "--date", str(START))
    programme("contact", "T2", "--outcome", "scheduled", "--date", str(START),
              "--appointment", "2025-06-10")  # fmt: skip
    summary = run(programme, tmp_path / "Maildir", START)
    assert (summary["sent"], summary["withdrawn"]) == (2, 2)
    withdrawn = {r.external_id: r.last_error for r in reminder_rows(programme.url)
                 if r.status == "withdrawn"}  # fmt: skip
    assert withdrawn == {
        "T1": "withdrawn: her tracking is closed",
        "T2": "withdrawn: she is scheduled",
    }


def test_deceased_never_again_even_after_a_reopen(programme: Cli, tmp_path: Path):
    maildir = tmp_path / "Maildir"
    programme("patient", "close", "U1", "--reason", "deceased", "--date", "2025-05-31")
    programme("patient", "reopen", "U1", "--date", "2025-06-01")
    # even if her reminders were switched on behind followup's back (an import, SQL)
    sql(programme.url, "UPDATE patients SET reminders = TRUE WHERE external_id = 'U1'")
    for day in (START, date(2025, 6, 23)):
        run(programme, maildir, day)
    dry = programme("remind", "--dry-run", "--as-of", "2025-06-23", "--format", "json").stdout
    assert "U1" not in {r["patient_id"] for r in json.loads(dry)}
    assert "u1@example.org" not in {m["To"] for m in maildir_messages(maildir)}


def test_days_ahead_moves_the_upcoming_step_for_one_run(programme: Cli, tmp_path: Path):
    dry = programme("remind", "--dry-run", "--as-of", str(START), "--days-ahead", "50",
                    "--format", "json").stdout  # fmt: skip
    upcoming = {r["patient_id"] for r in json.loads(dry) if r["step"] == "upcoming"}
    assert upcoming == {"U1", "U2"}  # U2 is due in 45 days
    shown = " ".join(programme("remind", "--help").stdout.split())
    assert "Default: the policy's reminder_days_before" in shown


def test_a_mistyped_database_fails_loudly_in_one_line(tmp_path: Path):
    """As cron runs it: FOLLOWUP_DB pointing nowhere is an error, not a run sending nothing."""
    import os
    import subprocess
    import sys

    typo = tmp_path / "nowhere" / "clinic.db"
    env = {**os.environ, "FOLLOWUP_DB": str(typo), "FOLLOWUP_POLICY": ""}
    done = subprocess.run(
        [sys.executable, "-m", "followup", "remind", "--transport", f"maildir:{tmp_path / 'md'}"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and f"there is no database at {typo}" in done.stderr
    assert not typo.parent.exists()
