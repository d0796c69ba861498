"""The letter log (clinical-rules.md §7, cli.md "Letters"): each letter produced, once.

- What identifies a letter is its patient, kind and *subject*: the exam (result), the due
  date and ladder step (reminder, overdue), the facility holding the films (films request).
  The unique constraint on (patient, kind, subject, reprint) is what keeps two overlapping
  ``letters`` runs from producing a letter twice: a batch inserts reprint 0 with ``INSERT
  ... ON CONFLICT DO NOTHING ... RETURNING``, and produces only the letters whose rows it got
  back. On PostgreSQL a second run's insert of a key the first holds waits for the first to
  commit, then does nothing; on SQLite write transactions are ``BEGIN IMMEDIATE``, so the
  second run starts once the first committed and finds its letters in the log.
- ``followup letter ID`` at the desk writes the next reprint number of the same subject: a
  letter given at the desk counts as that letter, and the batch does not produce it again.
- Each letter produced records a ``letter-sent`` contact in the same transaction (a contact,
  not a call: :data:`followup.rules.tracking.NOT_CALLS`), audited as every contact is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from followup.rules import letters as rules_letters
from followup.rules.tracking import Outcome
from followup.store.clock import actor, now
from followup.store.contacts import refresh_tracking_of
from followup.store.models import AuditEntry, Contact, Letter

INSERT_CHUNK = 1_000


@dataclass(frozen=True)
class LetterKey:
    """What identifies one letter (and what its log row says about it)."""

    patient_pk: int
    kind: str
    subject: str
    exam_id: int | None = None
    due: date | None = None
    step: str | None = None
    facility_id: int | None = None

    @property
    def ident(self) -> tuple[int, str, str]:
        return self.patient_pk, self.kind, self.subject


def result_key(patient_pk: int, exam_id: int) -> LetterKey:
    return LetterKey(patient_pk, "result", f"exam {exam_id}", exam_id=exam_id)


def ladder_key(patient_pk: int, kind: str, due: date, step: str) -> LetterKey:
    return LetterKey(patient_pk, kind, f"{due.isoformat()} {step}", due=due, step=step)


def ladder_letters_sent(done: set[tuple[int, str, str]]) -> set[tuple[int, date]]:
    """(patient, due date) of the ladder letters among ``done`` (:func:`logged`), read back
    from the subject :func:`ladder_key` writes ("DUE STEP")."""
    return {
        (pk, date.fromisoformat(subject.split()[0]))
        for pk, kind, subject in done
        if kind in (rules_letters.REMINDER, rules_letters.OVERDUE)
    }


def films_key(patient_pk: int, facility_id: int) -> LetterKey:
    return LetterKey(
        patient_pk, "films-request", f"facility {facility_id}", facility_id=facility_id
    )


def logged(session: Session, patient_pks: Sequence[int]) -> set[tuple[int, str, str]]:
    """(patient, kind, subject) of every letter already produced for these patients."""
    rows = session.execute(
        select(Letter.patient_id, Letter.kind, Letter.subject)
        .where(Letter.patient_id.in_(patient_pks))
        .distinct()
    )
    return {(pk, kind, subject) for pk, kind, subject in rows}


def _row(key: LetterKey, letter_date: date, reprint: int, stamp: dict[str, Any]) -> dict[str, Any]:
    return {
        "patient_id": key.patient_pk,
        "kind": key.kind,
        "subject": key.subject,
        "reprint": reprint,
        "exam_id": key.exam_id,
        "due": key.due,
        "step": key.step,
        "facility_id": key.facility_id,
        "letter_date": letter_date,
        **stamp,
    }


def _insert_ignoring_duplicates(session: Session) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING``: the rows another run holds are not
    written, and not returned."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        stmt: Any = postgresql.insert(Letter).on_conflict_do_nothing()
    else:
        from sqlalchemy.dialects import sqlite

        stmt = sqlite.insert(Letter).on_conflict_do_nothing()
    return stmt.returning(Letter.id, Letter.patient_id, Letter.kind, Letter.subject)


def claim_batch(
    session: Session, keys: Sequence[LetterKey], letter_date: date
) -> dict[tuple[int, str, str], int]:
    """Record these letters (reprint 0) unless they are in the log already; returns the id of
    each one this run recorded (and so produces), by :attr:`LetterKey.ident`."""
    stamp = {"produced_at": now(), "produced_by": actor()[:128]}
    stmt = _insert_ignoring_duplicates(session)
    connection = session.connection()  # Core: many rows a statement (the ORM's go one by one)
    ours: dict[tuple[int, str, str], int] = {}
    keys = list(keys)
    for start in range(0, len(keys), INSERT_CHUNK):
        rows = [_row(key, letter_date, 0, stamp) for key in keys[start : start + INSERT_CHUNK]]
        for letter_id, patient_pk, kind, subject in connection.execute(stmt, rows):
            ours[(patient_pk, kind, subject)] = letter_id
    return ours


def record_reprint(session: Session, key: LetterKey, letter_date: date) -> int:
    """Record a letter written at the desk: the next reprint number of its subject (0 when
    none was produced yet, so the batch will not produce it again); returns its id."""
    latest = session.scalar(
        select(func.max(Letter.reprint)).where(
            Letter.patient_id == key.patient_pk,
            Letter.kind == key.kind,
            Letter.subject == key.subject,
        )
    )
    stamp = {"produced_at": now(), "produced_by": actor()[:128]}
    reprint = 0 if latest is None else latest + 1
    row = _row(key, letter_date, reprint, stamp)
    return session.execute(insert(Letter).returning(Letter.id), row).scalar_one()


def record_contacts(
    session: Session,
    patient_pks: Iterable[int],
    day: date,
    latest: Mapping[int, date | None] | None = None,
) -> int:
    """A ``letter-sent`` contact of ``day`` for each patient (one per letter), audited as
    ``contact.add``, and the patients' pathway summaries refreshed (from ``latest``, each
    one's latest exam or biopsy, when the caller has read them); returns how many."""
    recorded_at, recorded_by = now(), actor()[:128]
    connection = session.connection()
    pks = list(patient_pks)
    for start in range(0, len(pks), INSERT_CHUNK):
        chunk = pks[start : start + INSERT_CHUNK]
        rows = [
            {
                "patient_id": pk,
                "date": day,
                "outcome": Outcome.LETTER_SENT.value,
                "recorded_at": recorded_at,
                "recorded_by": recorded_by,
            }
            for pk in chunk
        ]
        ids = connection.scalars(
            insert(Contact).returning(Contact.id, sort_by_parameter_order=True), rows
        ).all()
        connection.execute(
            insert(AuditEntry),
            [
                _audit_row(contact_id, pk, day, recorded_at, recorded_by)
                for contact_id, pk in zip(ids, chunk, strict=True)
            ],
        )
    refresh_tracking_of(session, sorted(set(pks)), latest)
    return len(pks)


def _audit_row(contact_id: int, patient_pk: int, day: date, at: Any, by: str) -> dict[str, Any]:
    """As ``contact.add`` logs a contact typed at the terminal (contacts.contact_snapshot)."""
    after = {
        "id": contact_id,
        "date": day.isoformat(),
        "outcome": Outcome.LETTER_SENT.value,
        "appointment": None,
        "facility": None,
        "note": None,
    }
    return {
        "at": at,
        "actor": by,
        "action": "contact.add",
        "patient_id": patient_pk,
        "exam_id": None,
        "detail": json.dumps({"after": after}, sort_keys=True),
    }
