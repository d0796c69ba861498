"""How fast the outcomes audit counts: the pure computation, or a programme in a database.

    python bench/bench_audit.py [--patients 1000000] [--repeat 3]
    python bench/bench_audit.py --db PATH_OR_URL [--from DATE --to DATE] [--as-of DATE]

Issue 15 point 6 asks for a one-year audit of 1,000,000 patients in at most 10 s on SQLite and
PostgreSQL, memory flat.

With ``--db`` (a programme built by ``bench/generate.py``), the audit as ``followup audit``
runs it: the store's streamed queries (followup.store.audit_inputs) and the pure count, for the
programme, by facility and by radiologist, best of ``--repeat``, wall-clock and CPU seconds
(the CPU of this process: the SQLite engine's work included, PostgreSQL's server not), then
the peak memory traced during one more audit and the process's peak RSS. The period defaults
to the year that ends ``outcome_days`` (365) before the as-of date, so every window has ended.

Without it, the part that is ours alone, so the store knows what is left for its query:

1. A pool of 20,000 distinct synthetic patients (one year, about 1.05 exams each; BCSC-like
   rates: recall about 11%, 5 cancers per 1,000 screens, biopsies after 4/5 assessments,
   some exams without kind or radiologist), streamed round and round up to ``--patients``, so
   that building the input is left out of the timing and memory stays flat.
2. ``audit()`` over that stream: for the programme, by facility, by radiologist (best of
   ``--repeat``), in exams per second.
3. The same over store-shaped input: a fresh tuple per exam row (the six AuditExam fields,
   then the patient's key), grouped with ``itertools.groupby`` (the group passed as it is),
   outcomes looked up by key: the input alone, then with the audit (cold objects, as a
   database driver's are, cost more than the pool's warm ones).
4. Peak memory traced during the audit of 100,000 and of ``--patients`` patients (flat: the
   same whatever the size), and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from itertools import cycle, groupby, islice
from operator import itemgetter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from followup.rules.audit import AuditBiopsy, AuditExam, AuditPatient, audit

START, END, AS_OF = date(2024, 1, 1), date(2024, 12, 31), date(2026, 3, 1)
POOL = 20_000
FACILITIES = [f"Facility {n}" for n in range(50)]
RADIOLOGISTS = [f"Dr {n}" for n in range(200)]
NEGATIVE = ["negative"] * 68 + ["benign"] * 32
POSITIVE = ["incomplete"] * 86 + ["incomplete-priors"] * 5 + ["probably-benign"] * 6
POSITIVE += ["suspicious"] * 2 + ["highly-suspicious"]
CANCER_RATE, SENSITIVITY, RECALL = 0.0059, 0.87, 0.112  # per screen: BCSC-like (§8)


def _patient(rng: random.Random) -> AuditPatient:
    """One patient's year: a screen (or a diagnostic exam, or one without kind), a work-up
    and biopsy after some positives, her cancer if she has one, sometimes a post-procedure."""
    day = START + timedelta(days=rng.randrange(366))
    facility, radiologist = rng.choice(FACILITIES), rng.choice([*RADIOLOGISTS, None])
    roll = rng.random()
    kind = "screening" if roll < 0.88 else "diagnostic" if roll < 0.97 else None
    cancer = rng.random() < CANCER_RATE
    positive = rng.random() < (SENSITIVITY if cancer else RECALL)
    category = rng.choice(POSITIVE if positive else NEGATIVE)
    exams = [AuditExam(day, kind, category, facility, radiologist)]
    biopsies: list[AuditBiopsy] = []
    if positive and (cancer or rng.random() < 0.12):  # worked up to a biopsy recommendation
        day += timedelta(days=rng.randrange(7, 30))
        exams.append(AuditExam(day, "diagnostic", "suspicious", facility, radiologist))
        result = "malignant" if cancer else rng.choice(["benign"] * 6 + ["high-risk", "pending"])
        biopsies.append(AuditBiopsy(day + timedelta(days=rng.randrange(1, 21)), result))
        if rng.random() < 0.3:
            exams.append(AuditExam(day, None, "post-procedure", facility, None))
    elif cancer:  # found later: an interval cancer, or after a missed recall
        biopsies.append(AuditBiopsy(day + timedelta(days=rng.randrange(30, 400)), "malignant"))
    return AuditPatient(exams, biopsies)


def pool(seed: int = 15) -> list[AuditPatient]:
    rng = random.Random(seed)
    return [_patient(rng) for _ in range(POOL)]


def stream(patients: list[AuditPatient], count: int) -> Iterator[AuditPatient]:
    return islice(cycle(patients), count)


def as_rows(patients: list[AuditPatient]) -> list[tuple[object, ...]]:
    """The pool as ordered exam rows: the six AuditExam fields, then the patient's key."""
    return [(*exam, key) for key, patient in enumerate(patients) for exam in patient.exams]


