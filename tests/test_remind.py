"""``followup remind`` into a real Maildir, on SQLite and PostgreSQL: what is sent, once."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import Cli
from remind_support import (
    AS_OF,
    load_due_patients,
    mail_env,
    maildir_messages,
    reminder_rows,
)


@pytest.fixture
def mcli(db_url: str, tmp_path: Path) -> Cli:
    return Cli(db_url, env=mail_env(tmp_path))


def add(cli: Cli, patient: str, *exams: tuple[str, str, str], email: str | None = None) -> None:
    """A patient and her exams: (date, facility, category)."""
    extra = ["--email", email] if email else []
    cli("patient", "add", patient, "--name", f"Name of {patient}", *extra)
    for day, facility, category in exams:
        cli("exam", "add", patient, "--date", day, "--facility", facility, "--category", category)


def remind(cli: Cli, maildir: Path, *args: str, code: int = 0) -> dict:
    result = cli(
        "remind", "--transport", f"maildir:{maildir}", "--format", "json", *args, code=code
    )
    return json.loads(result.stdout)


def test_upcoming_and_overdue_sent_once_with_neutral_subject(mcli: Cli, tmp_path: Path):
    maildir = tmp_path / "Maildir"
    add(mcli, "P1", ("2024-06-20", "Northside Imaging", "negative"), email="p1@example.org")
    # due the day before: the first overdue step falls today
    add(mcli, "P2", ("2024-06-01", "Northside Imaging", "negative"), email="p2@example.org")
    add(mcli, "P3", ("2024-11-02", "Northside Imaging", "negative"), email="p3@example.org")
    summary = remind(mcli, maildir, "--as-of", "2025-06-02")
    assert (summary["due"], summary["new"]) == (2, 2)
    assert (summary["sent"], summary["failed"], summary["pending"]) == (2, 0, 0)
    messages = maildir_messages(maildir)
    assert sorted(m["To"] for m in messages) == ["p1@example.org", "p2@example.org"]
    for message in messages:
        assert message["Subject"] == "Your mammogram follow-up reminder"
        assert message["Auto-Submitted"] == "auto-generated"
    bodies = {m["To"]: m.get_body(("plain",)).get_content() for m in messages}
    assert "(mammogram-follow-up.ics) puts the date in your calendar" in bodies["p1@example.org"]
    overdue = bodies["p2@example.org"]  # its event is the due date that passed: no new date
    assert "keeps this follow-up in your calendar" in overdue and "puts the date" not in overdue
    again = remind(mcli, maildir, "--as-of", "2025-06-02")
    assert (again["new"], again["sent"], again["already_sent"]) == (0, 0, 2)
    assert len(maildir_messages(maildir)) == 2
    steps = {(r.external_id, r.step, r.status) for r in reminder_rows(mcli.url)}
    assert steps == {("P1", "upcoming", "sent"), ("P2", "overdue-1", "sent")}


def test_the_ladder_sends_each_step_once_then_stops(mcli: Cli, tmp_path: Path):
    """§7: upcoming 30 days before, overdue 1, 30 and 60 days after, then nothing more for
    that due date however long she stays overdue (it repeated every 30 days, forever)."""
    maildir = tmp_path / "Maildir"
    add(mcli, "P1", ("2024-05-01", "Northside Imaging", "negative"), email="p1@example.org")
    due = AS_OF.replace(month=5, day=1)  # 12 months after the exam
    days = (-31, -30, -5, 0, 1, 2, 29, 30, 31, 59, 60, 61, 90, 120, 365)
    sent = [remind(mcli, maildir, "--as-of", str(due + timedelta(days=d)))["sent"] for d in days]
    assert sent == [0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0]
    rows = reminder_rows(mcli.url)
    assert [r.step for r in rows] == ["upcoming", "overdue-1", "overdue-2", "overdue-3"]
    assert len({r.message_id for r in rows}) == 4
    assert len(maildir_messages(maildir)) == 4


def test_dry_run_lists_and_records_nothing(mcli: Cli, tmp_path: Path):
    add(mcli, "P1", ("2024-06-20", "Northside Imaging", "negative"), email="p1@example.org")
    add(mcli, "P2", ("2024-06-21", "Northside Imaging", "negative"))
    result = mcli("remind", "--dry-run", "--as-of", "2025-06-02", "--format", "json")
    listed = json.loads(result.stdout)
    assert listed == [
        {
            "patient_id": "P1",
            "due": "2025-06-20",
            "step": "upcoming",
            "kind": "upcoming",
            "email": "p1@example.org",
            "state": "new",
        }
    ]
    assert "skipped 1 (no e-mail address 1" in result.stderr
    assert reminder_rows(mcli.url) == []
    assert not (tmp_path / "Maildir").exists()


def test_patients_without_address_or_opted_out_are_skipped_and_counted(mcli: Cli, tmp_path):
    add(mcli, "P1", ("2024-06-20", "Northside Imaging", "negative"))
    add(mcli, "P2", ("2024-06-20", "Northside Imaging", "negative"), email="p2@example.org")
    mcli("patient", "edit", "P2", "--no-reminders")
    add(mcli, "P3", ("2024-06-20", "Northside Imaging", "negative"), email="p3@example.org")
    summary = remind(mcli, tmp_path / "Maildir", "--as-of", "2025-06-02")
    assert summary["sent"] == 1
    assert (summary["skipped"], summary["skipped_no_address"]) == (2, 1)
    assert summary["skipped_reminders_off"] == 1
    assert [r.external_id for r in reminder_rows(mcli.url)] == ["P3"]


def test_days_ahead_limits_upcoming_reminders(mcli: Cli, tmp_path: Path):
    add(mcli, "P1", ("2024-06-20", "Northside Imaging", "negative"), email="p1@example.org")
    summary = remind(mcli, tmp_path / "Maildir", "--as-of", "2025-06-02", "--days-ahead", "7")
    assert summary["sent"] == 0
    summary = remind(mcli, tmp_path / "Maildir", "--as-of", "2025-06-02", "--days-ahead", "18")
    assert summary["sent"] == 1


def test_letter_says_what_and_where_without_diagnosis(mcli: Cli, tmp_path: Path):
    maildir = tmp_path / "Maildir"
    add(
        mcli,
        "P1",
        ("2023-03-01", "Southside Clinic", "negative"),
        ("2025-05-20", "Northside Imaging", "BI-RADS 4"),
        email="p1@example.org",
    )
    remind(mcli, maildir, "--as-of", "2025-06-02")
    (message,) = maildir_messages(maildir)
    body = message.get_body(("plain",)).get_content()
    text = message.as_string().lower()
    for word in ("biopsy", "suspicious", "bi-rads", "malignan", "cancer", "name of p1", "p1 "):
        assert word not in text, word
    assert "the appointment your care team recommended" in body
    assert "It is due by Thursday, June 19, 2025 (in 17 days)." in body  # the letters' words
    assert "Your last mammogram was at Northside Imaging on Tuesday, May 20, 2025." in body
    assert "bring your earlier mammograms" in body  # facility-switch: films are elsewhere
    assert body.startswith("Hello,\n\nThis is a reminder about your next breast imaging")
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    ics = attachment.get_content()
    ics = ics.decode() if isinstance(ics, bytes) else ics
    calendar = mcli("calendar", "P1").stdout
    uid = next(
        line for line in calendar.replace("\r\n ", "").splitlines() if line.startswith("UID")
    )
    assert uid in ics.replace("\r\n ", "")
    assert "SUMMARY:Mammogram follow-up" in ics
    assert "DTSTART;VALUE=DATE:20250619" in ics


def test_message_id_is_stable_and_reveals_nothing(mcli: Cli, tmp_path: Path):
    add(mcli, "P1", ("2024-06-20", "Northside Imaging", "negative"), email="p1@example.org")
    remind(mcli, tmp_path / "Maildir", "--as-of", "2025-06-02")
    (row,) = reminder_rows(mcli.url)
    (message,) = maildir_messages(tmp_path / "Maildir")
    assert message["Message-ID"] == row.message_id
    assert row.message_id.startswith("<") and row.message_id.endswith("@localhost>")
    assert "P1" not in row.message_id and "example" not in row.message_id


def test_changed_plan_withdraws_a_pending_reminder(mcli: Cli, tmp_path: Path):
    from followup.rules import DEFAULT_POLICY
    from followup.store.database import open_database
    from followup.store.reminders import queue

    add(mcli, "P1", ("2024-06-20", "Northside Imaging", "negative"), email="p1@example.org")
    database = open_database(mcli.url)
    with database.transaction() as session:  # queued by a run that then lost its transport
        queue(session, AS_OF, 30, DEFAULT_POLICY, "example.org")
    database.close()
    mcli("exam", "add", "P1", "--date", "2025-06-01", "--facility", "Northside Imaging",
         "--category", "negative")  # fmt: skip
    summary = remind(mcli, tmp_path / "Maildir", "--as-of", "2025-06-02")
    assert (summary["sent"], summary["withdrawn"], summary["pending"]) == (0, 1, 0)
    (row,) = reminder_rows(mcli.url)
    assert (row.status, row.last_error) == ("withdrawn", "withdrawn: the follow-up date changed")
    assert maildir_messages(tmp_path / "Maildir") == []


def test_reminders_turned_off_withdraw_a_pending_one_and_on_again_revive_it(mcli, tmp_path):
    from followup.rules import DEFAULT_POLICY
    from followup.store.database import open_database
    from followup.store.reminders import queue

    add(mcli, "P1", ("2024-06-20", "Northside Imaging", "negative"), email="p1@example.org")
    database = open_database(mcli.url)
    with database.transaction() as session:  # queued by a run that then lost its transport
        queue(session, AS_OF, 30, DEFAULT_POLICY, "example.org")
    database.close()
    mcli("patient", "edit", "P1", "--no-reminders")
    summary = remind(mcli, tmp_path / "Maildir", "--as-of", "2025-06-02")
    assert (summary["sent"], summary["withdrawn"], summary["skipped_reminders_off"]) == (0, 1, 1)
    assert [r.last_error for r in reminder_rows(mcli.url)] == [
        "withdrawn: reminders were turned off"
    ]
    mcli("patient", "edit", "P1", "--reminders")
    listed = mcli("remind", "--dry-run", "--as-of", "2025-06-02", "--format", "csv").stdout
    assert listed.splitlines()[1].endswith(",retry")
    summary = remind(mcli, tmp_path / "Maildir", "--as-of", "2025-06-02")
    assert (summary["sent"], summary["pending"]) == (1, 0)
    assert [(r.status, r.last_error) for r in reminder_rows(mcli.url)] == [("sent", None)]


@pytest.mark.parametrize(
    ("transport", "message"),
    [
        (None, "no mail transport is set"),
        ("ftp://host", "unknown mail transport"),
        ("smtp://user:secret@127.0.0.1:25", "put no user or password in the transport URL"),
        ("smtp://127.0.0.1:1", "no sender address is set"),
        ("maildir:", "maildir: needs a folder"),
        ("maildir:/proc/no/such/dir", "cannot use the Maildir"),
    ],
)
def test_bad_transport_is_an_error_before_anything_is_recorded(mcli, transport, message):
    add(mcli, "P1", ("2024-06-20", "Northside Imaging", "negative"), email="p1@example.org")
    args = ["--transport", transport] if transport else []
    result = mcli("remind", "--as-of", "2025-06-02", *args, code=1)
    assert message in result.stderr and "nothing was sent" in result.stderr
    assert "secret" not in result.stderr
    assert reminder_rows(mcli.url) == []


def test_unreachable_smtp_server_is_an_error_before_anything_is_recorded(
    sqlite_url: str, tmp_path: Path
):
    from remind_support import free_port

    cli = Cli(sqlite_url, env=mail_env(tmp_path, FOLLOWUP_SMTP_FROM="f@example.org"))
    add(cli, "P1", ("2024-06-20", "Northside Imaging", "negative"), email="p1@example.org")
    result = cli("remind", "--transport", f"smtp://127.0.0.1:{free_port()}", code=1)
    assert "cannot use smtp://127.0.0.1" in result.stderr
    assert reminder_rows(sqlite_url) == []


def _config(tmp_path: Path, text: str, mode: int) -> Path:
    path = tmp_path / "followup.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_config_file_with_password_readable_by_others_is_refused(sqlite_url, tmp_path):
    path = _config(tmp_path, '[smtp]\nurl = "smtp://127.0.0.1:2525"\npassword = "pw"\n', 0o644)
    cli = Cli(sqlite_url, env=mail_env(tmp_path, FOLLOWUP_CONFIG=str(path)))
    result = cli("remind", code=1)
    assert f"run `chmod 600 {path}`" in result.stderr
    assert "pw" not in result.stderr.replace("password", "")


def test_config_file_supplies_the_transport_and_environment_overrides_it(sqlite_url, tmp_path):
    config_dir = tmp_path / "config" / "followup"
    config_dir.mkdir(parents=True)
    maildir = tmp_path / "from-config"
    (config_dir / "config.toml").write_text(
        f'[smtp]\nurl = "maildir:{maildir}"\nfrom = "Clinic <clinic@example.org>"\n'
    )
    cli = Cli(sqlite_url, env=mail_env(tmp_path))
    add(cli, "P1", ("2024-06-20", "Northside Imaging", "negative"), email="p1@example.org")
    cli("remind", "--as-of", "2025-06-02")
    (message,) = maildir_messages(maildir)
    assert message["From"] == "Clinic <clinic@example.org>"
    assert message["Message-ID"].endswith("@example.org>")
    override = tmp_path / "from-env"
    cli.env["FOLLOWUP_SMTP_URL"] = f"maildir:{override}"
    add(cli, "P2", ("2024-06-21", "Northside Imaging", "negative"), email="p2@example.org")
    cli("remind", "--as-of", "2025-06-02")
    assert [m["To"] for m in maildir_messages(override)] == ["p2@example.org"]


def test_bulk_due_patients_all_get_one_reminder(db_url: str, tmp_path: Path):
    load_due_patients(db_url, 200, overdue_every=7)
    cli = Cli(db_url, env=mail_env(tmp_path))
    summary = remind(cli, tmp_path / "Maildir", "--as-of", str(AS_OF))
    assert summary["sent"] == 200
    ids = [m["Message-ID"] for m in maildir_messages(tmp_path / "Maildir")]
    assert len(ids) == len(set(ids)) == 200
    rows = reminder_rows(db_url)
    assert sum(r.step == "overdue-1" for r in rows) == len(range(0, 200, 7))


def _expire_leases(url: str, worker: str) -> None:
    """As if ``worker`` had died a while ago: its claims' leases ran out."""
    from sqlalchemy import update

    from followup.store.database import open_database
    from followup.store.models import Reminder

    database = open_database(url)
    with database.transaction() as session:
        session.execute(
            update(Reminder)
            .where(Reminder.claimed_by == worker)
            .values(claimed_until=Reminder.claimed_at - timedelta(minutes=5))
        )
    database.close()


