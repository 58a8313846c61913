"""The oracle's guide on real MetaSchedule traces: distances from reference schedules, a held-out
cost model's predictions, the references read from a real record library, and the edits that
copy a reference's decisions (with the compute locations a new tiling moves)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tvm
from tvm import te

from colt.records_library import LibraryRecord, RecordLibrary, json_default
from colt.schedule.cpu_vocabulary import _tile_moves
from colt.schedule.edits import CPU_VOCABULARY, apply_repaired, point_at
from colt.schedule.environment import CostModel, TraceEnvironment
from colt.schedule.oracle import copy_moves, distance_oracle, latency_oracle, sketch_of
from colt.schedule.program import IllegalEdit, ProgramSpace, host_target
from colt.schedule.trace_distance import decisions_of, nearest_distance
from colt.search.base import Edit

SIZE = 64


def _matmul() -> tvm.tirx.PrimFunc:
    a = te.placeholder((SIZE, SIZE), name="A")
    b = te.placeholder((SIZE, SIZE), name="B")
    k = te.reduce_axis((0, SIZE), name="k")
    c = te.compute((SIZE, SIZE), lambda i, j: te.sum(a[i, k] * b[k, j], axis=k), name="C")
    return te.create_prim_func([a, b, c])


def test_guide_measures_distances_to_the_references_without_the_cost_model() -> None:
    space = ProgramSpace(_matmul(), host_target(2))
    rng = np.random.default_rng(3)
    reference, start = space.random_samples(rng, 2)
    stored = json.loads(json.dumps(space.to_json(reference), default=json_default))
    references = (decisions_of(stored),)
    # the record library's JSON and the live trace give the same decisions
    assert nearest_distance(decisions_of(space.to_json(reference)), references) == 0.0
    oracle = distance_oracle(space, references)
    env = TraceEnvironment(space, CostModel(space.context), CPU_VOCABULARY, oracle=oracle)
    guided = env.guide(start, 8, np.random.default_rng(0))
    assert guided and all(isinstance(distance, float) for _, distance in guided)
    assert env.cost_model.samples == 0  # nothing was predicted
    for edit, distance in guided:  # each distance is that of the program the edit leads to
        program = env.apply(start, [edit], np.random.default_rng(0)).state
        assert nearest_distance(decisions_of(space.to_json(program)), references) == distance
    blind = TraceEnvironment(space, CostModel(space.context), CPU_VOCABULARY)
    assert all(d is None for _, d in blind.guide(start, 4, np.random.default_rng(0)))
    assert distance_oracle(space, ()) is None


def _stored(space: ProgramSpace, program) -> object:  # type: ignore[no-untyped-def]
    return json.loads(json.dumps(space.to_json(program), default=json_default))


def test_latency_oracle_ranks_what_its_records_measured_without_the_search_cost_model() -> None:
    space = ProgramSpace(_matmul(), host_target(2))
    programs = space.random_samples(np.random.default_rng(11), 24)
    # made-up latencies that a program's features decide: its innermost tile's product
    records = []
    for program in programs:
        decisions = decisions_of(space.to_json(program))
        inner = [d for kind, d in decisions if kind == "SamplePerfectTile"]
        latency = 1e-3 * (1 + sum(tile[-1] for tile in inner))
        records.append(LibraryRecord("w", "mm", latency, (latency,), _stored(space, program), "d"))
    oracle = latency_oracle(space, records)
    assert oracle is not None
    scores = oracle(programs)
    assert all(isinstance(s, float) for s in scores)
    fastest = min(range(len(records)), key=lambda i: records[i].latency_s)
    slowest = max(range(len(records)), key=lambda i: records[i].latency_s)
    assert scores[fastest] < scores[slowest]  # lower is better: minus a predicted throughput
    env = TraceEnvironment(space, CostModel(space.context), CPU_VOCABULARY, oracle=oracle)
    guided = env.guide(programs[0], 6, np.random.default_rng(1))
    assert guided and all(isinstance(score, float) for _, score in guided)
    assert env.cost_model.samples == 0  # the search's own model learnt and predicted nothing


def test_a_latency_oracle_without_a_replayable_record_is_none() -> None:
    space = ProgramSpace(_matmul(), host_target(2))
    stale = LibraryRecord("w", "mm", 1e-3, (1e-3,), [[["NoSuchInstruction", [], [], []]], []], "d")
    assert latency_oracle(space, [stale]) is None
    assert latency_oracle(space, []) is None


def test_library_records_round_trip_into_references(tmp_path) -> None:  # type: ignore[no-untyped-def]
    space = ProgramSpace(_matmul(), host_target(2))
    program = space.random_samples(np.random.default_rng(5), 1)[0]
    trace = json.loads(json.dumps(space.to_json(program), default=json_default))
    library = RecordLibrary(tmp_path)
    library.append("t", [LibraryRecord("w", "mm", 1e-3, (1e-3,), trace, "2026-12-06")])
    (record,) = library.of_workload("t", "w")
    assert decisions_of(record.trace) == decisions_of(space.to_json(program))


def _conv() -> tvm.tirx.PrimFunc:
    """A small conv2d with a padding block: tiles, compute locations, unroll and parallel."""
    data = te.placeholder((1, 8, 16, 16), name="data")
    weight = te.placeholder((16, 8, 3, 3), name="weight")
    padded = te.compute(
        (1, 8, 18, 18),
        lambda n, c, y, x: tvm.tirx.if_then_else(
            tvm.tirx.all(y >= 1, y <= 16, x >= 1, x <= 16), data[n, c, y - 1, x - 1], 0.0
        ),
        name="pad",
    )
    rc, ry, rx = (te.reduce_axis((0, e), name=n) for e, n in ((8, "rc"), (3, "ry"), (3, "rx")))
    out = te.compute(
        (1, 16, 16, 16),
        lambda n, f, y, x: te.sum(
            padded[n, rc, y + ry, x + rx] * weight[f, rc, ry, rx], axis=[rc, ry, rx]
        ),
        name="conv",
    )
    return te.create_prim_func([data, weight, out])


def test_copying_every_decision_of_a_reference_reproduces_it() -> None:
    space = ProgramSpace(_conv(), host_target(2))
    samples = space.random_samples(np.random.default_rng(5), 12)
    reference = samples[0]
    stored = _stored(space, reference)
    moves = copy_moves(space, [stored])
    assert moves is not None and moves(reference) == []  # nothing left to copy
    env = TraceEnvironment(
        space, CostModel(space.context), CPU_VOCABULARY, oracle=None, moves=moves
    )
    same_sketch = [p for p in samples[1:] if sketch_of(space.to_json(p)) == sketch_of(stored)]
    assert same_sketch
    for start in same_sketch:  # one action of all the copies writes the whole schedule down
        edits = env.copies(start)
        assert edits and {e.name for e in edits} <= {t.name for t in CPU_VOCABULARY}
        result = env.apply(start, edits, np.random.default_rng(0))
        assert not result.invalid and result.state.key == reference.key
        assert env.copies(result.state) == []
    assert env.cost_model.samples == 0
    assert copy_moves(space, []) is None and copy_moves(space, [["not", "a trace"]]) is None


def test_a_tiling_that_moves_a_later_compute_location_is_applied_and_noted() -> None:
    space = ProgramSpace(_conv(), host_target(2))
    found = None
    for program in space.random_samples(np.random.default_rng(5), 12):
        for site in (p for p in program.points if p.kind == "SamplePerfectTile"):
            for factors in _tile_moves(list(site.value), site.max_innermost):
                trace = space.with_decision(program, site.index, factors)
                try:
                    space.replay(trace)
                except IllegalEdit as error:
                    if "SampleComputeLocation" in str(error):
                        found = program, site, factors
                        break
            if found:
                break
        if found:
            break
    assert found is not None, "no tiling of the conv moved a compute location"
    program, site, factors = found
    edit = Edit("TileSize", (("loop", f"{site.block}.{site.loop}"), ("factors", tuple(factors))))
    result, applied, notes = apply_repaired(space, program, edit, np.random.default_rng(0))
    assert point_at(result, site.index).value == tuple(factors)  # the decision asked for holds
    assert notes and all("ComputeLocation" in n and "depended on this edit" in n for n in notes)
    assert space.replay(result.trace).key == result.key  # the moved location is now its own
    with pytest.raises(IllegalEdit, match="altered"):  # nothing up to `keep` may move
        space.replay_adjusted(space.with_decision(program, site.index, factors), keep=10**6)
