"""Make a synthetic screening programme: an exams CSV, or a loaded database with its plans.

Prints progress on stderr and a summary (rows, seconds, rows/s) on stdout. The same seed
gives the same programme, so a benchmark database can be rebuilt exactly.

Examples:
  python bench/generate.py --patients 1000000 --db /tmp/bench.db
  python bench/generate.py --patients 10000 --csv /tmp/exams.csv --seed 2
  python bench/generate.py --patients 100000 --db postgresql+psycopg://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

from followup import rules, synthetic

PROGRESS_EVERY = 50_000


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, required=True, help="how many patients")
    parser.add_argument("--seed", type=int, default=1, help="same seed, same programme")
    parser.add_argument(
        "--as-of", type=rules.parse_date, default=date.today(), help="no exam after this date"
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--csv", metavar="FILE", help="write an exams CSV (one row a finding)")
    target.add_argument("--db", metavar="PATH_OR_URL", help="load a (new or existing) database")
    return parser.parse_args(argv)


def _progress(items: Iterator[Any], total: int, is_patient: Any) -> Iterator[Any]:
    """Pass items through, telling stderr every PROGRESS_EVERY patients."""
    seen, start = 0, time.perf_counter()
    for item in items:
        if is_patient(item):
            seen += 1
            if seen % PROGRESS_EVERY == 0:
                elapsed = time.perf_counter() - start
                print(f"  {seen:,}/{total:,} patients, {elapsed:.0f} s", file=sys.stderr)
        yield item


def write_csv(path: str, patients: int, seed: int, as_of: date) -> int:
    from followup.cli.output import output_stream
    from followup.cli.output import write_csv as write_rows

    last: list[str] = [""]

    def new_patient(record: dict[str, Any]) -> bool:
        fresh = record["patient_id"] != last[0]
        last[0] = record["patient_id"]
        return fresh

    records = _progress(synthetic.csv_records(patients, seed, as_of), patients, new_patient)
    with output_stream(path, force=True) as out:  # a benchmark regenerates its input
        return write_rows(records, synthetic.CSV_COLUMNS, out)


def load_database(target: str, patients: int, seed: int, as_of: date) -> tuple[int, str]:
    """Load the programme in one transaction; returns (rows loaded, what the load did).

    The loader's own time (adding rows, writing plans, committing) is reported apart from
    the generator's, since the CSV importer is compared with the loader alone.
    """
    from followup.store.bulk import BulkLoader
    from followup.store.bulk_rows import PatientRow
    from followup.store.database import open_database

    database = open_database(target)
    try:
        with (
            database.transaction() as session,
            BulkLoader(session, rules.DEFAULT_POLICY, today=as_of) as loader,
        ):
            rows = synthetic.rows(patients, seed, as_of)
            count, loading = 0, 0.0
            for row in _progress(rows, patients, lambda r: isinstance(r, PatientRow)):
                started = time.perf_counter()
                loader.add(row)
                loading += time.perf_counter() - started
                count += 1
            print("  writing the last batch and plans...", file=sys.stderr)
            started = time.perf_counter()
            result = loader.finish()
            finishing = time.perf_counter() - started
            loading += time.perf_counter() - started
            print("  recording the coordinators' contacts...", file=sys.stderr)
            started = time.perf_counter()
            contacts = add_pathway(session, seed, as_of)
            pathway = time.perf_counter() - started
    finally:
        database.close()
    exams = result.exams_added
    counts = ", ".join(f"{k}={v:,}" for k, v in result.as_dict().items())
    return count, (
        f"{counts}\nloader alone: {loading:.1f} s ({finishing:.1f} s of it finishing), "
        f"{count / loading:,.0f} rows/s, {exams / loading:,.0f} exams/s\n"
        f"contacts: {contacts:,} recorded for the patients due, {pathway:.1f} s"
    )


def add_pathway(session: Any, seed: int, as_of: date) -> int:
    """The pathway of the patients due by as-of + 30 days (followup.store.demo.add_pathway)."""
    from followup.store.demo import add_pathway as demo_pathway

    return demo_pathway(session, seed, as_of)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    start = time.perf_counter()
    if args.csv:
        rows = write_csv(args.csv, args.patients, args.seed, args.as_of)
        what = f"CSV rows (one a finding) written to {args.csv}"
    else:
        rows, counts = load_database(args.db, args.patients, args.seed, args.as_of)
        what = f"rows (patients, exams, transfers) loaded with plans; {counts}"
    seconds = time.perf_counter() - start
    print(f"patients: {args.patients:,}  seed: {args.seed}  as-of: {args.as_of.isoformat()}")
    print(f"{rows:,} {what}")
    print(f"{seconds:.1f} s, {rows / seconds:,.0f} rows/s (generation included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