def test_a_claim_is_taken_over_only_once_its_lease_expired(db_url: str):
    """Whoever holds a claim, on whatever host or PID namespace: it is taken over only after
    its lease ran out unrenewed, never because its pid looks dead from here."""
    from followup.rules import DEFAULT_POLICY
    from followup.store.database import open_database
    from followup.store.reminder_claims import claim, release_expired, renew, worker_id
    from followup.store.reminders import queue

    load_due_patients(db_url, 3)
    dead_looking = "this-host:999999999:abcd"  # a pid that exists nowhere
    database = open_database(db_url)
    try:
        with database.transaction() as session:
            queue(session, AS_OF, 30, DEFAULT_POLICY, "example.org")
            assert len(claim(session, dead_looking, limit=2)) == 2
            assert [c.id for c in claim(session, worker_id())] == [3]
        with database.transaction() as session:
            assert release_expired(session) == 0
            assert claim(session, worker_id()) == []  # all three held under live leases
            assert renew(session, dead_looking) == 2
        _expire_leases(db_url, dead_looking)
        with database.transaction() as session:
            assert [c.id for c in claim(session, "a-third-run")] == [1, 2]
        _expire_leases(db_url, "a-third-run")
        with database.transaction() as session:
            assert release_expired(session) == 2
    finally:
        database.close()
    assert [r.status for r in reminder_rows(db_url)] == ["pending", "pending", "sending"]


