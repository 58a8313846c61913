"""The first round's programs: one point of each sketch and random points, drawn from the run's
sampler, so two run seeds start from different programs and one seed always from the same."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from tvm import te

from colt.schedule.program import ProgramSpace, host_target
from colt.strategies.shared_tree import _initial_states


@pytest.fixture(scope="module")
def session() -> SimpleNamespace:
    a = te.placeholder((128, 128), name="A")
    b = te.placeholder((128, 128), name="B")
    k = te.reduce_axis((0, 128), name="k")
    c = te.compute((128, 128), lambda i, j: te.sum(a[i, k] * b[k, j], axis=k), name="C")
    return SimpleNamespace(space=ProgramSpace(te.create_prim_func([a, b, c]), host_target()))


def _kinds(trace: object) -> list[str]:
    return [inst.kind.name for inst in trace.insts]  # type: ignore[attr-defined]


def _keys(session: SimpleNamespace, seed: int) -> list[int]:
    return [state.key for state in _initial_states(session, 4, np.random.default_rng(seed))]


def test_each_sketch_is_drawn_afresh_for_every_run_seed(session: SimpleNamespace) -> None:
    sketches = len(session.space.sketches)
    assert sketches > 1
    first, again, other = _keys(session, 0), _keys(session, 0), _keys(session, 1)
    assert first == again  # reproducible for one seed
    assert len(first) >= sketches  # a point of each sketch, then the random draws
    states = _initial_states(session, 4, np.random.default_rng(0))
    for state, sketch in zip(states, session.space.sketches, strict=False):
        assert _kinds(state.trace) == _kinds(sketch)
    assert first[:sketches] != other[:sketches]  # not the same sketch points for every seed
    fixed = {program.key for program in session.space.design_spaces()}
    assert not fixed >= set(first[:sketches]) or not fixed >= set(other[:sketches])
