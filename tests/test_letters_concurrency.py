"""Two ``followup letters`` runs at once (real processes, SQLite and PostgreSQL): each letter
is produced once, in one run's PDF or the other's, recorded once, with one contact."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import func, select

from followup.store.database import open_database
from followup.store.models import Contact, Letter

AS_OF = date(2025, 7, 15)
PATIENTS = 300


def load_result_patients(url: str, count: int) -> None:
    """``count`` patients, each with an address and a negative exam a few days before AS_OF
    (one result letter each), the clinic and the facility."""
    from followup.store.bulk import BulkLoader
    from followup.store.bulk_rows import ExamRow, FindingRow, PatientRow
    from followup.store.facilities import PostalDetails, edit_facility, set_clinic
    from followup.store.policies import policy_in_force

    database = open_database(url)
    try:
        with database.transaction() as session:
            policy = policy_in_force(session)
            with BulkLoader(session, policy, today=AS_OF) as loader:
                for i in range(count):
                    patient = f"Q{i:05d}"
                    loader.add(PatientRow(patient, name=f"Ana {i}", address="1 A St\nTown"))
                    day = AS_OF - timedelta(days=i % 20)
                    loader.add(ExamRow(patient, day, "Northside", (FindingRow("negative"),)))
                loader.finish()
            set_clinic(session, PostalDetails("Clinic", "2 B St\nTown", "555-0100"))
            details = PostalDetails(address="3 C St\nTown", phone="555-0101")
            edit_facility(session, "Northside", details, policy)
    finally:
        database.close()


def start_letters(url: str, out: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "FOLLOWUP_DB": "", "FOLLOWUP_POLICY": ""}
    command = [sys.executable, "-m", "followup", "--db", url, "letters",
               "--as-of", AS_OF.isoformat(), "-o", str(out)]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip


def test_two_overlapping_runs_produce_each_letter_once(db_url: str, tmp_path: Path):
    load_result_patients(db_url, PATIENTS)
    outs = [tmp_path / "a.pdf", tmp_path / "b.pdf"]
    runs = [start_letters(db_url, out) for out in outs]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    produced = [int(stdout.split()[1]) for stdout, _ in outputs]
    assert sum(produced) == PATIENTS
    pages = sum(len(PdfReader(out).pages) for out in outs if out.exists())
    assert pages == PATIENTS  # a one-page letter each, in one file or the other
    database = open_database(db_url)
    try:
        with database.transaction(write=False) as session:
            letters = session.execute(select(Letter.patient_id, Letter.subject)).all()
            sent = session.scalar(select(func.count()).select_from(Contact))
    finally:
        database.close()
    assert len(letters) == len(set(letters)) == PATIENTS
    assert sent == PATIENTS
