"""Online backup of a SQLite database, safe while other processes use it."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from followup.files import database_files, staged_file
from followup.store.database import Database
from followup.store.errors import InvalidInput


def backup_sqlite(database: Database, target: str, *, force: bool = False) -> int:
    """Copy ``database`` to ``target`` (see :mod:`followup.files`: whole or not at all, 0600,
    never over the database itself); returns the pages copied."""
    source = database.url.database if database.is_sqlite else None
    if not source or source == ":memory:":
        raise InvalidInput("db backup copies SQLite files only; for PostgreSQL use pg_dump")
    protected = [(file, "the database") for file in database_files(source)]
    pages = 0

    def progress(_status: int, _remaining: int, total: int) -> None:
        nonlocal pages
        pages = total

    with (
        staged_file(target, force=force, protected=protected) as staged,
        closing(sqlite3.connect(source)) as src,
        closing(sqlite3.connect(staged.path)) as dst,
    ):
        src.backup(dst, pages=1024, progress=progress)
        dst.execute("PRAGMA journal_mode = DELETE")  # a copy is one file, without a -wal
    return pages
