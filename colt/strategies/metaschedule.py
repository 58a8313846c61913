"""MetaSchedule's own searches as a strategy: its evolutionary search, or its random replay
of the design space (the baselines COLT is compared with)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from colt.config import TuneConfig


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

    def rounds(self, session: Any, recorder: Any, *, cost_model: Any = None) -> Iterator[None]:
        """``cost_model``: COLT's shared model, not used here: MetaSchedule's search trains an
        XGBModel of its own per task."""
        from colt.schedule.stock import metaschedule_rounds

        return metaschedule_rounds(
            self.config, session, recorder, trials_per_iter=self.trials_per_iter
        )
