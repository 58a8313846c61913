"""The program space and the CPU vocabulary on real MetaSchedule traces (small kernels, < 1 min)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tvm
from tvm import te, topi

from colt.journal import json_default
from colt.schedule.cpu_vocabulary import _tile_moves
from colt.schedule.edits import (
    CPU_VOCABULARY,
    apply_edit,
    apply_repaired,
    point_at,
    random_edit,
    vocabulary_for,
)
from colt.schedule.program import IllegalEdit, Program, ProgramSpace, host_target
from colt.schedule.repair import nearest_factors, nearest_step
from colt.search.base import Edit

SIZE = 64  # matmul is SIZE x SIZE x SIZE
SOFTMAX_SHAPE = (64, 128)


def _matmul() -> tvm.tirx.PrimFunc:
    a = te.placeholder((SIZE, SIZE), name="A")
    b = te.placeholder((SIZE, SIZE), name="B")
    k = te.reduce_axis((0, SIZE), name="k")
    c = te.compute((SIZE, SIZE), lambda i, j: te.sum(a[i, k] * b[k, j], axis=k), name="C")
    return te.create_prim_func([a, b, c])


def _softmax() -> tvm.tirx.PrimFunc:
    x = te.placeholder(SOFTMAX_SHAPE, name="X")
    return te.create_prim_func([x, topi.nn.softmax(x)])


@pytest.fixture(scope="module")
def target() -> tvm.target.Target:
    return host_target(2)


@pytest.fixture(scope="module")
def matmul(target: tvm.target.Target) -> ProgramSpace:
    return ProgramSpace(_matmul(), target)


@pytest.fixture(scope="module")
def softmax(target: tvm.target.Target) -> ProgramSpace:
    return ProgramSpace(_softmax(), target)


def _run(program: Program, target: tvm.target.Target, *arrays: np.ndarray) -> np.ndarray:
    """Builds the program and runs it; the last array is the (zeroed) output."""
    lib = tvm.compile(program.mod, target=target)
    tensors = [tvm.runtime.tensor(a) for a in arrays]
    lib["main"](*tensors)
    return tensors[-1].numpy()


def _assert_matmul_correct(program: Program, target: tvm.target.Target) -> None:
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((SIZE, SIZE)).astype("float32") for _ in range(2))
    out = _run(program, target, a, b, np.zeros((SIZE, SIZE), "float32"))
    np.testing.assert_allclose(out, a @ b, rtol=1e-4, atol=1e-4)


def _assert_softmax_correct(program: Program, target: tvm.target.Target) -> None:
    x = np.random.default_rng(0).standard_normal(SOFTMAX_SHAPE).astype("float32")
    out = _run(program, target, x, np.zeros(SOFTMAX_SHAPE, "float32"))
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(out, e / e.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-6)


def _edit(name: str, **args: object) -> Edit:
    return Edit(name, tuple(args.items()))


def _retiled(space: ProgramSpace) -> Program:
    """A matmul whose outer tiles give the parallel annotation something to decide."""
    program = space.design_spaces()[0]
    rng = np.random.default_rng(0)
    program = apply_edit(space, program, _edit("TileSize", loop="i", factors=[4, 2, 8, 1]), rng)
    return apply_edit(space, program, _edit("TileSize", loop="j", factors=[4, 2, 8, 1]), rng)


# -- the program space -------------------------------------------------------------------------


@pytest.mark.parametrize("workload", ["matmul", "softmax"])
def test_design_spaces_replay_to_themselves(workload: str, request: pytest.FixtureRequest) -> None:
    space: ProgramSpace = request.getfixturevalue(workload)
    programs = space.design_spaces()
    assert programs
    for program in programs:
        again = space.replay(program.trace)
        assert again.key == program.key
        assert str(again.trace) == str(program.trace)


def test_design_spaces_are_reproducible(matmul: ProgramSpace, target: tvm.target.Target) -> None:
    fresh = ProgramSpace(_matmul(), target)
    assert [p.key for p in fresh.design_spaces()] == [p.key for p in matmul.design_spaces()]


def test_random_sample_is_seeded(matmul: ProgramSpace) -> None:
    first = matmul.random_sample(np.random.default_rng(3))
    second = matmul.random_sample(np.random.default_rng(3))
    assert first.key == second.key
    assert matmul.replay(first.trace).key == first.key


def test_silent_alterations_are_rejected(matmul: ProgramSpace, softmax: ProgramSpace) -> None:
    program = matmul.design_spaces()[0]
    tile = next(p for p in program.points if p.kind == "SamplePerfectTile")
    wrong_product = matmul.with_decision(program, tile.index, [4, 4, 4, 2])
    with pytest.raises(IllegalEdit, match="altered|multiply"):
        matmul.replay(wrong_product)
    located = softmax.design_spaces()[0]
    site = next(p for p in located.points if p.kind == "SampleComputeLocation")
    legal = softmax.compute_locations(located, site.index)
    illegal = next(x for x in range(-2, 20) if x not in legal)
    with pytest.raises(IllegalEdit, match="altered"):
        softmax.replay(softmax.with_decision(located, site.index, illegal))


def test_describe_and_history(matmul: ProgramSpace) -> None:
    program = matmul.design_spaces()[0]
    assert "T.prim_func" in matmul.describe(program)
    history = matmul.history(program)
    assert [line.split()[0] for line in history] == [
        "TileSize", "TileSize", "TileSize", "Parallel", "Vectorize", "Unroll",
    ]  # fmt: skip
    assert history[0].startswith("TileSize i: [")


@pytest.mark.parametrize("workload", ["matmul", "softmax"])
def test_the_compact_rendering_keeps_every_loop_and_block(
    workload: str, request: pytest.FixtureRequest
) -> None:
    """What prompts show (shrink level 1) names every loop, with its kind and extent, and every
    block of the program: all a transformation's arguments refer to."""
    import re

    from colt.llm.shrink import shrink_program

    space: ProgramSpace = request.getfixturevalue(workload)
    for program in space.design_spaces():
        full = space.describe(program)
        compact = shrink_program(full, 1)
        loops = re.findall(r"for ([\w, ]+) in (T\.\w+\([^\n]*\)):", full)
        blocks = [b for b in re.findall(r'T\.sblock\("(\w+)"\)', full) if b != "root"]
        assert loops and blocks
        for names, kind in loops:
            assert f"for {names} in {kind}:" in compact
        for block in blocks:
            assert f'T.sblock("{block}")' in compact
        assert "T.reads" not in compact and len(compact) < len(full) / 1.5


