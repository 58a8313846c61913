"""Screened timing: a candidate whose first timing is already far slower than the best known
is not timed again (``--screen``). Pure bookkeeping plus the evaluator a timing worker or an
RPC session runs; ``colt.schedule.devices`` applies it."""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # devices imports this module
    from colt.schedule.devices import Measurement


@dataclass
class Screen:
    """Stops timing a candidate after its probe (a timing of at least ``PROBE_MS``) when that
    is slower than ``ratio`` times the best latency known (before its batch, or earlier in it):
    such a candidate cannot be the best, and its probe is all the cost model needs. The others
    are timed in full.

    Most candidates of a search are far from its best, and each repeat of a slow one costs its
    whole latency (five timings of at least 50 ms each); stock MetaSchedule times every one in
    full."""

    ratio: float
    best_s: float | None = None

    def above_s(self) -> float | None:
        return None if self.best_s is None else self.ratio * self.best_s

    def saw(self, measured: Measurement) -> Measurement:
        """Keeps the best of a fully timed ``measured``; returns it."""
        latency = measured.latency_s
        if latency is not None and not measured.screened:
            self.best_s = latency if self.best_s is None else min(self.best_s, latency)
        return measured


# The probe lasts at least this long. In a timing worker one call of a 40 us kernel read far
# above its median (the call's own overhead) and screened even a run's best conv1d. A 10 ms probe
# strays from the full median about as little as a 50 ms timing: 99th percentile of probe ÷
# median 1.05 against 1.04 on a matmul run's 64 programs, 1.07 against 1.04 on 40 conv1d ones,
# none past 1.3 (benchmarks/probe_noise.py, docs/results/2026-12-08-timing-first-round).
PROBE_MS = 10


def screened_evaluator(
    rt_mod: Any, device: Any, config: Any, repeated_args: Any, *, above_s: float
) -> list[float]:
    """MetaSchedule's evaluator behind a probe: one timing of at least ``PROBE_MS`` (after
    TVM's warm-up run), and the full ``config`` timing only when that was no slower than
    ``above_s`` (a worker or an RPC session runs it). A screened 10 ms candidate then costs
    two runs, not the eight of a 50 ms timing. A candidate that passes is timed afresh: its
    probe is not one of the ``repeat`` timings."""
    from tvm.s_tir.meta_schedule.runner.utils import run_evaluator_common

    if config.repeat > 1:
        probe = config._replace(number=1, repeat=1, min_repeat_ms=PROBE_MS)
        first = run_evaluator_common(rt_mod, device, probe, repeated_args)
        if statistics.median(first) > above_s:
            return first
    return run_evaluator_common(rt_mod, device, config, repeated_args)


def evaluator_for(screen: Screen | None) -> Callable[..., list[float]] | None:
    """The evaluator a candidate is timed with now; None: MetaSchedule's own."""
    above_s = screen.above_s() if screen is not None else None
    return None if above_s is None else functools.partial(screened_evaluator, above_s=above_s)
