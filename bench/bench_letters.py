"""Letters per second: one ``followup letters`` run producing about 10,000 letters.

Issue 14 point 10 asks for at least 200 letters a second in one run. The bench builds a
programme whose first run has about 10,000 letters due (result letters of every category
and density, upcoming reminders, overdue letters of every step, the last certified, films
requests after a facility switch), then times the command as a cron job runs it, in a process
of its own: finding the letters, recording each in the letter log with its contact, wording,
layout and the PDF, written to disk. It prints the letters, pages and file size, wall and CPU
seconds, and the process's peak memory.

    .venv/bin/python bench/bench_letters.py
    .venv/bin/python bench/bench_letters.py --patients 2000 --db /tmp/letters.db --out /tmp/l.pdf
    .venv/bin/python bench/bench_letters.py --db postgresql+psycopg://postgres@127.0.0.1/bench
    .venv/bin/python bench/bench_letters.py --pdf-only    # wording, layout and PDF alone
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from followup import rules

AS_OF = date(2025, 7, 15)
FIRST = ["Renée", "Małgorzata", "Ayşe", "Ольга", "Maria", "Jennifer", "Zoë", "Ana"]
LAST = ["Łukasiewicz", "Şahin", "Кузнецова", "García-López", "O'Brien", "Smith", "Müller"]
STREETS = ["Maple Avenue", "Harbor Road", "Elm Street", "Birch Lane", "Ulica Długa"]
FACILITIES = ["Lakeside Imaging", "Northgate Imaging", "Riverside Imaging", "Hillcrest Imaging"]
RESULTS = [  # category, subdivision, kind
    ("negative", None, "screening"),
    ("benign", None, "screening"),
    ("probably-benign", None, "diagnostic"),
    ("incomplete", None, "screening"),
    ("incomplete-priors", None, "screening"),
    ("suspicious", "4B", "diagnostic"),
    ("highly-suspicious", None, "diagnostic"),
]


def programme(patients: int, seed: int = 1) -> Iterator[Any]:
    """Bulk-loader rows: patient i is a result letter (i % 4 == 0), an upcoming reminder
    (1), an overdue step falling on the as-of date (2), or a facility switch, whose first run
    sends the result letter and a films request (3)."""
    from followup.store.bulk_rows import ExamRow, FindingRow, PatientRow

    for i in range(patients):
        rng = random.Random(f"{seed}:{i}")
        patient = f"B{i:06d}"
        address = f"{rng.randint(1, 9999)} {rng.choice(STREETS)}\nSpringfield, IL 627{i % 100:02}"
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        born = date(1950, 1, 1) + timedelta(days=rng.randint(0, 9000))
        yield PatientRow(patient, name=name, birth_date=born, address=address)
        here = FACILITIES[i % len(FACILITIES)]
        density = rng.choice(["a", "b", "c", "d", None])
        for day, facility, category, subdivision, kind in _exams(i, here):
            finding = FindingRow(
                category, rng.choice(["left", "right", None]), subdivision=subdivision
            )
            yield ExamRow(patient, day, facility, (finding,), kind=kind, density=density)


def _exams(i: int, here: str) -> list[tuple[date, str, str, str | None, str]]:
    kind = i % 4
    if kind == 0:
        category, subdivision, exam_kind = RESULTS[(i // 4) % len(RESULTS)]
        return [(AS_OF - timedelta(days=i % 25), here, category, subdivision, exam_kind)]
    if kind == 1:
        due = AS_OF + timedelta(days=1 + i % 28)
        return [(rules.add_months(due, -12), here, "negative", None, "screening")]
    if kind == 2:
        due = AS_OF - timedelta(days=(1, 30, 60)[(i // 4) % 3])
        return [(rules.add_months(due, -12), here, "negative", None, "screening")]
    before = FACILITIES[(i + 1) % len(FACILITIES)]
    earlier = [
        (AS_OF - timedelta(days=365 * y + 40), before, "negative", None, "screening")
        for y in (1, 2)
    ]
    return [*earlier, (AS_OF - timedelta(days=i % 20), here, "benign", None, "screening")]


def build(url: str, patients: int) -> None:
    """The programme, its plans, the clinic and the facilities' addresses."""
    from followup.store.bulk import BulkLoader
    from followup.store.database import open_database
    from followup.store.facilities import PostalDetails, edit_facility, set_clinic
    from followup.store.policies import policy_in_force

    database = open_database(url)
    try:
        with database.transaction() as session:
            policy = policy_in_force(session)
            with BulkLoader(session, policy, today=AS_OF) as loader:
                for row in programme(patients):
                    loader.add(row)
                loader.finish()
            set_clinic(
                session,
                PostalDetails(
                    "Lakeside Breast Center",
                    "400 Harbor Road\nSpringfield, IL 62704",
                    "(217) 555-0142",
                ),
            )
            for n, name in enumerate(FACILITIES):
                details = PostalDetails(
                    address=f"{10 + n} Main Street\nTown {n}, IL 6270{n}",
                    phone=f"(217) 555-01{10 + n}",
                )
                edit_facility(session, name, details, policy)
    finally:
        database.close()


