"""The searches a run can use, one module each: ``shared_tree`` (COLT) and ``metaschedule``
(MetaSchedule's evolutionary and random searches). Each is given the run's TVM session and its
recorder, and spends the measurement budget through the recorder (which measures, verifies
and journals)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from colt.config import TuneConfig


class Strategy(Protocol):
    search: Any  # COLT's Search once run (its tree and statistics), None for the others

    def run(self, session: Any, recorder: Any) -> None:
        """Spends ``recorder.budget`` on one kernel."""

    def opened(self) -> contextlib.AbstractContextManager[Any]:
        """What a run of many ``rounds`` shares (COLT's model servers) is up inside."""

    def rounds(self, session: Any, recorder: Any, *, cost_model: Any = None) -> Iterator[Any]:
        """One measurement round per step up to ``recorder.budget``; yields COLT's search or
        None, again while the budget is spent, and returns when nothing is left to propose.
        ``cost_model``: one a network run shares among its tasks (COLT's search uses it)."""


def make_strategy(config: TuneConfig, run_dir: Path, *, trials_per_iter: int = 64) -> Strategy:
    """``trials_per_iter``: the stock searches' round (COLT's is ``config.search``'s)."""
    if config.strategy == "colt":
        from colt.strategies.shared_tree import SharedTreeStrategy

        return SharedTreeStrategy(config, run_dir)
    from colt.strategies.metaschedule import MetaScheduleStrategy

    return MetaScheduleStrategy(config, trials_per_iter=trials_per_iter)
