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

from sqlalchemy import Dialect, Select, String, func, select, type_coerce
from sqlalchemy.orm import Session

from followup import rules
from followup.rules.dates import add_days
from followup.store.database import driver_connection
from followup.store.models import Facility, Patient, PlanFlag, PlanRecord
from followup.store.policies import require_current_plans

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
    "also",
)
FLAG_COLUMNS = ("patient_id", "name", "code", "due", "action", "facility", "message")
# Core execution options of other whole-table reads (adherence): a streamed cursor.
STREAM = {"stream_results": True, "yield_per": 2000}
BATCH = 5000  # rows per fetch from the driver


@dataclass(frozen=True)
class DueQuery:
    """What the due report asks for: everything due up to ``as_of + within`` days."""

    as_of: date
    within: int = 30
    overdue_only: bool = False
    facility: str | None = None


def _plan_columns(due: Any = PlanRecord.due) -> Select[Any]:
    return (
        select(
            Patient.external_id,
            Patient.name,
            due,
            PlanRecord.action,
            PlanRecord.laterality,
            Facility.name.label("facility"),
            PlanRecord.flag_codes,
        )
        .join(Patient, Patient.id == PlanRecord.patient_id)
        .outerjoin(Facility, Facility.id == PlanRecord.facility_id)
    )


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

    def dated_part(self, raw: Any, stored: str) -> tuple[bool, int, tuple[str, ...]]:
        """(overdue, days overdue, all flag codes) of a due date (raw) and stored flag codes."""
        _, overdue, late, dated = self.due(raw)
        return overdue, late, self.codes(stored, dated)


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


def _driver_batches(session: Session, stmt: Select[Any]) -> Generator[list[tuple[Any, ...]]]:
    """The rows of a whole-report query in batches of plain driver tuples, read from the
    driver's cursor on the session's connection (server-side on PostgreSQL, so memory stays
    flat): SQLAlchemy's result rows would cost as much as the query on a 300,000-row report.
    """
    connection = session.connection()
    sql, values = _driver_statement(stmt, connection.dialect)
    driver = driver_connection(connection)
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(WHOLE_RESULT)
        cursor = driver.cursor(name="followup_report")
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
    it reads (SQLite reads the dates as text)."""
    stmt = _plan_columns(type_coerce(PlanRecord.due, String) if sqlite else PlanRecord.due)
    also_due = type_coerce(PlanRecord.also_due, String) if sqlite else PlanRecord.also_due
    stmt = stmt.add_columns(PlanRecord.also_side, PlanRecord.also_action, also_due)
    stmt = stmt.where(PlanRecord.due.is_not(None))
    if query.overdue_only:
        stmt = stmt.where(PlanRecord.due < query.as_of)
    else:
        stmt = stmt.where(PlanRecord.due <= add_days(query.as_of, query.within))
    if query.facility is not None:
        stmt = stmt.where(Facility.key == rules.facility_key(query.facility))
    return stmt.order_by(PlanRecord.due, Patient.external_id)


def due_batches(session: Session, query: DueQuery) -> Generator[list[tuple[Any, ...]]]:
    """The plans the due report lists, sorted by due date then patient id, in batches of
    (patient id, name, due, action, laterality, facility, stored flag codes, and the other
    breast's side, action and due): dates are ISO text on SQLite and dates on PostgreSQL;
    :class:`DueFacts` says what the due date means on the as-of date.

    For writers of very large reports (CSV), which do their per-row work on whole batches.
    """
    require_current_plans(session)
    stmt = due_select(query, session.get_bind().dialect.name == "sqlite")
    return _driver_batches(session, stmt)


def due_records(
    session: Session, query: DueQuery, policy: rules.Policy
) -> Iterator[tuple[Any, ...]]:
    """The due report of cli.md as tuples in DUE_COLUMNS order, sorted by due date then
    patient id, streamed: memory stays flat, and the per-row work is small (cached facts)."""
    facts = DueFacts(query.as_of, policy)
    due_facts, all_codes = facts.due, facts.codes
    for batch in due_batches(session, query):
        for patient_id, name, due, action, laterality, facility, stored, *also in batch:
            day, overdue, late, dated = due_facts(due)
            codes = all_codes(stored, dated)
            other = also_value(*also)
            yield patient_id, name, day, action, laterality, facility, overdue, late, codes, other


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


def _flag_candidates(as_of: date, code: str | None, policy: rules.Policy) -> Select[Any]:
    """Plans that may carry ``code`` (any flag when None), narrowed by an index where possible."""
    if code == "overdue":
        return _plan_columns().where(PlanRecord.due < as_of)
    if code == "lost-to-follow-up":
        return _plan_columns().where(PlanRecord.due < add_days(as_of, -policy.lost_after_days))
    if code is not None:
        flagged = select(PlanFlag.patient_id).where(PlanFlag.code == code)
        return _plan_columns().where(PlanRecord.patient_id.in_(flagged))
    return _plan_columns().where((PlanRecord.flag_codes != "") | (PlanRecord.due < as_of))


def flag_rows(
    session: Session, as_of: date, code: str | None, policy: rules.Policy
) -> Iterator[dict[str, Any]]:
    """One row per patient and flag in force on ``as_of``, with what to do about it; sorted by
    patient id, then flag in the order of clinical-rules.md §4."""
    require_current_plans(session)
    stmt = (
        _flag_candidates(as_of, code, policy)
        .add_columns(PlanFlag.code, PlanFlag.message)
        .outerjoin(PlanFlag, PlanFlag.patient_id == PlanRecord.patient_id)
        .order_by(Patient.external_id)
    )
    dated_flags = DueFacts(as_of, policy).dated_flags
    rows = chain.from_iterable(_driver_batches(session, stmt))
    for _, patient_rows in groupby(rows, key=itemgetter(0)):
        group = list(patient_rows)
        patient_id, name, due, action, _, facility, *_ = group[0]
        flags = [(flag, message) for *_, flag, message in group if flag is not None]
        flags.extend((flag.code, flag.message) for flag in dated_flags(due, action))
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


def flag_counts(session: Session, as_of: date, policy: rules.Policy) -> dict[str, int]:
    """Patients with each flag on ``as_of`` (every code of §4, zeros included)."""
    require_current_plans(session)
    counts = dict.fromkeys(rules.FLAG_CODES, 0)
    stored = session.execute(select(PlanFlag.code, func.count()).group_by(PlanFlag.code))
    counts.update({code: count for code, count in stored})
    lost_before = add_days(as_of, -policy.lost_after_days)
    counts["overdue"] = _count_due_before(session, as_of)
    counts["lost-to-follow-up"] = _count_due_before(session, lost_before)
    return counts


def _count_due_before(session: Session, day: date) -> int:
    return session.scalar(select(func.count()).where(PlanRecord.due < day)) or 0


def action_counts(session: Session) -> dict[str, int]:
    """Patients by next action (e.g. open biopsy recommendations)."""
    counts = dict.fromkeys(rules.ACTIONS, 0)
    rows = session.execute(
        select(PlanRecord.action, func.count())
        .where(PlanRecord.action.is_not(None))
        .group_by(PlanRecord.action)
    )
    counts.update({action: count for action, count in rows if action is not None})
    return counts