def test_the_lease_keeper_renews_the_claims_of_a_live_run(sqlite_url: str):
    from sqlalchemy import select

    from followup.rules import DEFAULT_POLICY
    from followup.store.database import open_database
    from followup.store.models import Reminder
    from followup.store.reminder_claims import LeaseKeeper, worker_id
    from followup.store.reminders import queue

    load_due_patients(sqlite_url, 2)
    database = open_database(sqlite_url)

    def leases() -> list:
        with database.transaction(write=False) as session:
            return list(session.scalars(select(Reminder.claimed_until).order_by(Reminder.id)))

    try:
        with database.transaction() as session:
            queue(session, AS_OF, 30, DEFAULT_POLICY, "example.org")
        with LeaseKeeper(database, worker_id(), every=timedelta(milliseconds=20)) as keeper:
            assert len(keeper.claim()) == 2
            first = leases()
            deadline = time.monotonic() + 10
            while leases() == first and time.monotonic() < deadline:
                time.sleep(0.02)
            renewed = leases()
            assert keeper.held()
        assert all(later > earlier for later, earlier in zip(renewed, first, strict=True))
    finally:
        database.close()


def test_maildir_messages_are_private_files_and_tmp_is_left_empty(mcli: Cli, tmp_path: Path):
    """Issue 11 point 1: created 0600 whatever the umask (they were 0644), staged in tmp/."""
    import os
    import stat

    add(mcli, "P1", ("2024-06-20", "Northside Imaging", "negative"), email="p1@example.org")
    add(mcli, "P2", ("2024-06-01", "Northside Imaging", "negative"), email="p2@example.org")
    maildir = tmp_path / "Maildir"
    previous = os.umask(0o022)
    try:
        assert remind(mcli, maildir, "--as-of", "2025-06-02")["sent"] == 2
    finally:
        os.umask(previous)
    files = list((maildir / "new").iterdir())
    assert len(files) == 2
    assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}
    assert list((maildir / "tmp").iterdir()) == []
    assert len({f.name for f in files}) == 2 and all(".M" in f.name for f in files)


