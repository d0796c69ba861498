"""The bulk loader: what it writes, what it skips, and plans equal to refresh_plan's."""

from __future__ import annotations

import multiprocessing
from datetime import date

import pytest
from sqlalchemy import event, func, select

from followup import rules, synthetic
from followup.store.bulk import BulkLoader, load
from followup.store.bulk_rows import BiopsyRow, ExamRow, FindingRow, PatientRow, TransferRow
from followup.store.database import open_database
from followup.store.errors import InvalidInput
from followup.store.models import Exam, Facility, FilmTransfer, Finding, Patient, PlanRecord
from followup.store.plans import refresh_plan, stored_plan

AS_OF = date(2026, 6, 1)
PB_LEFT = (FindingRow("probably-benign", "left", "punctate", "grouped"),)
NEGATIVE = (FindingRow("negative"),)


@pytest.fixture
def database(db_url: str):  # type: ignore[no-untyped-def]
    database = open_database(db_url)
    yield database
    database.close()


def count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(model))


def plans_by_patient(session) -> dict[str, rules.Plan | None]:  # type: ignore[no-untyped-def]
    ids = session.execute(select(Patient.external_id, Patient.id)).all()
    return {external_id: stored_plan(session, patient_id) for external_id, patient_id in ids}


def test_rows_duplicates_and_facility_spellings(database):  # type: ignore[no-untyped-def]
    rows = [
        PatientRow("P1", name="Ana Test", email="p1@example.org"),
        PatientRow("P2", reminders=False),
        ExamRow("P1", date(2024, 1, 10), "Northside Imaging", NEGATIVE, kind="screening"),
        ExamRow("P1", date(2025, 1, 10), "  northside   IMAGING ", PB_LEFT, kind="diagnostic"),
        # the same exam again (same day, place and kind: clinical-rules.md §5)
        ExamRow("P1", date(2025, 1, 10), "NORTHSIDE IMAGING", PB_LEFT, kind="diagnostic"),
        ExamRow(
            "P2",
            date(2025, 3, 1),
            "Southside Clinic",
            (FindingRow("benign", "right"), FindingRow("suspicious", "left")),
        ),
        TransferRow("P2", "Northside Imaging", "southside clinic"),
        PatientRow("P1", name="Someone Else"),  # existing: left as she is
    ]
    with database.transaction() as session:
        result = load(session, rows, batch_size=3)
    assert (result.patients_added, result.patients_existing) == (2, 1)
    assert (result.exams_added, result.exams_duplicate) == (3, 1)
    assert (result.findings_added, result.facilities_added) == (4, 2)
    assert (result.transfers_added, result.plans_written) == (1, 2)
    with database.transaction(write=False) as session:
        names = set(session.scalars(select(Facility.name)))
        assert names == {"Northside Imaging", "Southside Clinic"}
        assert session.scalar(select(Patient.name).where(Patient.external_id == "P1")) == "Ana Test"
        assert session.scalar(select(Patient.reminders).where(Patient.external_id == "P2")) is False
        assert count(session, Finding) == 4
        plans = plans_by_patient(session)
    assert plans["P1"].action == "short-interval-follow-up"
    assert plans["P1"].due == date(2025, 7, 10)
    assert plans["P2"].action == "biopsy"
    assert plans["P2"].laterality is rules.Laterality.LEFT

    # A second load of the same rows adds nothing and keeps the plans.
    with database.transaction() as session:
        again = load(session, rows)
        assert (again.exams_added, again.exams_duplicate) == (0, 4)
        assert (again.patients_added, again.transfers_duplicate) == (0, 1)
        assert plans_by_patient(session) == plans


def test_plans_equal_refresh_plan(database):  # type: ignore[no-untyped-def]
    """The loader's plans are exactly those refresh_plan stores for the same patients."""
    with database.transaction() as session:
        result = load(session, synthetic.rows(400, 3, AS_OF), today=AS_OF, batch_size=500)
        assert result.plans_written == 400
        assert result.transfers_added > 0 and result.exams_added > 1000
        assert result.biopsies_added > 10
    with database.transaction(write=False) as session:
        loaded = plans_by_patient(session)
    with database.transaction() as session:
        for patient_id in session.scalars(select(Patient.id)):
            refresh_plan(session, patient_id, rules.DEFAULT_POLICY)
        assert plans_by_patient(session) == loaded
    flagged = {f.code for plan in loaded.values() if plan for f in plan.flags}
    assert {"facility-switch", "short-comparison-history", "biopsy-recommended"} <= flagged


def test_adding_to_patients_with_stored_exams(database):  # type: ignore[no-untyped-def]
    """Her earlier exams count: the episode continues from what was already stored."""
    with database.transaction() as session:
        load(session, [PatientRow("P1"), ExamRow("P1", date(2025, 1, 10), "A", PB_LEFT)])
    with database.transaction() as session:
        result = load(session, [ExamRow("P1", date(2025, 7, 12), "a", PB_LEFT)])
        plan = plans_by_patient(session)["P1"]
    assert (result.exams_added, result.facilities_added, result.patients_added) == (1, 0, 0)
    assert plan.episode_step == 2 and plan.laterality is rules.Laterality.BILATERAL
    assert plan.due == date(2026, 1, 12)


def test_an_error_rolls_the_whole_load_back(database):  # type: ignore[no-untyped-def]
    rows = [
        PatientRow("P1"),
        ExamRow("P1", date(2025, 1, 10), "A", NEGATIVE),
        ExamRow("P9", date(2025, 1, 10), "A", NEGATIVE),  # no such patient
    ]
    with pytest.raises(InvalidInput, match="P9"), database.transaction() as session:
        load(session, rows, batch_size=2)
    with database.transaction(write=False) as session:
        assert [count(session, m) for m in (Patient, Exam, Facility, PlanRecord)] == [0] * 4


@pytest.mark.parametrize(
    ("exam", "message"),
    [
        (ExamRow("P1", date(2025, 1, 1), "A", ()), "no finding"),
        (ExamRow("P1", date(2025, 1, 1), "A", (FindingRow("maybe"),)), "unknown category"),
        (ExamRow("P1", date(2025, 1, 1), "A", (FindingRow("benign", "up"),)), "unknown side"),
        (ExamRow("P1", date(2025, 1, 1), "A", NEGATIVE, kind="routine"), "unknown exam kind"),
        (ExamRow("P1", date(2025, 1, 1), "A", NEGATIVE, follow_up_months=40), "1-36"),
        (ExamRow("P1", date(2027, 1, 1), "A", NEGATIVE), "in the future"),
        (ExamRow("P1", date(2025, 1, 1), "  ", NEGATIVE), "facility is empty"),
    ],
)
def test_bad_rows_are_clear_errors(sqlite_url: str, exam: ExamRow, message: str):
    database = open_database(sqlite_url)
    try:
        with pytest.raises(InvalidInput, match=message), database.transaction() as session:
            loader = BulkLoader(session, today=AS_OF)
            loader.add(PatientRow("P1"))
            loader.add(exam)
            loader.finish()
    finally:
        database.close()


def test_transfers_between_one_facility_are_refused(sqlite_url: str):
    database = open_database(sqlite_url)
    try:
        with pytest.raises(InvalidInput, match="same facility"), database.transaction() as s:
            load(s, [PatientRow("P1"), TransferRow("P1", "North", " NORTH")])
        with database.transaction(write=False) as session:
            assert count(session, FilmTransfer) == 0
    finally:
        database.close()


def _plan_workers() -> list[multiprocessing.process.BaseProcess]:
    return [p for p in multiprocessing.active_children() if "SpawnProcess" in p.name]


def test_loads_of_several_batches_plan_in_a_second_process(database):  # type: ignore[no-untyped-def]
    """The first batches plan in the loader's process; later ones in one spawned worker (the
    second core), whose rows are the same as refresh_plan's, and which is gone at the end."""
    assert _plan_workers() == []
    with database.transaction() as session:
        loader = BulkLoader(session, today=AS_OF, batch_size=100)
        rows = synthetic.rows(150, 5, AS_OF)
        for row in rows:
            loader.add(row)
            if len(_plan_workers()) == 1:
                break
        assert len(_plan_workers()) == 1
        loader.add_all(rows)
        result = loader.finish()
        assert _plan_workers() == []
        assert result.plans_written == 150 == count(session, PlanRecord)
        loaded = plans_by_patient(session)
        for patient_id in session.scalars(select(Patient.id)):
            refresh_plan(session, patient_id, rules.DEFAULT_POLICY)
        assert plans_by_patient(session) == loaded


def test_an_exam_given_twice_with_other_findings_is_refused(database):  # type: ignore[no-untyped-def]
    """Within one batch as across batches: skipping it would lose the BI-RADS 4 silently."""
    suspicious = (FindingRow("suspicious", "left"),)
    rows = [
        PatientRow("P1"),
        PatientRow("P2"),
        ExamRow("P1", date(2025, 1, 10), "North", NEGATIVE),
        ExamRow("P2", date(2025, 1, 10), "North", NEGATIVE),
        ExamRow("P1", date(2025, 1, 10), " north ", suspicious),
    ]
    with (
        pytest.raises(InvalidInput, match="P1 has two exams on 2025-01-10"),
        database.transaction() as session,
    ):
        load(session, rows)
    with database.transaction(write=False) as session:
        assert count(session, Exam) == 0
    same = [*rows[:4], ExamRow("P1", date(2025, 1, 10), "NORTH", NEGATIVE)]
    with database.transaction() as session:
        result = load(session, same)
    assert (result.exams_added, result.exams_duplicate) == (2, 1)


def test_a_reimport_checks_its_duplicates_a_batch_at_a_time(database):  # type: ignore[no-untyped-def]
    """Re-importing an export skips every exam; comparing their findings with the stored
    ones used to cost a query per exam (146 s for 100,000 rows on PostgreSQL)."""
    rows = list(synthetic.rows(100, 7, AS_OF))
    with database.transaction() as session:
        first = load(session, rows, today=AS_OF)
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        with database.transaction() as session:
            again = load(session, rows, today=AS_OF)
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    assert (again.exams_added, again.exams_duplicate) == (0, first.exams_added)
    assert first.exams_added > 300
    reads = [sql for sql in statements if "JOIN findings" in sql]
    # One for the batch's stored findings, one to replan the patients whose film transfers
    # were given again (the loop of one query per skipped exam made it hundreds).
    assert len(reads) <= 2, reads


def test_biopsies_load_with_their_plans(database):  # type: ignore[no-untyped-def]
    """Biopsies of new patients plan from the rows written, those of patients already stored
    from the database; one already stored (patient, day, side) is skipped; both as
    refresh_plan plans them (issue 13)."""
    b4 = (FindingRow("suspicious", "left", subdivision="4B"),)
    rows = [
        PatientRow("P1"),
        PatientRow("P2"),
        ExamRow("P1", date(2025, 3, 1), "North", b4, kind="diagnostic", density="c"),
        BiopsyRow("P1", date(2025, 3, 10), "left", "benign", True, "north", "fibroadenoma"),
        ExamRow("P2", date(2025, 3, 1), "North", b4, kind="diagnostic", imaged="left"),
        BiopsyRow("P2", date(2025, 3, 10), "left", "pending"),
    ]
    with database.transaction() as session:
        result = load(session, rows, today=AS_OF)
        plans = plans_by_patient(session)
    assert (result.biopsies_added, result.biopsies_duplicate) == (2, 0)
    assert (plans["P1"].action, plans["P1"].due) == ("short-interval-follow-up", date(2025, 9, 10))
    assert (plans["P2"].action, plans["P2"].due) == ("pathology-result", date(2025, 3, 20))
    later = [
        BiopsyRow("P2", date(2025, 3, 10), "left", "pending"),  # stored already
        BiopsyRow("P2", date(2025, 3, 24), "left", "malignant", pathology="DCIS"),
    ]
    with database.transaction() as session:
        again = load(session, later, today=AS_OF)
        plans = plans_by_patient(session)
        for patient_id in session.scalars(select(Patient.id)):
            refresh_plan(session, patient_id, rules.DEFAULT_POLICY)
        assert plans_by_patient(session) == plans
    assert (again.biopsies_added, again.biopsies_duplicate) == (1, 1)
    assert (plans["P2"].action, plans["P2"].due) == ("treatment", None)
    unsaid = [BiopsyRow("P1", date(2025, 4, 1), "left", "benign")]
    with (
        pytest.raises(InvalidInput, match=r"P1 .*concordant or discordant"),
        database.transaction() as session,
    ):
        load(session, unsaid, today=AS_OF)


@pytest.mark.parametrize(
    ("side", "result", "message"),
    [
        ("L", "pending", r"unknown side 'L'; use left or right"),
        ("bilateral", "pending", r"a biopsy is of one breast"),
        ("left", "Malignant", r"unknown result 'Malignant'; use one of pending, benign"),
    ],
)
def test_a_biopsy_row_is_checked_as_it_will_be_stored(
    sqlite_url: str, side: str, result: str, message: str
) -> None:
    """Canonical text only, as the table's CHECKs and the plans read it back: "L" used to
    pass the check (read as ``biopsy add`` reads spellings) and stop the load with the
    database's IntegrityError."""
    rows = [PatientRow("P1"), BiopsyRow("P1", date(2025, 3, 10), side, result)]
    database = open_database(sqlite_url)
    try:
        with (
            pytest.raises(InvalidInput, match=rf"biopsy of patient P1 on 2025-03-10: {message}"),
            database.transaction() as session,
        ):
            load(session, rows, today=AS_OF)
    finally:
        database.close()
