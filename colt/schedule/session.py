"""The TVM side of one run: the workload's module, its program space, measurement, the
MetaSchedule database and output verification."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tvm
from tvm.s_tir import meta_schedule as ms

from colt.disk import appending_lines, cut_torn_tail
from colt.schedule.devices import DeviceFault, LocalDevice, TrackedDevices, open_devices
from colt.schedule.measure import (
    EVALUATOR,
    RUN_TIMEOUT_S,
    Measurement,
    Measurer,
    compare,
    naive_candidate,
    run_once,
)
from colt.schedule.program import ProgramSpace
from colt.schedule.weight_layouts import LAYOUT_FREE
from colt.workloads import Workload, make_inputs

VERIFY_SEED = 20260202  # fixed, so every run of a workload is checked on the same inputs

WRONG_RESULT = "wrong result"  # the error prefix of a kernel whose outputs failed verification
UNVERIFIED = "unverified"  # the prefix when no device could run the check: never a new best


class TuningSession:
    def __init__(
        self,
        workload: Workload,
        target: tvm.target.Target,
        *,
        num_threads: int,
        database_dir: Path | None = None,
        devices: LocalDevice | TrackedDevices | None = None,
        database: ms.database.JSONDatabase | None = None,
    ) -> None:
        """The database is ``database_dir``'s, or ``database`` shared with other sessions (a
        network's tasks: one database, so that ``compile_relax`` finds every task in it)."""
        self.workload = workload
        self.target = target
        self.func = workload.build()
        self.mod = tvm.IRModule({"main": self.func})
        self.space = ProgramSpace(self.func, target)
        self.devices = devices or open_devices(
            None, EVALUATOR, RUN_TIMEOUT_S, num_threads=num_threads
        )
        self.measurer = Measurer(target, self.devices, num_threads=num_threads)
        if database is None:
            assert database_dir is not None, "a session needs a database or its directory"
            database = open_database(database_dir)
        self.database = database
        known = self.database.has_workload(self.mod)
        with appending_lines(Path(self.database.path_workload), expected=not known):
            self.db_workload = self.database.commit_workload(self.mod)
        self.inputs = make_inputs(workload, self.func, np.random.default_rng(VERIFY_SEED))
        # A network task's kernel is built without the copies of its weights into the layouts
        # the tuner chose (colt.schedule.weight_layouts): only a build of the whole program
        # runs on the inputs as they are, so its timed artifact is never the one checked.
        self._checks_artifacts = LAYOUT_FREE not in (self.func.attrs or {})
        self._expected: list[np.ndarray] | None = None

    def measure_naive(self) -> Measurement:
        try:
            (result,), _ = self.measurer.measure([naive_candidate(self.mod)])
        finally:
            self.measurer.clean()
        return result

    def verify(self, mod: tvm.IRModule, artifact: str | None = None) -> str | None:
        """None when ``mod`` computes what the reference computes on random inputs, else why not;
        ``artifact``: ``mod`` as built and timed (``Measurement.artifact``), run as it is.
        Raises DeviceFault when no device could run it: that says nothing about the kernel."""
        expected = self._expected_all()  # first: it may redraw the inputs
        try:
            if artifact is not None and self._checks_artifacts and Path(artifact).exists():
                inputs = [a.copy() for a in self.inputs]
                got = self.devices.run_artifact(Path(artifact), inputs)
            else:
                got = self._run(mod)
        except DeviceFault:
            raise
        except Exception as error:  # a kernel that cannot even run is a failed verification
            return f"the kernel failed to run: {error}"
        return compare(
            self._outputs(got),
            self._outputs(expected),
            rtol=self.workload.rtol,
            atol=self.workload.atol,
        )

    def _expected_all(self) -> list[np.ndarray]:
        """Every param after a reference run: numpy for built-ins, the unscheduled build else."""
        if self._expected is None:
            if self.workload.reference is not None:
                n_in = len(self.inputs) - self.workload.num_outputs
                outputs = self.workload.reference([a.copy() for a in self.inputs[:n_in]])
                self._expected = [*self.inputs[:n_in], *outputs]
            else:
                self._expected = self._reference_run()
        return self._expected

    def _reference_run(self) -> list[np.ndarray]:
        """The unscheduled build's params after one run. A network task's inputs are what the
        layers before it compute, and N(0, 1) draws can leave its domain (an RMSNorm task's
        mean of squares comes in negative: rsqrt gives NaN rows, and no candidate could ever
        match them); then the inputs are redrawn as magnitudes, kept when they give fewer
        non-finite outputs."""
        expected = self._run(self.mod)
        if _non_finite(self._outputs(expected)) == 0:
            return expected
        positive = [np.abs(a) if a.dtype.kind == "f" else a for a in self.inputs]
        retried = run_once(self.mod, self.target, self.devices, [a.copy() for a in positive])
        if _non_finite(self._outputs(retried)) < _non_finite(self._outputs(expected)):
            self.inputs, expected = positive, retried
        return expected

    def _run(self, mod: tvm.IRModule) -> list[np.ndarray]:
        return run_once(mod, self.target, self.devices, [a.copy() for a in self.inputs])

    def _outputs(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        # A user kernel does not say which params it writes: compare all of them.
        if self.workload.reference is None:
            return arrays
        return arrays[len(arrays) - self.workload.num_outputs :]

    def commit_unscheduled(self, run_secs: list[float]) -> None:
        """The unscheduled program as a record, so the database's best is never slower.

        MetaSchedule's database passes over a record whose trace is empty (it was never
        found, and a task whose samples were all slower kept its slowest-but-one), so the
        trace looks up the function's root block by its own name (TE and TVMScript call it
        "root", an imported function may not): one instruction that changes nothing."""
        sch = tvm.s_tir.Schedule(self.mod)
        sch.get_sblock(root_block_name(self.func))
        self.commit(sch, tuple(run_secs))

    def commit(self, sch: tvm.s_tir.Schedule, run_secs: tuple[float, ...]) -> None:
        record = ms.database.TuningRecord(
            sch.trace,
            self.db_workload,
            list(run_secs),
            self.target,
            ms.arg_info.ArgInfo.from_prim_func(self.func),
        )
        # A record the disk refused would be lost without a word: its sample is then not
        # journaled either, and a resumed run measures it again.
        with appending_lines(Path(self.database.path_tuning_record)):
            self.database.commit_tuning_record(record)


def open_database(database_dir: Path) -> ms.database.JSONDatabase:
    """The run's JSON database. A line cut short (a kill mid-write) would make MetaSchedule
    refuse the whole file, so a torn last line of each file is cut off first."""
    database_dir.mkdir(parents=True, exist_ok=True)
    for name in ("database_workload.json", "database_tuning_record.json"):
        cut_torn_tail(database_dir / name)
    return ms.database.JSONDatabase(work_dir=str(database_dir))


def root_block_name(func: tvm.tirx.PrimFunc) -> str:
    """The name of the block that wraps a scheduled-TIR function's body."""
    block = getattr(func.body, "block", None)
    if block is None:
        raise ValueError("the function's body is not a block: it cannot be scheduled")
    return str(block.name_hint)


def _non_finite(arrays: list[np.ndarray]) -> int:
    return sum(
        int(np.size(a) - np.count_nonzero(np.isfinite(a))) for a in arrays if a.dtype.kind == "f"
    )
