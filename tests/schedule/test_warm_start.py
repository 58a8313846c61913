"""Runs and the record library: every run adds its verified samples, a rerun starts from them,
a corrupt line costs one warning, and two writers (one killed) lose nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from colt.api import show, tune
from colt.cli import main
from colt.config import SearchConfig, TuneConfig
from colt.records_library import RecordLibrary, default_records_dir
from colt.report import write_report
from colt.report.facts import run_facts

pytestmark = pytest.mark.slow
FAST_ROUNDS = SearchConfig(trials_per_round=4, expansions_per_round=4)


def _config(out: Path, **extra: object) -> TuneConfig:
    return TuneConfig(
        workload="matmul-small",
        strategy="colt",
        proposer="random",
        trials=4,
        out_dir=out,
        search=FAST_ROUNDS,
        **extra,  # type: ignore[arg-type]
    )


def _results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())


def _measured(run_dir: Path) -> list[dict]:
    path = run_dir / "journal.jsonl"
    events = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return [e for e in events if e["kind"] == "measure"]


def test_a_rerun_reports_the_known_best_first_and_starts_from_it(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    first = _results(tune(_config(tmp_path / "first"), progress=False))
    library = RecordLibrary(default_records_dir())
    (target,) = library.targets()
    assert len(library.read(target)) == sum(p["latency_s"] is not None for p in first["curve"])
    assert first["warm_start"]["known_samples"] == 0 and not first["warm_start"]["seeded"]
    known_best = library.best(target, first["warm_start"]["workload_key"])
    capfd.readouterr()

    second_dir = tune(_config(tmp_path / "second"), progress=False)
    second = _results(second_dir)
    known = min(p["latency_s"] for p in first["curve"] if p["latency_s"] is not None)
    assert "best known" in capfd.readouterr().err
    warm = second["warm_start"]
    assert warm["known_best_latency_s"] == known and warm["seeded"]
    assert warm["pretrained"] == warm["known_samples"] > 0
    assert known_best is not None and known_best.latency_s == known
    assert _measured(second_dir)[0]["trace"] == known_best.trace  # measured first, then on
    facts = dict(run_facts(show(second_dir)))
    assert "best known" in facts["record library"] and "started from it" in facts["record library"]
    report = write_report(second_dir).with_suffix(".md").read_text()
    assert "record library" in report and "best known" in report


def test_no_records_neither_reads_nor_writes(tmp_path: Path) -> None:
    results = _results(tune(_config(tmp_path / "off", use_records=False), progress=False))
    assert results["warm_start"] is None
    assert RecordLibrary(default_records_dir()).targets() == []


def test_a_corrupt_line_gives_one_warning_and_the_run_goes_on(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    library = RecordLibrary(tmp_path / "records")
    tune(_config(tmp_path / "first", records_dir=library.root), progress=False)
    (target,) = library.targets()
    with library.path(target).open("a") as file:
        file.write("{this is not a record\n")
    capfd.readouterr()
    results = _results(tune(_config(tmp_path / "second", records_dir=library.root), progress=False))
    warnings = [line for line in capfd.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "unreadable line" in warnings[0]
    assert results["verified"] and results["warm_start"]["seeded"]


def _command(run_dir: Path, records: Path, trials: int) -> list[str]:
    return [
        *(sys.executable, "-m", "colt.cli", "tune", "--workload", "matmul-small"),
        *("--strategy", "colt", "--proposer", "random", "--trials", str(trials)),
        *("--trials-per-round", "4", "--out", str(run_dir), "--quiet"),
        *("--records", str(records)),
    ]


def test_two_runs_writing_one_library_one_killed_lose_nothing(tmp_path: Path) -> None:
    records = tmp_path / "records"
    runs = {name: tmp_path / name for name in ("kept", "killed")}
    kept = subprocess.Popen(_command(runs["kept"], records, 8), start_new_session=True)
    killed = subprocess.Popen(_command(runs["killed"], records, 64), start_new_session=True)
    try:
        deadline = time.time() + 300
        while len(_measured(runs["killed"])) < 5 and time.time() < deadline:
            time.sleep(0.2)
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
        assert kept.wait(timeout=600) == 0
    finally:
        for process in (kept, killed):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    library = RecordLibrary(records)
    stored = [
        (json.dumps(r.trace, sort_keys=True), r.latency_s)
        for target in library.targets()
        for r in library.read(target)
    ]
    for name, run_dir in runs.items():
        verified = [e for e in _measured(run_dir) if e["latency_s"] is not None]
        assert verified, name
        for event in verified:
            assert (json.dumps(event["trace"], sort_keys=True), event["latency_s"]) in stored


def test_other_workloads_best_are_offered_where_they_replay(tmp_path: Path) -> None:
    source = tmp_path / "kernels.py"
    source.write_text(
        "from colt.workloads.matmul import build_matmul\n\n"
        "def wider():\n"
        "    return build_matmul(16, 48, 32)\n"
    )
    tune(_config(tmp_path / "small"), progress=False)
    library = RecordLibrary(default_records_dir())
    (target,) = library.targets()
    small_records = len(library.read(target))
    other = _config(tmp_path / "wider").model_copy(update={"workload": f"{source}:wider"})
    results = _results(tune(other, progress=False))
    warm = results["warm_start"]
    assert warm["known_samples"] == 0 and not warm["seeded"] and warm["similar_offered"] == 1
    # the cost model learns the smaller matmul's records (all of them: a handful here)
    assert warm["pretrained"] == 0 and warm["pretrained_workloads"] == 1
    assert warm["pretrained_other"] == small_records > 0
    assert results["verified"]
    off = other.model_copy(
        update={"out_dir": tmp_path / "off", "records_similar": False, "records_pretrain": False}
    )
    warm = _results(tune(off, progress=False))["warm_start"]
    assert warm["similar_offered"] == 0 and warm["pretrained_other"] == 0


def test_the_cost_model_ranks_a_new_shape_from_another_shapes_records(tmp_path: Path) -> None:
    """Before any sample of its own, a run's cost model answers for a new shape from the
    library's records of another shape (it says nothing without them)."""
    from colt.schedule.environment import CostModel, to_candidate
    from colt.schedule.program import ProgramSpace, host_target
    from colt.schedule.warm_start import WarmStart, learn_records, pretrain_choice
    from colt.workloads.matmul import build_matmul

    library = RecordLibrary(tmp_path / "records")
    tune(_config(tmp_path / "small", records_dir=library.root), progress=False)
    (target,) = library.targets()
    chosen, modules = pretrain_choice(library.read(target), library.workload_modules())
    warm = WarmStart(
        str(library.root),
        target,
        "",
        pretrain=[(r.workload, r.trace, list(r.run_secs)) for r in chosen],
        modules=modules,
    )
    space = ProgramSpace(build_matmul(16, 48, 32), host_target(2))
    candidates = [to_candidate(space, p) for p in space.random_samples(np.random.default_rng(0), 4)]
    cold = CostModel(space.context)
    assert cold.predict(candidates) == [None] * 4
    taught = CostModel(space.context)
    assert learn_records(taught.learn, host_target(2), warm) == len(chosen) > 0
    scores = taught.predict(candidates)
    assert taught.samples == len(chosen) and all(isinstance(score, float) for score in scores)


def test_another_targets_records_neither_seed_nor_train_and_are_listed_as_foreign(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    library = RecordLibrary(tmp_path / "records")
    tune(_config(tmp_path / "first", records_dir=library.root), progress=False)
    (here,) = library.targets()
    library.path(here).rename(library.path("f" * 16))  # the same records, another target
    results = _results(tune(_config(tmp_path / "second", records_dir=library.root), progress=False))
    warm = results["warm_start"]
    assert warm["known_samples"] == 0 and not warm["seeded"]
    assert warm["pretrained"] == warm["pretrained_other"] == warm["similar_offered"] == 0
    capsys.readouterr()
    assert main(["records", "list", "--records", str(library.root)]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert any("f" * 16 in row and "foreign" in row for row in rows)
    assert any(here in row and " here " in row for row in rows)  # the second run's records
