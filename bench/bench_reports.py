"""How fast the coordinator reports answer on a big programme, and in how much memory.

    python bench/bench_reports.py [--patients 1000000] [--db PATH_OR_URL] [--reuse]

1. Builds the programme with bench/generate.py (synthetic rows through the bulk loader, plans
   included) into ``--db`` (default: a SQLite file in the temporary directory named after N),
   or, with ``--reuse``, uses the database already there (built by an earlier run).
2. Times, each as a whole process (interpreter start-up included), best of ``--repeat``:
   - ``followup --db X due --as-of D --within 30 --format csv -o FILE``;
   - the same rows (same joins, same columns) fetched by a hand-written query with the raw
     driver (sqlite3, or psycopg with a server-side cursor) and written with the csv module:
     the floor the report is compared with;
   - ``followup --db X due --to-call --as-of D --format csv -o FILE``: the coordinators' list
     (clinical-rules.md §7), from the contacts bench/generate.py records;
   - ``followup --db X status ID`` for one patient.
3. Prints wall seconds, the report/raw ratio (to-call: its ratio to due), the CPU seconds
   (user + system, and the same ratio: steadier on a shared machine) and the peak resident
   memory of each process (from os.wait4's rusage), against the goals (on wall time): due <=
   1.5 s and <= 2x raw, to-call <= 1.5x due, status <= 0.4 s, peak memory < 300 MB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
AS_OF = date(2026, 6, 1)
WITHIN = 30
# (seconds, ratio, MB): the ratio is to raw for due, to due for to-call.
GOALS = {
    "due": (1.5, 2.0, 300),
    "raw": (None, None, 300),
    "to_call": (None, 1.5, 300),
    "status": (0.4, None, 300),
}
RATIO_OF = {"due": "raw", "to_call": "due"}

# What the due report reads, as one would write it by hand: the same joins and columns
# (her contact details and pathway summary too), open patients only.
RAW_QUERY = """
SELECT p.external_id, p.name, pl.due, pl.action, pl.laterality, f.name, pl.flag_codes,
       p.phone, p.email, p.closed_reason, p.appointment, p.last_contact, p.last_call,
       pl.also_side, pl.also_action, pl.also_due
FROM plans pl
JOIN patients p ON p.id = pl.patient_id
LEFT JOIN facilities f ON f.id = pl.facility_id
WHERE pl.due IS NOT NULL AND pl.due <= {mark} AND p.closed_reason IS NULL
ORDER BY pl.due, p.external_id
"""
HEADER = (
    '["patient_id", "name", "due", "action", "laterality", "facility", "flags", "phone", '
    '"email", "closed", "appointment", "last_contact", "last_call", "also_side", "also_action", '
    '"also_due"]'
)

RAW_SQLITE = """
import csv, sqlite3, sys
path, out, last, query = sys.argv[1:]
connection = sqlite3.connect(path)
with open(out, "w", newline="") as file:
    writer = csv.writer(file, lineterminator="\\n")
    writer.writerow(HEADER)
    writer.writerows(connection.execute(query, (last,)))
""".replace("HEADER", HEADER)

RAW_POSTGRES = """
import csv, sys, psycopg
url, out, last, query = sys.argv[1:]
with psycopg.connect(url) as connection, open(out, "w", newline="") as file:
    connection.execute("SET cursor_tuple_fraction = 1")  # all rows are read: same plan as due
    writer = csv.writer(file, lineterminator="\\n")
    writer.writerow(HEADER)
    with connection.cursor(name="due") as cursor:
        cursor.itersize = 2000
        cursor.execute(query, (last,))
        writer.writerows(cursor)
""".replace("HEADER", HEADER)


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mb: float
    cpu: float  # user + system seconds of the process: what a busy machine distorts least


def timed(command: list[str], stdout_path: str = os.devnull) -> Run:
    """Run ``command`` to its end; wall seconds and the peak RSS of that process alone."""
    with open(stdout_path, "w") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.stderr:
        process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{stderr}")
    cpu = usage.ru_utime + usage.ru_stime
    return Run(seconds, usage.ru_maxrss / 1024, cpu)  # ru_maxrss is in KiB on Linux


def best(runs: list[Run]) -> Run:
    """The fastest run's time (wall and CPU), the largest peak memory seen."""
    return Run(min(r.seconds for r in runs), max(r.peak_mb for r in runs), min(r.cpu for r in runs))


def is_url(target: str) -> bool:
    return "://" in target


def patient_count(target: str) -> int:
    """Patients already in the database (0 when it does not exist or has no schema yet)."""
    if not is_url(target) and not Path(target).exists():
        return 0
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(target if is_url(target) else f"sqlite:///{target}")
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("patients"):
                return 0
            return connection.execute(text("SELECT count(*) FROM patients")).scalar_one()
    finally:
        engine.dispose()


def build(target: str, patients: int, reuse: bool) -> None:
    present = patient_count(target)
    if reuse and present:
        print(f"reusing {target}: {present:,} patients")
        return
    if present:
        raise SystemExit(f"{target} already holds {present:,} patients: pass --reuse, or empty it")
    print(f"building {patients:,} patients into {target} (bench/generate.py) ...", flush=True)
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            str(BENCH / "generate.py"),
            "--patients",
            str(patients),
            "--db",
            target,
            "--as-of",
            AS_OF.isoformat(),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if is_url(target):
        analyse(target)
    print(f"built in {time.perf_counter() - start:.0f} s")


