"""``followup calendar`` and followup.ics: one all-day event per patient with a reminder, a
stable UID that gives away neither the patient nor the diagnosis, updated in place (SEQUENCE)
when her follow-up moves, is booked or has nothing left to schedule (issue 14 point 8)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar

from followup import rules
from followup.ics import CalendarEvent, EventKind, Revision, calendar_uid, event_calendar
from tests.conftest import Cli, probably_benign_exam

AS_OF = "2025-03-01"
STAMP = datetime(2025, 2, 1, 9, 30)


def calendar_of(data: bytes | str):  # type: ignore[no-untyped-def]
    return Calendar.from_ical(data)


def event_of(data: bytes | str):  # type: ignore[no-untyped-def]
    (event,) = calendar_of(data).walk("VEVENT")
    return event


def follow_up(day: date, sequence: int = 0, place: str | None = "Northside Imaging") -> Revision:
    return Revision(CalendarEvent(EventKind.FOLLOW_UP, day, place), sequence, STAMP)


def test_all_day_event_with_alarm():
    due = date(2025, 7, 31)
    data = event_calendar(calendar_uid(7), follow_up(due))
    event = event_of(data)
    assert event.decoded("dtstart") == due  # a date, not a datetime: all day
    assert not isinstance(event.decoded("dtstart"), type(event.decoded("dtstamp")))
    assert event.decoded("dtend") == due + timedelta(days=1)
    assert str(event["location"]) == "Northside Imaging"
    assert (event["sequence"], str(event["status"])) == (0, "CONFIRMED")
    assert b"DTSTAMP:20250201T093000Z" in data
    (alarm,) = event.walk("VALARM")
    assert str(alarm["action"]) == "DISPLAY"
    assert alarm.decoded("trigger") == timedelta(days=-7)
    assert b"DTSTART;VALUE=DATE:20250731" in data and b"METHOD:PUBLISH" in data
    assert data == event_calendar(calendar_uid(7), follow_up(due))


def test_a_cancellation_names_the_event_it_cancels_and_nothing_else():
    revision = Revision(follow_up(date(2025, 7, 31)).event.cancelled(), 3, STAMP)
    data = event_calendar(calendar_uid(7), revision)
    event = event_of(data)
    assert str(calendar_of(data)["method"]) == "CANCEL"
    assert (str(event["status"]), event["sequence"]) == ("CANCELLED", 3)
    assert event.decoded("dtstart") == date(2025, 7, 31) and not event.walk("VALARM")
    assert str(event["uid"]) == calendar_uid(7)


def test_uid_is_one_per_patient_stable_and_opaque():
    uid = calendar_uid(42)
    assert uid == calendar_uid(42)
    assert uid != calendar_uid(43)
    assert uid != calendar_uid(42, secret="site secret")
    assert uid.endswith("@followup") and "42" not in uid.split("@")[0][:2]
    assert len(uid.split("@")[0]) == 64


def test_negative_alarm_is_refused():
    with pytest.raises(ValueError, match="alarm_days_before"):
        event_calendar("x@followup", follow_up(date(2025, 1, 1)), alarm_days_before=-1)


@pytest.fixture
def patients(cli: Cli) -> Cli:
    cli("patient", "add", "P1", "--name", "Ana Silva")
    probably_benign_exam(cli, "P1", "2025-01-31")
    cli("patient", "add", "P2")
    cli(
        "exam",
        "add",
        "P2",
        "--date",
        "2025-01-10",
        "--facility",
        "Northside Imaging",
        "--category",
        "6",
    )
    cli("patient", "add", "P3")
    return cli


def test_calendar_file_matches_the_plan(patients: Cli, tmp_path: Path):
    target = tmp_path / "next.ics"
    patients("calendar", "P1", "-o", str(target), "--as-of", AS_OF)
    assert os.stat(target).st_mode & 0o777 == 0o600
    data = target.read_bytes()
    event = event_of(data)
    status = json.loads(patients("status", "P1", "--as-of", AS_OF, "--format", "json").stdout)
    assert event.decoded("dtstart").isoformat() == status["next"]["due"] == "2025-07-31"
    assert event.walk("VALARM")
    again = patients("calendar", "P1", "--as-of", AS_OF).stdout_bytes
    assert str(event_of(again)["uid"]) == str(event["uid"])  # stable across runs
    assert again == data  # byte for byte, CRLF line ends included


def test_calendar_says_nothing_about_the_diagnosis(patients: Cli):
    text = patients("calendar", "P1", "--as-of", AS_OF).stdout
    event = event_of(text)
    summary = str(event["summary"])
    assert summary == "Mammogram follow-up"
    shown = " ".join([summary, str(event["description"]), str(event["uid"])]).lower()
    for secret in ("p1", "ana", "silva", "bi-rads", "short-interval", "left"):
        assert secret not in shown
    for category in rules.Category:
        assert category.value not in shown


def test_alarm_days_option(patients: Cli):
    event = event_of(patients("calendar", "P1", "--alarm-days", "14").stdout)
    assert event.walk("VALARM")[0].decoded("trigger") == timedelta(days=-14)


def test_past_due_date_warns(patients: Cli):
    result = patients("calendar", "P1", "--as-of", "2025-08-10")
    assert "due 10 days ago" in result.stderr
    assert event_of(result.stdout).decoded("dtstart") == date(2025, 7, 31)


@pytest.mark.parametrize(
    ("patient", "message"),
    [
        ("P2", "has no follow-up date"),  # treatment: out of interval tracking
        ("P3", "no exam is recorded"),
        ("P9", "no patient with id 'P9'"),
    ],
)
def test_nothing_to_schedule_and_never_given_an_event(patients: Cli, patient: str, message: str):
    """Nothing is in her calendar to update or cancel: an error, as before."""
    result = patients("calendar", patient, code=1)
    assert message in result.stderr
    assert result.stdout == ""


# -- one event per patient, updated in place (issue 14 point 8) ------------------------------


def ics(cli: Cli, *args: str) -> bytes:
    return cli("calendar", "P1", "--as-of", AS_OF, *args).stdout_bytes


def summary_of(data: bytes) -> tuple:
    """(method, uid, sequence, status, day, location, title) of the file's one event."""
    event = event_of(data)
    location = str(event["location"]) if "location" in event else None
    return (
        str(calendar_of(data)["method"]),
        str(event["uid"]),
        event["sequence"],
        str(event["status"]),
        event.decoded("dtstart").isoformat(),
        location,
        str(event["summary"]),
    )


