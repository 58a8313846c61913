"""A run of ``colt tune``: a kernel run (``kernel.KernelRun``) or a network run
(``network.NetworkRun``), two implementations of one protocol. ``colt.api`` picks one by the
workload and executes it; both journal every measurement into the run directory and write
``results.json`` as they go (docs/run-directory.md)."""

from __future__ import annotations

from typing import Protocol


class Run(Protocol):
    def execute(self) -> None:
        """Measure until the budget is spent (or resume to it), then write the results."""
