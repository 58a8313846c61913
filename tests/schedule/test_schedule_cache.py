"""The program space's caches and shortcuts give what the slow paths give (small kernels, ~10 s)."""

from __future__ import annotations

import numpy as np
import pytest
import tvm
from tvm import te, topi
from tvm.s_tir import meta_schedule as ms

from colt.run import Timer
from colt.schedule import tir_walk
from colt.schedule.environment import CostModel, to_candidate
from colt.schedule.lru import Lru
from colt.schedule.program import (
    IllegalEdit,
    Program,
    ProgramSpace,
    _new_schedule,
    _sub_trace,
    host_target,
)


def _softmax() -> tvm.tirx.PrimFunc:
    x = te.placeholder((64, 128), name="X")
    return te.create_prim_func([x, topi.nn.softmax(x)])


def _conv() -> tvm.tirx.PrimFunc:
    data = te.placeholder((1, 8, 8, 16), name="data")
    weight = te.placeholder((3, 3, 16, 16), name="weight")
    return te.create_prim_func([data, weight, topi.nn.conv2d_nhwc(data, weight, 1, 1, 1)])


@pytest.fixture(scope="module")
def softmax() -> ProgramSpace:
    return ProgramSpace(_softmax(), host_target(2))


@pytest.fixture(scope="module")
def conv() -> ProgramSpace:
    return ProgramSpace(_conv(), host_target(2))


def _samples(space: ProgramSpace, count: int) -> list[Program]:
    rng = np.random.default_rng(3)
    return [space.random_sample(rng) for _ in range(count)]


def _every_location(space: ProgramSpace, program: Program, index: int) -> tuple[int, ...]:
    """The legal locations as the slow way finds them: a probe at every loop of the module."""
    sch = _new_schedule(space.mod, space.seed)
    found: set[int] = set()

    def probe(inst, inputs, attrs, decision):  # type: ignore[no-untyped-def]
        if probe.position == index:  # type: ignore[attr-defined]
            for location in range(-2, tir_walk.loop_count(sch.mod)):
                copy = sch.copy()
                copy.sample_compute_location(inputs[0], decision=location)
                found.add(int(copy.trace.get_decision(copy.trace.insts[-1])))
        probe.position += 1  # type: ignore[attr-defined]
        return decision

    probe.position = 0  # type: ignore[attr-defined]
    insts = list(program.trace.insts)[: index + 1]
    _sub_trace(program.trace, insts).apply_to_schedule(
        sch, remove_postproc=True, decision_provider=probe
    )
    return tuple(sorted(found))


@pytest.mark.parametrize("workload", ["softmax", "conv"])
def test_compute_locations_match_a_probe_at_every_loop(
    workload: str, request: pytest.FixtureRequest
) -> None:
    space = request.getfixturevalue(workload)
    checked = 0
    for program in _samples(space, 4):
        for point in program.points:
            if point.kind == "SampleComputeLocation":
                expected = _every_location(space, program, point.index)
                assert space.compute_locations(program, point.index) == expected
                assert space.compute_locations(program, point.index) == expected  # cached
                checked += 1
    assert checked


def test_loop_extents_need_no_replay(conv: ProgramSpace) -> None:
    for program in _samples(conv, 3):
        sch = _new_schedule(conv.mod, conv.seed)
        program.trace.apply_to_schedule(sch, remove_postproc=True)
        assert conv.loop_extents(program) == tir_walk.loop_nests(sch.mod)


def test_replay_is_kept_by_content_and_failures_too(softmax: ProgramSpace) -> None:
    program = _samples(softmax, 1)[0]
    copy = _sub_trace(program.trace, list(program.trace.insts))  # equal, not the same object
    first = softmax.replay(copy)
    assert softmax.replay(_sub_trace(program.trace, list(program.trace.insts))) is first
    assert first.key == program.key
    tile = next(p for p in program.points if p.kind == "SampleCategorical")
    bad = softmax.with_decision(program, tile.index, len(tile.candidates) + 3)
    for _ in range(2):
        with pytest.raises(IllegalEdit):
            softmax.replay(bad)


def test_lru_keeps_the_most_recent() -> None:
    cache: Lru[int] = Lru(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "b" is now the oldest
    cache.put("c", 3)
    assert len(cache) == 2 and cache.get("b") is None and cache.get("a") == 1


def test_cost_model_predicts_what_xgboost_predicts(conv: ProgramSpace) -> None:
    programs = _samples(conv, 12)
    model = CostModel(conv.context)
    candidates = [to_candidate(conv, p) for p in programs]
    assert model.predict(candidates) == [None] * len(candidates)
    rng = np.random.default_rng(0)
    model.update(candidates[:8], [[float(x)] for x in rng.uniform(1e-4, 1e-3, 8)])
    ours = model.predict(candidates)
    stock = [float(x) for x in model.model.predict(conv.context, candidates)]
    fresh = ms.cost_model.XGBModel(num_warmup_samples=0, adaptive_training=False)
    fresh.booster = model.model.booster
    assert ours == stock == [float(x) for x in fresh.predict(conv.context, candidates)]
    assert [model.predict([c])[0] for c in candidates] == ours  # alone or in a batch


def test_timer_gives_per_sample_figures_never_summed_over_resumes() -> None:
    timer = Timer(before={"build": 2.0, "build_per_sample_s": 99.0, "total": 4.0})
    timer.add("build", 2.0)
    times = timer.as_json(samples=4, search=1.0)
    assert times["build"] == 4.0 and times["build_per_sample_s"] == 1.0
    assert times["search_per_sample_s"] == 0.25
    assert "build_per_sample_s" not in timer.as_json()


def _one_by_one(space: ProgramSpace, rng: np.random.Generator, count: int) -> list[Program]:
    programs = []
    for _ in range(count):
        try:
            programs.append(space.random_sample(rng))
        except IllegalEdit:
            continue
    return programs


@pytest.mark.parametrize("succeeds_one_in", [1, 8])
def test_samples_in_threads_are_the_samples_one_by_one(
    succeeds_one_in: int, softmax: ProgramSpace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same programs, same order, same generator state after; with failing attempts too (7
    draws in 8 fail: some samples give up after all their attempts)."""
    sample = softmax._sample

    def flaky(draw: tuple[int, int], postprocs: tuple = ()) -> Program | str:
        return "failed" if draw[1] % succeeds_one_in else sample(draw, postprocs)

    monkeypatch.setattr(softmax, "_sample", flaky)
    serial, threaded = np.random.default_rng(5), np.random.default_rng(5)
    expected = _one_by_one(softmax, serial, 40)
    got = softmax.random_samples(threaded, 40)
    assert [p.key for p in got] == [p.key for p in expected]
    assert [p.points for p in got] == [p.points for p in expected]
    assert serial.integers(2**62) == threaded.integers(2**62)
    assert 0 < len(expected) <= 40 and (len(expected) < 40) == (succeeds_one_in > 1)
