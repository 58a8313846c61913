"""The searches a run can use. Each is given the run's TVM session and its recorder, and
spends the measurement budget through the recorder (which measures, verifies and journals)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from colt.config import TuneConfig


class Strategy(Protocol):
    search: Any  # COLT's Search once run (its tree and statistics), None for the others

    def run(self, session: Any, recorder: Any) -> None:
        """Spends ``recorder.budget`` on one kernel."""

    def opened(self) -> contextlib.AbstractContextManager[Any]:
        """What a run of many ``rounds`` shares (COLT's model servers) is up inside."""

    def rounds(self, session: Any, recorder: Any) -> Iterator[Any]:
        """One measurement round per step up to ``recorder.budget``; yields COLT's search or
        None, again while the budget is spent, and returns when nothing is left to propose."""


@dataclass
class MetaScheduleStrategy:
    """MetaSchedule's own evolutionary search, or its random replay of the design space."""

    config: TuneConfig
    search: None = None

    trials_per_iter: int = 64

    def run(self, session: Any, recorder: Any) -> None:
        from colt.schedule.stock import run_metaschedule

        run_metaschedule(self.config, session, recorder)

    def opened(self) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext(self)

    def rounds(self, session: Any, recorder: Any) -> Iterator[None]:
        from colt.schedule.stock import metaschedule_rounds

        return metaschedule_rounds(
            self.config, session, recorder, trials_per_iter=self.trials_per_iter
        )


def make_strategy(config: TuneConfig, run_dir: Path, *, trials_per_iter: int = 64) -> Strategy:
    """``trials_per_iter``: the stock searches' round (COLT's is ``config.search``'s)."""
    if config.strategy == "colt":
        from colt.strategies.shared_tree import SharedTreeStrategy

        return SharedTreeStrategy(config, run_dir)
    return MetaScheduleStrategy(config, trials_per_iter=trials_per_iter)
