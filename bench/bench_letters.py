"""Letters per second: 10,000 mixed letters (every kind, result and action) into one PDF.

Issue 14 point 10 asks for at least 200 letters a second in one run. The facts are built
before the clock starts (the integration reads them from the database); the figure covers
wording, layout and the PDF, written to memory, then to --out if given.

    .venv/bin/python bench/bench_letters.py
    .venv/bin/python bench/bench_letters.py --letters 2000 --paper a4 --out /tmp/letters.pdf
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date, timedelta
from pathlib import Path

from followup.present.letter_facts import (
    ACTIONS,
    CATEGORIES,
    Address,
    ExamResult,
    FacilityContact,
    FilmsRequest,
    LetterFacts,
    LetterKind,
    NextStep,
    Recipient,
)
from followup.present.letter_pdf import render_letters
from followup.present.letter_samples import SAMPLE_SENDER

FIRST = ["Renée", "Małgorzata", "Ayşe", "Ольга", "Maria", "Jennifer", "Nguyễn Thị", "Zoë"]
LAST = ["Łukasiewicz", "Şahin", "Кузнецова", "García-López", "O'Brien", "Smith", "Müller"]
STREETS = ["Maple Avenue", "Harbor Road", "Elm Street", "Birch Lane", "Ulica Długa"]
FACILITIES = [
    FacilityContact(
        f"{name} Imaging",
        Address((f"{10 + i} Main Street", f"Town {i}, IL 6270{i}")),
        f"(217) 555-01{10 + i}",
    )
    for i, name in enumerate(["Lakeside", "Northgate", "Riverside", "Hillcrest"])
]
DAY = date(2025, 7, 15)


def mixed_letters(count: int, seed: int = 1) -> list[LetterFacts]:
    """``count`` letters cycling through every kind, category and action."""
    rng = random.Random(seed)
    letters = []
    for i in range(count):
        patient = Recipient(
            f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            Address(
                (
                    f"{rng.randint(1, 9999)} {rng.choice(STREETS)}",
                    f"Springfield, IL 627{i % 100:02}",
                )
            ),
            date(1950, 1, 1) + timedelta(days=rng.randint(0, 9000)),
        )
        facility = FACILITIES[i % len(FACILITIES)]
        kind = list(LetterKind)[i % len(LetterKind)]
        step = NextStep(ACTIONS[i % len(ACTIONS)], DAY + timedelta(days=rng.randint(-90, 365)))
        letters.append(_letter(kind, i, rng, patient, facility, step))
    return letters


def _letter(
    kind: LetterKind,
    i: int,
    rng: random.Random,
    patient: Recipient,
    facility: FacilityContact,
    step: NextStep,
) -> LetterFacts:
    reference = f"L-{i + 1}"
    if kind is LetterKind.RESULT:
        result = ExamResult(
            CATEGORIES[i % len(CATEGORIES)],
            DAY - timedelta(days=rng.randint(1, 25)),
            birads=rng.choice(["4A", "4B", "4C", "3", None]),
            side=rng.choice(["left", "right", "bilateral", None]),
            density=rng.choice(["a", "b", "c", "d", None]),
        )
        return LetterFacts(kind, DAY, patient, facility, result, step, reference=reference)
    if kind is LetterKind.FILMS_REQUEST:
        films = FilmsRequest(
            FACILITIES[(i + 1) % 4], (date(2022, 3, 1), date(2023, 3, 7)), facility
        )
        return LetterFacts(kind, DAY, patient, facility, films=films, reference=reference)
    if kind is LetterKind.OVERDUE:
        n = 1 + i % 3
        return LetterFacts(
            kind,
            DAY,
            patient,
            facility,
            next_step=step,
            step=n,
            steps=3,
            certified=n == 3,
            reference=reference,
        )
    return LetterFacts(kind, DAY, patient, facility, next_step=step, reference=reference)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=10_000)
    parser.add_argument("--paper", default="letter", choices=["letter", "a4"])
    parser.add_argument("--out", type=Path, help="also write the PDF here")
    args = parser.parse_args()
    letters = mixed_letters(args.letters)
    render_letters(letters[:4], SAMPLE_SENDER, paper_name=args.paper)  # fonts loaded, as in a run
    start, cpu = time.perf_counter(), time.process_time()
    pdf = render_letters(letters, SAMPLE_SENDER, paper_name=args.paper)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    if args.out:
        args.out.write_bytes(pdf)
    pages = pdf.count(b"/Type /Page\n")
    print(
        f"{args.letters} letters ({pages} pages, {len(pdf) / 1e6:.1f} MB, {args.paper}) "
        f"in {seconds:.2f} s: {args.letters / seconds:.0f} letters/s "
        f"({args.letters / cpu:.0f} letters per CPU second: the figure when the machine is busy)"
    )


if __name__ == "__main__":
    main()
