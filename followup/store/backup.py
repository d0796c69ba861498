"""Online backup of a SQLite database, safe while other processes use it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from followup.store.database import Database, create_private_file
from followup.store.errors import InvalidInput


def backup_sqlite(database: Database, target: str) -> int:
    """Copy ``database`` to ``target`` (created 0600); returns the pages copied."""
    source = database.url.database if database.is_sqlite else None
    if not source or source == ":memory:":
        raise InvalidInput("db backup copies SQLite files only; for PostgreSQL use pg_dump")
    path = Path(target).expanduser().resolve()
    if path == Path(source).resolve():
        raise InvalidInput("the backup file is the database itself; give another path")
    if path.exists() and path.stat().st_size > 0:
        raise InvalidInput(f"{path} already exists; give a new file name (nothing was overwritten)")
    create_private_file(path)
    pages = 0

    def progress(_status: int, _remaining: int, total: int) -> None:
        nonlocal pages
        pages = total

    with sqlite3.connect(source) as src, sqlite3.connect(path) as dst:
        src.backup(dst, pages=1024, progress=progress)
    src.close()
    dst.close()
    return pages
