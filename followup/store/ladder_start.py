"""The day each channel of the programme's ladder started (clinical-rules.md §7): the first day
a real (not dry) ``remind`` run had anything to send (queued it: what fails to go out is
retried by the next run), and, apart, the first day a real ``letters`` run produced a letter.
:func:`followup.rules.ladder.step_on` never sends an overdue step that fell before it, so the
first run of either sends only what falls due from that day on, not a backlog of years. The
channels start apart because either may be used first: a clinic e-mailing since 2024 that
prints its first letters today must not get two years of result and certified overdue
letters.

Kept in ``settings`` (one row a channel, written once). Two first runs racing both write it with
``INSERT ... ON CONFLICT DO NOTHING``: the second waits for the first to commit, inserts
nothing and reads the winner's day (writing transactions read committed rows afresh), so
neither fails; both computed their steps with the same day, their own as-of date.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.store.models import Setting

LADDER_STARTED = "ladder_started"  # the e-mails' (the name revision 0011 gave it)
LETTERS_STARTED = "letters_started"


def ladder_started(session: Session, channel: str = LADDER_STARTED) -> date | None:
    """The stored start day of ``channel``, or None before its first run that sent
    anything."""
    value = session.scalar(select(Setting.value).where(Setting.key == channel))
    return None if value is None else date.fromisoformat(value)


def start_ladder(session: Session, as_of: date, channel: str = LADDER_STARTED) -> date:
    """The start day of ``channel``, storing ``as_of`` as it when there is none yet (call it
    in the run that sends, once it has something to send, so a dry run or an empty one never
    starts the ladder)."""
    started = ladder_started(session, channel)
    if started is not None:
        return started
    row = {"key": channel, "value": as_of.isoformat()}
    session.execute(_insert_ignoring_duplicates(session), [row])
    found = ladder_started(session, channel)
    assert found is not None  # inserted now, or by the run that won the race
    return found


def _insert_ignoring_duplicates(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(Setting).on_conflict_do_nothing()
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(Setting).on_conflict_do_nothing()
