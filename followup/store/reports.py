"""Coordinator reports read from the stored plans: range scans, streamed row by row.

Plans are kept current whenever exams or films change, so a report never recomputes a plan.
Only ``overdue`` and ``lost-to-follow-up`` depend on the as-of date; they are derived here from
``due`` as each row streams past, with the same rules the status command uses.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import chain, groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import Dialect, Select, String, case, select, type_coerce
from sqlalchemy.orm import Session

from followup import rules
from followup.rules.dates import add_days
from followup.rules.tracking import MISSED_APPOINTMENT, action_rank, missed_appointment_flag
from followup.store.database import driver_connection
from followup.store.models import Facility, Patient, PlanFlag, PlanRecord
from followup.store.policies import require_current_plans
from followup.store.tracking_rows import TrackingFacts, as_text

DUE_COLUMNS = (
    "patient_id",
    "name",
    "due",
    "action",
    "laterality",
    "facility",
    "overdue",
    "days_overdue",
    "flags",
    "phone",
    "email",
    "state",
    "appointment",
    "last_contact",
    "also",
)
FLAG_COLUMNS = ("patient_id", "name", "code", "due", "action", "facility", "message")
# Core execution options of other whole-table reads (adherence): a streamed cursor.
STREAM = {"stream_results": True, "yield_per": 2000}
BATCH = 5000  # rows per fetch from the driver


@dataclass(frozen=True)
class DueQuery:
    """What the due report asks for: everything due up to ``as_of + within`` days (only
    those past due with ``overdue_only``, only those not yet due with ``upcoming``); the
    to-call list of clinical-rules.md §7 with ``to_call``; closed patients with ``closed``."""

    as_of: date
    within: int = 30
    overdue_only: bool = False
    facility: str | None = None
    upcoming: bool = False
    to_call: bool = False
    closed: bool = False


def _plan_columns(due: Any = PlanRecord.due) -> Select[Any]:
    """A plan with its patient's contact details and pathway summary, in ROW order."""
    return (
        select(
            Patient.external_id,
            Patient.name,
            due,
            PlanRecord.action,
            PlanRecord.laterality,
            Facility.name.label("facility"),
            PlanRecord.flag_codes,
            Patient.phone,
            Patient.email,
            Patient.closed_reason,
            Patient.appointment,
            Patient.last_contact,
            Patient.last_call,
        )
        .join(Patient, Patient.id == PlanRecord.patient_id)
        .outerjoin(Facility, Facility.id == PlanRecord.facility_id)
    )


# Where a row of _plan_columns holds what (the flags report adds its flag after them).
CLOSED, APPOINTMENT, LAST_CALL = 9, 10, 12
MISSED = (MISSED_APPOINTMENT,)


FLAG_ORDER = {code: index for index, code in enumerate(rules.FLAG_CODES)}


def _all_codes(stored: str, dated: Sequence[str]) -> tuple[str, ...]:
    """Stored and dated flag codes in the order of clinical-rules.md §4."""
    codes = stored.split() + list(dated) if dated else stored.split()
    return tuple(sorted(codes, key=FLAG_ORDER.__getitem__))


