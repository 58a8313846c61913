"""A full disk stops a run with one sentence and exit status 2, and loses nothing journaled:
``--resume`` after space is freed finishes the run with every earlier sample in place.

The end-to-end test runs twice where it can: with the disk filled for real (a small tmpfs,
which needs root and ``mount``; skipped elsewhere) and with ENOSPC injected where the run
writes its own files (always)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from colt import disk
from colt.cli import main
from colt.disk import DiskFull
from colt.journal import Journal, NaiveTimed

TRIALS = 16


def _enospc() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _full(*args: object) -> int:
    raise _enospc()


def _run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    (run / "journal.jsonl").write_text("")
    return run


def test_a_refused_journal_line_leaves_the_journal_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = _run_dir(tmp_path)
    journal = Journal(run / "journal.jsonl")
    journal.append(NaiveTimed(latency_s=1.0))
    before = (run / "journal.jsonl").read_bytes()
    written = os.write

    def half_then_full(fd: int, data: bytes) -> int:  # part of the line lands, then no more
        monkeypatch.setattr(os, "write", _full)
        return written(fd, bytes(data)[:7])

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(DiskFull) as raised:
        journal.append(NaiveTimed(latency_s=2.0))
    monkeypatch.undo()
    assert (run / "journal.jsonl").read_bytes() == before  # no torn line
    assert str(run) in str(raised.value) and f"colt tune --resume {run}" in str(raised.value)
    journal.append(NaiveTimed(latency_s=3.0))  # space again: the journal goes on
    journal.close()
    assert [e.latency_s for e in Journal(run / "journal.jsonl").of_kind(NaiveTimed)] == [1, 3]


def test_an_atomic_write_on_a_full_disk_keeps_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = _run_dir(tmp_path)
    target = run / "results.json"
    disk.write_atomic(target, "old")
    monkeypatch.setattr(disk, "write_all", _full)
    with pytest.raises(DiskFull, match="results.json"):
        disk.write_atomic(target, "new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in run.iterdir()) == ["config.json", "journal.jsonl", "results.json"]


def test_a_write_that_silently_did_not_land_is_cut_back_and_reported(tmp_path: Path) -> None:
    """MetaSchedule's JSONDatabase ignores a failed write; a half line would break its load."""
    run = _run_dir(tmp_path)
    records = run / "database" / "database_tuning_record.json"
    records.parent.mkdir()
    records.write_text('{"a": 1}\n')
    with pytest.raises(DiskFull, match="database_tuning_record.json"):
        with disk.appending_lines(records):
            with records.open("a") as stream:
                stream.write('{"b": ')  # a record cut short by the full disk
    assert records.read_text() == '{"a": 1}\n'
    with disk.appending_lines(records):
        with records.open("a") as stream:
            stream.write('{"b": 2}\n')
    assert disk.cut_torn_tail(records) == len(records.read_bytes())


def test_a_full_disk_outside_any_run_still_says_how_to_go_on(tmp_path: Path) -> None:
    message = str(disk.as_disk_full(_enospc(), tmp_path / "elsewhere" / "x.jsonl"))
    assert "full" in message and "colt tune --resume RUN_DIR" in message
    quota = OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))
    assert disk.is_disk_full(quota) and not disk.is_disk_full(OSError(errno.EACCES, "denied"))