def test_a_message_that_cannot_be_written_whole_leaves_no_part(postgres_url: str, tmp_path):
    """A file-size limit below one message's size (a full disk fails alike): the run stops
    with one line, no partial file in tmp/ or new/, every reminder still pending. PostgreSQL,
    so that the limit falls on the Maildir alone (SQLite's files are this process's too)."""
    import sys

    from remind_support import start_remind

    load_due_patients(postgres_url, 3)
    maildir = tmp_path / "Maildir"
    limited = (sys.executable, "-c", "import os, resource, sys; "
               "resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024)); "
               "os.execv(sys.argv[1], sys.argv[1:])")  # fmt: skip
    run = start_remind(postgres_url, mail_env(tmp_path), "--transport", f"maildir:{maildir}",
                       prefix=limited)  # fmt: skip
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 3, stderr
    assert "stopped early: cannot write into" in stderr and "File too large" in stderr
    assert "Traceback" not in stderr
    assert list((maildir / "new").iterdir()) == [] and list((maildir / "tmp").iterdir()) == []
    assert {r.status for r in reminder_rows(postgres_url)} == {"pending"}


def test_a_run_whose_lease_was_not_renewed_stops_holding_it(sqlite_url: str):
    """No renewal within the lease less the margin (the database unreachable): the run must
    not send any more, its claims may be another run's by the time a send ends."""
    from followup.rules import DEFAULT_POLICY
    from followup.store.database import open_database
    from followup.store.reminder_claims import LEASE, LeaseKeeper, worker_id
    from followup.store.reminders import queue

    load_due_patients(sqlite_url, 1)
    database = open_database(sqlite_url)
    try:
        with database.transaction() as session:
            queue(session, AS_OF, 30, DEFAULT_POLICY, "example.org")
        never = timedelta(hours=1)  # no renewal during the test
        with LeaseKeeper(
            database, worker_id(), every=never, margin=LEASE - timedelta(seconds=0.3)
        ) as keeper:
            assert len(keeper.claim()) == 1 and keeper.held()
            time.sleep(0.4)
            assert not keeper.held()
            keeper.claim()  # a claim renews the lease as well
            assert keeper.held()
    finally:
        database.close()
