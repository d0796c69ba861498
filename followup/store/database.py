"""Opening the database: where it is, how SQLite is set up, one transaction per command.

SQLite gets foreign keys, WAL and a busy timeout on every connection, and write transactions
start with BEGIN IMMEDIATE so two writers queue on the busy timeout instead of failing on a
lock upgrade. A new SQLite file is created 0600 before SQLite ever touches it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError
from sqlalchemy.orm import Session

from followup.store.errors import SchemaError

ENV_DB = "FOLLOWUP_DB"
BUSY_TIMEOUT_MS = 30_000
# The newest Alembic revision this code expects; a test checks it is migrations' only head.
# Kept here so an ordinary command checks the schema without importing Alembic.
HEAD_REVISION = "0012"


def default_path() -> Path:
    """``<user data dir>/followup/followup.db`` (``~/.local/share/followup/`` on Linux)."""
    from platformdirs import user_data_path

    return user_data_path("followup", appauthor=False) / "followup.db"


URL_EXAMPLES = "a file path, sqlite:///PATH or postgresql+psycopg://USER@HOST/DATABASE"


def resolve_url(db: str | None) -> URL:
    """``--db`` (a path or an SQLAlchemy URL), else ``$FOLLOWUP_DB``, else the default file.

    Only what followup can use is accepted: SQLite files (never an in-memory database, where
    every write would report success and vanish) and PostgreSQL through psycopg
    (``postgresql://`` means that). Anything else is a SchemaError saying what to give.
    """
    target = db or os.environ.get(ENV_DB) or str(default_path())
    if "://" not in target:
        return URL.create("sqlite", database=str(Path(target).expanduser().resolve()))
    try:
        url = make_url(target)
    except ArgumentError:
        raise SchemaError(f"{target!r} is not a database URL; give {URL_EXAMPLES}") from None
    return _usable(url, target)


def _usable(url: URL, target: str) -> URL:
    backend, _, driver = url.drivername.partition("+")  # read, not loaded: no plugin lookup
    if backend == "sqlite" and not driver:
        memory = url.query.get("mode") == "memory" or ":memory:" in (url.database or "")
        if not url.database or memory:
            raise SchemaError(
                f"{target!r} is an in-memory database, which vanishes when the command ends; "
                "give a file, e.g. sqlite:///followup.db"
            )
        return url
    if backend == "postgresql" and driver in ("", "psycopg"):
        return url.set(drivername="postgresql+psycopg")
    if backend == "postgresql":
        raise SchemaError(
            f"followup reaches PostgreSQL through psycopg, not {driver}; write the URL as "
            "postgresql+psycopg://USER@HOST/DATABASE"
        )
    scheme = url.drivername
    raise SchemaError(
        f"{scheme}:// databases are not supported; followup uses SQLite or PostgreSQL: give "
        f"{URL_EXAMPLES}"
    )


def describe(url: URL) -> str:
    """Where the database is, for people, without any password."""
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return url.render_as_string(hide_password=True)


def sqlite_file(url: URL) -> Path | None:
    """The file behind a SQLite URL, or None for other databases and in-memory SQLite."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def create_private_file(path: Path) -> None:
    """Create ``path`` empty and 0600 (its folder 0700) unless it exists: health data."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _sqlite_setup(engine: Engine) -> None:
    """Pragmas on every connection, and explicit BEGINs (pysqlite's own are unreliable)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("followup_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def driver_connection(connection: Connection) -> Any:
    """The driver's own connection under ``connection`` (sqlite3's or psycopg's), for the hot
    paths that hand it plain tuples (bulk loads, whole reports)."""
    driver = connection.connection.driver_connection
    if driver is None:  # a pooled connection has one until it is invalidated
        raise RuntimeError("the database connection was invalidated")
    return driver


class Database:
    """An engine plus the schema check; open one per process with :func:`open_database`."""

    def __init__(self, url: URL, *, create: bool = True) -> None:
        self.url = url
        self.is_sqlite = url.get_backend_name() == "sqlite"
        path = sqlite_file(url)
        if path is not None and create:
            create_private_file(path)
        elif path is not None and not path.exists():
            raise SchemaError(
                f"there is no database at {path}; check --db or FOLLOWUP_DB, or create it with "
                f"`followup --db {path} init`"
            )
        elif path is not None and path.is_file() and path.stat().st_size == 0:
            raise SchemaError(_empty_message(str(path)))  # before SQLite writes a header to it
        try:
            self.engine = create_engine(url)
        except ImportError as exc:  # the driver is not installed
            raise SchemaError(
                f"cannot use {describe(url)}: {exc}; install followup[postgres]"
            ) from None
        if self.is_sqlite:
            _sqlite_setup(self.engine)

    @property
    def location(self) -> str:
        return describe(self.url)

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises.

        A reading transaction sees one snapshot of the database on PostgreSQL too (REPEATABLE
        READ; SQLite's reads always do), so a report never sees half of a change committed
        while it runs (a recompute batch, followup.store.policies)."""
        options: dict[str, object] = {"followup_write": write}
        if not (write or self.is_sqlite):
            options["isolation_level"] = "REPEATABLE READ"
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            session.connection(execution_options=options)
            yield session

    def current_revision(self) -> str | None:
        """The Alembic revision stamped in the database, None for an empty database."""
        try:
            with self.engine.connect() as conn:
                names = inspect(conn).get_table_names()
                if "alembic_version" not in names:
                    if names:
                        raise SchemaError(
                            f"{self.location} holds tables but is not a followup database; "
                            "choose another file with --db or FOLLOWUP_DB"
                        )
                    return None
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except OperationalError as exc:
            hint = (
                "that the file is readable and no other program holds it locked"
                if self.is_sqlite
                else "that the database server is running and reachable"
            )
            raise SchemaError(
                f"cannot connect to {self.location} ({_first_line(exc)}); check --db or "
                f"FOLLOWUP_DB, and {hint}"
            ) from None
        except DatabaseError as exc:
            raise SchemaError(
                f"cannot open {self.location} as a database ({_first_line(exc)}); "
                "check the path given with --db or FOLLOWUP_DB"
            ) from None

    def close(self) -> None:
        self.engine.dispose()


def _first_line(exc: DatabaseError) -> str:
    return str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)


def open_database(db: str | None, *, for_migration: bool = False, create: bool = True) -> Database:
    """Open the database and make sure its schema is the one this code expects.

    A new, empty database is migrated to the head; an older one is refused with the command
    that upgrades it (never migrated silently); a newer one is refused too. The ``db``
    commands pass ``for_migration`` to get the database as it is, to migrate it themselves.

    Without ``create`` (commands that only read, cli.md) a SQLite file that does not exist,
    or a database without the schema, is a SchemaError naming ``followup init``: a mistyped
    path must fail loudly, never become a new, empty database.
    """
    database = Database(resolve_url(db), create=create)
    try:
        revision = database.current_revision()  # also a clear error for a non-database file
        if for_migration:
            return database
        if revision is None and not create:
            raise SchemaError(_empty_message(database.location))
        if revision is None:
            from followup.store.migrate import upgrade

            upgrade(database)
        elif revision != HEAD_REVISION:
            raise SchemaError(_mismatch_message(database, revision))
    except BaseException:
        database.close()
        raise
    return database


def _empty_message(location: str) -> str:
    return (
        f"the database {location} is empty (no followup schema); check --db or FOLLOWUP_DB, "
        "or create the schema with `followup init`"
    )


def _mismatch_message(database: Database, revision: str) -> str:
    from followup.store.migrate import is_known_revision

    if is_known_revision(revision):
        return (
            f"the database {database.location} is at schema revision {revision}, older than "
            f"this version of followup ({HEAD_REVISION}); back it up with `followup db backup "
            "FILE`, then run `followup db upgrade`"
        )
    return (
        f"the database {database.location} is at schema revision {revision}, which this "
        "version of followup does not know (it was written by a newer version); upgrade followup"
    )
