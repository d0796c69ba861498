"""Alembic run from code, with the revisions shipped inside the package.

The Config is built here rather than read from alembic.ini, so an installed wheel migrates
from wherever it is installed (alembic.ini at the repository top is for developers writing
new revisions with the ``alembic`` command).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from followup.store.database import Database


def script_location() -> Path:
    import followup.migrations

    return Path(followup.migrations.__file__).parent


def _config(database: Database | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location()))
    if database is not None:
        config.attributes["engine"] = database.engine
    return config


def heads() -> list[str]:
    return list(ScriptDirectory.from_config(_config()).get_heads())


def is_known_revision(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(_config()).get_revision(revision) is not None
    except Exception:  # alembic raises several kinds for an unknown or malformed id
        return False


def upgrade(database: Database, revision: str = "head") -> None:
    command.upgrade(_config(database), revision)


def downgrade(database: Database, revision: str) -> None:
    command.downgrade(_config(database), revision)


def current(database: Database) -> str | None:
    return database.current_revision()
