"""Shared fixtures: real databases only (a SQLite file in tmp_path, and PostgreSQL).

PostgreSQL tests read FOLLOWUP_TEST_POSTGRES_URL and skip, saying so, when it is unset. Each
PostgreSQL test gets a schema of its own (through the connection's search_path), dropped after.
"""

from __future__ import annotations

import os
import sys
import types
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

# textstat's wheels (0.7.7 on) install a top-level ``tests`` package, a regular package that
# would win over this directory in ``from tests.conftest import ...``: the name is ours.
_TESTS = [str(Path(__file__).parent)]
if getattr(sys.modules.get("tests"), "__path__", None) != _TESTS:
    sys.modules["tests"] = types.ModuleType("tests")
    sys.modules["tests"].__path__ = _TESTS

POSTGRES_ENV = "FOLLOWUP_TEST_POSTGRES_URL"
# Public data for tests (copied from ../shared/data with their licences, see data/README.md),
# kept in the repository so a clean clone tests on its own.
SHARED_DATA = Path(__file__).resolve().parent / "data"


def postgres_base_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def needs_postgres() -> str:
    url = postgres_base_url()
    if url is None:
        pytest.skip(f"{POSTGRES_ENV} is not set; PostgreSQL tests skipped")
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return str(tmp_path / "followup.db")


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh, empty schema, dropped afterwards (for
    fixtures of a wider scope than one test)."""
    from sqlalchemy import create_engine, text

    base = needs_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh, empty schema."""
    with postgres_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test that takes it runs on SQLite and on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


class Cli:
    """Runs ``followup --db URL ...`` in-process and checks the exit status."""

    def __init__(self, url: str, env: dict[str, str] | None = None) -> None:
        self.url = url
        self.runner = CliRunner()
        self.env = {"FOLLOWUP_DB": "", "FOLLOWUP_POLICY": "", **(env or {})}

    def __call__(self, *args: str, code: int = 0, input: str | None = None) -> Result:
        from followup.cli import main

        result = self.runner.invoke(
            main, ["--db", self.url, *args], env=self.env, input=input, catch_exceptions=False
        )
        assert result.exit_code == code, (
            f"exit {result.exit_code} != {code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
        )
        return result


def upgrade_to(url: str, revision: str) -> None:
    """Migrate the database at ``url`` up to ``revision`` only (``db upgrade`` goes to the
    head), to test one revision without the later ones."""
    from followup.store import migrate
    from followup.store.database import Database, resolve_url

    database = Database(resolve_url(url))
    try:
        migrate.upgrade(database, revision)
    finally:
        database.close()


def sql(url: str, statement: str, **values: object) -> list[tuple]:
    """Run one SQL statement on the database at ``url`` (committed); its rows as tuples: for
    what no command shows (a table's raw rows, a setting) or a state no command makes."""
    from sqlalchemy import text

    from followup.store.database import Database, resolve_url

    database = Database(resolve_url(url))
    try:
        with database.engine.begin() as conn:
            result = conn.execute(text(statement), values)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        database.close()


def probably_benign_exam(cli: Cli, patient: str, day: str) -> None:
    """A diagnostic probably-benign exam of the left breast at Northside Imaging."""
    cli("exam", "add", patient, "--date", day, "--facility", "Northside Imaging",
        "--category", "3", "--laterality", "left", "--kind", "diagnostic")  # fmt: skip


@pytest.fixture
def cli(db_url: str) -> Cli:
    return Cli(db_url)


@pytest.fixture
def sqlite_cli(sqlite_url: str) -> Cli:
    return Cli(sqlite_url)
