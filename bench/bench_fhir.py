"""How fast ``followup import fhir`` reads a bundle, and that its time is linear.

    python bench/bench_fhir.py [--exams 20000] [--patients 10000] [--db PATH_OR_URL]
    python bench/bench_fhir.py --compare [--db PATH_OR_URL]

1. Writes a bundle of one patient with ``--exams`` exams (a Procedure and an Observation
   each, as ``followup export fhir`` writes them: three facilities, screening and diagnostic
   exams on alternate days), and a bundle of ``--patients`` patients with three exams each
   (a Patient, three Procedures and three Observations per patient, each exam naming its
   patient as subject).
2. Times ``python -m followup import fhir FILE`` as a subprocess, start to exit (reading the
   JSON, checking every exam, writing exams, findings, audit entries and plans), each into a
   fresh SQLite file in a temporary folder (or ``--db``: an empty database, e.g. a PostgreSQL
   URL, emptied with ``db downgrade base`` between runs).
3. Prints the seconds and exams per second of each import.

``--compare`` imports one patient with 5,000, 10,000 and 20,000 exams and prints the time
per exam of each: linear when it stays about the same (it grew with the exams before: one
patient with 1,000 exams took 12.6 s, 2,000 took 72 s, 4,000 took 334 s).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

FIRST_DAY = date(1950, 1, 1)
FACILITIES = ("Northside Imaging", "Eastside Clinic", "Harbor Breast Center")
CATEGORIES = ("negative", "benign", "negative", "probably-benign")


def _exam_resources(patient: str, index: int, day: date, subject: str) -> list[dict]:
    """A Procedure and its Observation, as fhir_write writes them (codes from fhir_codes)."""
    from followup import rules
    from followup.exchange.fhir_codes import BIRADS_SYSTEM, CATEGORY_CODES, KIND_CODES, LOINC

    kind = ("screening", "diagnostic")[index % 2]
    loinc, display = KIND_CODES[kind]
    category = rules.Category(CATEGORIES[index % len(CATEGORIES)])
    facility = FACILITIES[index % len(FACILITIES)]
    procedure_id = f"{patient}-exam-{index}"
    return [
        {
            "fullUrl": f"urn:uuid:{procedure_id}",
            "resource": {
                "resourceType": "Procedure",
                "id": procedure_id,
                "status": "completed",
                "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}]},
                "subject": {"reference": subject},
                "performedDateTime": day.isoformat(),
                "location": {"display": facility},
            },
        },
        {
            "fullUrl": f"urn:uuid:{procedure_id}-finding",
            "resource": {
                "resourceType": "Observation",
                "id": f"{procedure_id}-finding",
                "status": "final",
                "partOf": [{"reference": f"urn:uuid:{procedure_id}"}],
                "code": {"text": "BI-RADS assessment category"},
                "subject": {"reference": subject},
                "valueCodeableConcept": {
                    "coding": [{"system": BIRADS_SYSTEM, "code": CATEGORY_CODES[category][0]}],
                    "text": category.value,
                },
            },
        },
    ]


def _patient(patient: str) -> list[dict]:
    from followup.exchange.fhir_codes import PATIENT_ID_SYSTEM

    return [
        {
            "fullUrl": f"urn:uuid:{patient}",
            "resource": {
                "resourceType": "Patient",
                "id": patient,
                "identifier": [{"system": PATIENT_ID_SYSTEM, "value": patient}],
            },
        }
    ]


def one_patient(exams: int) -> dict:
    """One patient, ``exams`` exams on consecutive days from 1950."""
    entries = _patient("P1")
    for index in range(exams):
        day = FIRST_DAY + timedelta(days=index)
        entries += _exam_resources("P1", index, day, "urn:uuid:P1")
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def many_patients(patients: int, exams_each: int = 3) -> dict:
    entries: list[dict] = []
    for number in range(patients):
        patient = f"B{number:07d}"
        entries += _patient(patient)
        for index in range(exams_each):
            day = date(2022 + index, 1 + number % 12, 1 + number % 28)
            entries += _exam_resources(patient, index, day, f"urn:uuid:{patient}")
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def timed_import(url: str, bundle: dict, folder: Path, name: str) -> float:
    path = folder / f"{name}.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    command = [sys.executable, "-m", "followup", "--db", url]
    if "://" in url:
        subprocess.run([*command, "db", "downgrade", "base"], capture_output=True, check=False)
    start = time.perf_counter()
    subprocess.run(
        [*command, "import", "fhir", str(path), "--as-of", "2025-06-01"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "FOLLOWUP_DB": "", "FOLLOWUP_POLICY": ""},
    )
    return time.perf_counter() - start


def report(what: str, exams: int, seconds: float) -> None:
    per_exam = seconds / exams * 1000
    print(f"{what:<44} {seconds:7.2f} s  {exams / seconds:8,.0f} exams/s  {per_exam:.3f} ms/exam")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exams", type=int, default=20_000)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--db", help="an empty database URL (default: fresh SQLite files)")
    parser.add_argument("--compare", action="store_true", help="5,000 / 10,000 / 20,000 exams")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        where = Path(folder)

        def url(name: str) -> str:
            return args.db or str(where / f"{name}.db")

        if args.compare:
            for exams in (5_000, 10_000, 20_000):
                seconds = timed_import(url(f"one{exams}"), one_patient(exams), where, "one")
                report(f"one patient, {exams:,} exams", exams, seconds)
            return
        seconds = timed_import(url("one"), one_patient(args.exams), where, "one")
        report(f"one patient, {args.exams:,} exams", args.exams, seconds)
        seconds = timed_import(url("many"), many_patients(args.patients), where, "many")
        report(f"{args.patients:,} patients, 3 exams each", args.patients * 3, seconds)


if __name__ == "__main__":
    main()
