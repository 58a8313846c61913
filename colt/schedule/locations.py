"""Which compute locations TVM keeps for a block: probed through ``sample_compute_location``,
the one public way to ask (TVM 0.27 exposes no direct query)."""

from __future__ import annotations

from typing import Any

from tvm.s_tir import Schedule
from tvm.s_tir.schedule import Instruction, SBlockRV

from colt.schedule.trace_points import INLINE_LOCATION

_DEEPEST = 1 << 30  # a compute location below every loop: it snaps to the deepest legal one


class LocationProbe:
    """A decision provider that finds, at instruction ``index``, the locations kept as given.

    TVM snaps an illegal location to the deepest legal one above it (root, -1, when there is
    none), so probing from below every loop and then just above each location found visits
    each legal location once: one probe per legal location (each probe costs TVM a legality
    check of every loop, ~5 ms on a conv2d) instead of one per loop of the module.
    """

    def __init__(self, sch: Schedule, index: int) -> None:
        self.sch = sch
        self.index = index
        self.position = 0
        self.legal: tuple[int, ...] = ()

    def __call__(self, inst: Instruction, inputs: list, attrs: list, decision: Any) -> Any:
        if self.position == self.index:
            self.legal = self._walk_down(inputs[0])
        self.position += 1
        return decision

    def _walk_down(self, block: SBlockRV) -> tuple[int, ...]:
        legal: list[int] = []
        location = _DEEPEST
        while location >= INLINE_LOCATION:
            snapped = self._snap(block, location)
            if snapped in legal:  # the root again: inlining is not legal
                break
            legal.append(snapped)
            location = snapped - 1
        return tuple(sorted(legal))

    def _snap(self, block: SBlockRV, location: int) -> int:
        probe = self.sch.copy()
        probe.sample_compute_location(block, decision=location)
        trace = probe.trace
        return int(trace.get_decision(trace.insts[-1]))
