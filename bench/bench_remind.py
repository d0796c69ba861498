"""How fast ``followup remind`` delivers: reminders per second into a Maildir and over SMTP.

    python bench/bench_remind.py [--patients 10000] [--db PATH_OR_URL]

1. Loads ``--patients`` patients with an e-mail address, all due within 30 days of the as-of
   date (one in five overdue), with the bulk loader, into a fresh SQLite file (or ``--db``: an
   empty database, e.g. a PostgreSQL URL).
2. Times ``python -m followup remind --transport maildir:TMP`` as a subprocess, start to exit
   (queueing every reminder, claiming, building each message and its .ics, delivering, marking
   each sent in its own transaction).
3. Empties the reminder log and times the same run against a local SMTP server (aiosmtpd, in
   this process, on 127.0.0.1: one connection for the whole run).

Prints reminders per second for both (goal: >= 500/s into a Maildir).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from email import message_from_bytes
from pathlib import Path

AS_OF = date(2025, 6, 2)


def load(url: str, patients: int) -> None:
    from followup import rules
    from followup.store.bulk import load
    from followup.store.bulk_rows import ExamRow, FindingRow, PatientRow
    from followup.store.database import open_database

    def rows():  # type: ignore[no-untyped-def]
        for index in range(patients):
            patient = f"B{index:07d}"
            due = AS_OF + timedelta(days=index % 30)
            if index % 5 == 0:
                due = AS_OF - timedelta(days=1)  # the first overdue step falls on AS_OF
            yield PatientRow(patient, email=f"{patient.lower()}@example.org")
            exam_day = rules.add_months(due, -12)
            yield ExamRow(patient, exam_day, "Northside Imaging", (FindingRow("negative"),))

    database = open_database(url)
    with database.transaction() as session:
        load(session, rows())
    database.close()


def clear_log(url: str) -> None:
    from sqlalchemy import delete

    from followup.store.database import open_database
    from followup.store.models import Reminder

    database = open_database(url)
    with database.transaction() as session:
        session.execute(delete(Reminder))
    database.close()


def timed_run(url: str, transport: str) -> tuple[float, dict]:
    env = {**os.environ, "FOLLOWUP_SMTP_FROM": "followup@example.org"}
    command = [sys.executable, "-m", "followup", "--db", url, "remind", "--as-of", str(AS_OF)]
    start = time.perf_counter()
    done = subprocess.run(
        [*command, "--transport", transport, "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - start, json.loads(done.stdout)


class Counting:
    """An aiosmtpd handler that parses and counts what it receives."""

    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        message_from_bytes(envelope.content)
        self.received += 1
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def report(label: str, seconds: float, summary: dict) -> None:
    sent = summary["sent"]
    print(f"{label:<8} {sent:>7,} reminders in {seconds:6.2f} s = {sent / seconds:7,.0f}/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--db", help="an empty database (default: a new SQLite file)")
    args = parser.parse_args()
    from aiosmtpd.controller import Controller

    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or str(Path(tmp) / "bench.db")
        start = time.perf_counter()
        load(url, args.patients)
        print(f"loaded {args.patients:,} due patients in {time.perf_counter() - start:.1f} s")

        seconds, summary = timed_run(url, f"maildir:{Path(tmp) / 'Maildir'}")
        delivered = len(os.listdir(Path(tmp) / "Maildir" / "new"))
        assert summary["sent"] == delivered == args.patients, (summary, delivered)
        report("maildir", seconds, summary)

        clear_log(url)
        handler = Counting()
        controller = Controller(handler, hostname="127.0.0.1", port=free_port())
        controller.start()
        try:
            seconds, summary = timed_run(url, f"smtp://127.0.0.1:{controller.port}")
        finally:
            controller.stop()
        assert summary["sent"] == handler.received == args.patients, (summary, handler.received)
        report("smtp", seconds, summary)
    print("(wall time of the whole command: start-up, queueing, sending, marking each sent)")


if __name__ == "__main__":
    main()
