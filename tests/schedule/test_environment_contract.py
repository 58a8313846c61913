"""The Environment contract (``colt.search.base.Environment``): what the search relies on, checked
on every implementation, the TVM one on a real MetaSchedule trace space and the scripted one the
search tests use. A new Environment joins ``ENVIRONMENTS`` and must pass the same checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from tvm import te

from colt.journal import json_default
from colt.schedule.edits import vocabulary_for
from colt.schedule.environment import CostModel, TraceEnvironment
from colt.schedule.program import ProgramSpace, host_target
from colt.search.base import ApplyResult, Edit, Environment
from tests.search.fakes import LineEnvironment


def _trace_environment() -> tuple[Environment, Any]:
    a = te.placeholder((32, 32), name="A")
    b = te.placeholder((32, 32), name="B")
    k = te.reduce_axis((0, 32), name="k")
    c = te.compute((32, 32), lambda i, j: te.sum(a[i, k] * b[k, j], axis=k), name="C")
    target = host_target(2)
    space = ProgramSpace(te.create_prim_func([a, b, c]), target)
    env = TraceEnvironment(space, CostModel(space.context), vocabulary_for(target))
    return env, space.design_spaces()[0]


def _line_environment() -> tuple[Environment, Any]:
    return LineEnvironment(), 50


ENVIRONMENTS: dict[str, Callable[[], tuple[Environment, Any]]] = {
    "tvm-trace": _trace_environment,
    "scripted-line": _line_environment,
}


@pytest.fixture(scope="module", params=sorted(ENVIRONMENTS))
def made(request: pytest.FixtureRequest) -> tuple[Environment, Any]:
    return ENVIRONMENTS[request.param]()


def test_it_names_its_transformations(made: tuple[Environment, Any]) -> None:
    env, _ = made
    assert env.transformations and all(isinstance(t, str) for t in env.transformations)


def test_a_program_survives_the_journal(made: tuple[Environment, Any]) -> None:
    env, state = made
    data = json.loads(json.dumps(env.dump(state), default=json_default))  # as the journal does
    assert env.key(env.load(data)) == env.key(state)
    hash(env.key(state))


def test_applying_edits_is_a_function_of_the_generator(made: tuple[Environment, Any]) -> None:
    env, state = made
    edits = [Edit(name) for name in env.transformations[:2]]
    first = env.apply(state, edits, np.random.default_rng(7))
    again = env.apply(state, edits, np.random.default_rng(7))
    assert isinstance(first, ApplyResult)
    assert env.key(first.state) == env.key(again.state)
    assert len(first.applied) + len(first.invalid) == len(edits)


def test_an_unknown_transformation_is_refused_not_raised(made: tuple[Environment, Any]) -> None:
    env, state = made
    result = env.apply(state, [Edit("NoSuchTransformation")], np.random.default_rng(0))
    assert result.applied == () and len(result.invalid) == 1
    assert env.key(result.state) == env.key(state)


def test_predictions_are_one_per_program_and_normalized(made: tuple[Environment, Any]) -> None:
    env, state = made
    values = env.predict([state, state])
    assert len(values) == 2 and values[0] == values[1]
    assert all(v is None or 0.0 <= v <= 1.0 for v in values)


def test_a_previewed_edit_applied_again_gives_its_program(made: tuple[Environment, Any]) -> None:
    env, state = made
    previews = env.preview(state, 3, np.random.default_rng(3))
    assert 0 < len(previews) <= 3
    for edit, value in previews:
        assert edit.args, "a previewed edit spells out its arguments"
        assert value is None or 0.0 <= value <= 1.0
        once = env.apply(state, [edit], np.random.default_rng(11)).state
        twice = env.apply(state, [edit], np.random.default_rng(12)).state
        assert env.key(once) == env.key(twice)  # explicit arguments leave nothing to chance


def test_it_describes_a_program_for_the_prompt(made: tuple[Environment, Any]) -> None:
    env, state = made
    assert isinstance(env.describe(state), str) and env.describe(state)
    assert all(isinstance(line, str) for line in env.history(state))