def test_a_new_due_date_updates_her_one_event(patients: Cli):
    """The old design hashed the due date into the UID: a new due date was a second event,
    and the old one stayed in her calendar. Now the same UID, one more SEQUENCE."""
    first = ics(patients)
    method, uid, sequence, _, day, _, _ = summary_of(first)
    assert (method, sequence, day) == ("PUBLISH", 0, "2025-07-31")
    patients("exam", "add", "P1", "--date", "2025-07-25", "--facility", "Southside Clinic",
             "--category", "benign", "--laterality", "left", "--kind", "diagnostic")  # fmt: skip
    moved = ics(patients)
    assert summary_of(moved)[1:6] == (uid, 1, "CONFIRMED", "2026-07-25", "Southside Clinic")
    assert event_of(moved).decoded("dtstamp") >= event_of(first).decoded("dtstamp")
    assert ics(patients) == moved  # unchanged: the same revision, the same bytes
    assert summary_of(ics(patients, "--alarm-days", "3"))[2] == 1  # the alarm is hers to set


def test_a_booked_appointment_is_the_event(patients: Cli):
    ics(patients)
    patients("contact", "P1", "--outcome", "scheduled", "--date", "2025-02-20",
             "--appointment", "2025-07-20", "--at", "Southside Clinic")  # fmt: skip
    booked = ics(patients)
    assert summary_of(booked)[2:] == (
        1, "CONFIRMED", "2025-07-20", "Southside Clinic", "Mammogram appointment"
    )  # fmt: skip
    assert "booked" in str(event_of(booked)["description"])
    # once it is missed (7 grace days), the due date is the event again: one more revision
    missed = patients("calendar", "P1", "--as-of", "2025-07-28").stdout_bytes
    assert summary_of(missed)[2:5] == (2, "CONFIRMED", "2025-07-31")


