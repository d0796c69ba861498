"""What every command shares: the database (opened once, lazily), the policy in force, today."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from followup.store.errors import NOTICES

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from followup.rules import Policy
    from followup.store.database import Database
    from followup.store.policies import PolicyState


class AppContext:
    """Holds the global options; opens the database on first use and closes it at exit.

    A command that writes opens the database through ``transaction()`` (write by default),
    which creates a new SQLite file and its schema. Any other first use (a read-only
    transaction, ``database``, ``open(create=False)``) needs the database to exist already:
    a command that only reads never creates one (cli.md).
    """

    def __init__(self, db: str | None) -> None:
        self.db_option = db
        self._database: Database | None = None
        self._session: Session | None = None
        self._state: PolicyState | None = None  # read in the open transaction
        self._last: PolicyState | None = None  # read last

    def open(self, *, create: bool) -> Database:
        """The database, opened now if it is not yet; ``create`` lets a new one be made."""
        if self._database is None:
            from followup.store.database import open_database

            self._database = open_database(self.db_option, create=create)
        return self._database

    @property
    def database(self) -> Database:
        return self.open(create=False)

    @property
    def policy(self) -> Policy:
        """The policy stored in the database: read in the command's transaction (and locked
        with it, see followup.store.policies); outside one, the one read last."""
        from followup.store.policies import read_state

        if self._session is not None:
            if self._state is None:
                self._state = self._last = read_state(self._session)
            return self._state.policy
        if self._last is None:
            with self.database.transaction(write=False) as session:
                self._last = read_state(session)
        return self._last.policy

    @contextmanager
    def transaction(self, write: bool = True, plans: bool = False) -> Iterator[Session]:
        """The command's one transaction: all of it is written, or none of it.

        ``plans=True`` for a command that reads stored plans (reports, reminders, exports):
        a pending recompute (a policy just set, an interrupted one) is finished first, and the
        transaction starts only once the plans follow the policy in force.
        """
        from followup.store.policies import read_state

        while True:
            if plans:
                self.finish_recompute()
            with self.open(create=write).transaction(write=write) as session:
                state = read_state(session) if plans else None
                if state is not None and not state.plans_current:
                    continue  # a policy was set meanwhile: finish its recompute first
                self._session, self._state = session, state
                self._last = state or self._last
                try:
                    yield session
                finally:
                    self._session = None
            for notice in session.info.get(NOTICES, ()):
                click.echo(f"Warning: {notice}", err=True)
            return

    def finish_recompute(self) -> int:
        """Finish a pending recompute, with a progress bar on a terminal; the plans written."""
        from followup.store.recompute import finish_recompute, pending

        state = pending(self.database)
        if state is None:
            return 0
        stream = sys.stderr
        label = f"Recomputing plans under {state.label}"
        with click.progressbar(
            length=0, label=label, file=stream, hidden=not stream.isatty()
        ) as bar:

            def advance(done: int, total: int) -> None:
                bar.length = total
                bar.update(done - bar.pos)

            return finish_recompute(self.database, advance)

    def protected_files(self) -> list[tuple[str | Path, str]]:
        """Files no output of this command may overwrite: the SQLite database with the files
        SQLite keeps beside it. Worked out without opening anything."""
        from followup.files import database_files
        from followup.store.database import resolve_url, sqlite_file

        path = sqlite_file(resolve_url(self.db_option))
        return [] if path is None else [(file, "the database") for file in database_files(path)]

    def close(self) -> None:
        if self._database is not None:
            self._database.close()


def read_policy_file(path: str) -> bytes:
    """A policy file's bytes, for the store to check; a file that cannot be read, or is far
    too big to be one, is a one-line error."""
    from followup.rules.policy import MAX_FILE_BYTES

    try:
        with Path(path).open("rb") as file:
            content = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise click.ClickException(f"cannot read the policy file {path}: {exc.strerror}") from None
    return content


def today() -> date:
    """The one place commands read the clock; rules always get ``as_of`` as a parameter."""
    return date.today()


def import_day(as_of: date | None, earliest: date | None = None) -> date:
    """The day a command that records exams (an import, the demo) takes as today for its
    date checks: --as-of, never later than today, since no exam can have been done in the
    future (nor earlier than ``earliest``, where the command needs that)."""
    now = today()
    if as_of is not None and as_of > now:
        raise click.BadParameter(
            f"{as_of.isoformat()} is after today ({now.isoformat()}): exams are never dated in "
            "the future; give today or an earlier day, or leave --as-of out",
            param_hint="--as-of",
        )
    if as_of is not None and earliest is not None and as_of < earliest:
        raise click.BadParameter(
            f"{as_of.isoformat()} is before {earliest.isoformat()}; give a later day",
            param_hint="--as-of",
        )
    return as_of or now


pass_app = click.make_pass_decorator(AppContext)
