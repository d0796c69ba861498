"""The facilities of a bulk load: each spelling given resolved to its facility's id once.

Facility names are free text, matched by key (:func:`followup.rules.facility_key`): a new one
is created with the first spelling seen, with the look-alike warning
(:func:`followup.store.exams.warn_lookalike`). The rules see a facility by its stored
spelling, which :attr:`FacilityIds.names` keeps for the loader's plans.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from followup import rules
from followup.store.errors import InvalidInput
from followup.store.exams import facility_skeletons, warn_lookalike
from followup.store.models import Facility


class _Counts(Protocol):
    facilities_added: int


class FacilityIds:
    """``ids(name)``: the id of the facility ``name`` names, created if new (InvalidInput if
    it is no name). Bounded by the facilities of the load: a few hundred entries."""

    def __init__(self, session: Session, conn: Connection, counts: _Counts) -> None:
        self.session, self._conn, self._counts = session, conn, counts
        self._by_key: dict[str, int] = {}
        self._by_spelling: dict[str, int] = {}  # spelling as given (or stored) -> id
        self.names: dict[int, str] = {}  # id -> stored spelling, as the rules see it
        self._skeletons: dict[str, str] | None = None  # what facility names look like -> name

    def __call__(self, name: str) -> int:
        return self._by_spelling.get(name) or self._resolve(name)

    def _resolve(self, name: str) -> int:
        try:
            display = rules.check_facility(name)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        key = rules.facility_key(display)
        facility_id = self._by_key.get(key)
        if facility_id is None:
            stored = self._conn.execute(
                select(Facility.id, Facility.name).where(Facility.key == key)
            ).one_or_none()
            if stored is None:
                if self._skeletons is None:  # read once, when the first new facility comes
                    names = self._conn.execute(select(Facility.name)).scalars()
                    self._skeletons = facility_skeletons(names)
                warn_lookalike(self.session, display, self._skeletons)
                facility_id = self._conn.execute(
                    insert(Facility).values(key=key, name=display).returning(Facility.id)
                ).scalar_one()
                stored_name = display
                self._counts.facilities_added += 1
            else:
                facility_id, stored_name = stored
            self._by_key[key] = facility_id
            self.names[facility_id] = stored_name
            self._by_spelling[stored_name] = facility_id
        self._by_spelling[name] = facility_id
        return facility_id
