"""The machine's roofs, measured with TVM: an FMA microkernel and a stream triad."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from colt.schedule import roofline
from colt.schedule.program import host_target

pytestmark = pytest.mark.slow


def _cpu_has_fma() -> bool:
    flags = next(
        (
            line
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("flags")
        ),
        "",
    )
    return " fma " in f" {flags} "


def test_the_probe_measures_both_roofs_once_and_caches_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLT_ROOFS_FILE", str(tmp_path / "colt" / "roofs.json"))
    roofs = roofline.measured_roofs(host_target(1), 1)
    assert roofs.peak_gflops > 1.0 and roofs.bandwidth_gbs > 0.1
    assert roofs.threads == 1 and roofs.mcpu
    if _cpu_has_fma():
        assert roofs.isa.endswith(", FMA"), roofs.isa  # the microkernel really uses FMA
    assert (tmp_path / "colt" / "roofs.json").exists()

    def no_second_probe(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached roofs were measured again")

    monkeypatch.setattr(subprocess, "run", no_second_probe)
    assert roofline.measured_roofs(host_target(1), 1) == roofs


def test_a_vector_fma_kernel_computes_what_it_claims() -> None:
    """The microkernel's loop is the recurrence x <- 0.9999 x + 0.0001, chain by chain."""
    import numpy as np
    import tvm

    lib = tvm.compile(roofline._fma_kernel(1, 8, 4), target=host_target(1))
    data = tvm.runtime.tensor(np.full((1, 32), 0.5, dtype="float32"), tvm.cpu())
    lib["main"](data, 10)
    expected = np.float32(0.5)
    for _ in range(10):
        expected = np.float32(expected * np.float32(0.9999) + np.float32(0.0001))
    np.testing.assert_allclose(data.numpy(), expected, rtol=1e-6)