def run_letters(url: str, out: Path) -> tuple[str, float, float, float]:
    """``python -m followup letters`` in a process of its own: its output, wall and CPU
    seconds, peak memory in MB."""
    command = [
        sys.executable,
        "-m",
        "followup",
        "--db",
        url,
        "letters",
        "--as-of",
        AS_OF.isoformat(),
        "-o",
        str(out),
        "--force",
    ]
    env = {**os.environ, "FOLLOWUP_DB": "", "FOLLOWUP_POLICY": ""}
    start = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"letters failed: {stderr.strip()}")
    return stdout.strip(), wall, *_usage()


def _usage() -> tuple[float, float]:
    """CPU seconds and peak memory (MB) of the child that just ended (its own getrusage)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def pdf_only(count: int) -> None:
    """Wording, layout and PDF of ``count`` letters read from a built programme, in memory."""
    from followup.present.letter_pdf import render_letters
    from followup.present.letter_samples import SAMPLE_SENDER, sample_letters

    letters = [sample_letters()[i % 4] for i in range(count)]
    render_letters(letters[:4], SAMPLE_SENDER)  # fonts loaded, as in a run
    start, cpu = time.perf_counter(), time.process_time()
    pdf = render_letters(letters, SAMPLE_SENDER)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"{count} sample letters, PDF only ({len(pdf) / 1e6:.1f} MB) in {seconds:.2f} s: "
        f"{count / seconds:.0f} letters/s ({count / cpu:.0f} per CPU second)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=7_200, help="about 1.4 letters each")
    parser.add_argument("--db", help="database file or URL (default: a new file in /tmp)")
    parser.add_argument("--reuse", action="store_true", help="the --db is built: time again")
    parser.add_argument("--out", type=Path, help="the PDF (default: beside the database)")
    parser.add_argument("--pdf-only", action="store_true", help="time the PDF alone")
    args = parser.parse_args()
    if args.pdf_only:
        pdf_only(10_000)
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-letters-"))
    url = args.db or str(folder / "letters.db")
    if not args.reuse:
        started = time.perf_counter()
        build(url, args.patients)
        print(
            f"built {args.patients} patients in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
    out = args.out or folder / "letters.pdf"
    said, wall, cpu, peak = run_letters(url, out)
    produced = int(said.split()[1])
    size = out.stat().st_size / 1e6 if out.exists() else 0.0
    print(f"followup letters: {said}")
    print(
        f"{produced} letters ({size:.1f} MB PDF) in {wall:.2f} s wall, {cpu:.2f} s CPU: "
        f"{produced / wall:.0f} letters/s ({produced / cpu:.0f} per CPU second), "
        f"peak memory {peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
