"""The local device times kernels with the thread count a run asks for, from its first run."""

from __future__ import annotations

import os

import pytest
import tvm

from colt.schedule.devices import open_devices
from colt.schedule.measure import EVALUATOR, RUN_TIMEOUT_S

# What a run asks for by default. TVM caps the count at the cores; left to itself it takes
# fewer (1 on a 2-core VM), which is what this test tells apart.
CORES = os.cpu_count() or 1


@pytest.mark.skipif(CORES < 2, reason="one core: every count TVM could pick is the same")
def test_a_fresh_process_first_device_times_with_every_core(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As in a fresh `colt tune`: nothing has set the count before the device opens. The
    # runner's constructor starts the worker that times every kernel of the run, so the count
    # must be in the environment by then; it used to arrive one step later, and every first
    # run of a process measured its kernels on one thread.
    monkeypatch.delenv("TVM_NUM_THREADS", raising=False)
    device = open_devices(None, EVALUATOR, RUN_TIMEOUT_S, num_threads=CORES)
    try:
        threads = device.runner.pool.submit(tvm.runtime.num_threads).result()
    finally:
        device.runner.pool.shutdown()
    assert threads == CORES