class DueFacts:
    """What a due date means on the as-of date, worked out once per distinct date and flag set.

    A million-patient report has a few thousand distinct due dates and a few dozen stored flag
    sets, so caching keeps the per-row work to dictionary look-ups. The due date arrives as
    ISO text on SQLite (read as text: parsing 300,000 dates costs more than the query) and as a
    date on PostgreSQL.
    """

    def __init__(self, as_of: date, policy: rules.Policy) -> None:
        self.as_of = as_of
        self.policy = policy
        self.tracking = TrackingFacts(as_of, policy)
        self.dates: dict[Any, tuple[str, bool, int, tuple[str, ...]]] = {}
        self.dated: dict[tuple[Any, str | None], tuple[rules.Flag, ...]] = {}
        self.flags: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}

    def _plan(self, raw: Any, action: str | None = None) -> rules.Plan:
        day = raw if isinstance(raw, date) else date.fromisoformat(raw)
        return rules.Plan(action=action, due=day, laterality=None, reason="")

    def due(self, raw: Any) -> tuple[str, bool, int, tuple[str, ...]]:
        """(ISO due date, overdue, days overdue, dated flag codes)."""
        facts = self.dates.get(raw)
        if facts is None:
            plan = self._plan(raw)
            late = rules.days_overdue(plan, self.as_of)
            dated = tuple(f.code for f in rules.dated_flags(plan, self.as_of, self.policy))
            text = raw if isinstance(raw, str) else raw.isoformat()
            facts = self.dates[raw] = (text, late > 0, late, dated)
        return facts

    def dated_flags(self, raw: Any, action: str | None) -> tuple[rules.Flag, ...]:
        """``overdue`` and ``lost-to-follow-up`` with their messages (which name the action),
        none without a due date."""
        if raw is None:
            return ()
        flags = self.dated.get((raw, action))
        if flags is None:
            plan = self._plan(raw, action)
            flags = self.dated[(raw, action)] = rules.dated_flags(plan, self.as_of, self.policy)
        return flags

    def codes(self, stored: str, dated: tuple[str, ...]) -> tuple[str, ...]:
        codes = self.flags.get((stored, dated))
        if codes is None:
            codes = self.flags[(stored, dated)] = _all_codes(stored, dated)
        return codes

    def dated_part(
        self, raw: Any, stored: str, missed: bool = False
    ) -> tuple[bool, int, tuple[str, ...]]:
        """(overdue, days overdue, all flag codes) of a due date (raw), stored flag codes and
        a missed appointment (§7)."""
        _, overdue, late, dated = self.due(raw)
        return overdue, late, self.codes(stored, dated + MISSED if missed else dated)


# PostgreSQL plans a cursor for reading its first tenth only (nested loops over the due index);
# a report reads every row, which a hash join and a sort serve twice as fast.
WHOLE_RESULT = "SET LOCAL cursor_tuple_fraction = 1"


def _driver_statement(stmt: Select[Any], dialect: Dialect) -> tuple[str, Any]:
    """``stmt`` as the driver takes it: SQL text and bound values, each through the dialect's
    bind processor of its type as SQLAlchemy would send it (SQLite: dates as ISO text).
    Expanding IN lists are not rendered: these queries have none."""
    compiled = stmt.compile(dialect=dialect)
    values = compiled.construct_params()
    for name, value in values.items():
        process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        values[name] = value if process is None else process(value)
    if compiled.positional:
        return compiled.string, tuple(values[name] for name in compiled.positiontup or ())
    return compiled.string, values


def driver_batches(
    session: Session, stmt: Select[Any], name: str = "followup_report"
) -> Generator[list[tuple[Any, ...]]]:
    """The rows of a whole-report query in batches of plain driver tuples, read from the
    driver's cursor on the session's connection (server-side on PostgreSQL, so memory stays
    flat): SQLAlchemy's result rows would cost as much as the query on a 300,000-row report.
    ``name`` names the PostgreSQL cursor: two read side by side need two names.
    """
    connection = session.connection()
    sql, values = _driver_statement(stmt, connection.dialect)
    driver = driver_connection(connection)
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(WHOLE_RESULT)
        cursor = driver.cursor(name=name)
    else:
        cursor = driver.cursor()
    try:
        cursor.execute(sql, values)
        while batch := cursor.fetchmany(BATCH):
            yield batch
    finally:
        cursor.close()


