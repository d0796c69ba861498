"""Reminder e-mails: the letter (plain text and an .ics), and the transports that deliver it.

No database here: the caller hands over a :class:`Letter` and gets an exception or nothing.

What a letter may say, and why:

- The subject and the first lines (what mail clients show as a preview, also on lock
  screens) say only that this is a mammogram follow-up reminder: never a name, a patient id, a
  category or a diagnosis. The body has no name either, so a mistyped address leaks as little
  as possible.
- The body says what is due in plain words. For a biopsy recommendation it says "the
  appointment your care team recommended": a suspicious result is told to a patient by her
  care team, not by an automated e-mail that a partner or an employer's mail system may read,
  and the wording still makes her act (contact the care team, book it). Additional imaging
  after an incomplete exam becomes "the follow-up imaging your care team asked for".
- When the radiologist lacks earlier films (a comparison flag), it asks her to bring them or
  to have them sent, since comparison with earlier films is what the follow-up relies on.
"""

from __future__ import annotations

import mailbox
import smtplib
import ssl
from dataclasses import dataclass
from datetime import date
from email.charset import QP, Charset
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from followup.config import ConfigError, MailSettings
from followup.ics import follow_up_calendar, follow_up_uid

# Quoted-printable keeps the plain-text body readable as it travels (base64 is the default).
_QUOTED_PRINTABLE = Charset("utf-8")
_QUOTED_PRINTABLE.body_encoding = QP
SUBJECT = "Your mammogram follow-up reminder"
ATTACHMENT = "mammogram-follow-up.ics"
MAILDIR_SENDER = "followup@localhost"
SMTP_TIMEOUT = 30
LOOPBACK = ("localhost", "127.0.0.1", "::1")

# What is due, per action code of clinical-rules.md, in words that name no diagnosis.
WHAT_IS_DUE = {
    "routine-screening": "your next routine mammogram",
    "short-interval-follow-up": "your follow-up mammogram",
    "additional-imaging": "the follow-up imaging your care team asked for",
    "biopsy": "the appointment your care team recommended",
}
SOMETHING_DUE = "your next breast imaging appointment"
FILMS_NOTE = (
    "Please bring your earlier mammograms to the appointment, or ask the places where they "
    "were taken to send them ahead. The radiologist compares the new images with earlier "
    "ones, and that comparison matters."
)


@dataclass(frozen=True)
class Letter:
    """One reminder as the patient will read it."""

    message_id: str
    recipient: str
    patient_pk: int  # only hashed into the calendar UID, never shown
    due: date
    overdue: bool
    action: str | None
    last_exam: date | None
    facility: str | None
    bring_films: bool


def long_date(day: date) -> str:
    """``Tuesday 15 July 2025``: no day/month order to misread."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def body_text(letter: Letter, as_of: date) -> str:
    """The plain-text body: what is due, when, where she was last seen, the films note."""
    what = WHAT_IS_DUE.get(letter.action or "", SOMETHING_DUE)
    lines = ["Hello,", "", "This is a reminder about your next breast imaging appointment.", ""]
    if letter.overdue:
        lines += [
            f"It is time for {what}: it was due on {long_date(letter.due)}.",
            "If it is not booked yet, please book it as soon as you can.",
        ]
    else:
        days = (letter.due - as_of).days
        when = "today" if days == 0 else f"in {days} days" if days > 1 else "tomorrow"
        lines += [
            f"It is time for {what}: it is due on {long_date(letter.due)} ({when}).",
            "If it is not booked yet, please book it now.",
        ]
    if letter.last_exam and letter.facility:
        lines += [
            "",
            f"Your last mammogram was at {letter.facility} on {long_date(letter.last_exam)}.",
        ]
    if letter.bring_films:
        lines += ["", FILMS_NOTE]
    lines += [
        "",
        "If you have already had this appointment, thank you, and please ignore this message.",
        "For any question, please contact your care team or the imaging facility.",
        "",
        f"The attached calendar file ({ATTACHMENT}) puts the date in your calendar.",
    ]
    return "\n".join(lines) + "\n"


def build_message(letter: Letter, sender: str, as_of: date) -> Message:
    """The e-mail: neutral subject, plain-text body, the follow-up as an .ics attachment.

    Built with the classic MIME classes: several times faster than ``EmailMessage``'s header
    registry, which matters when a run sends thousands.
    """
    message = MIMEMultipart("mixed")
    message["Subject"] = SUBJECT
    message["From"] = _encoded_address(sender)
    message["To"] = letter.recipient
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = letter.message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
    # typeshed wants the charset's name; MIMEText takes a Charset too (it hands it on to
    # set_payload), which is how quoted-printable is chosen.
    text = MIMEText(body_text(letter, as_of), "plain", _QUOTED_PRINTABLE)  # type: ignore[arg-type]
    message.attach(text)
    calendar = MIMEApplication(
        follow_up_calendar(
            follow_up_uid(letter.patient_pk, letter.due),
            letter.due,
            location=letter.facility,
            stamp=letter.last_exam,
        ),
        "calendar",
    )
    calendar.replace_header("Content-Type", 'text/calendar; charset="utf-8"; method="PUBLISH"')
    calendar.add_header("Content-Disposition", "attachment", filename=ATTACHMENT)
    message.attach(calendar)
    return message


def _encoded_address(address: str) -> str:
    """``Name <addr>`` with a non-ASCII name encoded (RFC 2047), as headers must be."""
    return formataddr(parseaddr(address), charset="utf-8")


# --- transports -------------------------------------------------------------------------------


class SendError(Exception):
    """This message was not accepted (e.g. a refused recipient); others may still be sent."""


class TransportError(Exception):
    """The transport itself does not work (cannot connect, login refused, disk): stop the run."""


class Transport(Protocol):
    """Where messages go. ``open`` checks it works before anything is claimed."""

    sender: str
    description: str

    def open(self) -> None: ...

    def send(self, message: Message) -> None: ...

    def close(self) -> None: ...


class MaildirTransport:
    """Delivery into a Maildir: written in tmp/, then renamed into new/ (atomic)."""

    def __init__(self, path: Path, sender: str) -> None:
        self.path = path
        self.sender = sender
        self.description = f"maildir:{path}"
        self._box: mailbox.Maildir | None = None

    def open(self) -> None:
        """Create the Maildir if needed; mailbox's own ``create=True`` races another run."""
        try:
            for folder in ("tmp", "new", "cur"):
                (self.path / folder).mkdir(mode=0o700, parents=True, exist_ok=True)
            self._box = mailbox.Maildir(self.path, create=False)
        except OSError as exc:
            raise TransportError(f"cannot use the Maildir {self.path}: {exc.strerror}") from None

    def send(self, message: Message) -> None:
        if self._box is None:
            self.open()
        assert self._box is not None
        try:
            self._box.add(message.as_bytes())
        except OSError as exc:  # a full disk fails every message alike: stop
            raise TransportError(f"cannot write into {self.path}: {exc.strerror}") from None

    def close(self) -> None:
        self._box = None


