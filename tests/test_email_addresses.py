"""Issue 11 point 2: exactly one valid e-mail address per patient, whatever door it came by.

``patient add``/``edit``, the CSV import and the FHIR import all pass the address through the
store's one check (followup.store.patients.check_email); a reminder to an address stored
before that check fails alone, with its reason, and the run goes on for everyone else.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from remind_support import mail_env, maildir_messages, reminder_rows

from tests.conftest import Cli, probably_benign_exam

BAD = {
    "semicolon list": "a@b.org;evil@x.org",
    "comma list": "a@b.org, c@d.org",
    "no local part": "@b.org",
    "no domain": "a@",
    "two at signs": "a@@b.org",
    "display name": "Ana <a@b.org>",
    "no dot in domain": "a@b",
    "non-ASCII local part": "josé@example.org",
}
LINE_BREAKS = {"CRLF header": "a@b.org\r\nBcc: x@y.org", "LF": "a@b.org\nc@d.org"}


def patient_ids(cli: Cli) -> list[str]:
    return [p["patient_id"] for p in json.loads(cli("patient", "list", "--format", "json").stdout)]


def emails(cli: Cli) -> dict[str, str | None]:
    rows = json.loads(cli("patient", "list", "--format", "json").stdout)
    return {p["patient_id"]: p["email"] for p in rows}


@pytest.mark.parametrize(
    "address", [*BAD.values(), *LINE_BREAKS.values()], ids=[*BAD, *LINE_BREAKS]
)
def test_patient_add_and_edit_refuse_anything_but_one_address(cli: Cli, address: str):
    cli("patient", "add", "P1", "--email", "ana@example.org")
    for args in (["patient", "add", "P2", "--email", address], ["patient", "edit", "P1",
                 "--email", address]):  # fmt: skip
        result = cli(*args, code=1)
        assert "Traceback" not in result.stderr
        assert "not an email address" in result.stderr or "control character" in result.stderr
        assert "\r" not in result.stderr and "\n" not in result.stderr.rstrip("\n")
    assert emails(cli) == {"P1": "ana@example.org"}


def test_one_address_is_kept_as_given_and_sent_to_in_ascii(db_url: str, tmp_path: Path):
    cli = Cli(db_url, env=mail_env(tmp_path))
    cli("patient", "add", "P1", "--email", "  ana.silva+follow-up@example.org ")
    cli("patient", "add", "P2", "--email", "jose@exämple.org")  # a domain in Unicode is fine
    assert emails(cli) == {"P1": "ana.silva+follow-up@example.org", "P2": "jose@exämple.org"}
    cli("exam", "add", "P2", "--date", "2024-06-20", "--facility", "N", "--category", "1")
    maildir = tmp_path / "Maildir"
    cli("remind", "--as-of", "2025-06-02", "--transport", f"maildir:{maildir}")
    assert [m["To"] for m in maildir_messages(maildir)] == ["jose@xn--exmple-cua.org"]
    cli("patient", "edit", "P1", "--email", "")
    assert emails(cli)["P1"] is None


def test_csv_rows_with_a_bad_address_are_rejected_with_their_line(cli: Cli, tmp_path: Path):
    path = tmp_path / "in.csv"
    rows = ["ok@example.org", *BAD.values()]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["patient_id", "date", "facility", "category", "email"])
        writer.writerows([f"P{n}", "2025-01-10", "Northside", "2", a] for n, a in enumerate(rows))
    rejects = tmp_path / "rejects.csv"
    result = cli("import", "exams", str(path), "--skip-invalid", "--rejects", str(rejects))
    assert f"{len(BAD)} rows rejected" in result.stderr
    with rejects.open(encoding="utf-8", newline="") as handle:
        rejected = [(row["line"], row["reason"]) for row in csv.DictReader(handle)]
    assert [line for line, _ in rejected] == [str(n + 2) for n in range(1, len(rows))]
    assert all(reason.startswith("email: ") for _, reason in rejected)
    assert emails(cli) == {"P0": "ok@example.org"}


def test_csv_import_without_skip_invalid_stops_at_the_bad_address(cli: Cli, tmp_path: Path):
    path = tmp_path / "in.csv"
    path.write_text(
        "patient_id,date,facility,category,email\n"
        "P1,2025-01-10,Northside,2,a@b.org\n"
        "P2,2025-01-10,Northside,2,victim@example.org;thirdparty@evil.example\n",
        encoding="utf-8",
    )
    result = cli("import", "exams", str(path), code=1)
    assert "line 3" in result.stderr and "not an email address" in result.stderr
    assert patient_ids(cli) == []


def _bundle_with_email(cli: Cli, tmp_path: Path, address: str) -> Path:
    bundle = json.loads(cli("export", "fhir", "P1").stdout)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Patient":
            resource["identifier"] = [{"value": "P2"}]
            resource["telecom"] = [{"system": "email", "value": address}]
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "address",
    ["victim@example.org, thirdparty@evil.example", *BAD.values()],
    ids=["issue's bundle", *BAD],
)
def test_fhir_import_refuses_a_bad_address(cli: Cli, tmp_path: Path, address: str):
    cli("patient", "add", "P1")
    probably_benign_exam(cli, "P1", "2025-01-31")
    result = cli("import", "fhir", str(_bundle_with_email(cli, tmp_path, address)), code=1)
    assert "not an email address" in result.stderr
    assert patient_ids(cli) == ["P1"]


def test_a_stored_address_that_cannot_be_used_fails_that_reminder_only(
    sqlite_url: str, tmp_path: Path
):
    """Addresses written before the check (here behind the CLI's back, by SQL): the run
    sends everyone else's, records why those failed, and exits 3 as cli.md says."""
    import sqlite3

    cli = Cli(sqlite_url, env=mail_env(tmp_path))
    for patient in ("P1", "P2", "P3", "P4"):
        cli("patient", "add", patient, "--email", f"{patient.lower()}@example.org")
        cli("exam", "add", patient, "--date", "2024-06-20", "--facility", "Northside",
            "--category", "negative")  # fmt: skip
    with sqlite3.connect(sqlite_url) as conn:
        conn.execute(
            "UPDATE patients SET email = 'p1@example.org\r\nBcc: x@evil.example' "
            "WHERE external_id = 'P1'"
        )
        conn.execute(
            "UPDATE patients SET email = 'victim@example.org, thirdparty@evil.example' "
            "WHERE external_id = 'P3'"
        )
    conn.close()
    maildir = tmp_path / "Maildir"
    run = ("remind", "--as-of", "2025-06-02", "--transport", f"maildir:{maildir}", "--format")
    result = cli(*run, "json", code=3)
    summary = json.loads(result.stdout)
    assert (summary["sent"], summary["failed"], summary["pending"]) == (2, 2, 2)
    assert sorted(m["To"] for m in maildir_messages(maildir)) == [
        "p2@example.org",
        "p4@example.org",
    ]
    failed = {r.external_id: r.last_error for r in reminder_rows(sqlite_url) if r.last_error}
    assert sorted(failed) == ["P1", "P3"]
    for reason in failed.values():
        assert "not usable" in reason and "followup patient edit" in reason
        assert "evil.example" not in reason and "victim" not in reason
    assert result.stderr.count("Not sent, left pending") == 2
    assert "evil.example" not in result.stderr and "Traceback" not in result.stderr
    cli("patient", "edit", "P1", "--email", "p1@example.org")
    again = json.loads(cli(*run, "json", code=3).stdout)
    assert (again["sent"], again["failed"]) == (1, 1)
