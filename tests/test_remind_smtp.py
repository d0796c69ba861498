"""``followup remind`` to a real SMTP server on loopback (aiosmtpd): refusals, retries, login."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from conftest import Cli
from remind_support import (
    AS_OF,
    Recorder,
    load_due_patients,
    mail_env,
    reminder_rows,
    smtp_server,
)

SENDER = "Follow-up <followup@example.org>"


def smtp_cli(url: str, tmp_path: Path, **values: str) -> Cli:
    return Cli(url, env=mail_env(tmp_path, FOLLOWUP_SMTP_FROM=SENDER, **values))


def test_refused_recipients_stay_pending_and_are_retried_with_the_same_message_id(
    db_url: str, tmp_path: Path
):
    load_due_patients(db_url, 5)
    recorder = Recorder(refuse={"q00001@example.org", "q00003@example.org"})
    with smtp_server(recorder) as url:
        cli = smtp_cli(db_url, tmp_path, FOLLOWUP_SMTP_URL=url)
        result = cli("remind", "--as-of", str(AS_OF), "--format", "json", code=3)
        summary = json.loads(result.stdout)
        assert (summary["sent"], summary["failed"], summary["pending"]) == (3, 2, 2)
        assert result.stderr.count("550 5.1.1 mailbox unavailable") == 2
        assert sorted(m["To"] for m in recorder.messages) == [
            "q00000@example.org",
            "q00002@example.org",
            "q00004@example.org",
        ]
        pending = {r.external_id: r for r in reminder_rows(db_url) if r.status == "pending"}
        assert sorted(pending) == ["Q00001", "Q00003"]
        assert pending["Q00001"].attempts == 1
        assert pending["Q00001"].last_error == "550 5.1.1 mailbox unavailable"

        recorder.refuse.clear()
        summary = json.loads(cli("remind", "--as-of", str(AS_OF), "--format", "json").stdout)
    assert (summary["sent"], summary["failed"], summary["pending"]) == (2, 0, 0)
    retried = {m["To"]: m["Message-ID"] for m in recorder.messages[3:]}
    assert retried == {
        "q00001@example.org": pending["Q00001"].message_id,
        "q00003@example.org": pending["Q00003"].message_id,
    }
    assert {r.status for r in reminder_rows(db_url)} == {"sent"}
    assert len(recorder.messages) == 5


def test_smtp_message_is_neutral_and_carries_the_calendar(sqlite_url: str, tmp_path: Path):
    load_due_patients(sqlite_url, 1)
    recorder = Recorder()
    with smtp_server(recorder) as url:
        smtp_cli(sqlite_url, tmp_path)("remind", "--as-of", str(AS_OF), "--transport", url)
    (message,) = recorder.messages
    assert message["From"] == SENDER
    assert message["Subject"] == "Your mammogram follow-up reminder"
    assert message["Message-ID"].endswith("@example.org>")
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "mammogram-follow-up.ics"
    assert "your next routine mammogram" in message.get_body(("plain",)).get_content()


def _authenticator(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult

    good = auth_data.login == b"clinic" and auth_data.password == b"s3cret"
    return AuthResult(success=good, handled=False)


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl command)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
         "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_server(tls_files: tuple[Path, Path]):
    """SMTP that demands STARTTLS before AUTH, and AUTH before mail."""
    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    recorder = Recorder()
    with smtp_server(
        recorder,
        tls_context=context,
        require_starttls=True,
        authenticator=_authenticator,
        auth_required=True,
    ) as url:
        yield recorder, url


def login_cli(url: str, tmp_path: Path, cert: Path, password: str, starttls: str = "1") -> Cli:
    """The client trusts the test certificate through SSL_CERT_FILE, as OpenSSL reads it."""
    return smtp_cli(
        url,
        tmp_path,
        FOLLOWUP_SMTP_USER="clinic",
        FOLLOWUP_SMTP_PASSWORD=password,
        FOLLOWUP_SMTP_STARTTLS=starttls,
        SSL_CERT_FILE=str(cert),
    )


def test_starttls_and_login_from_environment(sqlite_url, tmp_path, tls_server, tls_files):
    recorder, url = tls_server
    load_due_patients(sqlite_url, 2)
    cli = login_cli(sqlite_url, tmp_path, tls_files[0], "s3cret")
    cli("remind", "--as-of", str(AS_OF), "--transport", url)
    assert len(recorder.messages) == 2


def test_login_without_starttls_is_an_error_before_anything_is_recorded(
    sqlite_url, tmp_path, tls_server, tls_files
):
    _, url = tls_server
    load_due_patients(sqlite_url, 2)
    cli = login_cli(sqlite_url, tmp_path, tls_files[0], "s3cret", starttls="0")
    result = cli("remind", "--as-of", str(AS_OF), "--transport", url, code=1)
    assert "cannot use smtp://127.0.0.1" in result.stderr
    assert reminder_rows(sqlite_url) == []


def test_refused_login_is_an_error_before_anything_is_recorded(
    sqlite_url, tmp_path, tls_server, tls_files
):
    recorder, url = tls_server
    load_due_patients(sqlite_url, 2)
    cli = login_cli(sqlite_url, tmp_path, tls_files[0], "wrong")
    result = cli("remind", "--as-of", str(AS_OF), "--transport", url, code=1)
    assert "refused the login (535" in result.stderr
    assert "nothing was sent" in result.stderr
    assert reminder_rows(sqlite_url) == []
    assert recorder.messages == []


def test_password_is_never_sent_in_clear_to_another_host(sqlite_url: str, tmp_path: Path):
    cli = smtp_cli(sqlite_url, tmp_path, FOLLOWUP_SMTP_USER="clinic", FOLLOWUP_SMTP_PASSWORD="pw")
    result = cli("remind", "--transport", "smtp://mail.example.org:587", code=1)
    assert "refusing to send the SMTP password unencrypted to mail.example.org" in result.stderr
