"""What every command shares: the database (opened once, lazily), the policy, today."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from followup.rules import Policy
    from followup.store.database import Database


class AppContext:
    """Holds the global options; opens the database on first use and closes it at exit."""

    def __init__(self, db: str | None, policy_file: str | None) -> None:
        self.db_option = db
        self.policy_file = policy_file
        self._database: Database | None = None
        self._policy: Policy | None = None

    @property
    def database(self) -> Database:
        if self._database is None:
            from followup.store.database import open_database

            self._database = open_database(self.db_option)
        return self._database

    @property
    def policy(self) -> Policy:
        if self._policy is None:
            self._policy = load_policy(self.policy_file)
        return self._policy

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Session]:
        """The command's one transaction: all of it is written, or none of it."""
        with self.database.transaction(write=write) as session:
            yield session

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


pass_app = click.make_pass_decorator(AppContext)
