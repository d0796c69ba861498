"""Issue 11 point 8: what a reminder run shows, and to whom.

A password typed without its quotes is never echoed; a mail server's reply is reported without
the patient's address; the subject and opening lines of every reminder (what a mail preview or
a lock screen shows) are the same whatever is due, and when.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from remind_support import (
    AS_OF,
    Recorder,
    load_due_patients,
    mail_env,
    maildir_messages,
    reminder_rows,
    smtp_server,
)

from followup.present.letter_text import due_phrase
from tests.conftest import Cli

PASSWORD = "918273645"


@pytest.mark.parametrize(
    "written",
    [PASSWORD, f"{PASSWORD}.5", f"[{PASSWORD}]", "true", f"{{ value = {PASSWORD} }}"],
    ids=["integer", "float", "array", "boolean", "table"],
)
def test_a_password_written_without_quotes_is_never_echoed(sqlite_url, tmp_path, written):
    path = tmp_path / "followup.toml"
    path.write_text(f'[smtp]\nurl = "smtp://127.0.0.1:2525"\npassword = {written}\n')
    path.chmod(0o600)
    cli = Cli(sqlite_url, env=mail_env(tmp_path, FOLLOWUP_CONFIG=str(path)))
    result = cli("remind", code=1)
    assert "'password' must be text in quotes" in result.stderr
    assert PASSWORD not in result.stderr and "true" not in result.stderr.replace("password", "")
    assert "nothing was sent" in result.stderr


def test_other_mistyped_settings_still_say_what_they_got(sqlite_url, tmp_path):
    path = tmp_path / "followup.toml"
    path.write_text('[smtp]\nurl = 25\nstarttls = "maybe"\n')
    cli = Cli(sqlite_url, env=mail_env(tmp_path, FOLLOWUP_CONFIG=str(path)))
    assert "'url' must be text in quotes" in cli("remind", code=1).stderr


def test_the_servers_reply_is_reported_without_the_patients_address(db_url: str, tmp_path):
    """Servers quote the recipient (``550 5.1.1 <ana@example.org>: ...``): the run reports the
    reply on stderr and keeps it in the log, both without her address."""
    load_due_patients(db_url, 4)
    recorder = Recorder(
        refuse={"q00001@example.org"},
        refusal="550 5.1.1 <{address}>: Recipient address rejected: User unknown",
        refuse_data={"q00002@example.org"},
        data_refusal="554 5.7.1 Delivery to {address} refused: policy (user q00002)",
    )
    with smtp_server(recorder) as url:
        cli = Cli(db_url, env=mail_env(tmp_path, FOLLOWUP_SMTP_FROM="f@example.org"))
        result = cli("remind", "--as-of", str(AS_OF), "--transport", url, "--format", "json",
                     code=3)  # fmt: skip
    assert json.loads(result.stdout)["failed"] == 2
    errors = {r.external_id: r.last_error for r in reminder_rows(db_url) if r.last_error}
    assert errors == {
        "Q00001": "550 5.1.1 <(the recipient)>: Recipient address rejected: User unknown",
        "Q00002": "554 5.7.1 Delivery to (the recipient) refused: policy (user (the recipient))",
    }
    assert "Recipient address rejected" in result.stderr and "policy" in result.stderr
    for leak in ("q00001", "q00002", "example.org>"):
        assert leak not in result.stderr.lower()


def _add(cli: Cli, patient: str, day: str, category: str, *extra: str) -> None:
    cli("patient", "add", patient, "--email", f"{patient.lower()}@example.org")
    cli("exam", "add", patient, "--date", day, "--facility", "Northside Imaging",
        "--category", category, *extra)  # fmt: skip


def _lines(body: str) -> list[str]:
    return [line for line in body.splitlines() if line.strip()]


def test_subject_and_opening_lines_are_the_same_for_every_action_and_date(
    db_url: str, tmp_path: Path
):
    """What a preview shows (the subject, then the first lines of the body) says nothing of
    what is due or when; what is due is said below it, in the letters' words."""
    cli = Cli(db_url, env=mail_env(tmp_path))
    due = {
        "R1": ("2024-06-20", "negative", "routine-screening"),
        # overdue, each on a day a step of the ladder falls (a first run sends no backlog)
        "R2": ("2024-05-03", "negative", "routine-screening"),  # due 05-03: overdue-2
        "S1": ("2024-12-10", "probably-benign", "short-interval-follow-up"),
        "A1": ("2025-05-10", "incomplete", "additional-imaging"),
        "B1": ("2025-05-20", "suspicious", "biopsy"),
        "A2": ("2025-05-02", "incomplete", "additional-imaging"),  # due 06-01: overdue-1
    }
    for patient, (day, category, _) in due.items():
        _add(cli, patient, day, category, "--kind", "diagnostic", "--laterality", "left")
    maildir = tmp_path / "Maildir"
    cli("remind", "--as-of", str(AS_OF), "--transport", f"maildir:{maildir}")
    messages = {m["To"].split("@")[0].upper(): m for m in maildir_messages(maildir)}
    assert sorted(messages) == sorted(due)
    bodies = {p: m.get_body(("plain",)).get_content() for p, m in messages.items()}
    openings = {tuple(_lines(body)[:3]) for body in bodies.values()}
    assert len(openings) == 1, openings
    (opening,) = openings
    assert not any(char.isdigit() for char in " ".join(opening))
    assert {m["Subject"] for m in messages.values()} == {"Your mammogram follow-up reminder"}
    for patient, (_, _, action) in due.items():
        rest = " ".join(_lines(bodies[patient])[3:])
        assert due_phrase(action) in rest, (patient, action)  # the letters' wording
        assert due_phrase(action) not in " ".join(opening)
