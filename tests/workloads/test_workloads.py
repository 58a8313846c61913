"""Workload registry, references, inputs and user-kernel loading (small variants only run)."""

from __future__ import annotations

import functools
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tvm

from colt.errors import UserError
from colt.workloads import Workload, get_workload, make_inputs, workload_names
from colt.workloads.inputs import buffer_params, written_params

SMALL = [name for name in workload_names(networks=False) if get_workload(name).small]
# TVM's own test workloads have no PyTorch twin and no -small twin: see test_tvm_suite.py.
FULL = [
    name
    for name in workload_names(include_small=False, networks=False)
    if get_workload(name).family != "tvm"
]

# Real model dimensions every full-size parameter list must show (see each module's docstring).
FULL_SHAPES = {
    "matmul": [(512, 512), (512, 512), (512, 512)],
    "llama3-8b-attention": [(32, 256, 128), (8, 256, 128), (8, 256, 128), (32, 256, 128)],
    "deepseek-r1-moe": [
        (4, 7168),
        (4, 2),
        (4, 2048, 7168),
        (4, 2048, 7168),
        (4, 7168, 2048),
        (4, 7168),
    ],
    "flux-attention": [(24, 256, 128)] * 4,
    "flux-conv": [(1, 512, 16, 16), (512, 512, 3, 3), (512,), (1, 512, 16, 16)],
    "llama4-scout-mlp": [(4, 5120), (8192, 5120), (8192, 5120), (5120, 8192), (4, 5120)],
}


def _target() -> tvm.target.Target:
    cpu = tvm.target.codegen.llvm_get_system_cpu()
    return tvm.target.Target({"kind": "llvm", "mcpu": cpu, "num-cores": 2})


