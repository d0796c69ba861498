"""The one writer of every file followup produces: reports, exports, calendars, rejects,
backups, the demo database.

A file is written whole or not at all: into a temporary file in the target's folder (created
0600 by :func:`tempfile.mkstemp`: outputs hold health data), flushed to disk, then renamed
into place. A full disk, a quota or a file-size limit leaves no partial file, only an error.
The target is refused, before any work is done, when it is

- a symbolic link (never followed: ``-o link.csv`` must not write wherever the link points);
- a folder, or in a folder that does not exist;
- the database, its ``-wal``/``-shm``/``-journal`` files, or a file the same command reads,
  compared by real path and by device and inode (so a hard link or ``./x`` is caught too);
- an existing file, unless ``force`` is given (then it is replaced by the rename: its old
  content stays whole until the new one is complete).

A FIFO or a character device that exists (``/dev/null``, ``mkfifo out``) is written directly:
there is nothing to replace and no folder to stage in.

No database and no terminal here: errors are :class:`FileRefused` (what to fix) and
:class:`FileWriteError` (the system refused a write), each a one-line message.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

# Files SQLite keeps beside a database, which are as much the database as the file itself.
SQLITE_SIDECARS = ("-wal", "-shm", "-journal")
TEMP_SUFFIX = ".part"
# errno values that mean "the write itself failed", as opposed to a problem of the program.
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS})


class FileRefused(Exception):
    """The target cannot be written as asked; the message says what to do instead."""


class FileWriteError(Exception):
    """The system refused to write the file (full disk, quota, permissions); nothing was left
    behind."""


def database_files(path: str | Path) -> list[Path]:
    """A SQLite database and the files SQLite keeps beside it."""
    return [Path(path), *(Path(f"{path}{suffix}") for suffix in SQLITE_SIDECARS)]


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _refuse_protected(target: Path, protected: Iterable[tuple[str | Path, str]]) -> None:
    """``protected``: (path, what it is) pairs; the target must be none of them."""
    real = os.path.realpath(target)
    mine = _identity(target)
    for path, what in protected:
        same_path = os.path.realpath(path) == real
        if same_path or (mine is not None and _identity(Path(path)) == mine):
            raise FileRefused(
                f"{target} is {what}; writing there would destroy it. Give another file name"
            )


def check_target(
    path: str | Path, *, force: bool = False, protected: Iterable[tuple[str | Path, str]] = ()
) -> tuple[Path, bool]:
    """The target as an absolute path, and whether it is a FIFO or device to write directly.

    Raises :class:`FileRefused` for every case the module docstring lists; call it before the
    work, so a command refuses at once instead of after a long report.
    """
    target = Path(os.path.abspath(os.path.expanduser(path)))
    if str(path).strip() == "":
        raise FileRefused("the file name is empty; give a file name, or - for standard output")
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise FileRefused(f"cannot use {target}: {exc.strerror}") from None
    if info is not None and stat.S_ISLNK(info.st_mode):
        raise FileRefused(
            f"{target} is a symbolic link; followup never writes through one. Give the file "
            "itself, or - for standard output"
        )
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise FileRefused(f"{target} is a folder; give a file name in it, e.g. {target}/out.csv")
    _refuse_protected(target, protected)
    if info is not None and (stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode)):
        return target, True
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise FileRefused(f"{target} is not a regular file; give a file name")
    if not target.parent.is_dir():
        raise FileRefused(
            f"the folder {target.parent} does not exist; create it first or give another path"
        )
    if info is not None and not force:
        raise FileRefused(f"{target} already exists; add --force to replace it")
    return target, False


class StagedFile:
    """A file being written under a temporary name beside its target (see the module
    docstring); :meth:`commit` renames it into place, :meth:`discard` removes it."""

    def __init__(self, target: Path, force: bool) -> None:
        self.target = target
        self.force = force
        descriptor, name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=TEMP_SUFFIX
        )
        os.close(descriptor)
        self.path = Path(name)
        self.done = False

    def sync(self) -> None:
        """Flush the staged file to disk: a full disk shows here, not after the rename."""
        descriptor = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def commit(self) -> None:
        """Put the staged file in place: replacing the target only when forced (a rename,
        which replaces a link put there meanwhile rather than following it); otherwise a hard
        link, which fails if something appeared at the target since the check."""
        if self.done:
            return
        self.sync()
        if self.force:
            os.replace(self.path, self.target)
        else:
            try:
                os.link(self.path, self.target)
            except FileExistsError:
                raise FileRefused(
                    f"{self.target} appeared while followup was writing; nothing was replaced. "
                    "Add --force to replace it"
                ) from None
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.EXDEV):
                    raise
                if os.path.lexists(self.target):  # a file system without hard links
                    raise FileRefused(f"{self.target} already exists; add --force") from None
                os.rename(self.path, self.target)
            self.path.unlink(missing_ok=True)
        self.done = True

    def discard(self) -> None:
        """Remove the staged file (and any SQLite files beside it); the target is untouched."""
        for leftover in database_files(self.path):
            with suppress(OSError):
                leftover.unlink()
        self.done = True


def _write_failed(target: Path, exc: OSError) -> FileWriteError:
    reason = exc.strerror or str(exc)
    return FileWriteError(f"cannot write {target}: {reason}; nothing was written")


@contextmanager
def staged_file(
    path: str | Path, *, force: bool = False, protected: Iterable[tuple[str | Path, str]] = ()
) -> Iterator[StagedFile]:
    """A :class:`StagedFile` for ``path`` (checked first), committed when the block ends
    without an error unless the block discarded it, and removed if the block raises."""
    target, direct = check_target(path, force=force, protected=protected)
    if direct:
        raise FileRefused(f"{target} is not a regular file; give a file name")
    try:
        staged = StagedFile(target, force)
    except OSError as exc:
        raise FileRefused(f"cannot write in the folder {target.parent}: {exc.strerror}") from None
    try:
        yield staged
    except BaseException as exc:
        staged.discard()
        if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
            raise _write_failed(target, exc) from None
        raise
    try:
        staged.commit()
    except BaseException as exc:
        staged.discard()
        if isinstance(exc, OSError):
            raise _write_failed(target, exc) from None
        raise


class AtomicFile:
    """An open text or binary stream on a staged file: ``stream`` to write, :meth:`prepare`
    to flush it to disk before the command commits its transaction, :meth:`discard` to drop
    it (a dry run). The rename happens when the ``atomic_file`` block ends."""

    def __init__(self, staged: StagedFile | None, stream: IO[Any]) -> None:
        self.staged = staged
        self.stream = stream

    def prepare(self) -> None:
        self.stream.flush()
        if self.staged is not None:
            self.staged.sync()

    def discard(self) -> None:
        if self.staged is not None:
            self.stream.close()
            self.staged.discard()


def _open(path: Path, binary: bool) -> IO[Any]:
    if binary:
        return open(path, "wb")  # closed by atomic_file
    return open(path, "w", encoding="utf-8", newline="")


@contextmanager
def atomic_file(
    path: str | Path,
    *,
    force: bool = False,
    protected: Iterable[tuple[str | Path, str]] = (),
    binary: bool = False,
) -> Iterator[AtomicFile]:
    """``path`` opened for writing as the module docstring says (UTF-8 text without newline
    translation, or bytes)."""
    target, direct = check_target(path, force=force, protected=protected)
    if direct:
        try:
            with _open(target, binary) as stream:
                yield AtomicFile(None, stream)
        except OSError as exc:
            if exc.errno not in WRITE_ERRNOS:
                raise
            raise _write_failed(target, exc) from None
        return
    with staged_file(target, force=force, protected=protected) as staged:
        stream = _open(staged.path, binary)
        try:
            yield AtomicFile(staged, stream)
        except BaseException:
            with suppress(OSError):
                stream.close()
            raise
        stream.close()  # flushes what is buffered: a full disk raises here, before the rename


def write_new(data: bytes, target: Path, staging: Path) -> None:
    """``data`` as the new file ``target``, staged as ``staging`` (a name in another folder of
    the same file system, such as a Maildir's tmp/ for its new/): created 0600 and never
    through a link, flushed to disk, then linked into place, which fails rather than replace
    a file already there. Whole or not at all: on any error the staged file is removed and
    ``target`` does not exist. Raises OSError."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    descriptor = os.open(staging, flags, 0o600)
    try:
        try:
            os.fchmod(descriptor, 0o600)  # whatever the umask
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view) :]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        _link_new(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    _sync_folder(target.parent)


def _link_new(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.EXDEV):
            raise
        if os.path.lexists(target):  # a file system without hard links
            raise FileExistsError(errno.EEXIST, "already exists", str(target)) from None
        os.rename(source, target)


def _sync_folder(folder: Path) -> None:
    """The new name is on disk too, not only the file's content."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
