"""Runs at once (one in another PID namespace), and a run killed half-way: every reminder
delivered once, none lost.

Real processes (``python -m followup remind``), a real Maildir or SMTP server, SQLite and
PostgreSQL.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from remind_support import (
    Recorder,
    expire_leases,
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

        killed = {r.message_id for r in reminder_rows(db_url) if r.status == "sending"}
        rerun = start_remind(db_url, env, "--transport", url, "--format", "json")
        stdout, stderr = rerun.communicate(timeout=300)
        assert rerun.returncode == 0, stderr
        assert json.loads(stdout)["pending"] == 0
        # Its claims are under a lease nobody renews now, but that has not run out yet: as
        # far as anyone can tell they belong to a live run, and are left to it.
        assert {r.message_id for r in reminder_rows(db_url) if r.status == "sending"} == killed

        expire_leases(db_url)  # as if the lease's two minutes had passed
        rerun = start_remind(db_url, env, "--transport", url, "--format", "json")
        stdout, stderr = rerun.communicate(timeout=300)
        assert rerun.returncode == 0, stderr
        assert json.loads(stdout)["sent"] == len(killed)

    per_id = Counter(m["Message-ID"] for m in recorder.messages)
    rows = reminder_rows(db_url)
    assert len(rows) == patients and {r.status for r in rows} == {"sent"}
    assert set(per_id) == {r.message_id for r in rows}  # nothing lost
    duplicates = [mid for mid, count in per_id.items() if count > 1]
    assert len(duplicates) <= 1 and max(per_id.values()) <= 2  # only the one in flight
    assert sum(per_id.values()) <= patients + 1
    by_id = {m["Message-ID"]: m["To"] for m in recorder.messages}
    assert len(set(by_id.values())) == patients


NAMESPACED_PATIENTS = 200


def _unshare() -> str:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("the unshare command (util-linux) is not installed; PID namespace test skipped")
    probe = subprocess.run(
        [unshare, "--pid", "--fork", "--mount-proc", "true"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        pytest.skip(
            "unshare --pid --fork --mount-proc fails here (it needs root): "
            f"{probe.stderr.strip()}; PID namespace test skipped"
        )
    return unshare


def _pid_unused_here() -> int:
    """A pid no process on this host has: what a container's pid usually is on its host."""
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    return next(pid for pid in range(pid_max // 2, pid_max) if not Path(f"/proc/{pid}").exists())


def test_a_run_in_another_pid_namespace_is_never_taken_for_dead(db_url: str, tmp_path: Path):
    """Issue 11 point 3: one run in a container-like PID namespace (same host name, pids
    that mean nothing outside it), three ordinary runs started 1.5 s later, one slow SMTP
    server. The old dead-run check saw the first run's pid missing on the host and sent its
    claimed reminders again; with leases, 0 duplicates and 0 lost."""
    unshare = _unshare()
    load_due_patients(db_url, NAMESPACED_PATIENTS, overdue_every=5)
    env = mail_env(tmp_path, FOLLOWUP_SMTP_FROM="followup@example.org")
    pid = _pid_unused_here()  # the namespaced run gets it inside its namespace
    in_namespace = (
        unshare, "--pid", "--fork", "--mount-proc", "sh", "-c",
        'echo "$1" > /proc/sys/kernel/ns_last_pid; shift; "$@"; exit $?', "sh", str(pid - 1),
    )  # fmt: skip
    recorder = Recorder(delay=0.01)  # slow enough that the four runs overlap
    with smtp_server(recorder) as url:
        args = ("--transport", url, "--format", "json")
        runs = [start_remind(db_url, env, *args, prefix=in_namespace)]
        time.sleep(1.5)
        runs += [start_remind(db_url, env, *args) for _ in range(3)]
        assert runs[0].poll() is None, "the namespaced run ended before the others started"
        outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0], outputs
    sent = [json.loads(stdout)["sent"] for stdout, _ in outputs]
    assert sent[0] > 0 and sum(sent[1:]) > 0  # both sides really sent
    per_id = Counter(m["Message-ID"] for m in recorder.messages)
    rows = reminder_rows(db_url)
    assert [mid for mid, count in per_id.items() if count > 1] == []  # 0 duplicates
    assert set(per_id) == {r.message_id for r in rows}  # 0 lost
    assert len(rows) == NAMESPACED_PATIENTS and {r.status for r in rows} == {"sent"}
    assert sum(sent) == NAMESPACED_PATIENTS