def analyse(url: str) -> None:
    """VACUUM ANALYZE after the load, as autovacuum soon would: without statistics PostgreSQL
    plans the report for a table it believes empty, and the first reader pays for hint bits."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("VACUUM ANALYZE"))
    finally:
        engine.dispose()


def some_patient(target: str) -> str:
    """A patient from the middle of the programme, with her exams."""
    from sqlalchemy import create_engine, text

    engine = create_engine(target if is_url(target) else f"sqlite:///{target}")
    try:
        with engine.connect() as connection:
            middle = connection.execute(text("SELECT max(patient_id) / 2 FROM plans")).scalar_one()
            return connection.execute(
                text(
                    "SELECT p.external_id FROM plans pl JOIN patients p ON p.id = pl.patient_id"
                    " WHERE pl.patient_id >= :m ORDER BY pl.patient_id LIMIT 1"
                ),
                {"m": middle},
            ).scalar_one()
    finally:
        engine.dispose()


def raw_command(target: str, out: str) -> list[str]:
    last = (AS_OF + timedelta(days=WITHIN)).isoformat()
    if is_url(target):
        url = target.replace("postgresql+psycopg://", "postgresql://", 1)
        return [sys.executable, "-c", RAW_POSTGRES, url, out, last, RAW_QUERY.format(mark="%s")]
    return [sys.executable, "-c", RAW_SQLITE, target, out, last, RAW_QUERY.format(mark="?")]


def lines(path: str) -> int:
    with open(path, "rb") as file:
        return sum(1 for _ in file)


def report(results: dict[str, Run], rows: dict[str, int]) -> None:
    print(f"\n{'what':<38}{'seconds':>9}{'ratio':>8}{'cpu s':>8}{'ratio':>7}{'peak MB':>10}   goal")
    labels = {
        "due": f"due --within {WITHIN} (csv, {rows['due']:,} rows)",
        "raw": "raw driver query, csv module",
        "to_call": f"due --to-call (csv, {rows['to_call']:,} rows)",
        "status": "status ID (whole process)",
    }
    for key, run in results.items():
        base = results[RATIO_OF[key]] if key in RATIO_OF else None
        ratio = run.seconds / base.seconds if base else None
        cpu_ratio = f"{run.cpu / base.cpu:.2f}" if base else ""
        seconds_goal, ratio_goal, mb_goal = GOALS[key]
        goal = ", ".join(
            text
            for text in (
                f"<= {seconds_goal} s" if seconds_goal else "",
                f"<= {ratio_goal}x {RATIO_OF[key]}" if ratio_goal else "",
                f"< {mb_goal} MB",
            )
            if text
        )
        met = (
            (seconds_goal is None or run.seconds <= seconds_goal)
            and (ratio_goal is None or ratio is None or ratio <= ratio_goal)
            and run.peak_mb < mb_goal
        )
        shown = f"{ratio:.2f}" if ratio is not None else ""
        print(
            f"{labels[key]:<38}{run.seconds:>9.3f}{shown:>8}{run.cpu:>8.3f}{cpu_ratio:>7}"
            f"{run.peak_mb:>10.1f}   {goal} {'ok' if met else 'MISSED'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--db", metavar="PATH_OR_URL", help="SQLite file or PostgreSQL URL")
    parser.add_argument("--reuse", action="store_true", help="use the programme already there")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (the best counts)")
    args = parser.parse_args()
    target = args.db or str(Path(tempfile.gettempdir()) / f"followup-bench-{args.patients}.db")
    build(target, args.patients, args.reuse)
    patient = some_patient(target)
    followup = [sys.executable, "-m", "followup", "--db", target]
    with tempfile.TemporaryDirectory() as tmp:
        due_csv, raw_csv = str(Path(tmp) / "due.csv"), str(Path(tmp) / "raw.csv")
        due = [
            *followup,
            "due",
            "--as-of",
            AS_OF.isoformat(),
            "--within",
            str(WITHIN),
            "--format",
            "csv",
            "-o",
            due_csv,
            "--force",  # each run replaces the last one's file
        ]
        to_call_csv = str(Path(tmp) / "to-call.csv")
        to_call = [*followup, "due", "--to-call", "--as-of", AS_OF.isoformat(), "--format",
                   "csv", "-o", to_call_csv]  # fmt: skip
        status = [*followup, "status", patient, "--as-of", AS_OF.isoformat()]
        results: dict[str, list[Run]] = {"due": [], "raw": [], "to_call": [], "status": []}
        for _ in range(args.repeat):  # interleaved, so a busy moment hits each alike
            results["due"].append(timed([*due, "--force"]))
            results["raw"].append(timed(raw_command(target, raw_csv)))
            results["to_call"].append(timed([*to_call, "--force"]))
            results["status"].append(timed(status))
        rows = {"due": lines(due_csv) - 1, "to_call": lines(to_call_csv) - 1}
        if rows["due"] != lines(raw_csv) - 1:
            raise SystemExit(
                f"the report wrote {rows['due']} rows, the raw query {lines(raw_csv) - 1}"
            )
    where = "PostgreSQL" if is_url(target) else "SQLite"
    print(f"{where}, {patient_count(target):,} patients, as of {AS_OF}, best of {args.repeat}")
    report({key: best(runs) for key, runs in results.items()}, rows)
    print(
        f"\ntimed: {' '.join(due[2:])}\n       {' '.join(to_call[2:])}\n"
        f"       {' '.join(status[2:])}"
    )


if __name__ == "__main__":
    main()