def test_closing_cancels_the_event_and_a_reopen_brings_it_back(patients: Cli):
    uid = summary_of(ics(patients))[1]
    patients("patient", "close", "P1", "--reason", "deceased", "--date", "2025-02-20")
    result = patients("calendar", "P1", "--as-of", AS_OF)
    assert "cancels the event of 2025-07-31" in result.stderr
    cancelled = result.stdout_bytes
    assert summary_of(cancelled)[:6] == (
        "CANCEL", uid, 1, "CANCELLED", "2025-07-31", "Northside Imaging"
    )  # fmt: skip
    text = cancelled.decode().lower()
    assert "deceased" not in text and "closed" not in text  # no reason is given away
    assert ics(patients) == cancelled  # cancelled once, not again and again
    patients("patient", "reopen", "P1", "--date", "2025-02-21")
    assert summary_of(ics(patients))[:5] == ("PUBLISH", uid, 2, "CONFIRMED", "2025-07-31")


def test_treatment_cancels_the_follow_up_event(patients: Cli):
    uid = summary_of(ics(patients))[1]
    patients("exam", "add", "P1", "--date", "2025-02-15", "--facility", "Northside Imaging",
             "--category", "6", "--laterality", "left")  # fmt: skip
    assert summary_of(ics(patients))[:4] == ("CANCEL", uid, 1, "CANCELLED")


def test_khal_keeps_one_event_at_the_new_date(patients: Cli, tmp_path: Path):
    """Two successive files imported into khal (a vdir calendar): one event remains, at the
    new date; then the cancellation marks it cancelled."""
    khal = shutil.which("khal")
    if khal is None:
        pytest.skip("khal is not installed (apt-get install khal): the import is not checked")
    vdir = tmp_path / "calendar"
    vdir.mkdir()
    config = tmp_path / "khal.conf"
    config.write_text(
        f"[calendars]\n[[mammo]]\npath = {vdir}\ntype = calendar\n"
        f"[sqlite]\npath = {tmp_path / 'khal.db'}\n"
        "[locale]\ntimeformat = %H:%M\ndateformat = %Y-%m-%d\nlongdateformat = %Y-%m-%d\n"
        "datetimeformat = %Y-%m-%d %H:%M\nlongdatetimeformat = %Y-%m-%d %H:%M\n",
        encoding="utf-8",
    )
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "TZ": "UTC"}  # fmt: skip

    def khal_run(*args: str) -> str:
        done = subprocess.run(
            [khal, "-c", str(config), *args], capture_output=True, text=True, env=env,
            timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    def imported(data: bytes, name: str) -> list[str]:
        path = tmp_path / name
        path.write_bytes(data)
        khal_run("import", "--batch", "-a", "mammo", str(path))
        shown = "{start-date} {title} {cancelled}"
        listed = khal_run("list", "--day-format", "", "--format", shown, "2024-01-01", "2027-12-31")
        return [line.strip() for line in listed.splitlines() if line.strip()]

    assert imported(ics(patients), "first.ics") == ["2025-07-31 Mammogram follow-up"]
    patients("exam", "add", "P1", "--date", "2025-07-25", "--facility", "Southside Clinic",
             "--category", "benign", "--laterality", "left", "--kind", "diagnostic")  # fmt: skip
    assert imported(ics(patients), "moved.ics") == ["2026-07-25 Mammogram follow-up"]
    assert len(list(vdir.glob("*.ics"))) == 1
    patients("patient", "close", "P1", "--reason", "moved-away", "--date", "2025-07-26")
    assert imported(ics(patients), "cancelled.ics") == ["2026-07-25 Mammogram follow-up CANCELLED"]
    assert len(list(vdir.glob("*.ics"))) == 1


def test_the_reminder_attachment_is_the_calendar_file(cli: Cli, tmp_path: Path):
    """The e-mail's .ics and `followup calendar` give her the same event, same revision."""
    from remind_support import mail_env, maildir_messages

    mcli = Cli(cli.url, env=mail_env(tmp_path))
    mcli("patient", "add", "P1", "--email", "p1@example.org")
    mcli("exam", "add", "P1", "--date", "2024-06-20", "--facility", "Northside Imaging",
         "--category", "negative")  # fmt: skip
    mcli("remind", "--as-of", "2025-06-02", "--transport", f"maildir:{tmp_path / 'Maildir'}")
    (message,) = maildir_messages(tmp_path / "Maildir")
    (attachment,) = list(message.iter_attachments())
    attached = attachment.get_content()
    attached = attached if isinstance(attached, bytes) else attached.encode()
    assert attached == mcli("calendar", "P1", "--as-of", "2025-06-02").stdout_bytes
    assert summary_of(attached)[2:5] == (0, "CONFIRMED", "2025-06-20")