class SmtpTransport:
    """One SMTP connection for the whole run, opened again after a failure."""

    def __init__(
        self, settings: MailSettings, sender: str, host: str, port: int, implicit_tls: bool
    ) -> None:
        self.host = host
        self.port = port
        self.implicit_tls = implicit_tls
        self.starttls = bool(settings.starttls)
        self.user = settings.user
        self.password = settings.password
        self.sender = sender
        scheme = "smtps" if implicit_tls else "smtp"
        self.description = f"{scheme}://{host}:{port}"
        self._smtp: smtplib.SMTP | None = None

    def open(self) -> None:
        try:
            self._smtp = self._connect()
        except smtplib.SMTPAuthenticationError as exc:
            raise TransportError(
                f"{self.description} refused the login ({_reply(exc.smtp_code, exc.smtp_error)}); "
                "check FOLLOWUP_SMTP_USER and FOLLOWUP_SMTP_PASSWORD or the config file"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"cannot use {self.description}: {_describe(exc)}") from None

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.implicit_tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=SMTP_TIMEOUT, context=context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT)
        try:
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.user:
                smtp.login(self.user, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: Message) -> None:
        if self._smtp is None:
            self.open()  # after a lost connection; raises TransportError when it stays down
        assert self._smtp is not None
        try:
            self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise SendError(_reply(code, text)) from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            raise SendError(_reply(exc.smtp_code, exc.smtp_error)) from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise SendError(f"connection lost: {_describe(exc)}") from None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc.smtp_code, exc.smtp_error)
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def make_transport(target: str | None, settings: MailSettings) -> Transport:
    """The transport named by ``--transport``, else the settings; ConfigError when unusable.

    Checks the setting only (no connection): a bad one is an error before anything is claimed.
    """
    target = target or settings.url
    if not target:
        raise ConfigError(
            "no mail transport is set; pass --transport smtp://HOST:PORT or maildir:PATH, or set "
            "FOLLOWUP_SMTP_URL (or url in the [smtp] table of the config file)"
        )
    if target.startswith("maildir:"):
        path = target.removeprefix("maildir:")
        if not path:
            raise ConfigError("maildir: needs a folder, e.g. maildir:/var/spool/followup")
        return MaildirTransport(Path(path).expanduser(), _sender(settings, MAILDIR_SENDER))
    return _smtp_transport(target, settings)


def _smtp_transport(target: str, settings: MailSettings) -> SmtpTransport:
    parts = urlsplit(target)
    if parts.scheme not in ("smtp", "smtps"):
        raise ConfigError(
            f"unknown mail transport {target!r}; use smtp://HOST:PORT, smtps://HOST:PORT or "
            "maildir:PATH"
        )
    if parts.username or parts.password:
        raise ConfigError(
            "put no user or password in the transport URL (it would show in the process list); "
            "set FOLLOWUP_SMTP_USER and FOLLOWUP_SMTP_PASSWORD or the config file"
        )
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError:
        raise ConfigError(f"the port in {target!r} is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ConfigError(f"{target!r} names no host; use smtp://HOST:PORT")
    sender = _sender(settings, None)
    encrypted = parts.scheme == "smtps" or bool(settings.starttls)
    if settings.user and not encrypted and parts.hostname not in LOOPBACK:
        raise ConfigError(
            f"refusing to send the SMTP password unencrypted to {parts.hostname}; set "
            "starttls = true (FOLLOWUP_SMTP_STARTTLS=1) or use smtps://"
        )
    return SmtpTransport(settings, sender, parts.hostname, port, parts.scheme == "smtps")


def _sender(settings: MailSettings, default: str | None) -> str:
    sender = settings.sender or default
    if sender is None:
        raise ConfigError(
            "no sender address is set; set FOLLOWUP_SMTP_FROM (or from in the [smtp] table of "
            "the config file), e.g. followup@example.org"
        )
    if "@" not in parseaddr(sender)[1]:
        raise ConfigError(f"the sender {sender!r} is not an e-mail address; fix FOLLOWUP_SMTP_FROM")
    return sender


def sender_domain(sender: str) -> str:
    """The domain of the From address, for Message-IDs (``<...@example.org>``)."""
    return parseaddr(sender)[1].rpartition("@")[2] or "localhost"
