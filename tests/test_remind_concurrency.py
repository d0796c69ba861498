"""Two runs at once, and a run killed half-way: every reminder delivered once, none lost.

Real processes (``python -m followup remind``), a real Maildir or SMTP server, SQLite and
PostgreSQL.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from pathlib import Path

from remind_support import (
    Recorder,
    load_due_patients,
    mail_env,
    maildir_messages,
    reminder_rows,
    smtp_server,
    start_remind,
)

PATIENTS = 1_000


def test_two_overlapping_runs_send_each_reminder_exactly_once(db_url: str, tmp_path: Path):
    load_due_patients(db_url, PATIENTS, overdue_every=5)
    env = mail_env(tmp_path)
    transport = f"maildir:{tmp_path / 'Maildir'}"
    runs = [start_remind(db_url, env, "--transport", transport, "--format", "json")]
    runs.append(start_remind(db_url, env, "--transport", transport, "--format", "json"))
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    sent = [json.loads(stdout)["sent"] for stdout, _ in outputs]
    assert sum(sent) == PATIENTS
    messages = maildir_messages(tmp_path / "Maildir")
    assert len(messages) == PATIENTS
    assert len({m["Message-ID"] for m in messages}) == PATIENTS
    assert len({m["To"] for m in messages}) == PATIENTS
    rows = reminder_rows(db_url)
    assert len(rows) == PATIENTS and {r.status for r in rows} == {"sent"}
    assert {r.message_id for r in rows} == {m["Message-ID"] for m in messages}


def test_run_killed_half_way_then_rerun_loses_nothing(db_url: str, tmp_path: Path):
    patients = 300
    load_due_patients(db_url, patients)
    env = mail_env(tmp_path, FOLLOWUP_SMTP_FROM="followup@example.org")
    recorder = Recorder(delay=0.01)  # a slow server, so the kill lands mid-run
    with smtp_server(recorder) as url:
        run = start_remind(db_url, env, "--transport", url)
        deadline = time.monotonic() + 120
        while len(recorder.messages) < patients // 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        run.send_signal(signal.SIGKILL)
        run.communicate()
        assert run.returncode == -signal.SIGKILL
        delivered_before = len(recorder.messages)
        assert patients // 2 <= delivered_before < patients
        assert any(r.status == "sending" for r in reminder_rows(db_url))

        rerun = start_remind(db_url, env, "--transport", url, "--format", "json")
        stdout, stderr = rerun.communicate(timeout=300)
        assert rerun.returncode == 0, stderr
        assert json.loads(stdout)["pending"] == 0

    per_id = Counter(m["Message-ID"] for m in recorder.messages)
    rows = reminder_rows(db_url)
    assert len(rows) == patients and {r.status for r in rows} == {"sent"}
    assert set(per_id) == {r.message_id for r in rows}  # nothing lost
    duplicates = [mid for mid, count in per_id.items() if count > 1]
    assert len(duplicates) <= 1 and max(per_id.values()) <= 2  # only the one in flight
    assert sum(per_id.values()) <= patients + 1
    by_id = {m["Message-ID"]: m["To"] for m in recorder.messages}
    assert len(set(by_id.values())) == patients
