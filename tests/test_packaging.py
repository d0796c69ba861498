"""The installed wheel works on its own: console script, ``python -m``, migrations inside."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str | Path, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=True, timeout=600, **kwargs
    )


def _share_dependencies(python: Path) -> None:
    """Let the new venv import our dependencies (not followup itself) from this one, offline.

    A path listed in a .pth file is added to sys.path, but the .pth files inside it (such as
    the editable install's finder) are not run, so ``followup`` comes from the wheel only.
    """
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    here = sysconfig.get_path("purelib")
    (Path(purelib.stdout.strip()) / "shared_deps.pth").write_text(here + "\n", encoding="utf-8")


@pytest.mark.slow
def test_wheel_installs_and_migrates(tmp_path):
    dist = tmp_path / "dist"
    _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", dist, ROOT
    )
    (wheel,) = dist.glob("followup-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder().create(env_dir)
    python = env_dir / "bin" / "python"
    _share_dependencies(python)
    _run(python, "-m", "pip", "install", "--no-deps", "--no-index", wheel)
    env = {**os.environ, "FOLLOWUP_DB": str(tmp_path / "w.db"), "PYTHONPATH": ""}
    elsewhere = tmp_path  # not the source tree: only the installed package can answer
    version = _run(env_dir / "bin" / "followup", "--version", cwd=elsewhere, env=env).stdout
    assert "followup" in version
    out = _run(python, "-m", "followup", "init", cwd=elsewhere, env=env).stdout
    assert "created schema revision" in out
    located = _run(
        python, "-c", "import followup.migrations as m; print(m.__file__)", cwd=elsewhere, env=env
    ).stdout
    assert str(env_dir) in located
    letters = "from followup.present.letter_samples import sample_letters_pdf as s; print(len(s()))"
    # the fonts are package data: the installed wheel prints letters with no system font
    assert int(_run(python, "-c", letters, cwd=elsewhere, env=env).stdout) > 10_000


def test_help_does_not_import_sqlalchemy():
    code = (
        "import sys\n"
        "from followup.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('LOADED' if 'sqlalchemy' in sys.modules else 'LAZY')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "Usage: " in out and out.strip().endswith("LAZY")