# -- each transformation ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["TileSize", "Unroll", "Parallel", "ComputeLocation"])
def test_edit_without_args_changes_program_and_stays_correct(
    name: str, matmul: ProgramSpace, softmax: ProgramSpace, target: tvm.target.Target
) -> None:
    if name == "ComputeLocation":
        space, program, check = softmax, softmax.design_spaces()[0], _assert_softmax_correct
    else:
        program = _retiled(matmul) if name == "Parallel" else matmul.design_spaces()[0]
        space, check = matmul, _assert_matmul_correct
    edited = apply_edit(space, program, Edit(name), np.random.default_rng(0))
    assert edited.key != program.key
    assert space.history(edited) != space.history(program)
    check(edited, target)


def test_tile_size_keeps_product_and_innermost_limit(matmul: ProgramSpace) -> None:
    program = matmul.design_spaces()[1]
    rng = np.random.default_rng(5)
    for _ in range(10):
        program = apply_edit(matmul, program, Edit("TileSize"), rng)
        for point in program.points:
            if point.kind == "SamplePerfectTile":
                assert int(np.prod(point.value)) == point.extent == SIZE
                assert point.value[-1] <= point.max_innermost


def test_tile_moves_respect_innermost_limit() -> None:
    moves = _tile_moves([1, 8, 4], max_innermost=4)
    assert moves and all(m[-1] <= 4 and int(np.prod(m)) == 32 for m in moves)
    assert [2, 4, 4] in moves and [1, 4, 8] not in moves


def test_explicit_args_are_honored(matmul: ProgramSpace, softmax: ProgramSpace) -> None:
    rng = np.random.default_rng(0)
    program = matmul.design_spaces()[0]
    tiled = apply_edit(matmul, program, _edit("TileSize", loop="j", factors=[2, 4, 4, 2]), rng)
    assert "TileSize j: [2, 4, 4, 2]" in matmul.history(tiled)
    by_index = apply_edit(matmul, program, _edit("TileSize", loop=2, factors=[32, 2]), rng)
    assert "TileSize k: [32, 2]" in matmul.history(by_index)
    unrolled = apply_edit(matmul, program, _edit("Unroll", value=512), rng)
    assert "Unroll root: 512" in matmul.history(unrolled)
    parallel = apply_edit(matmul, program, _edit("Parallel", extent=8), rng)
    assert "Parallel root: 8" in matmul.history(parallel)

    located = softmax.design_spaces()[0]
    # the last one: moving an earlier block can change where later blocks may go, and a result
    # whose other decisions TVM would adjust is rejected
    site = [p for p in located.points if p.kind == "SampleComputeLocation"][-1]
    target = next(x for x in softmax.compute_locations(located, site.index) if x != site.value)
    moved = apply_edit(
        softmax, located, _edit("ComputeLocation", block=site.block, location=target), rng
    )
    assert point_at(moved, site.index).value == target


