"""The tuning-record library on disk: appends, bad lines, concurrent writers, merge, prune."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from colt.records_library import (
    RECORDS_DIR_ENV,
    LibraryRecord,
    RecordLibrary,
    default_records_dir,
    target_key,
)

TARGET = target_key({"kind": "llvm", "mcpu": "test-cpu", "num-cores": 2})


def _record(workload: str, latency_s: float, tag: int = 0) -> LibraryRecord:
    trace = [[["GetSBlock", [], ["root", "main"], [], ["b0"]]], [tag]]
    return LibraryRecord(workload, "w", latency_s, (latency_s,), trace, "2026-12-06T00:00:00Z")


def test_tests_use_a_temporary_library_not_the_users_cache() -> None:
    assert os.environ[RECORDS_DIR_ENV]
    assert default_records_dir() == Path(os.environ[RECORDS_DIR_ENV])
    assert ".cache" not in str(default_records_dir())


def test_records_round_trip_and_the_best_comes_first(tmp_path: Path) -> None:
    library = RecordLibrary(tmp_path)
    library.append(TARGET, [_record("a", 2e-3, 1), _record("a", 1e-3, 2), _record("b", 5e-3)])
    assert library.targets() == [TARGET]
    assert [r.latency_s for r in library.of_workload(TARGET, "a")] == [1e-3, 2e-3]
    best = library.best(TARGET, "a")
    assert best is not None and best.trace == _record("a", 1e-3, 2).trace
    assert library.best(TARGET, "missing") is None
    rows = library.summary()
    assert [(r["workload"], r["samples"], r["best_latency_s"]) for r in rows] == [
        ("a", 2, 1e-3),
        ("b", 1, 5e-3),
    ]


def test_a_corrupt_line_is_skipped_with_one_warning_and_nothing_is_lost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    library = RecordLibrary(tmp_path)
    library.append(TARGET, [_record("a", 1e-3)])
    with library.path(TARGET).open("a") as file:
        file.write("{not json\n")
        file.write('{"workload": "a"}\n')  # valid JSON, not a record
        file.write('{"workload": "a", "latency_s": 2e-3, "tra')  # a writer killed mid-line
    library.append(TARGET, [_record("a", 3e-3)])
    records = library.read(TARGET)
    assert [r.latency_s for r in records] == [1e-3, 3e-3]
    warnings = capsys.readouterr().err.strip().splitlines()
    assert len(warnings) == 1 and "skipped 3 unreadable line(s)" in warnings[0]
    assert library.path(TARGET).read_text().count("\n") == 5  # the bad lines are kept, not cut


def test_merge_adds_only_what_is_new(tmp_path: Path) -> None:
    mine, theirs = RecordLibrary(tmp_path / "mine"), RecordLibrary(tmp_path / "theirs")
    mine.append(TARGET, [_record("a", 1e-3)])
    theirs.append(TARGET, [_record("a", 1e-3), _record("b", 2e-3)])
    assert mine.merge(theirs) == 1
    assert mine.merge(theirs) == 0
    assert len(mine.read(TARGET)) == 2


def test_prune_keeps_each_workloads_fastest(tmp_path: Path) -> None:
    library = RecordLibrary(tmp_path)
    library.append(TARGET, [_record("a", t * 1e-3, t) for t in range(1, 6)] + [_record("b", 1.0)])
    assert library.prune(keep=2) == 3
    assert sorted(r.latency_s for r in library.read(TARGET)) == [1e-3, 2e-3, 1.0]
    library.append(TARGET, [_record("c", 1.0)])  # appends go to the rewritten file
    assert len(library.read(TARGET)) == 4


def _writer(root: str, workload: str, count: int, done: str) -> None:
    """Appends ``count`` records one by one; after each, notes its index in ``done``."""
    library = RecordLibrary(Path(root))
    for index in range(count):
        library.append(TARGET, [_record(workload, 1e-3 + index * 1e-6, index)])
        with open(done, "a") as file:
            file.write(f"{index}\n")


def test_concurrent_writers_one_killed_lose_nothing(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    done = {name: str(tmp_path / f"{name}.done") for name in ("kept", "killed")}
    kept = context.Process(target=_writer, args=(str(tmp_path), "kept", 300, done["kept"]))
    killed = context.Process(target=_writer, args=(str(tmp_path), "killed", 10**6, done["killed"]))
    kept.start(), killed.start()
    deadline = time.time() + 60
    while time.time() < deadline and (
        not os.path.exists(done["killed"]) or len(Path(done["killed"]).read_text()) < 400
    ):
        time.sleep(0.01)
    os.kill(killed.pid, signal.SIGKILL)  # type: ignore[arg-type]
    killed.join(), kept.join(timeout=120)
    records = RecordLibrary(tmp_path).read(TARGET)  # the library loads
    for name in ("kept", "killed"):
        written = {int(line) for line in Path(done[name]).read_text().split()}
        present = {r.trace[1][0] for r in records if r.workload == name}
        assert written and written <= present, name
    assert len([r for r in records if r.workload == "kept"]) == 300


def test_a_workloads_module_is_kept_once_and_is_no_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    library = RecordLibrary(tmp_path)
    assert library.add_workload("a", "matmul", '{"module": 1}')
    assert not library.add_workload("a", "matmul", '{"module": 2}')
    library.append(TARGET, [_record("a", 1e-3)])
    assert library.targets() == [TARGET]  # workloads.jsonl is not a target's file
    with (tmp_path / "workloads.jsonl").open("a") as file:
        file.write('{"workload": "b", "mod')  # a writer killed mid-line
    assert library.add_workload("c", "conv", '{"module": 3}')
    assert library.workload_modules() == {"a": '{"module": 1}', "c": '{"module": 3}'}
    assert "skipped 1 unreadable line(s)" in capsys.readouterr().err


def test_merge_brings_the_modules_of_the_workloads(tmp_path: Path) -> None:
    mine, theirs = RecordLibrary(tmp_path / "mine"), RecordLibrary(tmp_path / "theirs")
    mine.add_workload("a", "matmul", "A")
    theirs.add_workload("a", "matmul", "A")
    theirs.add_workload("b", "conv", "B")
    theirs.append(TARGET, [_record("b", 2e-3)])
    assert mine.merge(theirs) == 1
    assert mine.workload_modules() == {"a": "A", "b": "B"}
    mine.merge(theirs)
    assert (tmp_path / "mine" / "workloads.jsonl").read_text().count("\n") == 2
