"""Turn errors a user can fix into ``Error: ...`` lines with exit status 1, no traceback;
a reader that goes away (``followup due | head -1``) ends the command quietly."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress

import click

from followup.files import FileRefused, FileWriteError
from followup.store.errors import StoreError

# What a shell reports for a program stopped by SIGPIPE, as `yes | head -1` is.
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE


@contextmanager
def translate_errors() -> Iterator[None]:
    try:
        yield
    except (StoreError, FileRefused, FileWriteError) as exc:
        raise click.ClickException(printable(str(exc))) from None
    except Exception as exc:
        message = _database_problem(exc)
        if message is None:
            raise
        raise click.ClickException(printable(message)) from None


@contextmanager
def quiet_broken_pipe() -> Iterator[None]:
    """Standard output closed by its reader: stop without a word, exit 141 like other Unix
    tools. What is still buffered is dropped (standard output now points at /dev/null), so
    the interpreter's last flush cannot complain either."""
    try:
        yield
        sys.stdout.flush()  # what is still buffered goes now, while a closed pipe is caught
    except BrokenPipeError:
        with suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        raise click.exceptions.Exit(EXIT_BROKEN_PIPE) from None


def refuse_undecodable(args: Sequence[str]) -> None:
    """Arguments that are not UTF-8 (Python keeps their bytes as lone surrogates) are refused
    before anything reads them: no text we store or print can hold them."""
    for position, arg in enumerate(args, start=1):
        if isinstance(arg, str) and not is_text(arg):
            raise click.UsageError(
                f"argument {position} ({printable(arg)}) is not valid UTF-8 text; retype it, "
                "or convert it (e.g. with iconv) to UTF-8"
            )


def is_text(value: str) -> bool:
    """Whether ``value`` can be written as UTF-8 (no lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str) -> str:
    """``text`` safe to show on a terminal (control characters and undecodable bytes
    escaped): an error message may quote what a user or a file gave."""
    from followup.rules.text import escape_controls

    return escape_controls(text)


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
