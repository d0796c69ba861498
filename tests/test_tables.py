"""Issue 11 point 12 (the table parts): `exam list` shows every column its rows hold,
`remind --dry-run` never cuts a value its first rows did not have, and `flags` wraps its
message to the terminal instead of cutting it."""

from __future__ import annotations

import csv
import io
import os
import pty
import subprocess
import sys

import pytest

from tests.conftest import Cli


def test_exam_list_shows_size_class(cli: Cli):
    cli("patient", "add", "P1")
    cli("exam", "add", "P1", "--date", "2025-01-31", "--facility", "Northside", "--category", "3",
        "--laterality", "left", "--size-class", "micro", "--morphology", "punctate")  # fmt: skip
    table = cli("exam", "list", "P1").stdout.splitlines()
    assert "SIZE CLASS" in table[0] and "micro" in table[1]
    rows = list(csv.DictReader(io.StringIO(cli("exam", "list", "P1", "--format", "csv").stdout)))
    assert rows[0]["size_class"] == "micro" and rows[0]["morphology"] == "punctate"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """3,000 patients, reminded since 2020: hundreds of overdue reminders (each her latest
    step of the ladder) come before the first upcoming one."""
    from datetime import date

    from followup.store.database import open_database
    from followup.store.ladder_start import start_ladder

    path = tmp_path_factory.mktemp("tables") / "demo.db"
    Cli(str(path))("demo", "--patients", "3000", "--as-of", "2025-06-01")
    database = open_database(str(path))
    with database.transaction() as session:
        start_ladder(session, date(2020, 1, 1))
    database.close()
    return Cli(str(path))


def test_remind_dry_run_table_keeps_every_kind_whole(demo: Cli):
    out = demo("remind", "--dry-run", "--as-of", "2025-06-01", "--days-ahead", "366").stdout
    kinds = [line.split()[3] for line in out.splitlines()[1:]]
    assert kinds.index("upcoming") > 500  # the first rows (all overdue) do not decide its width
    assert set(kinds) == {"overdue", "upcoming"}


def test_flags_message_whole_when_piped(demo: Cli):
    out = demo("flags", "--as-of", "2025-06-01", "--code", "lost-to-follow-up").stdout
    lines = out.splitlines()[1:]
    assert len(lines) > 100
    assert all(line.endswith("or record the exam if it was done elsewhere.") for line in lines)


def _terminal(columns: int, *args: str) -> str:
    leader, follower = pty.openpty()
    env = {**os.environ, "FOLLOWUP_POLICY": "", "COLUMNS": str(columns)}
    process = subprocess.Popen([sys.executable, "-m", "followup", *args], stdout=follower,
                               stderr=subprocess.DEVNULL, env=env)  # fmt: skip
    os.close(follower)
    received = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        received += chunk
    os.close(leader)
    assert process.wait(timeout=120) == 0
    return received.decode().replace("\r\n", "\n")


@pytest.mark.parametrize("columns", [200, 320])
def test_flags_message_wrapped_to_the_terminal(demo: Cli, columns: int):
    args = ["--db", demo.url, "flags", "--as-of", "2025-06-01", "--code", "lost-to-follow-up"]
    lines = _terminal(columns, *args).splitlines()
    assert all(len(line) <= columns for line in lines)
    message_at = lines[0].index("MESSAGE")
    first, *rest = [lines[1], *(line for line in lines[2:5] if line.startswith(" "))]
    words = [first[message_at:], *(line.strip() for line in rest)]
    assert " ".join(words).startswith("No exam is recorded for more than 90 days after")
    assert " ".join(words).endswith("record the exam if it was done elsewhere.")
