"""A large import's helper processes: they write what the import writes without them, and one
that dies makes the import fail at once, cleanly."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import select

from followup import rules, synthetic
from followup.exchange import csv_pipeline
from followup.store import bulk
from followup.store.bulk import load
from followup.store.database import open_database
from followup.store.models import Patient
from followup.store.plan_worker import PlanWorker
from followup.store.plans import stored_plan
from tests.conftest import Cli, postgres_schema

ROWS = 300_000  # about 30 MB: the reading process needs seconds to get through it
AS_OF = date(2026, 6, 1)
OUT_OF_REACH = 1 << 62  # a threshold no load reaches: everything in the writing process


class _Watched(PlanWorker):
    """The plan worker, noting what each batch handed to it holds: (exams, exams of one
    breast, biopsies)."""

    batches: ClassVar[list[tuple[int, int, int]]] = []

    def submit(
        self,
        exams: Sequence[Any],
        transfers: Sequence[Any],
        biopsies: Sequence[Any],
        names: dict[int, str],
    ) -> None:
        one_breast = sum(exam[6] != "both" for exam in exams)
        self.batches.append((len(exams), one_breast, len(biopsies)))
        super().submit(exams, transfers, biopsies, names)


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int]]:
    """What the plan worker was given, batch by batch, during the test."""
    batches: list[tuple[int, int, int]] = []
    monkeypatch.setattr(_Watched, "batches", batches)
    monkeypatch.setattr(bulk, "PlanWorker", _Watched)
    return batches


def _helpers(monkeypatch: pytest.MonkeyPatch, on: bool) -> None:
    """Helper processes for every load (``on``: the reader for any file, the plan worker from
    the first batch), or for none."""
    monkeypatch.setattr(csv_pipeline, "READER_PROCESS_BYTES", 0 if on else OUT_OF_REACH)
    monkeypatch.setattr(bulk, "PLAN_WORKER_AFTER", 0 if on else OUT_OF_REACH)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty databases of one kind: one loaded with the helpers, one without."""
    if request.param == "sqlite":
        yield str(tmp_path / "helpers.db"), str(tmp_path / "inline.db")
        return
    with postgres_schema() as first, postgres_schema() as second:
        yield first, second


def _plans(url: str) -> dict[str, rules.Plan | None]:
    """Every patient's stored plan (flags, the other breast's plan, exam and biopsy ids
    included) by external id."""
    database = open_database(url)
    try:
        with database.transaction(write=False) as session:
            ids = session.execute(select(Patient.external_id, Patient.id)).all()
            return {external_id: stored_plan(session, pk) for external_id, pk in ids}
    finally:
        database.close()


def _load(url: str, patients: int) -> bulk.LoadResult:
    database = open_database(url)
    try:
        with database.transaction() as session:
            rows = synthetic.rows(patients, 7, AS_OF)
            return load(session, rows, rules.DEFAULT_POLICY, batch_size=500, today=AS_OF)
    finally:
        database.close()


def test_the_plan_worker_plans_as_the_loader_does(
    two_databases: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    watched: list[tuple[int, int, int]],
) -> None:
    """The synthetic programme (one-breast exams, BI-RADS 4 subdivisions, dated transfers,
    biopsies pending, benign and malignant) loaded with its plans computed in the worker, and
    without it: the same plans, flags and other breast's plans (test_bulk.py shows the
    loader's equal refresh_plan's)."""
    with_worker, without = two_databases
    _helpers(monkeypatch, on=True)
    result = _load(with_worker, 600)
    exams, one_breast, biopsies = map(sum, zip(*watched, strict=True))
    # All but the patients a batch's end splits (replanned from the database at the end).
    assert len(watched) > 3 and exams > 0.95 * result.exams_added
    assert one_breast > 50 and biopsies > 0.8 * result.biopsies_added > 20
    _helpers(monkeypatch, on=False)
    worked = len(watched)
    assert _load(without, 600) == result
    assert len(watched) == worked  # planned in the loader's process this time
    planned = _plans(with_worker)
    assert planned == _plans(without)
    actions = {plan.action for plan in planned.values() if plan is not None}
    # biopsy-driven plans are among them (which ones depends on the generator's outcome rates)
    assert {"treatment", "biopsy"} <= actions
    assert any(plan is not None and plan.also for plan in planned.values())


def test_an_import_writes_the_same_with_its_helpers_and_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, watched: list[tuple[int, int, int]]
) -> None:
    """``import exams`` of a CSV with every exam column (imaged, density, radiologist,
    subdivision): read in the reader process and planned in the worker, or both in the
    writing process, the exams and plans exported are the same."""
    csv_file = tmp_path / "programme.csv"
    with csv_file.open("w", newline="") as out:
        writer = csv.DictWriter(out, synthetic.CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(synthetic.csv_records(2500, 3, AS_OF))
    exported = []
    for on in (True, False):
        cli = Cli(str(tmp_path / f"{'helpers' if on else 'inline'}.db"))
        _helpers(monkeypatch, on)
        summary = cli("import", "exams", str(csv_file), "--as-of", AS_OF.isoformat()).stdout
        exams = cli("export", "exams", "--format", "csv").stdout
        plans = cli("export", "plans", "--format", "csv").stdout
        exported.append((summary, exams, plans))
        if on:
            assert len(watched) >= 2  # every batch planned in the worker
            assert sum(one_breast for _, one_breast, _ in watched) > 100
    assert exported[0] == exported[1]
    assert ",left," in exported[0][1] and ",4B," in exported[0][1]


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