@functools.cache
def _run_unscheduled(name: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Inputs and the outputs of the unscheduled build of a built-in (compiled once per name)."""
    workload = get_workload(name)
    func = workload.build()
    arrays = make_inputs(workload, func, np.random.default_rng(0))
    tensors = [tvm.runtime.tensor(array, tvm.cpu()) for array in arrays]
    tvm.compile(func, target=_target())(*tensors)
    split = len(arrays) - workload.num_outputs
    return arrays[:split], [tensor.numpy() for tensor in tensors[split:]]


def _assert_close(workload: Workload, actual: list[np.ndarray], expected: list[np.ndarray]) -> None:
    assert len(actual) == len(expected) == workload.num_outputs
    for got, want in zip(actual, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=workload.rtol, atol=workload.atol)


def _reference(workload: Workload, inputs: list[np.ndarray]) -> list[np.ndarray]:
    assert workload.reference is not None
    return workload.reference(inputs)


def _shapes(func: tvm.tirx.PrimFunc) -> list[tuple[int, ...]]:
    return [tuple(int(dim) for dim in param.shape) for param in buffer_params(func)]


def test_registry_lists_every_builtin() -> None:
    families = {
        "matmul",
        "llama3-8b-attention",
        "deepseek-r1-moe",
        "flux-attention",
        "flux-conv",
        "llama4-scout-mlp",
    }
    assert set(FULL) == families
    ours = {name for name in workload_names(networks=False) if get_workload(name).family != "tvm"}
    assert ours == families | {f"{name}-small" for name in families}
    assert all(get_workload(name).small for name in SMALL)


@pytest.mark.parametrize("name", SMALL)
def test_small_variant_matches_reference(name: str) -> None:
    workload = get_workload(name)
    inputs, outputs = _run_unscheduled(name)
    _assert_close(workload, outputs, _reference(workload, inputs))


@pytest.mark.parametrize("name", SMALL)
def test_corrupted_output_fails_tolerance(name: str) -> None:
    workload = get_workload(name)
    inputs, outputs = _run_unscheduled(name)
    corrupted = [output.copy() for output in outputs]
    corrupted[0].flat[corrupted[0].size // 2] += 0.01  # far below any plausible kernel bug
    with pytest.raises(AssertionError):
        _assert_close(workload, corrupted, _reference(workload, inputs))


@pytest.mark.parametrize("name", SMALL)
def test_inputs_keep_outputs_order_one(name: str) -> None:
    workload = get_workload(name)
    inputs, _ = _run_unscheduled(name)
    std = float(np.std(_reference(workload, inputs)[0]))
    assert 0.05 < std < 5.0


@pytest.mark.parametrize("name", SMALL)
def test_torch_impl_matches_reference(name: str) -> None:
    pytest.importorskip("torch")
    workload = get_workload(name)
    inputs, _ = _run_unscheduled(name)
    assert workload.torch_impl is not None
    _assert_close(workload, workload.torch_impl(inputs), _reference(workload, inputs))


@pytest.mark.parametrize("name", FULL)
def test_full_size_builds_with_real_dims(name: str) -> None:
    workload = get_workload(name)
    func = workload.build()
    assert isinstance(func, tvm.tirx.PrimFunc)
    assert _shapes(func) == FULL_SHAPES[name]
    assert workload.flops > 0 and workload.reference and workload.torch_impl
    assert 1e-5 <= workload.rtol <= 1e-3 and 1e-5 <= workload.atol <= 1e-3
    assert workload.description


@pytest.mark.parametrize("name", workload_names(networks=False))
def test_flops_and_outputs_agree_with_the_program(name: str) -> None:
    from tvm.s_tir.analysis import estimate_tir_flops

    workload = get_workload(name)
    func = workload.build()
    estimate = estimate_tir_flops(tvm.IRModule({"main": func}))
    assert workload.flops == pytest.approx(estimate, rel=0.03)
    written = written_params(func)
    num_inputs = len(written) - workload.num_outputs
    assert written == [False] * num_inputs + [True] * workload.num_outputs


def test_make_inputs_shapes_dtypes_and_zeroed_outputs() -> None:
    workload = get_workload("deepseek-r1-moe-small")
    func = workload.build()
    arrays = make_inputs(workload, func, np.random.default_rng(1))
    assert [array.shape for array in arrays] == _shapes(func)
    assert all(array.dtype == np.float32 for array in arrays)
    assert not arrays[-1].any() and arrays[0].any()
    again = make_inputs(workload, func, np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip(arrays, again, strict=True))


def test_unknown_builtin_lists_choices() -> None:
    with pytest.raises(UserError, match="unknown workload 'matmull'.*llama3-8b-attention"):
        get_workload("matmull")
    with pytest.raises(UserError, match="kernels.py:function"):
        get_workload("kernels.py")


# --- user kernels --------------------------------------------------------------------------

VECTOR_ADD = """
    from tvm import te

    def vector_add():
        a = te.placeholder((64,), name="A")
        b = te.placeholder((64,), name="B")
        c = te.compute((64,), lambda i: a[i] + b[i], name="C")
        return te.create_prim_func([a, b, c])
"""


def _kernel_file(tmp_path: Path, source: str, name: str = "kernels.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def test_user_kernel_loads_and_runs(tmp_path: Path) -> None:
    path = _kernel_file(tmp_path, VECTOR_ADD)
    workload = get_workload(f"{path}:vector_add")
    assert (workload.family, workload.reference, workload.num_outputs) == ("user", None, 1)
    assert workload.flops == 64
    func = workload.build()
    a, b, c = make_inputs(workload, func, np.random.default_rng(0))
    tensors = [tvm.runtime.tensor(array, tvm.cpu()) for array in (a, b, c)]
    tvm.compile(func, target=_target())(*tensors)
    np.testing.assert_allclose(tensors[2].numpy(), a + b, rtol=1e-6)


def test_user_kernel_irmodule_gather_and_two_outputs(tmp_path: Path) -> None:
    source = """
        import tvm
        from tvm import te

        def gather():
            table = te.placeholder((10, 4), name="table")
            index = te.placeholder((6,), name="index", dtype="int32")
            rows = te.compute((6, 4), lambda i, j: table[index[i], j], name="rows")
            twice = te.compute((6, 4), lambda i, j: rows[i, j] * 2.0, name="twice")
            return tvm.IRModule({"main": te.create_prim_func([table, index, rows, twice])})
    """
    workload = get_workload(f"{_kernel_file(tmp_path, source)}:gather")
    assert workload.num_outputs == 2
    table, index, rows, twice = make_inputs(workload, workload.build(), np.random.default_rng(0))
    assert index.dtype == np.int32 and 0 <= index.min() and index.max() < 4  # smallest float dim
    assert not rows.any() and not twice.any()


@pytest.mark.parametrize(
    ("source", "function", "message"),
    [
        (VECTOR_ADD, "vector_sub", r"no function 'vector_sub'; it defines vector_add"),
        ("X = 1\n", "f", r"no function 'f'; it defines no functions"),
        (
            "def broken():\n    raise ValueError('shape mismatch')\n",
            "broken",
            r"raised ValueError: shape mismatch",
        ),
        (
            "def wrong():\n    return 42\n",
            "wrong",
            r"returned int, expected a tvm.tirx.PrimFunc, an IRModule",
        ),
        (
            "import tvm\ndef empty():\n    return tvm.IRModule({})\n",
            "empty",
            r"IRModule with 0 PrimFuncs",
        ),
        ("import nonexistent_module_xyz\n", "f", r"importing .* failed: ModuleNotFoundError"),
    ],
)
def test_bad_user_kernels_raise_user_error(
    tmp_path: Path, source: str, function: str, message: str
) -> None:
    path = _kernel_file(tmp_path, source)
    with pytest.raises(UserError, match=message) as caught:
        get_workload(f"{path}:{function}")
    assert "\n" not in str(caught.value)


def test_missing_user_kernel_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        get_workload(f"{tmp_path / 'absent.py'}:kernel")


def test_user_kernel_with_inputs_after_outputs(tmp_path: Path) -> None:
    source = """
        from tvm import te

        def backwards():
            a = te.placeholder((8,), name="A")
            b = te.compute((8,), lambda i: a[i] + 1.0, name="B")
            return te.create_prim_func([b, a])
    """
    with pytest.raises(UserError, match="inputs before its outputs"):
        get_workload(f"{_kernel_file(tmp_path, source)}:backwards")
