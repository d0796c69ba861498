"""Errors the store raises for things a user can fix; interfaces turn them into messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class StoreError(Exception):
    """A problem the user can fix; the message says what was wrong and how to fix it."""


class NotFound(StoreError):
    """The patient, exam or facility named does not exist."""


class Conflict(StoreError):
    """The record already exists (duplicate patient id, duplicate exam)."""


class InvalidInput(StoreError):
    """A value breaks a rule (bad date, unknown category, empty facility...)."""


class SchemaError(StoreError):
    """The database is not at the schema this version expects, or is not ours at all."""


class HelperStopped(StoreError):
    """A helper process of a bulk load died (killed, out of memory) before it was done; the
    load is rolled back, so running it again is safe."""


# Session.info key: warnings for the person at the terminal (e.g. a facility name that looks
# like another), collected by the store and shown by the interface once the command succeeds.
NOTICES = "followup_notices"


def notify(session: Session, message: str) -> None:
    """Tell the person running the command ``message`` (a one-line warning, no health data
    beyond what she typed), without the store doing any I/O itself."""
    session.info.setdefault(NOTICES, []).append(message)
