"""Which closed patients have had an exam or biopsy recorded since their tracking was closed.

clinical-rules.md §7: "any new exam or biopsy reopens tracking". The rules reopen her when an
exam or biopsy is *dated* after the closing; this finds the other new ones: a record dated on
or before the closing day but entered after it (a result typed in late, an import of films
from elsewhere). Left closed, such a patient would drop out of the due and flags reports and
the letters with nothing said (a suspicious result included), which is the one thing the
tracker must never do; so a record *entered* after the closing was recorded reopens her too.
Edits of older records do not (their ``created_at`` is older than the closing).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from followup.store.models import Biopsy, Contact, Exam


def recorded_since_closing(session: Session, closings: Mapping[int, int]) -> set[int]:
    """The patients among ``closings`` (patient key: the id of the entry that closed her
    tracking) with an exam or biopsy created after that entry was recorded."""
    if not closings:
        return set()
    closed_at = dict(
        session.execute(
            select(Contact.patient_id, Contact.recorded_at).where(
                Contact.id.in_(list(closings.values()))
            )
        ).all()
    )
    newest = _newest_records(session, list(closings))
    return {pk for pk, at in closed_at.items() if pk in newest and newest[pk] > at}


def _newest_records(session: Session, patient_pks: list[int]) -> dict[int, datetime]:
    """When each patient's newest exam or biopsy was entered."""
    newest: dict[int, datetime] = {}
    for model in (Exam, Biopsy):
        rows = session.execute(
            select(model.patient_id, func.max(model.created_at))
            .where(model.patient_id.in_(patient_pks))
            .group_by(model.patient_id)
        )
        for pk, created in rows:
            if created is not None and (pk not in newest or created > newest[pk]):
                newest[pk] = created
    return newest
