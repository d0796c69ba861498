"""A large import's helper processes: one that dies makes the import fail at once, cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Cli

ROWS = 300_000  # about 30 MB: the reading process needs seconds to get through it


def _children(parent: int) -> list[tuple[int, int]]:
    """(start time, pid) of the spawned helper processes of ``parent``, oldest first."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == parent and b"spawn_main" in command:
            found.append((int(stat[19]), int(entry.name)))
    return sorted(found)


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")  # exited; reaped by whoever adopted it


def _wait_for(condition, seconds: float = 30) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(condition())


@pytest.fixture
def big_import(sqlite_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Start ``followup import exams`` of a 30 MB file in its own process group; yields the
    process once its reader and its plan worker are both running."""
    csv_file = tmp_path / "big.csv"
    with csv_file.open("w") as out:
        out.write("patient_id,date,facility,category\n")
        for n in range(ROWS // 3):
            out.writelines(f"P{n},{2021 + k}-05-0{k + 1},North,negative\n" for k in range(3))
    Cli(sqlite_url)("init")
    command = [sys.executable, "-m", "followup", "--db", sqlite_url, "import", "exams"]
    import_ = subprocess.Popen(
        [*command, str(csv_file), "--as-of", "2025-06-30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert _wait_for(lambda: len(_children(import_.pid)) == 2), "no reader and plan worker"
        time.sleep(0.3)  # batches on their way
        yield import_
    finally:
        import_.kill()
        import_.communicate()


def _nothing_imported(sqlite_url: str) -> bool:
    return Cli(sqlite_url)("patient", "list", "--format", "json").stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("helper", "message"),
    [
        (0, "the process reading the file stopped unexpectedly"),
        (1, "the process computing the plans stopped unexpectedly"),
    ],
    ids=["reader", "planner"],
)
def test_a_killed_helper_fails_the_import_without_hanging(
    big_import: subprocess.Popen[str], sqlite_url: str, helper: int, message: str
) -> None:
    """SIGKILL a helper (the reader even halfway through sending a batch): the writing
    process says so, exits 1 without a traceback and writes nothing (a dead reader used to
    leave it waiting forever)."""
    os.kill(_children(big_import.pid)[helper][1], signal.SIGKILL)
    _, stderr = big_import.communicate(timeout=60)
    assert big_import.returncode == 1, stderr
    assert message in stderr
    assert "Traceback" not in stderr
    assert _nothing_imported(sqlite_url)


def test_helpers_do_not_outlive_a_killed_import(
    big_import: subprocess.Popen[str], sqlite_url: str
) -> None:
    """Killed by the OOM killer or a timeout, the import takes its helpers with it."""
    helpers = [pid for _, pid in _children(big_import.pid)]
    big_import.kill()
    big_import.communicate(timeout=60)
    assert _wait_for(lambda: all(_gone(pid) for pid in helpers), seconds=15), helpers
    assert _nothing_imported(sqlite_url)


def test_ctrl_c_stops_everything_quietly(big_import: subprocess.Popen[str], sqlite_url: str):
    """Ctrl-C reaches the whole process group: the import aborts and rolls back, its helpers
    stop, and none of them prints a traceback."""
    helpers = [pid for _, pid in _children(big_import.pid)]
    os.killpg(big_import.pid, signal.SIGINT)
    _, stderr = big_import.communicate(timeout=60)
    assert big_import.returncode != 0
    assert "Aborted" in stderr
    assert "Traceback" not in stderr
    assert _wait_for(lambda: all(_gone(pid) for pid in helpers), seconds=15), helpers
    assert _nothing_imported(sqlite_url)
