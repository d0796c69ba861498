"""``followup init`` and ``followup db ...``: the schema and the file behind it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from followup.cli.context import AppContext, pass_app

if TYPE_CHECKING:
    from followup.store.database import Database


def _open_unchecked(app: AppContext, *, create: bool = False) -> Database:
    """The database without the schema check: these commands exist to fix the schema. Only
    ``init`` and ``db upgrade`` may create it; the others need it to exist."""
    from followup.store.database import open_database

    return open_database(app.db_option, for_migration=True, create=create)


@click.command()
@pass_app
def init(app: AppContext) -> None:
    """Create the database, or upgrade its schema, and say where it is.

    \b
    Examples:
      followup init
      followup --db clinic.db init
      followup --db postgresql+psycopg://followup@dbhost/followup init
    """
    from followup.store.migrate import current, upgrade

    database = _open_unchecked(app, create=True)
    try:
        before = current(database)
        upgrade(database)
        after = current(database)
    finally:
        database.close()
    if before is None:
        verb = "created"
    elif before != after:
        verb = f"upgraded from {before} to"
    else:
        verb = "already at"
    click.echo(f"Database {database.location}: {verb} schema revision {after}.")
    _finish_recompute(app)


def _finish_recompute(app: AppContext) -> None:
    """An upgrade may leave the plans to recompute (revision 0006 carries over the policy of
    an older database): done here, with progress, rather than by the next cron job."""
    written = app.finish_recompute()
    if written:
        click.echo(f"Recomputed the plans of {written} patients under the stored policy.")


@click.group()
def db() -> None:
    """Manage the database schema and make backups.

    \b
    Examples:
      followup db current
      followup db backup ~/followup-2025-01-31.db
      followup db upgrade
    """


@db.command()
@pass_app
def upgrade(app: AppContext) -> None:
    """Upgrade the schema to this version of followup (back up first)."""
    from followup.store import migrate

    database = _open_unchecked(app, create=True)
    try:
        before = migrate.current(database)
        migrate.upgrade(database)
        click.echo(
            f"Schema of {database.location}: {before or 'empty'} -> {migrate.current(database)}."
        )
    finally:
        database.close()
    _finish_recompute(app)


@db.command("current")
@pass_app
def current_(app: AppContext) -> None:
    """Print the schema revision of the database, and whether it is up to date."""
    from followup.store import migrate
    from followup.store.database import HEAD_REVISION

    database = _open_unchecked(app)
    try:
        revision = migrate.current(database)
    finally:
        database.close()
    state = "up to date" if revision == HEAD_REVISION else f"this version expects {HEAD_REVISION}"
    click.echo(f"{revision or 'empty (no schema)'} ({state})")


@db.command()
@click.argument("revision")
@pass_app
def downgrade(app: AppContext, revision: str) -> None:
    """Downgrade the schema to REVISION (``base`` removes every table: data is lost).

    \b
    Example:
      followup db backup before-downgrade.db && followup db downgrade base
    """
    from followup.store import migrate

    database = _open_unchecked(app)
    try:
        if not (revision == "base" or migrate.is_known_revision(revision)):
            raise click.BadParameter(
                f"unknown revision {revision!r}; see `followup db current` and use a revision "
                "id or 'base'",
                param_hint="REVISION",
            )
        migrate.downgrade(database, revision)
        click.echo(
            f"Schema of {database.location} is now at {migrate.current(database) or 'base'}."
        )
    finally:
        database.close()


@db.command()
@click.argument("file", metavar="FILE")
@click.option("--force", is_flag=True, help="Replace FILE if it exists (never the database).")
@pass_app
def backup(app: AppContext, file: str, force: bool) -> None:
    """Copy the SQLite database to FILE while it is in use (SQLite's online backup).

    FILE is written whole or not at all (a temporary file beside it, then renamed), readable
    by its owner only; an existing FILE is replaced only with --force. For PostgreSQL use
    pg_dump.

    \b
    Examples:
      followup db backup ~/followup-2025-01-31.db
      followup db backup nightly.db --force
    """
    from followup.store.backup import backup_sqlite

    database = _open_unchecked(app)
    try:
        pages = backup_sqlite(database, file, force=force)
    finally:
        database.close()
    click.echo(f"Backed up {database.location} to {file} ({pages} pages).")
