"""How fast ``followup import exams`` loads a big CSV, against a raw sqlite3 baseline.

    python bench/bench_import.py [--rows 4000000] [--csv FILE] [--small 400000] [--inline]

1. Writes FILE (default: a temporary file) with the synthetic programme of followup.synthetic,
   one row per finding, until ``--rows`` rows; an existing FILE is reused as it is.
2. Times ``followup --db NEW.db import exams FILE`` as a subprocess (validation, patients,
   facilities, exams, findings and every plan), with its peak RSS and CPU time (its helper
   processes' included) from ``os.wait4``. With ``--inline`` the same import runs without
   its helper processes (the CSV reader and the plan worker): their thresholds are set out of
   reach, so everything is done in the writing process.
3. Times SQLite alone writing the rows the import wrote (plans included) with no Python per
   row: ``INSERT ... SELECT`` from the imported file into a fresh migrated one. That is the
   ceiling of any importer on the machine at hand.
4. Runs the import again on the first ``--small`` rows, to compare peak memory (flat in the
   file's size means about the same peak RSS for both sizes).
5. Times the raw baseline on another fresh, migrated file: csv.reader plus ``executemany`` of
   the same rows into patients, facilities, exams and findings in one transaction, with the
   import's pragmas and GC setting; no validation, no duplicate check and no plans (ids are
   assigned in Python, the patient map held in memory).

Prints rows/s for each, the ratio import / raw, and both peak RSS figures.
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date
from itertools import islice
from pathlib import Path

AS_OF = date(2025, 6, 30)
# ``python -m followup`` with the helper processes' thresholds out of reach.
INLINE = (
    "from followup.exchange import csv_pipeline; from followup.store import bulk;"
    " csv_pipeline.READER_PROCESS_BYTES = bulk.PLAN_WORKER_AFTER = 1 << 62;"
    " from followup.cli import main; main()"
)


def write_csv(path: Path, rows: int, seed: int = 1) -> int:
    """The synthetic programme as a clinic export would write it; returns the rows written.

    Patients are made lazily, so asking for ``rows`` patients is always enough."""
    from followup.cli.output import write_csv as write_rows
    from followup.synthetic import CSV_COLUMNS, csv_records

    with path.open("w", newline="", encoding="utf-8") as out:
        return write_rows(islice(csv_records(rows, seed, AS_OF), rows), CSV_COLUMNS, out)


def count_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as f:
        return sum(1 for _ in csv.reader(f)) - 1


def head(path: Path, rows: int, target: Path) -> None:
    """The first ``rows`` rows of ``path`` (cut at an exam boundary is not needed: the rows
    of the last exam simply make a smaller exam)."""
    with path.open(newline="", encoding="utf-8") as f, target.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerows(islice(csv.reader(f), rows + 1))


def time_import(csv_path: Path, db: Path, inline: bool = False) -> tuple[float, float, int, str]:
    """Seconds, CPU seconds, peak RSS (KiB) and the summary line of one import, run as a user
    would (``inline``: without helper processes)."""
    command = [
        sys.executable,
        *(("-c", INLINE) if inline else ("-m", "followup")),
        "--db",
        str(db),
        "import",
        "exams",
        str(csv_path),
        "--as-of",
        AS_OF.isoformat(),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    summary = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"import failed:\n{summary}")
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, cpu, usage.ru_maxrss, summary.strip().splitlines()[-1]


def migrated(db: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "followup", "--db", str(db), "init"],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def time_raw(csv_path: Path, db: Path) -> float:
    """The floor: parse the CSV and executemany the same rows, nothing else."""
    migrated(db)
    started = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA cache_size = -65536")  # as the import sets it
    gc.freeze()  # the import's GC setting too, so the ratio compares the work done
    gc.set_threshold(100_000, 50, 1000)
    conn.execute("BEGIN IMMEDIATE")
    created = "2025-06-30 00:00:00"
    patients: dict[str, int] = {}
    facilities: dict[str, int] = {}  # spelling -> id
    keys: dict[str, int] = {}  # facility key -> id
    patient_rows: list[tuple] = []
    exams: list[tuple] = []
    findings: list[tuple] = []
    exam = None
    with csv_path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            pid = patients.get(row[0])
            if pid is None:
                pid = patients[row[0]] = len(patients) + 1
                patient_rows.append((pid, row[0], row[1], row[2] or None, created))
            fid = facilities.get(row[4])
            if fid is None:
                key = " ".join(row[4].split()).casefold()
                fid = facilities[row[4]] = keys.get(key) or len(keys) + 1
                if key not in keys:
                    keys[key] = fid
                    conn.execute(
                        "INSERT INTO facilities (id, key, name) VALUES (?, ?, ?)",
                        (fid, key, row[4]),
                    )
            if (pid, row[3], fid) != exam:
                exam = (pid, row[3], fid)
                described = (row[13] or "both", row[14] or None, row[15] or None)
                exams.append(
                    (len(exams) + 1, pid, row[3], fid, row[5] or None, *described, created)
                )
            findings.append(
                (
                    len(exams),
                    row[6],
                    row[7] or None,
                    row[8] or None,
                    row[9] or None,
                    row[12] or None,
                )
            )
    conn.executemany(
        "INSERT INTO patients (id, external_id, name, email, reminders, created_at) "
        "VALUES (?, ?, ?, ?, 1, ?)",
        patient_rows,
    )
    conn.executemany(
        "INSERT INTO exams (id, patient_id, date, facility_id, kind, imaged, density, radiologist,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        exams,
    )
    conn.executemany(
        "INSERT INTO findings (exam_id, category, laterality, morphology, distribution,"
        " subdivision) VALUES (?, ?, ?, ?, ?, ?)",
        findings,
    )
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


COPIED = ("facilities", "patients", "exams", "findings", "plans", "plan_flags")


def time_sqlite_alone(source: Path, db: Path) -> tuple[float, int]:
    """The ceiling of any importer on this machine: SQLite writing the very rows the import
    wrote (plans included), with no Python per row: ``INSERT ... SELECT`` from the imported
    file into a fresh migrated one, same pragmas, one transaction. Returns seconds, exams."""
    migrated(db)
    conn = sqlite3.connect(db, isolation_level=None)
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("PRAGMA cache_size = -65536")
    conn.execute("ATTACH DATABASE ? AS imported", (str(source),))
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    for table in COPIED:
        conn.execute(f"INSERT INTO main.{table} SELECT * FROM imported.{table}")
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    exams = conn.execute("SELECT count(*) FROM main.exams").fetchone()[0]
    conn.close()
    return elapsed, exams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--csv", type=Path, help="CSV to use (written first if missing)")
    parser.add_argument("--small", type=int, default=400_000, help="rows of the memory check")
    parser.add_argument("--skip-raw", action="store_true", help="only time the import")
    parser.add_argument("--inline", action="store_true", help="import without helper processes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        csv_path = args.csv or folder / "exams.csv"
        if not csv_path.exists():
            started = time.perf_counter()
            written = write_csv(csv_path, args.rows)
            print(f"wrote {written:,} rows to {csv_path} in {time.perf_counter() - started:.0f} s")
        rows = count_rows(csv_path)
        size = csv_path.stat().st_size
        print(f"CSV: {rows:,} rows, {size / 1e6:.0f} MB")
        seconds, cpu, rss, summary = time_import(csv_path, folder / "import.db", args.inline)
        print(
            f"followup import exams{' (inline)' if args.inline else ''}: {seconds:.1f} s, "
            f"{rows / seconds:,.0f} rows/s, CPU {cpu:.1f} s, peak RSS {rss / 1024:.0f} MiB"
        )
        print(f"  {summary}")
        alone, exams = time_sqlite_alone(folder / "import.db", folder / "copy.db")
        print(
            f"SQLite alone, the imported rows and plans copied with INSERT ... SELECT: "
            f"{alone:.1f} s, {exams / alone:,.0f} exams/s (no importer can beat this here)"
        )
        if args.small and args.small < rows:
            small = folder / "small.csv"
            head(csv_path, args.small, small)
            small_seconds, _, small_rss, _ = time_import(small, folder / "small.db", args.inline)
            print(
                f"memory check: {args.small:,} rows peak RSS {small_rss / 1024:.0f} MiB, "
                f"{rows:,} rows peak RSS {rss / 1024:.0f} MiB "
                f"({args.small / small_seconds:,.0f} rows/s at the small size)"
            )
        if not args.skip_raw:  # last: it grows this process, which later children would inherit
            raw = time_raw(csv_path, folder / "raw.db")
            print(f"raw sqlite3 executemany: {raw:.1f} s, {rows / raw:,.0f} rows/s")
            print(f"ratio import / raw: {seconds / raw:.2f}x")


if __name__ == "__main__":
    main()