@pytest.mark.parametrize(
    ("edit", "repaired"),
    [
        (_edit("TileSize", loop="i", factors=[2, 2, 2, 2]), "product 64"),  # product 16
        (_edit("TileSize", loop="i", factors=[8, 8]), "4 tile levels"),
        (_edit("TileSize", loop="i", factors=[0, 1, 64, 1]), "positive"),
        (_edit("TileSize", loop=7), "out of range"),
        (_edit("TileSize", size=4), "unknown argument"),
        (_edit("Unroll", value=32), "one of"),
        (_edit("Parallel", extent=0), "within"),
        (_edit("Parallel", extent=-4), "within"),
        (_edit("Parallel", extent=10**9), "within"),
    ],
    ids=lambda value: value.describe() if isinstance(value, Edit) else "",
)
def test_illegal_arguments_are_repaired_to_the_nearest_legal_value(
    edit: Edit, repaired: str, matmul: ProgramSpace
) -> None:
    program = _retiled(matmul)
    result, applied, notes = apply_repaired(matmul, program, edit, np.random.default_rng(0))
    assert len(notes) == 1 and repaired in notes[0]
    again = apply_edit(matmul, program, applied, np.random.default_rng(0))
    if applied.args:  # the applied edit is legal as written and makes the same program
        assert again.key == result.key
        assert apply_repaired(matmul, program, applied, np.random.default_rng(0))[2] == ()


def test_repaired_tile_factors_are_the_nearest_tiling() -> None:
    assert nearest_factors([2, 2, 2, 2], 64, 4) in {
        (2, 2, 2, 8),
        (2, 2, 8, 2),
        (8, 2, 2, 2),
        (2, 8, 2, 2),
    }
    assert nearest_factors([8, 8], 64, 4) == (1, 1, 8, 8)
    assert nearest_factors([64, 64], 64, 2, max_innermost=16) == (4, 16)
    assert nearest_step(32, [0, 16, 64, 512]) == 16 and nearest_step(400, [0, 16, 64, 512]) == 512


@pytest.mark.parametrize(
    "edit",
    [
        _edit("TileSize", loop="zz"),
        _edit("TileSize", loop="i", factors="not a list"),
        _edit("Unroll", value="lots"),
        Edit("Vectorize"),
        Edit("ComputeLocation"),  # matmul has no compute-location decision
    ],
    ids=lambda edit: edit.describe(),
)
def test_unreadable_edits_raise(edit: Edit, matmul: ProgramSpace) -> None:
    with pytest.raises(IllegalEdit):
        apply_edit(matmul, matmul.design_spaces()[0], edit, np.random.default_rng(0))


def test_an_illegal_compute_location_moves_to_the_nearest_legal_one(softmax: ProgramSpace) -> None:
    program = softmax.design_spaces()[0]
    site = next(p for p in program.points if p.kind == "SampleComputeLocation")
    legal = softmax.compute_locations(program, site.index)
    illegal = next(x for x in range(20) if x not in legal)
    rng = np.random.default_rng(0)
    edit = _edit("ComputeLocation", block=site.block, location=illegal)
    _, applied, notes = apply_repaired(softmax, program, edit, rng)
    assert applied.arg("location") == max(x for x in legal if x < illegal) and len(notes) == 1
    with pytest.raises(IllegalEdit, match="unknown block"):
        apply_edit(softmax, program, _edit("ComputeLocation", block="nope"), rng)


# -- determinism and rollouts ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["TileSize", "Unroll", "Parallel", "ComputeLocation"])
def test_same_seed_same_trace(name: str, matmul: ProgramSpace, softmax: ProgramSpace) -> None:
    if name == "ComputeLocation":
        space, program = softmax, softmax.design_spaces()[0]
    else:
        space, program = matmul, _retiled(matmul)
    first = apply_edit(space, program, Edit(name), np.random.default_rng(11))
    second = apply_edit(space, program, Edit(name), np.random.default_rng(11))
    assert str(first.trace) == str(second.trace)
    assert first.key == second.key


@pytest.mark.parametrize("workload", ["matmul", "softmax"])
def test_random_edit_rollout(workload: str, request: pytest.FixtureRequest) -> None:
    space: ProgramSpace = request.getfixturevalue(workload)

    def rollout(seed: int) -> list[str]:
        rng = np.random.default_rng(seed)
        program, traces = space.design_spaces()[0], []
        for _ in range(20):
            edit, child = random_edit(space, program, rng)
            assert child.key != program.key
            replayed = apply_edit(space, program, edit, np.random.default_rng(0))
            assert replayed.key == child.key  # the recorded arguments reproduce the edit
            program = child
            traces.append(str(program.trace))
        return traces

    assert rollout(2) == rollout(2)


def test_vocabulary(target: tvm.target.Target) -> None:
    assert vocabulary_for(target) is CPU_VOCABULARY
    assert [t.name for t in CPU_VOCABULARY] == ["TileSize", "Parallel", "Unroll", "ComputeLocation"]
    assert all(t.help and "\n" not in t.help for t in CPU_VOCABULARY)


@pytest.mark.parametrize("workload", ["matmul", "softmax"])
def test_a_program_comes_back_from_its_json(workload: str, request: pytest.FixtureRequest) -> None:
    """The journal keeps programs as trace JSON; a resumed run rebuilds the same programs."""
    space: ProgramSpace = request.getfixturevalue(workload)
    rng = np.random.default_rng(3)
    programs = space.design_spaces() + [space.random_sample(rng) for _ in range(3)]
    for program in programs:
        data = json.loads(json.dumps(space.to_json(program), default=json_default))
        again = space.from_json(data)
        assert again.key == program.key
        assert space.history(again) == space.history(program)
