"""Comparison timings: numpy in float32, PyTorch optional, the measured BLAS peak."""

from __future__ import annotations

import importlib.util
from dataclasses import replace

import numpy as np
import pytest

from colt import library_timings as compare
from colt.workloads import Workload, get_workload
from colt.workloads.base import as_reference, reference_precision


@pytest.fixture(scope="module")
def matmul_small() -> Workload:
    return get_workload("matmul-small")


def test_numpy_reference_is_timed_in_float32(matmul_small: Workload) -> None:
    inputs = compare.workload_inputs(matmul_small)
    assert len(inputs) == 2  # A and B; the zeroed output C is dropped
    reference = matmul_small.reference
    assert reference is not None
    assert as_reference(inputs)[0].dtype == np.float64  # checks stay accurate by default
    with reference_precision(np.float32):
        assert as_reference(inputs)[0].dtype == np.float32
        fast = reference(inputs)[0]
    assert as_reference(inputs)[0].dtype == np.float64
    np.testing.assert_allclose(fast, reference(inputs)[0], rtol=1e-4, atol=1e-4)
    timing = compare.time_numpy(matmul_small, inputs=inputs, repeats=3)
    assert timing.latency_s is not None and timing.latency_s > 0
    assert timing.precision == "float32" and timing.note == ""


def test_torch_is_optional(matmul_small: Workload, monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "torch" else real_find_spec(name, *a),
    )
    assert compare.time_torch(matmul_small).note == "not installed"
    assert compare.machine_summary()["versions"]["torch"] == "not installed"


def test_torch_timing_when_installed(matmul_small: Workload) -> None:
    if importlib.util.find_spec("torch") is None:
        pytest.skip("PyTorch is not installed (optional: the 'bench' extra)")
    timing = compare.time_torch(matmul_small, repeats=3)
    assert timing.latency_s is not None and timing.version
    without_onednn = compare.time_torch(matmul_small, repeats=3, onednn=False)
    assert without_onednn.latency_s is not None
    backends = compare.torch_backends()
    assert isinstance(backends["onednn"], bool) and isinstance(backends["mkl"], bool)
    if backends["onednn"]:  # the build says which oneDNN it carries
        assert backends["onednn_version"]


def test_failures_are_data(matmul_small: Workload) -> None:
    def broken(inputs: list[np.ndarray]) -> list[np.ndarray]:
        raise ValueError("shapes do not match\nsecond line")

    timing = compare.time_numpy(replace(matmul_small, reference=broken), repeats=1)
    assert timing.latency_s is None and timing.note == "ValueError: shapes do not match"
    assert compare.time_numpy(replace(matmul_small, reference=None)).note == "not applicable"


def test_measured_peak() -> None:
    peak = compare.measured_peak_gflops(size=256, repeats=3)
    assert peak.gflops > 0.1 and peak.label == "measured BLAS peak"
    assert "256x256x256" in peak.method


def test_timings_in_a_fresh_process_record_the_blas_kernels() -> None:
    """The environment is left as it is here: tests never clear the OpenBLAS overrides."""
    timings = compare.compare_in_subprocess("matmul-small")
    assert timings["cleared_env"] == []
    assert timings["numpy"]["latency_s"] and timings["numpy"]["latency_s"] > 0
    apis = {entry.get("internal_api") for entry in timings["blas"]}
    assert apis & {"openblas", "mkl", "blis"}, timings["blas"]
