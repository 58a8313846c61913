"""The typed run record: the documented results.json is exactly the record, committed results
of earlier versions still load, and an unreadable one is one sentence naming its version."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from colt.errors import UserError
from colt.records import (
    CurvePoint,
    DeviceCounts,
    DeviceEvent,
    MachineLoad,
    ModelStatsRecord,
    NetworkRecord,
    PeakSpread,
    RoofsRecord,
    RunResults,
    SearchRecord,
    TaskRecord,
    WorkloadFacts,
    parse_results,
)

ROOT = Path(__file__).resolve().parent.parent


def documented_results() -> dict[str, Any]:
    """The results.json example of docs/run-directory.md, its // comments removed."""
    text = (ROOT / "docs" / "run-directory.md").read_text()
    block = text.split("## `results.json`", 1)[1]
    body = re.search(r"```json\n(.*?)```", block, re.S)
    assert body is not None
    return dict(json.loads(re.sub(r"//[^\n]*", "", body.group(1))))


@pytest.mark.parametrize(
    ("path", "record"),
    [
        ((), RunResults),
        (("workload",), WorkloadFacts),
        (("curve", 0), CurvePoint),
        (("search",), SearchRecord),
        (("model_stats", "smollm2-135m"), ModelStatsRecord),
        (("devices", "127.0.0.1:9300"), DeviceCounts),
        (("device_events", 0), DeviceEvent),
        (("machine_load",), MachineLoad),
        (("roofs",), RoofsRecord),
        (("roofs", "peak_spread"), PeakSpread),
    ],
)
def test_the_documented_results_name_every_field_of_the_record(
    path: tuple[Any, ...], record: type[BaseModel]
) -> None:
    documented: Any = documented_results()
    for part in path:
        documented = documented[part]
    assert set(documented) == set(record.model_fields)


def test_the_documented_example_is_a_valid_record() -> None:
    parse_results(documented_results())


@pytest.mark.parametrize(
    "path", sorted((ROOT / "docs" / "results").rglob("results.json")), ids=lambda p: p.parent.name
)
def test_committed_results_of_earlier_versions_still_load(path: Path) -> None:
    results = parse_results(json.loads(path.read_text()), str(path))
    assert results.samples == len(results.curve) > 0


def test_an_unreadable_results_file_is_one_sentence_naming_its_version() -> None:
    data = documented_results() | {"colt_version": "0.0.9", "curve": [{"sample": "first"}]}
    with pytest.raises(UserError) as caught:
        parse_results(data, "old/results.json")
    message = str(caught.value)
    assert message.startswith("old/results.json was written by COLT 0.0.9 and this version")
    assert "curve.0.sample" in message and "\n" not in message


def test_the_documented_network_record_names_every_field() -> None:
    text = (ROOT / "docs" / "run-directory.md").read_text()
    block = text.split("`network` holds:", 1)[1]
    body = re.search(r"```json\n(.*?)```", block, re.S)
    assert body is not None
    network = json.loads(re.sub(r"//[^\n]*", "", body.group(1)))
    assert set(network) == set(NetworkRecord.model_fields)
    assert set(network["tasks"][0]) == set(TaskRecord.model_fields)
    NetworkRecord.model_validate(network)
