"""The synthetic programme: deterministic, realistic enough, and never in the future."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date

from followup import rules, synthetic
from followup.cli.output import write_csv
from followup.store.bulk_rows import BiopsyRow, ExamRow, PatientRow, TransferRow

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
    assert 0.03 < share[C.INCOMPLETE] + share[C.INCOMPLETE_PRIORS] <= 0.12
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


def test_bcsc_like_rates_breasts_and_biopsies():
    """Issue 13 point 10: unilateral follow-ups, 4A/4B/4C, densities, radiologists and
    biopsies with realistic results, at rates near the BCSC's (clinical-rules.md §8)."""
    patients = list(synthetic.programme(6000, seed=11, as_of=AS_OF))
    exams = [e for p in patients for e in p.exams]
    screens = [e for e in exams if e.kind is rules.ExamKind.SCREENING]
    recalled = {C.INCOMPLETE, C.INCOMPLETE_PRIORS, C.PROBABLY_BENIGN, C.SUSPICIOUS}
    recall = sum(e.findings[0].category in recalled | {C.HIGHLY_SUSPICIOUS} for e in screens)
    assert 0.08 < recall / len(screens) < 0.14  # BCSC 11.6%
    biopsies = [b for p in patients for b in p.biopsies]
    results = Counter((b.result.value, b.concordant) for b in biopsies)
    cancers = results["malignant", None]
    assert 3 < 1000 * cancers / len(screens) < 8  # BCSC 5.1 per 1,000
    assert 0.2 < cancers / len(biopsies) < 0.4  # PPV3, BCSC 28.6%
    benign = results["benign", True]
    assert benign > cancers > results["high-risk", None] > results["benign", False] > 0
    assert results["pending", None] > 0
    assert all(b.date <= AS_OF for b in biopsies)
    subdivisions = Counter(e.findings[0].subdivision for e in exams)
    assert subdivisions[rules.Subdivision.A] > subdivisions[rules.Subdivision.B]
    assert subdivisions[rules.Subdivision.B] > subdivisions[rules.Subdivision.C] > 0
    one_breast = [e for e in exams if e.imaged is not rules.Imaged.BOTH]
    assert 0.02 < len(one_breast) / len(exams) < 0.2
    assert all(e.findings[0].laterality is None for e in one_breast)
    densities = Counter(e.density for e in exams if e.density)
    dense = (densities[rules.Density.C] + densities[rules.Density.D]) / sum(densities.values())
    assert 0.35 < dense < 0.6  # BCSC: about 47% dense
    assert 0.85 < sum(e.radiologist is not None for e in exams) / len(exams) < 0.98
    readers = {e.radiologist for e in exams if e.radiologist}
    assert 100 < len(readers) <= 4 * len(synthetic.FACILITIES)
    assert any(e.findings[0].category is C.POST_PROCEDURE for e in exams)
    transfers = [t for p in patients for t in p.transfers]
    assert transfers and all(t.date is not None and t.date <= AS_OF for t in transfers)


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
    assert all(isinstance(r, PatientRow | ExamRow | TransferRow | BiopsyRow) for r in rows)
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


def test_the_pathway_is_deterministic_plausible_and_never_in_the_future():
    from datetime import timedelta

    due = [(key, AS_OF - timedelta(days=key % 700) + timedelta(days=20)) for key in range(4000)]
    entries = list(synthetic.pathway(due, 3, AS_OF))
    assert entries == list(synthetic.pathway(due, 3, AS_OF))
    for _, entry in entries:
        rules.tracking.validate_contact(entry, AS_OF)  # as `contact` would check it
    overdue = {key for key, day in due if day < AS_OF}
    tried = {key for key, _ in entries if key in overdue}
    assert 0.35 < len(tried) / len(overdue) < 0.55  # about half, some not yet due a call
    closed = [e for _, e in entries if e.outcome in rules.tracking.CLOSING]
    assert 0.02 < len(closed) / len(tried) < 0.08
    ahead = {key for key, _ in entries if key not in overdue}
    assert 0.05 < len(ahead) / (len(due) - len(overdue)) < 0.15


def test_a_years_audit_of_the_programme_is_bcsc_like():
    """Issue 15 point 5: the generator's outcome rates come from the BCSC figures of
    clinical-rules.md §8, so that a year's audit of the demo has every figure near its BCSC
    average and inside its acceptable range; interval cancers (found within a year of a
    negative screen) keep sensitivity near 86.9%, not a perfect 100%."""
    from followup.rules.audit import AuditBiopsy, AuditExam, AuditPatient, audit

    def audited(patient: synthetic.SyntheticPatient) -> AuditPatient:
        exams = [
            AuditExam(e.date, e.kind and e.kind.value, e.governing.category.value, e.facility)
            for e in patient.exams
            if e.governing is not None
        ]
        known = [e.date for e in patient.exams if e.findings[0].category is C.KNOWN_MALIGNANCY]
        biopsies = [AuditBiopsy(b.date, b.result.value) for b in patient.biopsies]
        return AuditPatient(exams, biopsies, known)

    start, end = date(2024, 6, 2), date(2025, 6, 1)
    programme = synthetic.programme(20_000, seed=11, as_of=AS_OF)
    total = audit(map(audited, programme), start, end, AS_OF).total
    rates = {name: rate.value for name, rate in total.rates().items()}
    assert total.screening_exams > 12_000 and total.cancers > 50
    assert total.outside_range() == ()
    assert 0.09 < rates["recall_rate"] < 0.12  # BCSC 11.6%
    assert 3.5 < rates["cancer_detection_per_1000"] < 6.5  # 5.1
    assert 0.03 < rates["ppv1"] < 0.07  # 4.4%
    assert 0.2 < rates["ppv2"] < 0.35 and 0.2 < rates["ppv3"] < 0.4  # 25.6%, 28.6%
    assert 0.78 < rates["sensitivity"] < 0.93  # 86.9%
    assert 0.885 < rates["specificity"] < 0.92  # 88.9%
