"""A network run and the record library: its tasks' verified samples join the library, and a
second run starts each task from its best known schedule with the shared cost model taught
the library's records before the first round; each part is switchable and reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from colt import cli
from colt.records_library import RecordLibrary
from colt.report.facts import warm_start_text
from tests.runs.test_networks import RELAX_NETWORK as DENSE_RELU

pytestmark = pytest.mark.slow


def _tune(source: Path, out: Path, *extra: str) -> dict:
    command = ["tune", "--workload", f"{source}:dense_relu", "--proposer", "random"]
    command += ["--trials", "4", "--trials-per-round", "2", "--out", str(out), "--quiet"]
    assert cli.main([*command, *extra]) == 0
    return json.loads((out / "results.json").read_text())


def _measured(run_dir: Path) -> dict[str, list[dict]]:
    """Each task's measured samples, in order, by task directory."""
    tasks: dict[str, list[dict]] = {}
    for journal in sorted((run_dir / "tasks").glob("*/journal.jsonl")):
        events = [json.loads(line) for line in journal.read_text().splitlines()]
        tasks[journal.parent.name] = [e for e in events if e["kind"] == "measure"]
    return tasks


def test_a_network_adds_its_samples_and_a_rerun_starts_each_task_from_them(
    tmp_path: Path,
) -> None:
    source = tmp_path / "dense.py"
    source.write_text(DENSE_RELU)
    records = tmp_path / "records"
    first = _tune(source, tmp_path / "first", "--records", str(records))
    warm = first["warm_start"]
    assert warm["known_samples"] == 0 and warm["pretrained_other"] == 0 and warm["tasks"]
    library = RecordLibrary(records)
    (target,) = library.targets()
    stored = {(json.dumps(r.trace, sort_keys=True), r.latency_s) for r in library.read(target)}
    measured = _measured(tmp_path / "first").values()
    verified = [e for events in measured for e in events if e["latency_s"] is not None]
    assert verified
    for event in verified:  # every verified sample of every task is in the library
        assert (json.dumps(event["trace"], sort_keys=True), event["latency_s"]) in stored
    for one_point in (tmp_path / "first" / "tasks").glob("*/one_point.json"):
        latency = json.loads(one_point.read_text())["latency_s"]  # measured outside the budget
        assert latency is None or latency in {latency for _, latency in stored}
    assert {r.workload for r in library.read(target)} <= set(library.workload_modules())
    first_records = len(library.read(target))

    known_best = {key: library.best(target, key) for key in library.workload_modules()}
    second_dir = tmp_path / "second"
    second = _tune(source, second_dir, "--records", str(records))
    warm = second["warm_start"]
    assert warm["tasks_seeded"] >= 1 and warm["known_samples"] == len(verified)
    assert warm["pretrained_other"] == first_records  # the shared model, taught once
    assert warm["first_round_ranked"]
    assert all(task["pretrained"] == 0 for task in warm["tasks"])  # not again per task
    seeded = next(task for task in warm["tasks"] if task["seeded"])
    best = known_best[seeded["workload_key"]]
    firsts = [events[0]["trace"] for events in _measured(second_dir).values() if events]
    assert best is not None and best.trace in firsts  # its task measured it first
    assert second["verified"] and "started from their best known" in warm_start_text(warm)

    off = _tune(source, tmp_path / "off", "--records", str(records), "--no-records-pretrain")
    assert off["warm_start"]["pretrained_other"] == 0 and off["warm_start"]["tasks_seeded"] >= 1
    none = _tune(source, tmp_path / "none", "--no-records")
    assert none["warm_start"] is None
