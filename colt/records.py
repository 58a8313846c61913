"""The typed record of a run's ``results.json``: a run (``colt.runs``) builds it whole from its
typed parts and writes it atomically, and the report, the bench, the CLI and the benchmarks read
it (``load_results``). ``docs/run-directory.md`` shows it field by field; a test checks the two
agree.

Reading is lenient where older versions wrote less (missing fields take their defaults, fields
no longer written are ignored), so earlier runs still load; a file this version cannot read
at all is refused with one sentence naming the version that wrote it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_serializer

from colt.errors import UserError


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class WorkloadFacts(_Record):
    name: str
    flops: float = 0.0
    bytes: float = 0.0  # every buffer parameter once: the least one call moves (0: unknown)
    description: str = ""


class CurvePoint(_Record):
    """One measured sample, in measurement order."""

    sample: int
    latency_s: float | None = None  # None: building, running or verification failed
    best_latency_s: float | None = None  # best verified latency so far
    speedup: float | None = None  # naive latency / best_latency_s
    error: str | None = None
    origin: str | None = None  # COLT: initial, fresh, proposal or rollout (colt.search.pool)
    proposed_by: str | None = None  # the model whose proposal it was
    device: str | None = None  # what timed it: "local", or an RPC server's host:port
    retries: tuple[str, ...] = ()  # "device: why" for each try a device fault ended
    elapsed_s: float | None = None  # wall seconds since the run started (across resumes)
    screened: bool = False  # timed once: far slower than the best (colt.schedule.screening.Screen)


class ModelEntry(_Record):
    name: str
    parameters: float = 0.0


class ModelStatsRecord(_Record):
    """What one model did in a COLT run (``colt.search.stats``)."""

    calls: int = 0  # every call: regular, floor and course-alteration calls
    regular_calls: int | None = None  # None in runs written before it was recorded
    children: int | None = None  # children made from its answers; None in older runs
    hits: int = 0
    hit_rate: float = 0.0
    errors: dict[str, int] = Field(default_factory=dict)  # answer errors and faults together
    answer_errors: dict[str, int] | None = None  # None in older runs: split ``errors``
    repaired_arguments: int = 0  # illegal arguments moved to the nearest legal value
    faults: dict[str, int] | None = None
    course_alterations: int = 0
    floor_calls: int = 0
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class SearchRecord(_Record):
    """What COLT's search did (``colt.search.summary``)."""

    expansions: int = 0
    tree_size: int = 0
    tree_depth: int = 0
    roots: int | None = None
    course_alterations: int = 0
    floor_calls: int = 0
    duplicates: int = 0
    invalid_edits: int = 0
    repaired_arguments: int = 0
    origins: dict[str, int] = Field(default_factory=dict)
    proposals_by_model: dict[str, int] = Field(default_factory=dict)
    expansions_by_depth: dict[str, dict[str, int]] = Field(default_factory=dict)
    search_overhead_per_expansion_s: float | None = None
    overhead_by_round: list[dict[str, float]] = Field(default_factory=list)
    time_s: dict[str, float] = Field(default_factory=dict)
    model_calls: int | None = None  # None in runs written before one call answered a node
    calls_per_expansion: float | None = None
    # per source of measured samples (each model, rollout, fresh, initial): samples,
    # improvements, improvement_share, best_latency_s, and a model's calls and seconds
    credit: dict[str, dict[str, float | int | None]] = Field(default_factory=dict)
    # the models' share of the wall: cap, share at the end (smaller while they earned less
    # than they cost), their gain and the search's (search_gain: absent in runs written before
    # it was weighed), whether they waited for a stalled round and how many of the rounds
    # stalled (absent before they waited); None in runs written before the share was earned
    model_share: dict[str, bool | int | float] | None = None


class DeviceCounts(_Record):
    samples: int = 0  # samples the device timed
    retried: int = 0  # of them, those that needed another try
    failed_tries: int = 0  # tries that a fault ended on this device


class DeviceEvent(_Record):
    """A remote device's state change during the run (``colt.schedule.device_health``)."""

    time: float  # seconds since the epoch
    device: str  # host:port
    state: str  # lost | readmitted
    reason: str


class MachineLoad(_Record):
    """How busy other processes kept the machine while the run's last invocation ran."""

    others_cores: float  # cores they kept busy on average
    load_average: float  # the 1-minute load average at the reading
    busy: bool  # others_cores above colt.machine.BUSY_CORES: figures taken under load


class PeakSpread(_Record):
    """The repeated readings the measured peak is the best of (GFLOP/s)."""

    min_gflops: float
    median_gflops: float
    max_gflops: float
    repeats: int = 0
    stable: bool = False  # the best rose < 2 % over the last readings before the time cap