def fresh_rows(rows: list[tuple[object, ...]], count: int) -> Iterator[tuple[object, ...]]:
    """Rows for ``count`` patients, each a new tuple with a new key, as a driver hands them
    out (every round of the pool is another set of patients)."""
    for round_ in range(count // POOL + 1):
        offset = round_ * POOL
        for day, kind, category, facility, radiologist, sides, key in rows:
            patient = key + offset  # type: ignore[operator]
            if patient >= count:
                return
            yield (day, kind, category, facility, radiologist, sides, patient)


def store_shaped(
    rows: list[tuple[object, ...]], patients: list[AuditPatient], count: int
) -> Iterator[AuditPatient]:
    """What a store would feed the audit: fresh rows grouped by patient (the group itself,
    read once), her outcomes looked up by key (only the few who have any)."""
    outcomes = {k: p.biopsies for k, p in enumerate(patients) if p.biopsies}
    get = outcomes.get
    for key, group in groupby(fresh_rows(rows, count), itemgetter(6)):
        yield AuditPatient(group, get(key % POOL, ()))  # type: ignore[arg-type]


def best_of(repeat: int, run) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Best wall-clock and best CPU seconds of ``repeat`` runs: on a shared machine the CPU
    time is the steadier figure of what the work itself costs."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def line(label: str, timing: tuple[float, float], exams: int, note: str = "") -> str:
    wall, cpu = timing
    return f"{label:<30} {wall:6.2f} s wall {cpu:6.2f} s CPU {exams / cpu:>11,.0f} exams/s{note}"


def traced_peak(patients: list[AuditPatient], count: int) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    audit(stream(patients, count), START, END, AS_OF, by="radiologist")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def store_audit(database, query, by):  # type: ignore[no-untyped-def]
    """``followup audit``'s work: the store's streamed input counted by the pure audit."""
    from followup.store.audit_inputs import outcomes_audit

    with database.transaction(write=False) as session:
        return outcomes_audit(session, replace(query, by=by))[0]


def store_traced_peak(database, query) -> int:  # type: ignore[no-untyped-def]
    tracemalloc.start()
    store_audit(database, query, "radiologist")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def store_mode(args: argparse.Namespace) -> None:
    from followup.store.audit_inputs import AuditQuery
    from followup.store.database import open_database

    database = open_database(args.db, create=False)
    try:
        end = args.end or args.as_of - timedelta(days=365)
        start = args.start or end - timedelta(days=364)
        query = AuditQuery(start, end, args.as_of)
        report = store_audit(database, query, None)
        total = report.total
        exams = sum(getattr(total, name) for name in EXAM_COUNTS)
        print(f"{database.location}: {exams:,} exams in {start} to {end}, as of {args.as_of}")
        print(rates_line(total))
        for by in (None, "facility", "radiologist"):
            timing = best_of(args.repeat, lambda by=by: store_audit(database, query, by))
            print(line(f"store audit, {f'by {by}' if by else 'programme'}", timing, exams))
        month = replace(query, end=start + timedelta(days=30))
        small, large = (store_traced_peak(database, q) for q in (month, query))
        print(f"peak memory traced in an audit by radiologist: {small / 1024:,.0f} KiB for a")
        print(
            f"  month of exams, {large / 1024:,.0f} KiB for the year, twelve times as many (flat)"
        )
    finally:
        database.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"process peak RSS {rss / 1024:,.0f} MiB")


EXAM_COUNTS = (
    "screening_exams",
    "diagnostic_exams",
    "exams_without_kind",
    "post_procedure_exams",
    "known_malignancy_exams",
)


def rates_line(total) -> str:  # type: ignore[no-untyped-def]
    rates = {name: rate.value or 0.0 for name, rate in total.rates().items()}
    return (
        "  recall {recall_rate:.1%}, cancer detection {cancer_detection_per_1000:.1f}/1000, "
        "PPV1 {ppv1:.1%}, PPV2 {ppv2:.1%}, PPV3 {ppv3:.1%}, sensitivity {sensitivity:.1%}, "
        "specificity {specificity:.1%}".format(**rates)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", metavar="PATH_OR_URL", help="audit this programme's store")
    parser.add_argument("--from", dest="start", type=date.fromisoformat, metavar="DATE")
    parser.add_argument("--to", dest="end", type=date.fromisoformat, metavar="DATE")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date.today(), metavar="DATE")
    args = parser.parse_args()
    if args.db:
        store_mode(args)
        return
    patients = pool()
    count = args.patients
    report = audit(stream(patients, count), START, END, AS_OF)
    total = report.total
    exams = sum(getattr(total, name) for name in EXAM_COUNTS)
    print(f"{count:,} patients, {exams:,} exams in {START} to {END}, as of {AS_OF}")
    print(rates_line(total))
    for by in (None, "facility", "radiologist"):
        timing = best_of(
            args.repeat, lambda by=by: audit(stream(patients, count), START, END, AS_OF, by=by)
        )
        print(line(f"audit, {f'by {by}' if by else 'programme'}", timing, exams))
    rows = as_rows(patients)
    feed = best_of(args.repeat, lambda: sum(1 for _ in store_shaped(rows, patients, count)))
    both = best_of(
        args.repeat,
        lambda: audit(store_shaped(rows, patients, count), START, END, AS_OF, by="radiologist"),
    )
    print(line("store-shaped input alone", feed, exams, "  (fresh rows, grouped by patient)"))
    share = f"  (by radiologist; the audit's own share {both[1] - feed[1]:.2f} s CPU)"
    print(line("audit of store-shaped input", both, exams, share))
    small = traced_peak(patients, 100_000)
    large = traced_peak(patients, count)
    print(f"peak memory traced in the audit: {small / 1024:,.0f} KiB for 100,000 patients,")
    print(f"  {large / 1024:,.0f} KiB for {count:,} (the pool itself not counted)")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"process peak RSS {rss / 1024:,.0f} MiB (interpreter, pool of {POOL:,} patients)")


if __name__ == "__main__":
    main()
