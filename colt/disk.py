"""Writing a run's files so that a full disk stops the run cleanly and loses nothing.

Every write here either lands whole or leaves the file as it was: a line is appended whole or
cut off again, a JSON file is replaced atomically or not at all. A full disk (``ENOSPC``, or
``EDQUOT`` for a user over quota) becomes ``DiskFull``, one sentence that names the run
directory and says how to go on, and the CLI exits with it like any other user error. The run
then resumes like a killed one: its journal holds every sample written before the fault and no
torn line for the replay to trip over.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TypeGuard

from colt.errors import UserError

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class DiskFull(UserError):
    """A write to ``path`` failed because its disk (or the user's quota) is full."""

    def __init__(self, path: Path | None, reason: str) -> None:
        self.path = path
        run_dir = run_directory_of(path) if path is not None else None
        where: Path | None = run_dir or (path.parent if path is not None else None)
        then = (
            f"resume with `colt tune --resume {run_dir}`"
            if run_dir is not None
            else "run the command again (a run resumes with `colt tune --resume RUN_DIR`)"
        )
        holding = f"the disk holding {where}" if where is not None else "the disk"
        what = f" while writing {path.name}" if path is not None else ""
        super().__init__(f"{holding} is full ({reason}{what}); free space, then {then}")


def is_disk_full(error: BaseException) -> TypeGuard[OSError]:
    return isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS


def as_disk_full(error: OSError, path: Path | None = None) -> DiskFull:
    """``error`` (a full disk) as one sentence; ``path`` when the error does not name a file."""
    named = path if path is not None else (Path(error.filename) if error.filename else None)
    return DiskFull(named, error.strerror or os.strerror(error.errno or errno.ENOSPC))


def run_directory_of(path: Path) -> Path | None:
    """The run directory ``path`` lies in (the nearest folder above it with a config.json and a
    journal: a network task's folder has only a journal), or None outside any run."""
    for folder in path.parents:
        if (folder / "config.json").is_file() and (folder / "journal.jsonl").is_file():
            return folder
    return None


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """Inside the block, an OSError of a full disk becomes DiskFull naming ``path``."""
    try:
        yield
    except OSError as error:
        if is_disk_full(error):
            raise as_disk_full(error, path) from None
        raise


def write_atomic(path: Path, text: str) -> None:
    """``path`` holds the old text or the new, never part of either: a reader (or a resumed
    run) never sees half a file, and a full disk leaves the old one and no temporary behind."""
    tmp = path.with_name(path.name + ".tmp")
    with writing(path):
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                write_all(fd, text.encode("utf-8"))
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)  # a partial temporary only takes the space back
            raise


def append_line(fd: int, line: bytes, path: Path) -> None:
    """Appends ``line`` whole to the O_APPEND descriptor ``fd`` of ``path`` and syncs it. When
    the write fails part-way the file is cut back to where it was: no torn line is left (a
    later, successful append would otherwise glue itself to it and both would be lost)."""
    start = os.fstat(fd).st_size
    try:
        with writing(path):
            write_all(fd, line)
            os.fsync(fd)
    except BaseException:
        with contextlib.suppress(OSError):  # shrinking a file needs no free space
            os.ftruncate(fd, start)
        raise


def write_all(fd: int, data: bytes) -> None:
    """Every byte of ``data`` to ``fd`` (``os.write`` may take part of it). The one place the
    run's own files are written, so a test can fill the disk here."""
    rest = memoryview(data)
    while rest:
        rest = rest[os.write(fd, rest) :]


def cut_torn_tail(path: Path) -> int:
    """Cuts a last line without its newline (a writer killed mid-line) off ``path``; returns
    the bytes kept. Every whole line before it stays."""
    if not path.exists():
        return 0
    data = path.read_bytes()
    intact = data.rfind(b"\n") + 1
    if intact < len(data):
        with path.open("r+b") as stream:
            stream.truncate(intact)
    return intact


@contextlib.contextmanager
def appending_lines(path: Path, *, expected: bool = True) -> Iterator[None]:
    """For a writer that does not report a failed write (MetaSchedule's JSONDatabase ignores
    it, and the record is silently lost): the block must append whole lines to ``path``. If
    ``expected`` and it did not (the file did not grow, or stops mid-line), the file is cut
    back to where it was and DiskFull raised: a disk that takes no more writes is full."""
    before = path.stat().st_size if path.exists() else 0
    with writing(path):
        yield
    if not expected:
        return
    after = path.stat().st_size if path.exists() else 0
    if after > before and _ends_a_line(path, after):
        return
    if after != before:
        with path.open("r+b") as stream:
            stream.truncate(before)
    raise DiskFull(path, "the write did not land")


def _ends_a_line(path: Path, size: int) -> bool:
    with path.open("rb") as stream:
        stream.seek(size - 1)
        return stream.read(1) == b"\n"