class RoofsRecord(_Record):
    """The machine's measured roofs (``colt.schedule.roofline``)."""

    peak_gflops: float
    bandwidth_gbs: float
    threads: int
    isa: str
    mcpu: str = ""
    cpu: str = ""
    method: str = ""
    # the peak first recorded, when the run's best kernel beat it and the probe ran again
    disturbed_peak_gflops: float | None = None
    peak_spread: PeakSpread | None = None  # none: measured before the probe repeated itself


class TaskRecord(_Record):
    """One task of a network run: a kernel MetaSchedule extracted, tuned like a kernel run."""

    name: str
    weight: int = 1  # calls per forward pass
    flops: float = 0.0
    samples: int = 0
    rounds: int = 0
    one_point: bool = False  # its design space is one program: measured once, not searched
    naive_latency_s: float | None = None
    best_latency_s: float | None = None  # best verified kernel latency
    # the tuned pass's program of it reads a weight in a layout of its own choosing, made
    # once at load (``colt.schedule.weight_layouts``)
    weight_layout: bool = False
    error: str | None = None  # why it could not be tuned (it keeps its default build)
    search: SearchRecord | None = None


class NetworkRecord(_Record):
    """A network run's whole-forward-pass figures (``naive_latency_s`` and ``best_latency_s``
    of the run are the unscheduled and tuned passes; its curve holds task-weighted estimates:
    the sum over tasks of weight × best kernel latency so far)."""

    layers: int = 1  # the model repeats this network so many times (figures are for one)
    tasks: list[TaskRecord] = Field(default_factory=list)
    round_size: int = 0  # samples per task round
    unscheduled_s: float | None = None
    tuned_s: float | None = None
    eager_s: float | None = None  # PyTorch eager, same CPU and threads; None without a module
    unscheduled_error: str | None = None  # the unscheduled build against the reference
    verification_error: str | None = None  # the tuned build against the reference


class VerificationFailure(_Record):
    """A new best whose output did not match the reference (a network run names its task)."""

    task: str | None = None  # a network run's task; not written for a kernel run
    sample: int  # the sample's number in its recorder's curve (a network run's: its task's)
    error: str

    @model_serializer(mode="wrap")
    def _without_a_task_of_a_kernel_run(self, handler: Any) -> Any:
        data = handler(self)
        if self.task is None:
            data.pop("task", None)
        return data


class RunFacts(_Record):
    """What does not change during a run: identity, setting, versions, machine, evaluator."""

    colt_version: str = "unknown"
    workload: WorkloadFacts
    strategy: str
    proposer: str | None = None
    model_set: str | None = None
    seed: int = 0
    trials: int = 0
    target: dict[str, Any] = Field(default_factory=dict)
    num_threads: int | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    machine: dict[str, Any] = Field(default_factory=dict)
    measurement: dict[str, Any] = Field(default_factory=dict)
    roofs: RoofsRecord | None = None  # None: remote devices, or a run before roofs were measured
    search_config: dict[str, Any] = Field(default_factory=dict)


class RunResults(RunFacts):
    """Everything ``results.json`` holds: the run's facts, its figures, and what the search
    did."""

    status: str = "unknown"  # running | complete
    naive_latency_s: float | None = None
    best_latency_s: float | None = None
    speedup: float | None = None
    verified: bool = False
    verification_failures: list[VerificationFailure] = Field(default_factory=list)
    samples: int = 0
    time_budget_s: float | None = None  # --time
    stopped_by: str | None = None  # "time" when the wall-clock budget ended the run early
    curve: list[CurvePoint] = Field(default_factory=list)
    devices: dict[str, DeviceCounts] = Field(default_factory=dict)
    device_events: list[DeviceEvent] = Field(default_factory=list)  # lost / readmitted, in order
    machine_load: MachineLoad | None = None  # None: written before it was recorded
    time_s: dict[str, float] = Field(default_factory=dict)
    search: SearchRecord | None = None
    models: list[ModelEntry] = Field(default_factory=list)
    model_stats: dict[str, ModelStatsRecord] = Field(default_factory=dict)
    network: NetworkRecord | None = None  # a network run's forward pass and tasks
    warm_start: dict[str, Any] | None = None  # what the run took from the record library

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"


def parse_results(data: Any, source: str = "results.json") -> RunResults:
    """``data`` as a run's results; one sentence naming the writing version when unreadable."""
    try:
        return RunResults.model_validate(data)
    except ValidationError as error:
        version = data.get("colt_version", "an unknown version") if isinstance(data, dict) else "?"
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the top level"
        raise UserError(
            f"{source} was written by COLT {version} and this version cannot read it "
            f"({where}: {first['msg']})"
        ) from None


def load_results(path: Path) -> RunResults:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path} does not exist") from None
    except json.JSONDecodeError as error:
        raise UserError(f"{path} is not valid JSON ({error.msg} at line {error.lineno})") from None
    return parse_results(data, str(path))
