"""The transports that deliver reminder e-mails: a Maildir, or an SMTP server.

No database and no wording here (the message is composed by
:mod:`followup.present.reminder_email`): the caller hands over a message and its one
recipient, and gets an exception or nothing.

- Each message goes to exactly the one recipient it is given (the SMTP envelope is never read
  back from the headers), so a header can never add another.
- What a server replied is reported without the recipient's address (servers often quote it:
  ``550 5.1.1 <ana@example.org>: user unknown``); the reply goes to the terminal, to cron's
  mail and into the reminder log, none of which is the place for a patient's address.
- A Maildir message is written whole or not at all, readable by its owner only: in tmp/,
  flushed to disk, then renamed into new/ (Maildir's own protocol).
"""

from __future__ import annotations

import os
import re
import smtplib
import socket
import ssl
import time
from email.message import Message
from email.utils import parseaddr
from itertools import count
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from followup.config import ConfigError, MailSettings
from followup.files import write_new

MAILDIR_SENDER = "followup@localhost"
SMTP_TIMEOUT = 30
LOOPBACK = ("localhost", "127.0.0.1", "::1")
# Anything shaped like an address in a server's reply.
_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+")
HIDDEN = "(the recipient)"


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

    def send(self, message: Message, recipient: str) -> None: ...

    def close(self) -> None: ...


class MaildirTransport:
    """Delivery into a Maildir: each message a new file, 0600, staged in tmp/ and flushed to
    disk, then linked into new/ (followup.files.write_new), so a reader never sees part of one.
    """

    def __init__(self, path: Path, sender: str) -> None:
        self.path = path
        self.sender = sender
        self.description = f"maildir:{path}"
        self._host = socket.gethostname().replace("/", r"\057").replace(":", r"\072")
        self._sequence = count()

    def open(self) -> None:
        """Create the Maildir if needed (mailbox's own ``create=True`` races another run)."""
        try:
            for folder in ("tmp", "new", "cur"):
                (self.path / folder).mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise TransportError(f"cannot use the Maildir {self.path}: {exc.strerror}") from None

    def send(self, message: Message, recipient: str) -> None:
        name = self._unique_name()
        try:
            write_new(message.as_bytes(), self.path / "new" / name, self.path / "tmp" / name)
        except OSError as exc:  # a full disk fails every message alike: stop
            raise TransportError(f"cannot write into {self.path}: {exc.strerror}") from None

    def _unique_name(self) -> str:
        """``time.M<usec>P<pid>Q<n>R<random>.host``: the Maildir convention, with random bits,
        since a process in another PID namespace may have this one's pid and host name."""
        seconds, fraction = divmod(time.time_ns() // 1000, 1_000_000)
        random = os.urandom(8).hex()
        return f"{seconds}.M{fraction}P{os.getpid()}Q{next(self._sequence)}R{random}.{self._host}"

    def close(self) -> None:
        """Nothing is held open between messages."""


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

    def send(self, message: Message, recipient: str) -> None:
        """To ``recipient`` alone: the envelope is never taken from the headers."""
        if self._smtp is None:
            self.open()  # after a lost connection; raises TransportError when it stays down
        assert self._smtp is not None
        try:
            self._smtp.send_message(message, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise SendError(_without(_reply(code, text), recipient)) from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            raise SendError(_without(_reply(exc.smtp_code, exc.smtp_error), recipient)) from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise SendError(f"connection lost: {_without(_describe(exc), recipient)}") from None

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


def _without(reply: str, recipient: str) -> str:
    """The server's reply with the recipient's address (whole, or its local part as a word)
    and anything else shaped like an address taken out."""
    text = _ADDRESS.sub(HIDDEN, reply.replace(recipient, HIDDEN))
    local = recipient.rpartition("@")[0]
    if len(local) >= 3:
        text = re.sub(rf"(?<![\w.+-]){re.escape(local)}(?![\w.+-])", HIDDEN, text, flags=re.I)
    return text


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
