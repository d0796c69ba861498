"""What every command shares: the database (opened once, lazily), the policy, today."""

from __future__ import annotations

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


class AppContext:
    """Holds the global options; opens the database on first use and closes it at exit.

    A command that writes opens the database through ``transaction()`` (write by default),
    which creates a new SQLite file and its schema. Any other first use (a read-only
    transaction, ``database``, ``open(create=False)``) needs the database to exist already:
    a command that only reads never creates one (cli.md).
    """

    def __init__(self, db: str | None, policy_file: str | None) -> None:
        self.db_option = db
        self.policy_file = policy_file
        self._database: Database | None = None
        self._policy: Policy | None = None

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
        if self._policy is None:
            self._policy = load_policy(self.policy_file)
        return self._policy

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Session]:
        """The command's one transaction: all of it is written, or none of it."""
        with self.open(create=write).transaction(write=write) as session:
            yield session
        for notice in session.info.get(NOTICES, ()):
            click.echo(f"Warning: {notice}", err=True)

    def protected_files(self) -> list[tuple[str | Path, str]]:
        """Files no output of this command may overwrite: the SQLite database with the files
        SQLite keeps beside it, and the policy file. Worked out without opening anything."""
        from followup.files import database_files
        from followup.store.database import resolve_url, sqlite_file

        protected: list[tuple[str | Path, str]] = []
        path = sqlite_file(resolve_url(self.db_option))
        if path is not None:
            protected += [(file, "the database") for file in database_files(path)]
        if self.policy_file:
            protected.append((self.policy_file, "the policy file"))
        return protected

    def close(self) -> None:
        if self._database is not None:
            self._database.close()


def load_policy(path: str | None) -> Policy:
    """The policy file's values over the defaults; a bad file is a clear error."""
    from followup.rules import DEFAULT_POLICY, load_policy_text

    if path is None:
        return DEFAULT_POLICY
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(
            f"cannot read the policy file {path}: {exc.strerror}; fix --policy or FOLLOWUP_POLICY"
        ) from None
    try:
        return load_policy_text(text)
    except ValueError as exc:
        raise click.ClickException(f"policy file {path}: {exc}") from None


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
