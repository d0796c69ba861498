"""The clinic's policy, stored in its database (clinical-rules.md §9), and whether the stored
plans follow it.

``policies`` keeps every policy set (the file as given, every value it came to, who, when);
the single ``plans_state`` row names the one in force (none: the defaults, which a patient's
own database keeps until she sets one) and, while the plans are being recomputed under it,
the next patient to recompute (``followup.store.recompute`` does the work).

Concurrency: every reading transaction sees one snapshot (SQLite's own; REPEATABLE READ on
PostgreSQL, followup.store.database), in which the state row and the plans agree: a report
never sees a batch land half-way through it. Writers read each statement afresh on PostgreSQL,
so there the state row is locked: shared by every writing transaction that reads the policy
(:func:`read_state`: an exam change, an import, the reminder queue), exclusively by a policy
change and by each batch of a recompute (:func:`lock_state`; SQLite serialises writers). An
exam change therefore never plans with a policy replaced under it, the reminder queue never
reads plans half recomputed, and a recompute never misses an exam committed while it ran.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from followup import rules
from followup.store.clock import actor, now
from followup.store.errors import InvalidInput, NotFound, StoreError
from followup.store.models import PlansState, StoredPolicy

STATE_ID = 1


class PlansPending(StoreError):
    """A report was about to read plans that are still being recomputed under a new policy."""


@dataclass(frozen=True)
class PolicyState:
    """The policy in force and how far the stored plans follow it."""

    policy_id: int | None  # None: no policy set, the defaults are in force
    policy: rules.Policy
    recompute_next: int | None  # the next patient to recompute; None: every plan follows it

    @property
    def plans_current(self) -> bool:
        return self.recompute_next is None

    @property
    def label(self) -> str:
        return "the defaults" if self.policy_id is None else f"policy {self.policy_id}"


@dataclass(frozen=True)
class PolicyRecord:
    """One policy of the history."""

    id: int
    set_at: datetime
    set_by: str
    source: str
    policy: rules.Policy


def _state_query(session: Session, exclusive: bool) -> Select[int | None, int | None]:
    """The state row; in a writing transaction locked, shared or exclusive (PostgreSQL;
    SQLite has no row locks and needs none). A reading transaction reads one snapshot and
    locks nothing, so reports never hold up a policy change and a role that may only SELECT
    can run them."""
    query = select(PlansState.policy_id, PlansState.recompute_next)
    query = query.where(PlansState.id == STATE_ID)
    writing = session.connection().get_execution_options().get("followup_write", True)
    return query.with_for_update(read=not exclusive) if writing or exclusive else query


def _state(session: Session, exclusive: bool) -> PolicyState:
    row = session.execute(_state_query(session, exclusive)).one()  # revision 0006 writes it
    policy = rules.DEFAULT_POLICY
    if row.policy_id is not None:
        policy = get_policy(session, row.policy_id).policy
    return PolicyState(row.policy_id, policy, row.recompute_next)


def read_state(session: Session) -> PolicyState:
    """The policy in force; a writing transaction holds it shared until it ends (see the
    module)."""
    return _state(session, exclusive=False)


def lock_state(session: Session) -> PolicyState:
    """The policy in force, locked exclusively: for changing it or recomputing under it."""
    return _state(session, exclusive=True)


def policy_in_force(session: Session) -> rules.Policy:
    return read_state(session).policy


def require_current_plans(session: Session) -> None:
    """Refuse to read plans a recompute has not finished with: a report is never silently
    stale. Commands finish the recompute before they open their transaction
    (``AppContext.transaction(plans=True)``), so this only fires for one that did not."""
    state = read_state(session)
    if not state.plans_current:
        raise PlansPending(
            f"the stored plans are being recomputed under {state.label}; run "
            "`followup recompute` to finish, then run this command again"
        )


def set_recompute_from(session: Session, next_patient: int | None) -> None:
    session.execute(
        update(PlansState).where(PlansState.id == STATE_ID).values(recompute_next=next_patient)
    )


def parse_policy_file(content: bytes, name: str) -> rules.Policy:
    """A policy file's content as a Policy, checked (types, bounds, unknown keys); the one
    check for every door (``policy set``, the ``status --policy`` preview)."""
    try:
        return rules.parse_policy(content)
    except ValueError as exc:
        raise InvalidInput(f"policy file {name}: {exc}") from None


def set_policy(
    session: Session, content: bytes, name: str
) -> tuple[PolicyState, PolicyRecord | None]:
    """Check the policy file's ``content`` and store it, with who and when, as the policy in
    force, marking every plan for a recompute under it. Returns the state before and the new
    record (None: the file holds the policy in force, and nothing is stored)."""
    policy = parse_policy_file(content, name)
    current = lock_state(session)
    if rules.policy_json(policy) == rules.policy_json(current.policy):
        return current, None
    record = StoredPolicy(
        set_at=now(),
        set_by=actor()[:128],
        source=content.decode("utf-8"),  # parse_policy checked it is UTF-8
        policy=rules.policy_json(policy),
    )
    session.add(record)
    session.flush()
    session.execute(
        update(PlansState)
        .where(PlansState.id == STATE_ID)
        .values(policy_id=record.id, recompute_next=1)
    )
    return current, _record(record)


def mark_recompute(session: Session) -> None:
    """Mark every plan for a recompute under the policy in force (``followup recompute``,
    after a rules upgrade): it is then finished, by this command or the next that reads plans."""
    lock_state(session)
    set_recompute_from(session, 1)


def _record(row: StoredPolicy) -> PolicyRecord:
    policy = rules.policy_from_values(json.loads(row.policy))
    return PolicyRecord(row.id, row.set_at, row.set_by, row.source, policy)


def get_policy(session: Session, policy_id: int) -> PolicyRecord:
    row = session.get(StoredPolicy, policy_id)
    if row is None:
        raise NotFound(f"no policy {policy_id}; `followup policy history` lists them")
    return _record(row)


def policy_history(session: Session) -> list[PolicyRecord]:
    """Every policy set, oldest first."""
    rows = session.scalars(select(StoredPolicy).order_by(StoredPolicy.id))
    return [_record(row) for row in rows]
