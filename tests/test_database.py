"""Where the database is, how SQLite is set up, and how a bad or old database is refused."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from followup.store.database import HEAD_REVISION, open_database, resolve_url
from tests.conftest import Cli


def test_default_location_is_the_user_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("FOLLOWUP_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert resolve_url(None).database == str(tmp_path / "xdg" / "followup" / "followup.db")


def test_env_then_option(monkeypatch, tmp_path):
    monkeypatch.setenv("FOLLOWUP_DB", str(tmp_path / "env.db"))
    assert resolve_url(None).database == str(tmp_path / "env.db")
    assert resolve_url(str(tmp_path / "opt.db")).database == str(tmp_path / "opt.db")
    url = resolve_url("postgresql+psycopg://u:secret@h/d")
    assert url.get_backend_name() == "postgresql" and url.password == "secret"


def test_cli_uses_env_and_default(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from followup.cli import main

    runner = CliRunner()
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "FOLLOWUP_DB": ""}
    result = runner.invoke(main, ["init"], env=env)
    assert result.exit_code == 0, result.output
    default = tmp_path / "xdg" / "followup" / "followup.db"
    assert str(default) in result.stdout and default.exists()
    env["FOLLOWUP_DB"] = str(tmp_path / "env.db")
    assert runner.invoke(main, ["patient", "add", "P1"], env=env).exit_code == 0
    assert (tmp_path / "env.db").exists()


def test_new_sqlite_file_is_private_and_folder_created(tmp_path):
    path = tmp_path / "deep" / "er" / "f.db"
    Cli(str(path))("patient", "add", "P1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for extra in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        if extra.exists():
            assert stat.S_IMODE(extra.stat().st_mode) & 0o077 == 0


def test_sqlite_pragmas(sqlite_url):
    database = open_database(sqlite_url)
    with database.transaction(write=False) as session:
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
    database.close()


def test_new_database_is_migrated_then_current(sqlite_url):
    cli = Cli(sqlite_url)
    cli("patient", "add", "P1")  # a command that writes creates it (one that reads: never)
    assert cli("db", "current").stdout.startswith(f"{HEAD_REVISION} (up to date)")


def test_not_a_database_is_a_clear_error(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_bytes(b"this is not sqlite" * 100)
    result = Cli(str(junk))("patient", "list", code=1)
    assert "cannot open" in result.stderr and "--db" in result.stderr
    assert "Traceback" not in result.output


def test_foreign_sqlite_database_is_refused(tmp_path):
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    assert "not a followup database" in Cli(str(other))("patient", "list", code=1).stderr


def test_old_schema_is_refused_not_migrated(sqlite_url):
    cli = Cli(sqlite_url)
    cli("init")
    with sqlite3.connect(sqlite_url) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'ffff'")
    conn.close()
    assert "newer version" in cli("patient", "list", code=1).stderr


def test_behind_schema_names_db_upgrade(sqlite_url, monkeypatch):
    import followup.store.database as database_module

    Cli(sqlite_url)("init")
    monkeypatch.setattr(database_module, "HEAD_REVISION", "9999")
    monkeypatch.setattr("followup.store.migrate.is_known_revision", lambda _rev: True)
    result = Cli(sqlite_url)("patient", "list", code=1)
    assert "followup db upgrade" in result.stderr


def test_unreachable_postgres_is_a_clear_error():
    result = Cli("postgresql+psycopg://nobody@127.0.0.1:1/none")("patient", "list", code=1)
    assert (
        "cannot connect" in result.stderr
        and "server is running" in result.stderr
        and "Traceback" not in result.output
    )


def test_backup(sqlite_url, tmp_path):
    cli = Cli(sqlite_url)
    cli("patient", "add", "P1")
    target = tmp_path / "backup.db"
    assert "Backed up" in cli("db", "backup", str(target)).stdout
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert "P1" in Cli(str(target))("patient", "list").stdout
    assert "already exists" in cli("db", "backup", str(target), code=1).stderr


@pytest.mark.postgres
def test_backup_refuses_postgres(postgres_url, tmp_path):
    result = Cli(postgres_url)("db", "backup", str(tmp_path / "b.db"), code=1)
    assert "pg_dump" in result.stderr


def test_umask_does_not_widen(tmp_path):
    old = os.umask(0)
    try:
        path = tmp_path / "u.db"
        Cli(str(path))("init")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
