"""Issue 11 point 1: every file a command writes goes through one writer (followup.files):
whole or not at all, 0600, never through a symbolic link, never over the database or a file the
command reads, an existing file only with --force. Through the CLI, on every such command."""

from __future__ import annotations

import csv
import io
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Cli, probably_benign_exam

# Every command that writes a file, as (arguments before the target, arguments after it).
WRITERS = {
    "due": (["due", "--within", "9999", "-o"], []),
    "due-csv": (["due", "--format", "csv", "-o"], []),
    "flags": (["flags", "-o"], []),
    "stats": (["stats", "-o"], []),
    "status": (["status", "P1", "-o"], []),
    "patient-list": (["patient", "list", "-o"], []),
    "export-exams": (["export", "exams", "-o"], []),
    "export-plans": (["export", "plans", "--format", "json", "-o"], []),
    "export-fhir": (["export", "fhir", "P1", "-o"], []),
    "calendar": (["calendar", "P1", "-o"], []),
    "db-backup": (["db", "backup"], []),
    "audit": (["audit", "--from", "2025-01-01", "--to", "2025-12-31", "-o"], []),
    "audit-csv": (["audit", "--from=2025-01-01", "--to=2025-12-31", "--format=csv", "-o"], []),
}


@pytest.fixture
def clinic(sqlite_cli: Cli) -> Cli:
    sqlite_cli("patient", "add", "P1", "--name", "Ana")
    probably_benign_exam(sqlite_cli, "P1", "2025-01-31")
    return sqlite_cli


def _write(cli: Cli, name: str, target: Path | str, *extra: str, code: int = 0):
    before, after = WRITERS[name]
    return cli(*before, str(target), *after, *extra, code=code)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


