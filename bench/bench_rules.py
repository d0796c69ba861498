"""Per-patient planning cost of the rules engine: microseconds per patient for ``make_plan``.

    python bench/bench_rules.py [--patients 20000] [--repeat 5] [--seed 7]

The histories are those of :mod:`followup.synthetic` (the demo's and the benchmarks' screening
programme: mostly negative or benign, some probably-benign episodes, incomplete and suspicious
results, facility switches and film transfers), read into plain values first. The timed loop
then does, per patient, what a bulk load's planner does (``followup.store.plan_rows``): build
the rules' ``Exam`` and ``FilmTransfer`` values from those plain values (findings built once
and shared, as ``followup.store.rules_inputs.FindingCache`` does) and call ``make_plan``. It
prints the best of ``--repeat`` runs, for the building and planning together (what a load, a
recompute or ``status`` pays per patient) and for ``make_plan`` alone (on values built
earlier, so colder in the CPU caches).
Times are CPU time of this process (``time.process_time``), so that other work on a shared
machine inflates them less than wall-clock time; compare runs made back to back.

Only the constructor arguments the old engine also has are used, so the same script times the
engine before and after a change, back to back:

    PYTHONPATH=/work/baseline /work/baseline/.venv/bin/python bench/bench_rules.py
    .venv/bin/python bench/bench_rules.py

When the engine knows biopsies and unilateral exams (issue 13), a second mix is timed too: the
same histories where one exam in ten images one breast only and every biopsy-type result is
followed by a biopsy record (mostly benign concordant, some high-risk, discordant, malignant
or pending).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from followup import rules, synthetic

AS_OF = date(2025, 6, 2)

# One exam as plain values: date, facility, findings' columns, kind, months, id, imaged.
PlainExam = tuple[date, str, tuple[tuple[Any, ...], ...], Any, int | None, int, str | None]
PlainPatient = tuple[list[PlainExam], list[tuple[str, str]], list[tuple[Any, ...]]]


def histories(patients: int, seed: int, *, extended: bool) -> list[PlainPatient]:
    """The programme's patients as plain values (outside the timed loop)."""
    result: list[PlainPatient] = []
    exam_id = 0
    for number, patient in enumerate(synthetic.programme(patients, seed, AS_OF)):
        rng = random.Random(f"bench:{seed}:{number}")
        exams: list[PlainExam] = []
        biopsies: list[tuple[Any, ...]] = []
        for exam in patient.exams:
            exam_id += 1
            findings = tuple(
                (f.category, f.laterality, f.morphology, f.distribution) for f in exam.findings
            )
            imaged = None
            if extended:
                imaged, biopsy = _extend(rng, exam, exam_id)
                if biopsy is not None:
                    biopsies.append(biopsy)
            exams.append(
                (
                    exam.date,
                    exam.facility,
                    findings,
                    exam.kind,
                    exam.follow_up_months,
                    exam_id,
                    imaged,
                )
            )
        moved = [(t.from_facility, t.to_facility) for t in patient.transfers]
        result.append((exams, moved, biopsies))
    return result


def _extend(
    rng: random.Random, exam: Any, exam_id: int
) -> tuple[str | None, tuple[Any, ...] | None]:
    """A unilateral exam now and then (on its finding's side) and a biopsy after a BI-RADS 4/5."""
    finding = exam.findings[0]
    side = finding.laterality.value if finding.laterality else None
    imaged = side if side in ("left", "right") and rng.random() < 0.1 else None
    if finding.category.action != "biopsy" or side not in ("left", "right"):
        return imaged, None
    result = rng.choices(
        [
            ("benign", True),
            ("benign", False),
            ("high-risk", None),
            ("malignant", None),
            ("pending", None),
        ],
        [70, 5, 8, 12, 5],
    )[0]
    day = min(exam.date + timedelta(days=rng.randint(5, 30)), AS_OF)
    return imaged, (exam_id, day, side, *result)


def builder(extended: bool) -> Callable[[PlainPatient], tuple[Any, ...]]:
    """The arguments of ``make_plan`` for one patient, built as the bulk planner builds them."""
    findings: dict[tuple[Any, ...], Any] = {}
    exam_type, transfer_type, policy = rules.Exam, rules.FilmTransfer, rules.DEFAULT_POLICY

    def finding(columns: tuple[Any, ...]) -> Any:
        made = findings.get(columns)
        if made is None:
            made = findings[columns] = rules.Finding(*columns)
        return made

    def build_old(patient: PlainPatient) -> tuple[Any, ...]:
        exams, moved, _ = patient
        history = [
            exam_type(day, place, tuple(map(finding, cols)), kind, months, exam_id)
            for day, place, cols, kind, months, exam_id, _ in exams
        ]
        return history, [transfer_type(a, b) for a, b in moved], policy

    if not extended:
        return build_old
    imaged_of = {None: rules.Imaged.BOTH, **{i.value: i for i in rules.Imaged}}

    def build_new(patient: PlainPatient) -> tuple[Any, ...]:
        exams, moved, biopsies = patient
        history = [
            exam_type(
                day, place, tuple(map(finding, cols)), kind, months, exam_id, imaged=imaged_of[im]
            )
            for day, place, cols, kind, months, exam_id, im in exams
        ]
        done = [
            rules.Biopsy(
                id=b[0],
                date=b[1],
                side=rules.Laterality(b[2]),
                result=rules.BiopsyResult(b[3]),
                concordant=b[4],
            )
            for b in biopsies
        ]
        return history, [transfer_type(a, b) for a, b in moved], policy, done

    return build_new


def best_of(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return min(times)


def measure(label: str, patients: list[PlainPatient], repeat: int, extended: bool) -> None:
    build, make_plan = builder(extended), rules.make_plan
    for patient in patients[:1000]:  # warm the caches as a long load has them
        make_plan(*build(patient))

    def build_and_plan() -> None:
        for patient in patients:
            make_plan(*build(patient))

    whole = best_of(repeat, build_and_plan)
    built = [build(p) for p in patients]

    def plan_alone() -> None:
        for args in built:
            make_plan(*args)

    alone = best_of(repeat, plan_alone)
    exams = sum(len(p[0]) for p in patients)
    print(
        f"{label}: {len(patients)} patients, {exams / len(patients):.2f} exams each: "
        f"build + make_plan {whole / len(patients) * 1e6:.1f} µs/patient, "
        f"make_plan alone {alone / len(patients) * 1e6:.1f} µs/patient"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"engine: {rules.__file__}")
    patients = histories(args.patients, args.seed, extended=False)
    measure("programme mix (old API)", patients, args.repeat, extended=False)
    if hasattr(rules, "Biopsy"):
        extended = histories(args.patients, args.seed, extended=True)
        measure("with unilateral exams and biopsies", extended, args.repeat, extended=True)


if __name__ == "__main__":
    main()
