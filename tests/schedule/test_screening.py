"""Screened timing on real kernels: a candidate far slower than the best is timed once, every
other candidate gets every repeat, and a run's best is always a fully timed sample."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import tvm
from tvm import te

from colt.schedule.devices import Measurement, open_devices
from colt.schedule.measure import EVALUATOR, RUN_TIMEOUT_S, Measurer, naive_candidate
from colt.schedule.program import host_target
from colt.schedule.screening import Screen

CORES = os.cpu_count() or 1
REPEAT = EVALUATOR["repeat"]


def _matmul(n: int) -> tvm.IRModule:
    a = te.placeholder((n, n), name="A")
    b = te.placeholder((n, n), name="B")
    k = te.reduce_axis((0, n), name="k")
    c = te.compute((n, n), lambda i, j: te.sum(a[i, k] * b[k, j], axis=k), name="C")
    return tvm.IRModule({"main": te.create_prim_func([a, b, c])})


@pytest.fixture(scope="module")
def measurer() -> Iterator[Measurer]:
    devices = open_devices(None, EVALUATOR, RUN_TIMEOUT_S, num_threads=CORES)
    yield Measurer(host_target(), devices, num_threads=CORES)
    devices.runner.pool.shutdown()  # type: ignore[union-attr]  (a local device: its timing worker)


def test_a_slow_candidate_is_timed_once_and_the_others_in_full(measurer: Measurer) -> None:
    # unscheduled: 64^3 takes about a tenth of a millisecond, 256^3 64 times the work
    fast, slow = naive_candidate(_matmul(64)), naive_candidate(_matmul(256))
    screen = Screen(1.5)
    (first, slower, again), _ = measurer.measure([fast, slow, fast], screen)
    assert not first.screened and len(first.run_secs) == REPEAT  # no best yet: in full
    assert slower.screened and len(slower.run_secs) == 1
    assert slower.latency_s is not None and first.latency_s is not None
    assert slower.latency_s > 1.5 * first.latency_s
    # the same kernel again: timed in full unless its first timing strayed past the bar
    assert again.latency_s is not None
    if again.screened:
        assert again.latency_s > 1.5 * first.latency_s
    else:
        assert len(again.run_secs) == REPEAT
    assert screen.best_s == min(first.latency_s, again.latency_s)


def test_without_a_screen_or_a_best_every_candidate_is_timed_in_full(measurer: Measurer) -> None:
    slow = naive_candidate(_matmul(128))
    (unscreened,), _ = measurer.measure([slow])
    (no_best,), _ = measurer.measure([slow], Screen(1.5))
    for measured in (unscreened, no_best):
        assert not measured.screened and len(measured.run_secs) == REPEAT


def test_a_screen_keeps_the_best_of_full_timings_only() -> None:
    screen = Screen(2.0, best_s=1.0)
    assert screen.above_s() == 2.0
    screen.saw(Measurement(3.0, (3.0,), None, screened=True))
    screen.saw(Measurement(None, (), "run failed: x"))
    assert screen.best_s == 1.0
    screen.saw(Measurement(0.5, (0.5,) * REPEAT, None))
    assert screen.best_s == 0.5 and screen.above_s() == 1.0
    assert Screen(1.5).above_s() is None