@pytest.mark.parametrize("name", WRITERS)
def test_new_file_is_whole_and_private(clinic: Cli, tmp_path: Path, name: str):
    target = tmp_path / "out" / "file"
    target.parent.mkdir()
    _write(clinic, name, target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.stat().st_size > 0
    assert _leftovers(target.parent) == []


@pytest.mark.parametrize("name", WRITERS)
def test_existing_file_only_with_force(clinic: Cli, tmp_path: Path, name: str):
    target = tmp_path / "existing"
    target.write_text("keep me", encoding="utf-8")
    os.chmod(target, 0o644)
    refused = _write(clinic, name, target, code=1)
    assert refused.stderr.strip().endswith("already exists; add --force to replace it")
    assert target.read_text(encoding="utf-8") == "keep me"
    _write(clinic, name, target, "--force")
    assert target.read_text(encoding="utf-8", errors="replace") != "keep me"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


@pytest.mark.parametrize("name", WRITERS)
def test_symbolic_link_is_refused_not_followed(clinic: Cli, tmp_path: Path, name: str):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    os.chmod(victim, 0o644)
    link = tmp_path / "link.csv"
    link.symlink_to(victim)
    for extra in ([], ["--force"]):
        result = _write(clinic, name, link, *extra, code=1)
        assert "is a symbolic link; followup never writes through one" in result.stderr
    assert victim.read_text(encoding="utf-8") == "precious"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644
    assert link.is_symlink()


@pytest.mark.parametrize("name", WRITERS)
@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_the_database_is_never_written_over(clinic: Cli, name: str, suffix: str):
    database = Path(clinic.url)
    Path(f"{database}{suffix}").touch()  # SQLite keeps -wal/-shm beside a database in use
    before = database.read_bytes()
    result = _write(clinic, name, f"{database}{suffix}", "--force", code=1)
    assert "is the database; writing there would destroy it" in result.stderr
    assert database.read_bytes() == before
    assert clinic("status", "P1", "--format", "json").stdout  # still a working database


def test_a_hard_link_or_another_spelling_of_the_database_is_refused(clinic: Cli, tmp_path: Path):
    database = Path(clinic.url)
    alias = tmp_path / "alias.db"
    os.link(database, alias)
    before = database.read_bytes()
    assert "is the database" in clinic("due", "-o", str(alias), "--force", code=1).stderr
    spelled = tmp_path / "." / ".." / tmp_path.name / database.name
    assert "is the database" in clinic("calendar", "P1", "-o", str(spelled), code=1).stderr
    assert database.read_bytes() == before


@pytest.mark.parametrize("name", WRITERS)
def test_folder_or_missing_folder_is_an_error_line(clinic: Cli, tmp_path: Path, name: str):
    folder = _write(clinic, name, tmp_path, code=1)
    assert f"{tmp_path} is a folder; give a file name in it" in folder.stderr
    missing = _write(clinic, name, tmp_path / "no" / "such" / "out", code=1)
    assert f"the folder {tmp_path / 'no' / 'such'} does not exist" in missing.stderr
    for result in (folder, missing):
        assert "Traceback" not in result.output and len(result.stderr.splitlines()) == 1


def test_standard_output_and_special_files(clinic: Cli, tmp_path: Path):
    assert clinic("due", "--within", "9999", "-o", "-").stdout.startswith("OVERDUE")
    clinic("due", "-o", os.devnull)  # a character device is written directly, no --force
    assert Path(os.devnull).is_char_device()


def _rejects_csv(tmp_path: Path) -> Path:
    path = tmp_path / "in.csv"
    path.write_text(
        "patient_id,date,facility,category\n"
        "P2,2025-01-10,Northside Imaging,2\n"
        "P3,2025-02-30,Northside Imaging,2\n",
        encoding="utf-8",
    )
    return path


def test_import_rejects_never_over_the_input(sqlite_cli: Cli, tmp_path: Path):
    source = _rejects_csv(tmp_path)
    before = source.read_bytes()
    for target in (source, tmp_path / "." / "in.csv"):
        result = sqlite_cli(
            "import", "exams", str(source), "--skip-invalid", "--rejects", str(target),
            "--force", code=1,
        )  # fmt: skip
        assert "is a file this command reads; writing there would destroy it" in result.stderr
    assert source.read_bytes() == before
    assert not Path(sqlite_cli.url).exists()  # refused before the import began


def test_import_rejects_written_once_the_import_is_done(sqlite_cli: Cli, tmp_path: Path):
    source, rejects = _rejects_csv(tmp_path), tmp_path / "rejects.csv"
    args = ["import", "exams", str(source), "--skip-invalid", "--rejects", str(rejects)]
    sqlite_cli(*args, "--dry-run", code=1)  # a dry run only reads: no database to read yet
    sqlite_cli("init")
    dry = sqlite_cli(*args, "--dry-run")
    assert "1 rows rejected" in dry.stderr
    assert not rejects.exists() and _leftovers(tmp_path) == []
    sqlite_cli(*args)
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600
    assert "2025-02-30" in rejects.read_text(encoding="utf-8")
    assert "already exists; add --force" in sqlite_cli(*args, code=1).stderr
    sqlite_cli(*args, "--force")


def test_an_aborted_import_leaves_no_rejects(sqlite_cli: Cli, tmp_path: Path):
    sqlite_cli("patient", "add", "P2")
    sqlite_cli("exam", "add", "P2", "--date", "2025-01-10", "--facility", "Northside Imaging",
               "--category", "4a")  # fmt: skip
    source, rejects = _rejects_csv(tmp_path), tmp_path / "rejects.csv"
    result = sqlite_cli(
        "import", "exams", str(source), "--skip-invalid", "--rejects", str(rejects), code=1
    )  # P2's exam of 2025-01-10 is stored with other findings: the import stops
    assert "this is not a duplicate" in result.stderr
    assert not rejects.exists() and _leftovers(tmp_path) == []


def test_db_backup_replaces_only_with_force(clinic: Cli, tmp_path: Path):
    target = tmp_path / "backup.db"
    clinic("db", "backup", str(target))
    copy = Cli(str(target))
    assert copy("status", "P1", "--format", "json").stdout
    assert "already exists; add --force" in clinic("db", "backup", str(target), code=1).stderr
    clinic("patient", "add", "P2")
    clinic("db", "backup", str(target), "--force")
    assert "P2" in Cli(str(target))("patient", "list").stdout
    assert not Path(f"{target}-wal").exists()  # one file, whole


def test_demo_honours_the_global_db_and_is_built_whole(tmp_path: Path):
    demo = tmp_path / "my-demo.db"
    result = Cli(str(demo))("demo", "--patients", "20", "--as-of", "2025-06-01")
    assert str(demo) in result.stdout
    assert stat.S_IMODE(demo.stat().st_mode) == 0o600
    assert _leftovers(tmp_path) == [] and not Path(f"{demo}-wal").exists()
    assert _patients(demo) == 20
    Cli(str(demo))("demo", "--patients", "10", "--as-of", "2025-06-01")  # rebuilt in place
    assert _patients(demo) == 10


def _patients(demo: Path) -> int:
    """Patients listed (CSV records: a postal address spans lines within its cell)."""
    out = Cli(str(demo))("patient", "list", "--format", "csv").stdout
    return len(list(csv.DictReader(io.StringIO(out))))


def test_demo_never_replaces_a_real_database(clinic: Cli):
    database = Path(clinic.url)
    before = database.read_bytes()
    result = clinic("demo", "--patients", "5", code=1)
    assert "is not a followup demo database" in result.stderr
    assert database.read_bytes() == before


def _big_programme(tmp_path: Path) -> Path:
    demo = tmp_path / "big.db"
    Cli(str(demo))("demo", "--patients", "300", "--as-of", "2025-06-01")
    return demo


def _followup(*args: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "FOLLOWUP_DB": "", "FOLLOWUP_POLICY": ""}
    return subprocess.run(
        [sys.executable, "-m", "followup", *args],
        capture_output=True, text=True, env=env, timeout=120, **kwargs,
    )  # fmt: skip


def test_a_file_size_limit_leaves_no_partial_file(tmp_path: Path):
    """RLIMIT_FSIZE stands for a full disk: the write fails with EFBIG half-way."""
    import resource

    demo = _big_programme(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    limit = 64 * 1024  # above SQLite's 32 KiB -shm file, below what the export writes

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    for command in (["export", "exams"], ["export", "exams", "--format", "json"]):
        result = _followup("--db", str(demo), *command, "-o", str(out / "x.csv"),
                           preexec_fn=small_files)  # fmt: skip
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith(f"Error: cannot write {out / 'x.csv'}: File too large")
        assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
        assert list(out.iterdir()) == []


def test_a_full_device_is_an_error_line(clinic: Cli):
    if not Path("/dev/full").exists():
        pytest.skip("/dev/full is missing on this system")
    result = clinic("export", "exams", "-o", "/dev/full", code=1)
    assert (
        result.stderr
        == "Error: cannot write /dev/full: No space left on device; nothing was written\n"
    )


def test_a_full_disk_leaves_no_partial_file(tmp_path: Path):
    """A real full file system: a 64 KiB tmpfs, mounted in a user and mount namespace."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is missing: the tmpfs test needs util-linux's unshare")
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a user namespace here: {probe.stderr.decode().strip()}")
    demo = _big_programme(tmp_path)
    disk = tmp_path / "disk"
    disk.mkdir()
    script = (
        f"mount -t tmpfs -o size=64k tmpfs {disk} && "
        f"{sys.executable} -m followup --db {demo} export exams -o {disk}/exams.csv; "
        f"echo rc=$?; ls -A {disk}"
    )
    env = {**os.environ, "FOLLOWUP_DB": "", "FOLLOWUP_POLICY": ""}
    result = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True,
                            text=True, env=env, timeout=120)  # fmt: skip
    assert "rc=1" in result.stdout, result.stderr
    assert result.stdout.strip().endswith("rc=1")  # and the folder is empty: no partial file
    assert result.stderr == (
        f"Error: cannot write {disk}/exams.csv: No space left on device; nothing was written\n"
    )
