"""The day the programme's ladder started (clinical-rules.md §7): the first day a real (not
dry) ``remind`` or ``letters`` run sent anything. :func:`followup.rules.ladder.step_on` never
sends an overdue step that fell before it, so the first run on a programme sends only what
falls due from that day on, not a backlog of years.

Kept in ``settings`` (one row, written once); two first runs racing write the same key, and
the loser's INSERT fails on the primary key inside its own transaction, which the caller
turns into a retry or simply reads the winner's day.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.store.models import Setting

LADDER_STARTED = "ladder_started"


def ladder_started(session: Session) -> date | None:
    """The stored start day, or None before the first run that sent anything."""
    value = session.scalar(select(Setting.value).where(Setting.key == LADDER_STARTED))
    return None if value is None else date.fromisoformat(value)


def start_ladder(session: Session, as_of: date) -> date:
    """The start day, storing ``as_of`` as it when there is none yet (call it in the run that
    sends, so a dry run never starts the ladder)."""
    started = ladder_started(session)
    if started is not None:
        return started
    session.add(Setting(key=LADDER_STARTED, value=as_of.isoformat()))
    session.flush()
    return as_of
