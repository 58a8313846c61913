"""The searches a run can use. Each is given the run's TVM session and its recorder, and
spends the measurement budget through the recorder (which measures, verifies and journals)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from colt.config import TuneConfig


class Strategy(Protocol):
    search: Any  # COLT's Search once run (its tree and statistics), None for the others

    def run(self, session: Any, recorder: Any) -> None: ...


@dataclass
class MetaScheduleStrategy:
    """MetaSchedule's own evolutionary search, or its random replay of the design space."""

    config: TuneConfig
    search: None = None

    def run(self, session: Any, recorder: Any) -> None:
        from colt.schedule.stock import run_metaschedule

        run_metaschedule(self.config, session, recorder)


def make_strategy(config: TuneConfig, run_dir: Path) -> Strategy:
    if config.strategy == "colt":
        from colt.strategies.shared_tree import SharedTreeStrategy

        return SharedTreeStrategy(config, run_dir)
    return MetaScheduleStrategy(config)