def test_a_full_disk_no_writer_reported_is_still_one_sentence_and_status_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from colt import cli

    def full(args: object) -> int:
        raise _enospc()

    monkeypatch.setattr(cli, "_workloads", full)
    assert main(["workloads"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("colt: error: the disk is full")


# ---- end to end: a kernel run fills the disk midway, stops, and resumes after space is freed


def _command(run_dir: Path, *, resume: bool = False) -> list[str]:
    if resume:
        return ["tune", "--resume", str(run_dir), "--quiet"]
    return [
        *("tune", "--workload", "matmul-small", "--strategy", "colt", "--proposer", "random"),
        *("--trials", str(TRIALS), "--trials-per-round", "4", "--out", str(run_dir), "--quiet"),
    ]


def _measured(run_dir: Path) -> list[dict]:
    path = run_dir / "journal.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [e for e in map(json.loads, lines) if e["kind"] == "measure"]


def _check_stopped_then_resumed(
    code: int, stderr: str, run_dir: Path, resume: object
) -> list[dict]:
    """The stop: status 2, one sentence (no traceback); then the resume finishes the run with
    every sample journaled before the fault in place, first and unchanged."""
    assert code == 2, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("colt: error: the disk holding ") and "is full" in lines[0]
    assert f"colt tune --resume {run_dir}" in lines[0]
    before = _measured(run_dir)
    assert 0 < len(before) < TRIALS
    assert resume() == 0  # type: ignore[operator]
    after = _measured(run_dir)
    assert after[: len(before)] == before
    assert len(after) == TRIALS and len({e["key"] for e in after}) == TRIALS
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "complete" and results["samples"] == TRIALS
    return before


@pytest.mark.slow
def test_a_run_on_a_full_disk_stops_in_one_sentence_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ENOSPC injected where the run writes its own files, once 3 samples are journaled."""
    run_dir = tmp_path / "run"
    write_all = disk.write_all

    def filling(fd: int, data: bytes) -> None:
        if len(_measured(run_dir)) >= 3:
            raise _enospc()
        write_all(fd, data)

    monkeypatch.setattr(disk, "write_all", filling)
    code = main(_command(run_dir))
    monkeypatch.setattr(disk, "write_all", write_all)  # space freed
    stderr = capsys.readouterr().err
    before = _check_stopped_then_resumed(
        code, stderr, run_dir, lambda: main(_command(run_dir, resume=True))
    )
    assert len(before) == 3


@contextlib.contextmanager
def _small_disk(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path``; skips the test where mounting is not allowed."""
    path.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small disk needs root and mount")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", f"colt-test-{uuid.uuid4().hex[:8]}", path],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as stream:
        with contextlib.suppress(OSError):
            while True:
                stream.write(b"\0" * 65536)
        with contextlib.suppress(OSError):
            while True:
                stream.write(b"\0" * 512)  # the last partial block too
    return filler


@pytest.mark.slow
def test_a_run_on_a_really_full_disk_stops_in_one_sentence_and_resumes(tmp_path: Path) -> None:
    """The run directory on a small tmpfs that is filled once 2 samples are journaled: every
    writer meets the real ENOSPC (MetaSchedule's database included, which reports nothing)."""
    with _small_disk(tmp_path / "disk", "64m") as mount:
        run_dir = mount / "run"
        cli = [sys.executable, "-m", "colt.cli"]
        process = subprocess.Popen(
            [*cli, *_command(run_dir)], stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            deadline = time.time() + 300
            while len(_measured(run_dir)) < 2 and process.poll() is None:
                assert time.time() < deadline, "the run measured nothing in 5 minutes"
                time.sleep(0.1)
            filler = _fill(mount)
            _, stderr = process.communicate(timeout=300)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, 9)

        def resume() -> int:
            filler.unlink()
            return subprocess.run([*cli, *_command(run_dir, resume=True)], check=False).returncode

        _check_stopped_then_resumed(process.returncode, stderr, run_dir, resume)


@pytest.mark.slow
def test_a_database_record_the_full_disk_refused_is_reported_not_lost_silently(
    tmp_path: Path,
) -> None:
    """MetaSchedule's JSONDatabase drops a record on a full disk without a word; the session
    says so (and leaves no half line that would stop the database from loading again)."""
    from colt.schedule.program import host_target
    from colt.schedule.session import TuningSession, open_database
    from colt.workloads import get_workload

    with _small_disk(tmp_path / "disk", "4m") as mount:
        database_dir = mount / "run" / "database"
        session = TuningSession(
            get_workload("matmul-small"), host_target(1), num_threads=1, database_dir=database_dir
        )
        session.commit_unscheduled([0.001])
        records = database_dir / "database_tuning_record.json"
        filler = _fill(mount)
        landed = 1  # a record may still fit in the file's last block
        with pytest.raises(DiskFull, match="database_tuning_record.json"):
            for _ in range(1000):
                session.commit_unscheduled([0.002])
                landed += 1
        assert records.read_bytes().endswith(b"\n")
        filler.unlink()
        assert len(open_database(database_dir).get_all_tuning_records()) == landed
