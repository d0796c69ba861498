"""Stored plans: the rules' output kept beside the exams it came from.

The plan is recomputed in the same transaction as any change to a patient's exams or films,
so the due and flag reports can read it with an index range scan.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from followup import rules
from followup.store.models import Facility, PlanFlag, PlanRecord
from followup.store.rules_inputs import (
    NOTHING,
    SUBDIVISION_OF,
    PatientInputs,
    of_patients,
    patient_inputs,
    read_inputs,
)


def plan_values(plan: rules.Plan, facility_id: int | None) -> dict[str, object]:
    """The columns of a ``plans`` row for a plan (shared with bulk writers). ``also`` holds
    at most the other breast's plan (two breasts)."""
    also = plan.also[0] if plan.also else None
    return {
        "action": plan.action,
        "due": plan.due,
        "laterality": plan.laterality.value if plan.laterality else None,
        "reason": plan.reason,
        "exam_id": plan.exam_id,
        "exam_date": plan.exam_date,
        "facility_id": facility_id,
        "category": plan.category.value if plan.category else None,
        "episode_start": plan.episode_start,
        "episode_step": plan.episode_step,
        "flag_codes": " ".join(f.code for f in plan.flags),
        "subdivision": plan.subdivision.value if plan.subdivision else None,
        "biopsy_id": plan.biopsy_id,
        "also_side": also.side.value if also else None,
        "also_action": also.action if also else None,
        "also_due": also.due if also else None,
        "also_laterality": also.laterality.value if also and also.laterality else None,
        "also_reason": also.reason if also else None,
    }


def store_plan(session: Session, patient_pk: int, plan: rules.Plan) -> None:
    """Replace the patient's stored plan and flags with ``plan``."""
    store_plans(session, {patient_pk: plan})


def store_plans(session: Session, plans: dict[int, rules.Plan]) -> None:
    """Replace these patients' stored plans and flags (patient pk -> plan), in a few
    statements whatever their number."""
    keys = {rules.facility_key(p.facility) for p in plans.values() if p.facility is not None}
    found = session.execute(select(Facility.key, Facility.id).where(Facility.key.in_(keys)))
    facility_ids: dict[str, int] = {key: facility_id for key, facility_id in found}
    records = {
        record.patient_id: record
        for record in session.scalars(select(PlanRecord).where(PlanRecord.patient_id.in_(plans)))
    }
    for patient_pk, plan in plans.items():
        key = None if plan.facility is None else rules.facility_key(plan.facility)
        values = plan_values(plan, None if key is None else facility_ids.get(key))
        record = records.get(patient_pk)
        if record is None:
            session.add(PlanRecord(patient_id=patient_pk, **values))
        else:
            for column, value in values.items():
                setattr(record, column, value)
    session.flush()
    session.execute(delete(PlanFlag).where(PlanFlag.patient_id.in_(plans)))
    session.add_all(
        PlanFlag(patient_id=patient_pk, code=f.code, message=f.message)
        for patient_pk, plan in plans.items()
        for f in plan.flags
    )
    session.flush()
    for record in records.values():  # their loaded flag lists are stale now
        session.expire(record, ["flags"])


def refresh_plan(
    session: Session, patient_pk: int, policy: rules.Policy | None = None
) -> rules.Plan:
    """Recompute and store one patient's plan from her exams, film transfers and biopsies,
    under the policy in force unless told (the caller read it already, in this transaction),
    and her pathway summary (followup.store.contacts), which her latest exam or biopsy
    changes."""
    return refresh_plans(session, [patient_pk], policy)[patient_pk]


def refresh_plans(
    session: Session, patient_pks: Iterable[int], policy: rules.Policy | None = None
) -> dict[int, rules.Plan]:
    """:func:`refresh_plan` for many patients at once (an import): the same inputs and
    plans, in a few statements instead of a few per patient."""
    from followup.store.contacts import refresh_tracking_of
    from followup.store.policies import policy_in_force

    policy = policy or policy_in_force(session)
    patients = list(patient_pks)
    inputs = read_inputs(session, of_patients(patients))
    plans = {patient: inputs.get(patient, NOTHING).plan(policy) for patient in patients}
    store_plans(session, plans)
    # §7: a new exam or biopsy reopens tracking and answers an appointment
    latest = {patient: inputs.get(patient, NOTHING).latest_record() for patient in patients}
    refresh_tracking_of(session, patients, latest)
    return plans


def assess_patient(
    session: Session, patient_pk: int, policy: rules.Policy, as_of: date
) -> tuple[PatientInputs, rules.Assessment]:
    """The patient's records and her plan read on ``as_of``, computed fresh from them."""
    inputs = patient_inputs(session, patient_pk)
    return inputs, inputs.assess(policy, as_of)


def stored_plan(session: Session, patient_pk: int) -> rules.Plan | None:
    """The stored plan as the rules' value (flags and facility included), or None if none is
    stored."""
    record = session.get(PlanRecord, patient_pk)
    if record is None:
        return None
    facility = session.get(Facility, record.facility_id) if record.facility_id else None
    return rules.Plan(
        action=record.action,
        due=record.due,
        laterality=rules.Laterality(record.laterality) if record.laterality else None,
        reason=record.reason,
        flags=tuple(rules.Flag(f.code, f.message) for f in record.flags),
        exam_id=record.exam_id,
        exam_date=record.exam_date,
        facility=facility.name if facility else None,
        category=rules.Category(record.category) if record.category else None,
        episode_start=record.episode_start,
        episode_step=record.episode_step,
        also=_stored_also(record),
        subdivision=SUBDIVISION_OF[record.subdivision],
        biopsy_id=record.biopsy_id,
    )


def _stored_also(record: PlanRecord) -> tuple[rules.BreastPlan, ...]:
    """The other breast's plan as stored (its action, due date, side and reason)."""
    if record.also_side is None:
        return ()
    side = record.also_laterality
    return (
        rules.BreastPlan(
            side=rules.Laterality(record.also_side),
            action=record.also_action,
            due=record.also_due,
            laterality=rules.Laterality(side) if side else None,
            reason=record.also_reason or "",
        ),
    )
