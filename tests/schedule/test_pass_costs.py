"""A forward pass's fixed cost: the tuned pass runs as compiled host code and computes the same
numbers, and a pass splits into its kernels, the VM's own work and the rest (real builds)."""

from __future__ import annotations

import numpy as np
import pytest
import tvm
from tvm.s_tir import meta_schedule as ms
from tvm.script import ir as I
from tvm.script import relax as R

from colt.schedule.pass_costs import (
    EXEC_MODES,
    compile_tuned,
    empty_kernels,
    kernel_calls,
    measure_pass_costs,
    prepare_passes,
)
from colt.schedule.program import host_target


@I.ir_module
class DenseReluTwice:
    @R.function
    def main(x: R.Tensor((4, 32), "float32"), w: R.Tensor((32, 16), "float32")):
        with R.dataflow():
            y = R.nn.relu(R.matmul(x, w))
            z = R.matmul(y, R.permute_dims(w))
            R.output(z)
        return z


@pytest.fixture(scope="module")
def inputs() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype("float32") for s in ((4, 32), (32, 16))]


def _run(executable: object, inputs: list[np.ndarray]) -> np.ndarray:
    from tvm import relax

    vm = relax.VirtualMachine(executable, tvm.cpu())
    return vm["main"](*(tvm.runtime.tensor(a) for a in inputs)).numpy()


def test_the_tuned_pass_runs_as_compiled_host_code_and_computes_the_same_numbers(
    inputs: list[np.ndarray],
) -> None:
    database = ms.database.MemoryDatabase()
    compiled = compile_tuned(database, DenseReluTwice, host_target(1))
    bytecode = compile_tuned(database, DenseReluTwice, host_target(1), exec_mode="bytecode")
    assert "vm_tir_func" in compiled.as_text()  # main is host code, not interpreted bytecode
    assert "vm_tir_func" not in bytecode.as_text()
    x, w = inputs
    expected = np.maximum(x @ w, 0) @ w.T
    np.testing.assert_allclose(_run(compiled, inputs), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_run(bytecode, inputs), expected, rtol=1e-5, atol=1e-5)


def test_emptied_kernels_keep_their_signature_and_do_nothing() -> None:
    target = host_target(1)
    with target, tvm.transform.PassContext(opt_level=3):
        fused = tvm.transform.Sequential(prepare_passes(target))(DenseReluTwice)
    emptied = empty_kernels(fused)
    kernels = [gv for gv, f in fused.functions.items() if isinstance(f, tvm.tirx.PrimFunc)]
    assert kernels
    for gv in kernels:
        assert len(emptied[gv].params) == len(fused[gv].params)
        assert isinstance(emptied[gv].body, tvm.tirx.Evaluate)
    assert "main" in [gv.name_hint for gv in emptied.functions]  # the Relax function stays


def test_a_pass_splits_into_its_kernels_its_fixed_cost_and_the_rest(
    inputs: list[np.ndarray],
) -> None:
    database = ms.database.MemoryDatabase()
    target = host_target(1)
    args = [tvm.runtime.tensor(a) for a in inputs]
    bytecode = compile_tuned(database, DenseReluTwice, target, exec_mode="bytecode")
    calls = kernel_calls(bytecode, args)
    names = [name for name, _ in calls]
    assert len(names) == 3 and not any(name.startswith("vm.builtin") for name in names)
    assert any("transpose" in name for name in names) and any("relu" in name for name in names)
    assert [tuple(a.shape) for a in calls[0][1]][:2] == [(4, 32), (32, 16)]
    costs = measure_pass_costs(database, DenseReluTwice, target, args)
    assert set(costs) == set(EXEC_MODES)
    for mode, cost in costs.items():
        assert cost.exec_mode == mode and cost.kernel_calls == 3
        assert cost.pass_s > 0 and cost.kernels_s > 0 and cost.fixed_s > 0
        figures = cost.as_json()
        assert figures["interaction_s"] == pytest.approx(
            figures["pass_s"] - figures["kernels_s"] - figures["fixed_s"]
        )
    assert costs["bytecode"].kernels_s == costs["compiled"].kernels_s  # one library, timed once
