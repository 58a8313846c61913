"""Which library records a cost model learns before its first round (a pure choice)."""

from __future__ import annotations

import pytest

from colt.records_library import LibraryRecord
from colt.schedule import warm_start
from colt.schedule.warm_start import pretrain_choice


def _records(workload: str, count: int, day: int) -> list[LibraryRecord]:
    return [
        LibraryRecord(
            workload, workload, (i + 1) * 1e-3, ((i + 1) * 1e-3,), [[], [i]], f"2026-12-0{day}"
        )
        for i in range(count)
    ]


def test_own_records_first_then_other_workloads_with_a_module_newest_first(monkeypatch) -> None:
    monkeypatch.setattr(warm_start, "PRETRAIN_LIMIT", 4)
    monkeypatch.setattr(warm_start, "PRETRAIN_TOTAL", 10)
    records = _records("old", 3, 1) + _records("own", 9, 2) + _records("new", 5, 3)
    records += _records("unknown", 2, 4)  # no module kept: it cannot be replayed, so not learnt
    modules = {"old": "OLD", "new": "NEW", "own": "OWN"}
    chosen, used = pretrain_choice(records, modules, own="own")
    workloads = [r.workload for r in chosen]
    assert workloads == ["own"] * 4 + ["new"] * 4 + ["old"] * 2  # 10 in all
    own = [r.latency_s for r in chosen if r.workload == "own"]
    assert own == pytest.approx([1e-3, 4e-3, 6e-3, 9e-3])  # spread, fastest to slowest
    assert used == {"new": "NEW", "old": "OLD"}  # the own module is the run's, not needed


def test_a_network_learns_every_workload_with_a_module() -> None:
    records = _records("a", 2, 1) + _records("b", 2, 2)
    chosen, used = pretrain_choice(records, {"a": "A", "b": "B"})
    assert sorted(r.workload for r in chosen) == ["a", "a", "b", "b"]
    assert used == {"a": "A", "b": "B"}
