"""How fast ``followup recompute`` rebuilds every stored plan of a big programme.

    python bench/bench_recompute.py [--patients 1000000] [--db PATH_OR_URL] [--reuse] [--repeat 3]

1. Builds the programme with bench/generate.py (synthetic rows through the bulk loader, plans
   included) into ``--db`` (default: a SQLite file in the temporary directory named after N),
   or, with ``--reuse``, uses the database already there (built by an earlier run, or by
   another checkout: the script only runs ``followup`` itself, so the same database times
   two versions back to back with their own interpreters).
2. Times ``followup --db X recompute`` as a whole process, ``--repeat`` times: wall-clock
   seconds, CPU seconds (from os.wait4's rusage, which other work on a shared machine inflates
   less) and peak resident memory.

Prints each run and the best, with patients per second.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
AS_OF = "2026-06-01"


def build(db: str, patients: int) -> None:
    command = [sys.executable, str(BENCH / "generate.py"), "--patients", str(patients)]
    subprocess.run([*command, "--as-of", AS_OF, "--db", db], check=True)


def time_recompute(db: str) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds, peak RSS (KiB) and the line it printed."""
    command = [sys.executable, "-m", "followup", "--db", db, "recompute"]
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        out.seek(0)
        printed = out.read().strip()
    if status != 0:
        raise SystemExit(f"recompute failed:\n{printed}")
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, cpu, usage.ru_maxrss, printed.splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--db", help="database path or URL (default: a temporary SQLite file)")
    parser.add_argument("--reuse", action="store_true", help="use the database already there")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    db = args.db or str(Path(tempfile.gettempdir()) / f"recompute-{args.patients}.db")
    if not args.reuse:
        build(db, args.patients)
    best = None
    for _ in range(args.repeat):
        wall, cpu, rss, last = time_recompute(db)
        print(f"recompute: {wall:.1f} s, CPU {cpu:.1f} s, peak RSS {rss / 1024:.0f} MiB ({last})")
        best = wall if best is None else min(best, wall)
    assert best is not None
    print(f"best: {best:.1f} s, {args.patients / best:,.0f} patients/s")


if __name__ == "__main__":
    main()
