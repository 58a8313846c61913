"""The run directory: configuration, the append-only journal, results and the best schedule.

Every state change is written as it happens (one flushed journal line per event), so a run
killed at any moment resumes by replaying its journal; see docs/run-directory.md.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colt.config import TuneConfig
from colt.disk import write_atomic
from colt.errors import UserError
from colt.journal import Journal, json_default
from colt.machine import LoadWatch
from colt.records import RunResults, load_results


def write_json(path: Path, data: Any) -> None:
    """Atomic: a reader (or a resumed run) never sees half a file; a full disk raises DiskFull
    and leaves the old file."""
    write_atomic(path, json.dumps(data, indent=2, default=json_default))


# What a run spends before its clock starts: opening its session (the build and timing workers,
# the design space). Not part of "total", which starts once that is done; the command waits for
# both.
SETUP = "setup"


@dataclass
class Timer:
    """Wall seconds per activity of the whole run, across resumes.

    ``before`` holds what earlier invocations of a resumed run spent (from their last results);
    replaying their journal costs little and is not subtracted.
    """

    seconds: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(
            ("search", "proposals", "build", "run", "verify", "cost_model"), 0.0
        )
    )
    before: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    load: LoadWatch = field(default_factory=LoadWatch)  # other processes' CPU meanwhile

    def elapsed(self) -> float:
        """Wall seconds of the whole run so far, earlier invocations of a resumed run included,
        and the seconds charged for model calls that did not take them (``charge``)."""
        return self.before.get("total", 0.0) + self._this_session()

    def _this_session(self) -> float:
        return time.perf_counter() - self.started + self.seconds.get("charged", 0.0)

    def charge(self, seconds: float) -> None:
        """Counts ``seconds`` the run did not spend as if it had: a scripted model's price per
        call (``colt.search.scripted``), so that every clock of the run sees it."""
        self.add("charged", seconds)

    def add(self, activity: str, seconds: float) -> None:
        self.seconds[activity] = self.seconds.get(activity, 0.0) + seconds

    def as_json(self, *, samples: int = 0, **current: float) -> dict[str, float]:
        """Totals so far; ``current`` overrides this session's figure for an activity.

        With ``samples`` (the run's measured samples, earlier invocations included) each
        total also comes divided by it, as ``<activity>_per_sample_s``: runs of different
        lengths and strategies compare part by part (search, sampling, build, run, ...).
        """
        now = {**self.seconds, **current, "total": self._this_session()}
        if "charged" in self.before:  # a resumed run keeps its charges with none of its own
            now.setdefault("charged", 0.0)
        totals = {k: self.before.get(k, 0.0) + v for k, v in now.items() if not per_sample_key(k)}
        if samples > 0:
            totals |= {f"{k}{PER_SAMPLE_SUFFIX}": v / samples for k, v in list(totals.items())}
        return totals


PER_SAMPLE_SUFFIX = "_per_sample_s"


def per_sample_key(key: str) -> bool:
    """Whether a ``time_s`` key is a per-sample figure (derived, never summed over resumes)."""
    return key.endswith(PER_SAMPLE_SUFFIX)


class RunDir:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.database = path / "database"
        self.results_path = path / "results.json"

    @classmethod
    def create(cls, config: TuneConfig) -> RunDir:
        path = config.out_dir or default_run_path(config)
        if (path / "journal.jsonl").exists():
            raise UserError(
                f"{path} already holds a run; resume it with `colt tune --resume {path}` "
                "or choose another --out"
            )
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as error:
            raise UserError(f"cannot write the run directory {path}: {error.strerror}") from None
        run = cls(path)
        write_json(path / "config.json", {**config.to_json(), "out_dir": str(path)})
        return run

    @classmethod
    def open(cls, path: Path) -> RunDir:
        if not (path / "config.json").exists():
            raise UserError(f"{path} is not a COLT run directory (it has no config.json)")
        return cls(path)

    def config(self) -> TuneConfig:
        return TuneConfig.load(self.path)

    def journal(self) -> Journal:
        return Journal(self.path / "journal.jsonl")

    def results(self) -> RunResults:
        if not self.results_path.exists():
            raise UserError(
                f"{self.path} has no results.json yet: the run has not measured anything"
            )
        return load_results(self.results_path)

    def write_results(self, results: RunResults) -> None:
        """Atomic: a reader (or a resumed run) never sees half a file."""
        write_atomic(self.results_path, results.to_json())


def default_run_path(config: TuneConfig) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = Path(config.workload.split(":")[-1]).name if ":" in config.workload else config.workload
    return Path("runs") / f"{name}-{config.strategy}-{stamp}"