def due_select(query: DueQuery, sqlite: bool) -> Select[Any]:
    """The due report's query: a range scan of the due index, which covers every plan column
    it reads (SQLite reads the dates as text). The to-call list reads the overdue range in its
    own order (§7)."""
    stmt = _plan_columns(type_coerce(PlanRecord.due, String) if sqlite else PlanRecord.due)
    also_due = type_coerce(PlanRecord.also_due, String) if sqlite else PlanRecord.also_due
    stmt = stmt.add_columns(PlanRecord.also_side, PlanRecord.also_action, also_due)
    stmt = stmt.where(PlanRecord.due.is_not(None))
    if query.overdue_only or query.to_call:
        stmt = stmt.where(PlanRecord.due < query.as_of)
    else:
        stmt = stmt.where(PlanRecord.due <= add_days(query.as_of, query.within))
    if query.upcoming:
        stmt = stmt.where(PlanRecord.due >= query.as_of)
    if query.facility is not None:
        stmt = stmt.where(Facility.key == rules.facility_key(query.facility))
    if query.to_call:
        return stmt.order_by(_TO_CALL_RANK, PlanRecord.due.desc(), Patient.external_id)
    return stmt.order_by(PlanRecord.due, Patient.external_id)


# §7's order of the to-call list (followup.rules.tracking.to_call_key), sorted by the database:
# its sorter spills to disk where a list in Python would hold every row.
_TO_CALL_RANK = case(
    {action: action_rank(action) for action in rules.ACTIONS},
    value=PlanRecord.action,
    else_=action_rank(None),
)


def due_batches(
    session: Session, query: DueQuery, policy: rules.Policy
) -> Generator[list[tuple[Any, ...]]]:
    """The plans the due report lists, in its order, in batches of rows of
    :func:`_plan_columns` (patient id, name, due, action, laterality, facility, stored flag
    codes, phone, e-mail, then her pathway summary) and the other breast's side, action and
    due: dates are ISO text on SQLite and dates on PostgreSQL; :class:`DueFacts` says what the
    due date means on the as-of date.

    For writers of very large reports (CSV), which do their per-row work on whole batches.
    """
    require_current_plans(session)
    stmt = due_select(query, session.get_bind().dialect.name == "sqlite")
    batches = driver_batches(session, stmt)
    if query.to_call:
        return _to_call(batches, TrackingFacts(query.as_of, policy))
    return batches if query.closed else _open_only(batches)


def _open_only(batches: Generator[list[tuple[Any, ...]]]) -> Generator[list[tuple[Any, ...]]]:
    """The rows of patients whose tracking is open (§7: closed ones leave the reports).

    Left out here rather than in the query: the query stays the due index's range scan,
    whatever a planner would guess of a condition on the patients' table."""
    try:
        for batch in batches:
            yield [row for row in batch if row[CLOSED] is None]
    finally:
        batches.close()


def _to_call(
    batches: Generator[list[tuple[Any, ...]]], facts: TrackingFacts
) -> Generator[list[tuple[Any, ...]]]:
    """§7: the overdue rows of open patients neither scheduled nor called lately, in the
    query's order (biopsy-type actions first, then the most recently overdue)."""
    try:
        for batch in batches:
            yield [
                row
                for row in batch
                if facts(row[CLOSED], row[APPOINTMENT], row[LAST_CALL]).to_call(True)
            ]
    finally:
        batches.close()


def due_records(
    session: Session, query: DueQuery, policy: rules.Policy
) -> Iterator[tuple[Any, ...]]:
    """The due report of cli.md as tuples in DUE_COLUMNS order, in the report's order,
    streamed: memory stays flat, and the per-row work is small (cached facts)."""
    facts = DueFacts(query.as_of, policy)
    due_facts, all_codes, tracked = facts.due, facts.codes, facts.tracking
    for batch in due_batches(session, query, policy):
        for row in batch:
            patient_id, name, due, action, side, facility, stored, phone, email = row[:9]
            closed, appointment, last_contact, last_call, *also = row[9:]
            day, overdue, late, dated = due_facts(due)
            state = tracked(closed, appointment, last_call)
            codes = all_codes(stored, dated + MISSED if state.missed else dated)
            yield (
                patient_id,
                name,
                day,
                action,
                side,
                facility,
                overdue,
                late,
                codes,
                phone,
                email,
                state.state.value,
                as_text(appointment),
                as_text(last_contact),
                also_value(*also),
            )


