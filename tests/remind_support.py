"""Helpers for the reminder tests: due patients in bulk, a real SMTP server, real Maildirs."""

from __future__ import annotations

import asyncio
import mailbox
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from followup import rules

AS_OF = date(2025, 6, 2)
MAIL_VARIABLES = (
    "FOLLOWUP_CONFIG",
    "FOLLOWUP_SMTP_URL",
    "FOLLOWUP_SMTP_USER",
    "FOLLOWUP_SMTP_PASSWORD",
    "FOLLOWUP_SMTP_FROM",
    "FOLLOWUP_SMTP_STARTTLS",
)


def mail_env(tmp_path: Path, **values: str) -> dict[str, Any]:
    """No mail setting inherited from the machine: an empty config dir, variables unset."""
    env: dict[str, Any] = dict.fromkeys(MAIL_VARIABLES)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env.update(values)
    return env


def load_due_patients(url: str, count: int, *, overdue_every: int = 0) -> None:
    """``count`` patients with an e-mail address, each due within 30 days of AS_OF.

    Every ``overdue_every``-th one (when set) was due the day before instead: the ladder's
    first overdue step falls on AS_OF (a first run sends no step that fell before it).
    """
    from followup.store.bulk import load
    from followup.store.bulk_rows import ExamRow, FindingRow, PatientRow
    from followup.store.database import open_database

    def rows() -> Iterator[Any]:
        for index in range(count):
            patient = f"Q{index:05d}"
            due = AS_OF + timedelta(days=index % 30)
            if overdue_every and index % overdue_every == 0:
                due = AS_OF - timedelta(days=1)
            yield PatientRow(patient, email=f"{patient.lower()}@example.org")
            exam_day = rules.add_months(due, -12)
            yield ExamRow(patient, exam_day, "Northside Imaging", (FindingRow("negative"),))

    database = open_database(url)
    try:
        with database.transaction() as session:
            load(session, rows())
    finally:
        database.close()


def reminder_rows(url: str) -> list[Any]:
    """Every row of the reminder log (patient external id, due, step, status, message id,
    attempts, last error)."""
    from sqlalchemy import select

    from followup.store.database import open_database
    from followup.store.models import Patient, Reminder

    database = open_database(url)
    try:
        with database.transaction(write=False) as session:
            stmt = (
                select(
                    Patient.external_id,
                    Reminder.due,
                    Reminder.step,
                    Reminder.status,
                    Reminder.message_id,
                    Reminder.attempts,
                    Reminder.last_error,
                )
                .join(Patient, Patient.id == Reminder.patient_id)
                .order_by(Reminder.id)
            )
            return list(session.execute(stmt))
    finally:
        database.close()


def expire_leases(url: str) -> None:
    """Every claim's lease ran out, as it does LEASE after its run died."""
    from sqlalchemy import update

    from followup.store.database import open_database
    from followup.store.models import Reminder

    database = open_database(url)
    try:
        with database.transaction() as session:
            session.execute(
                update(Reminder)
                .where(Reminder.status == "sending")
                .values(claimed_until=Reminder.claimed_at - timedelta(minutes=5))
            )
    finally:
        database.close()


def maildir_messages(path: Path) -> list[EmailMessage]:
    box = mailbox.Maildir(path, create=False)
    return [message_from_bytes(box.get_bytes(key), policy=policy.default) for key in box.iterkeys()]


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps what it receives and refuses chosen recipients."""

    refuse: set[str] = field(default_factory=set)
    delay: float = 0.0
    messages: list[EmailMessage] = field(default_factory=list)
    refusal: str = "550 5.1.1 mailbox unavailable"  # may quote {address}
    refuse_data: set[str] = field(default_factory=set)  # refused after DATA instead
    data_refusal: str = "554 5.7.1 message refused"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refusal.format(address=address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        refused = self.refuse_data.intersection(envelope.rcpt_tos)
        if refused:
            return self.data_refusal.format(address=min(refused))
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def smtp_server(recorder: Recorder, **kwargs: Any) -> Iterator[str]:
    """A real SMTP server on loopback; yields its ``smtp://127.0.0.1:PORT`` URL."""
    from aiosmtpd.controller import Controller

    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{controller.port}"
    finally:
        controller.stop()


def start_remind(
    url: str, env: dict[str, Any], *args: str, prefix: tuple[str, ...] = (), **popen: Any
) -> subprocess.Popen[str]:
    """``python -m followup --db URL remind ...`` in a process of its own (run by the
    ``prefix`` command, e.g. ``unshare ...``, when given; ``popen``: more for Popen)."""
    environment = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    environment.pop("FOLLOWUP_POLICY", None)
    command = [sys.executable, "-m", "followup", "--db", url, "remind", "--as-of", str(AS_OF)]
    return subprocess.Popen(
        [*prefix, *command, *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )
