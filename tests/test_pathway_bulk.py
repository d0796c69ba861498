"""Contacts loaded in bulk (the benchmarks' programme) and the summaries kept on each
patient's row: the same as the rules read fresh from her log, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from sqlalchemy import func, select

from followup import rules, synthetic
from followup.store.bulk import load
from followup.store.contacts import (
    latest_record_date,
    load_log,
    log_of,
    refresh_tracking_of,
    stored_summary,
)
from followup.store.database import open_database
from followup.store.models import Contact, Patient, PlanRecord

AS_OF = date(2026, 6, 1)


def test_bulk_contacts_summaries_match_the_rules(db_url: str):
    database = open_database(db_url)
    try:
        with database.transaction() as session:
            load(session, synthetic.rows(400, 5, AS_OF), today=AS_OF)
            due = session.execute(select(PlanRecord.patient_id, PlanRecord.due)
                                  .where(PlanRecord.due.is_not(None)))  # fmt: skip
            written = load_log(session, synthetic.pathway(due, 5, AS_OF), today=AS_OF)
        with database.transaction() as session:
            assert written == session.scalar(select(func.count()).select_from(Contact)) > 50
            patients = session.scalars(select(Patient).order_by(Patient.id)).all()
            kinds = set()
            for patient in patients:
                log = log_of(session, patient.id)
                fresh = rules.tracking.summarize(log, latest_record_date(session, patient.id))
                assert stored_summary(patient) == replace(fresh, appointment_facility=None)
                kinds.add((fresh.closed is not None, fresh.appointment is not None))
                if any(e.outcome is rules.tracking.Outcome.DECEASED for e in log):
                    assert patient.reminders is False
            assert {(True, False), (False, True), (False, False)} <= kinds
            before = [stored_summary(p) for p in patients]
            refresh_tracking_of(session, [p.id for p in patients])  # idempotent
            session.expire_all()
            assert [stored_summary(p) for p in patients] == before
    finally:
        database.close()


def test_the_to_call_list_is_the_rules_filter_and_order_of_the_due_report(sqlite_url: str):
    from followup.store.reports import DueQuery, due_rows

    database = open_database(sqlite_url)
    try:
        with database.transaction() as session:
            load(session, synthetic.rows(600, 9, AS_OF), today=AS_OF)
            due = session.execute(select(PlanRecord.patient_id, PlanRecord.due)
                                  .where(PlanRecord.due.is_not(None)))  # fmt: skip
            load_log(session, synthetic.pathway(due, 9, AS_OF), today=AS_OF)
        policy = rules.Policy()
        with database.transaction(write=False) as session:
            every = list(due_rows(session, DueQuery(AS_OF, overdue_only=True), policy))
            listed = list(due_rows(session, DueQuery(AS_OF, to_call=True), policy))
            by_id = {p.external_id: p for p in session.scalars(select(Patient))}
            expected = []
            for row in every:
                summary = stored_summary(by_id[row["patient_id"]])
                if rules.tracking.tracking_on(summary, AS_OF, policy).to_call(row["overdue"]):
                    expected.append(row)
    finally:
        database.close()

    def key(row: dict) -> tuple:
        return rules.tracking.to_call_key(
            row["action"], date.fromisoformat(row["due"]), row["patient_id"]
        )

    assert listed == sorted(expected, key=key)
    assert 50 < len(listed) < len(every)
    assert listed[0]["action"] in ("biopsy", "surgical-consultation", "pathology-result")
