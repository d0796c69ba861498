"""``followup calendar`` and followup.ics: an all-day event with a reminder and a stable UID
that gives away neither the patient nor the diagnosis."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar

from followup import rules
from followup.ics import follow_up_calendar, follow_up_uid
from tests.conftest import Cli, probably_benign_exam

AS_OF = "2025-03-01"


def event_of(data: bytes | str):  # type: ignore[no-untyped-def]
    calendar = Calendar.from_ical(data)
    (event,) = calendar.walk("VEVENT")
    return event


def test_all_day_event_with_alarm():
    due = date(2025, 7, 31)
    data = follow_up_calendar(follow_up_uid(7, due), due, location="Northside Imaging")
    event = event_of(data)
    assert event.decoded("dtstart") == due  # a date, not a datetime: all day
    assert not isinstance(event.decoded("dtstart"), type(event.decoded("dtstamp")))
    assert event.decoded("dtend") == due + timedelta(days=1)
    assert str(event["location"]) == "Northside Imaging"
    (alarm,) = event.walk("VALARM")
    assert str(alarm["action"]) == "DISPLAY"
    assert alarm.decoded("trigger") == timedelta(days=-7)
    assert b"DTSTART;VALUE=DATE:20250731" in data
    assert data == follow_up_calendar(follow_up_uid(7, due), due, location="Northside Imaging")


def test_uid_is_stable_and_opaque():
    due = date(2025, 7, 31)
    uid = follow_up_uid(42, due)
    assert uid == follow_up_uid(42, due)
    assert uid != follow_up_uid(42, due + timedelta(days=1))
    assert uid != follow_up_uid(43, due)
    assert uid != follow_up_uid(42, due, secret="site secret")
    assert uid.endswith("@followup") and "42" not in uid.split("@")[0][:2]
    assert len(uid.split("@")[0]) == 64


def test_negative_alarm_is_refused():
    with pytest.raises(ValueError, match="alarm_days_before"):
        follow_up_calendar("x@followup", date(2025, 1, 1), alarm_days_before=-1)


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
def test_nothing_to_schedule(patients: Cli, patient: str, message: str):
    result = patients("calendar", patient, code=1)
    assert message in result.stderr
    assert result.stdout == ""
