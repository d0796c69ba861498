"""The synthetic programme: deterministic, realistic enough, and never in the future."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date

from followup import rules, synthetic
from followup.cli.output import write_csv
from followup.store.bulk_rows import ExamRow, PatientRow, TransferRow

AS_OF = date(2026, 6, 1)
C = rules.Category


def test_same_seed_same_programme():
    first = list(synthetic.programme(2000, seed=7, as_of=AS_OF))
    assert first == list(synthetic.programme(2000, seed=7, as_of=AS_OF))
    assert first[:10] == list(synthetic.programme(10, seed=7, as_of=AS_OF))
    assert first != list(synthetic.programme(2000, seed=8, as_of=AS_OF))
    assert list(synthetic.rows(50, 7, AS_OF)) == list(synthetic.rows(50, 7, AS_OF))


def test_the_mix_looks_like_screening():
    patients = list(synthetic.programme(3000, seed=7, as_of=AS_OF))
    exams = [e for p in patients for e in p.exams]
    assert all(e.date <= AS_OF for e in exams)
    assert 2.0 <= len(exams) / len(patients) <= 8.0
    mix = Counter(e.findings[0].category for e in exams)
    share = {c: mix[c] / len(exams) for c in C}
    assert share[C.NEGATIVE] + share[C.BENIGN] > 0.8
    assert 0.02 <= share[C.PROBABLY_BENIGN] <= 0.12
    assert 0.003 <= share[C.SUSPICIOUS] + share[C.HIGHLY_SUSPICIOUS] <= 0.03
    assert 0 < share[C.INCOMPLETE] <= 0.04
    assert 0 < share[C.KNOWN_MALIGNANCY] <= 0.01
    assert 40 <= len({rules.facility_key(e.facility) for e in exams}) <= 50
    variants = sum(e.facility not in synthetic.FACILITIES for e in exams)
    assert 0.005 < variants / len(exams) < 0.06
    switched = sum(
        any(a.facility_key != b.facility_key for a, b in zip(p.exams, p.exams[1:], strict=False))
        for p in patients
    )
    assert 0.02 < switched / len(patients) < 0.4
    assert 0 < sum(bool(p.transfers) for p in patients) < switched
    assert 0.8 < sum(p.email is not None for p in patients) / len(patients) < 0.97
    assert 0.85 < sum(p.reminders for p in patients) / len(patients) < 0.99
    assert all(p.email is None or p.email.endswith("@example.org") for p in patients)


def test_probably_benign_follows_the_protocol_with_some_late_or_lost():
    patients = list(synthetic.programme(3000, seed=3, as_of=AS_OF))
    gaps, lost = [], 0
    for patient in patients:
        pairs = list(zip(patient.exams, patient.exams[1:], strict=False))
        gaps += [
            (b.date - a.date).days for a, b in pairs if a.findings[0].category is C.PROBABLY_BENIGN
        ]
        last = patient.exams[-1]
        lost += last.findings[0].category is C.PROBABLY_BENIGN and (AS_OF - last.date).days > 300
    assert gaps and Counter(gaps).most_common(1)[0][0] == 182
    assert any(gap > 182 + 30 for gap in gaps)
    assert lost > 0


def test_rows_and_csv_carry_the_same_exams():
    rows = list(synthetic.rows(30, 5, AS_OF))
    exams = [r for r in rows if isinstance(r, ExamRow)]
    assert sum(isinstance(r, PatientRow) for r in rows) == 30
    assert all(isinstance(r, PatientRow | ExamRow | TransferRow) for r in rows)
    out = io.StringIO()
    written = write_csv(synthetic.csv_records(30, 5, AS_OF), synthetic.CSV_COLUMNS, out)
    records = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert written == len(records) == sum(len(e.findings) for e in exams)
    assert tuple(records[0]) == synthetic.CSV_COLUMNS
    first = exams[0]
    assert records[0]["patient_id"] == first.patient
    assert records[0]["date"] == first.date.isoformat()
    assert records[0]["category"] == first.findings[0].category
    assert {r["kind"] for r in records} == {"screening", "diagnostic"}