def also_value(side: str | None, action: str | None, due: Any) -> dict[str, Any] | None:
    """The other breast's step as the due report shows it (cli.md ``also``), or None."""
    if action is None:
        return None
    day = due if due is None or isinstance(due, str) else due.isoformat()
    return {"side": side, "action": action, "due": day}


def also_text(side: str | None, action: str | None, due: Any) -> str:
    """``also`` as one cell, as the generic CSV and table writers show the object: "right
    routine-screening 2026-01-10"."""
    other = also_value(side, action, due)
    if other is None:
        return ""
    return " ".join(str(other[key]) for key in ("side", "action", "due") if other[key])


def due_rows(session: Session, query: DueQuery, policy: rules.Policy) -> Generator[dict[str, Any]]:
    """The due report as one dict per patient (JSON and table)."""
    for record in due_records(session, query, policy):
        yield dict(zip(DUE_COLUMNS, record, strict=True))


@dataclass(frozen=True)
class FlagQuery:
    """What the flags report asks for: every flag in force on ``as_of`` (``code``: one), of
    open patients (``closed``: closed ones too), at one facility (``facility``)."""

    as_of: date
    code: str | None = None
    facility: str | None = None
    closed: bool = False


def _flag_candidates(query: FlagQuery, policy: rules.Policy) -> Select[Any]:
    """Plans that may carry the code asked for (any flag when None), narrowed by an index
    where possible."""
    as_of, code, plans = query.as_of, query.code, _plan_columns()
    if code == "overdue":
        stmt = plans.where(PlanRecord.due < as_of)
    elif code == "lost-to-follow-up":
        stmt = plans.where(PlanRecord.due < add_days(as_of, -policy.lost_after_days))
    elif code == MISSED_APPOINTMENT:  # the partial index of the patients with one
        stmt = plans.where(Patient.appointment < as_of)
    elif code is not None:
        flagged = select(PlanFlag.patient_id).where(PlanFlag.code == code)
        stmt = plans.where(PlanRecord.patient_id.in_(flagged))
    else:
        stmt = plans.where(
            (PlanRecord.flag_codes != "")
            | (PlanRecord.due < as_of)
            | Patient.appointment.is_not(None)
        )
    if query.facility is not None:
        stmt = stmt.where(Facility.key == rules.facility_key(query.facility))
    return stmt


def flag_rows(session: Session, query: FlagQuery, policy: rules.Policy) -> Iterator[dict[str, Any]]:
    """One row per patient and flag in force on ``as_of``, with what to do about it; sorted by
    patient id, then flag in the order of clinical-rules.md §6."""
    require_current_plans(session)
    stmt = (
        _flag_candidates(query, policy)
        .add_columns(PlanFlag.code, PlanFlag.message)
        .outerjoin(PlanFlag, PlanFlag.patient_id == PlanRecord.patient_id)
        .order_by(Patient.external_id)
    )
    facts = DueFacts(query.as_of, policy)
    code = query.code
    batches = driver_batches(session, stmt)
    rows = chain.from_iterable(batches if query.closed else _open_only(batches))
    for _, patient_rows in groupby(rows, key=itemgetter(0)):
        group = list(patient_rows)
        first = group[0]
        patient_id, name, due, action, _, facility = first[:6]
        flags = [(flag, message) for *_, flag, message in group if flag is not None]
        flags.extend((flag.code, flag.message) for flag in facts.dated_flags(due, action))
        missed = missed_appointment_flag(
            facts.tracking(first[CLOSED], first[APPOINTMENT], first[LAST_CALL])
        )
        if missed is not None:
            flags.append((missed.code, missed.message))
        flags.sort(key=lambda flag: FLAG_ORDER[flag[0]])
        for flag_code, message in flags:
            if code is None or flag_code == code:
                yield {
                    "patient_id": patient_id,
                    "name": name,
                    "code": flag_code,
                    "due": due,
                    "action": action,
                    "facility": facility,
                    "message": message,
                }
