"""Turn errors a user can fix into ``Error: ...`` lines with exit status 1, no traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from followup.store.errors import StoreError


@contextmanager
def translate_errors() -> Iterator[None]:
    try:
        yield
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:
        message = _database_problem(exc)
        if message is None:
            raise
        raise click.ClickException(message) from None


def _database_problem(exc: Exception) -> str | None:
    """A message for a database that cannot be reached, is locked, or refused a write."""
    if not type(exc).__module__.startswith("sqlalchemy"):
        return None
    from sqlalchemy.exc import IntegrityError, OperationalError

    original = getattr(exc, "orig", None) or exc
    detail = str(original).strip().splitlines()[0] if str(original).strip() else type(exc).__name__
    if isinstance(exc, IntegrityError):
        return f"the database refused the change ({detail}); nothing was written"
    if isinstance(exc, OperationalError):
        return (
            f"the database could not be used ({detail}); check --db / FOLLOWUP_DB, that the "
            "server is running, and that no other program holds the file locked"
        )
    return None
