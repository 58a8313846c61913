"""The run's journal: typed events, one JSON line each, flushed and fsynced as they happen.

A killed run resumes from them: the search's own events (``colt.search.events``: programs
offered, nodes added and pruned, predictions) rebuild its tree and pool, the answers models gave
(``colt.replay``) its call statistics, every measured sample (``runs.recorder``) its curve,
and the baselines are timed once. Each event names its kind; reading a journal parses every
line into its event type, so a line this version does not know is refused with one sentence,
not misread.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, TypeAdapter, ValidationError

from colt.disk import append_line
from colt.errors import UserError
from colt.search.events import (
    Event,
    NodeAdded,
    NodePruned,
    NodeRevisited,
    ProgramsOffered,
    ValuesPredicted,
)


class ProposalAnswered(Event):
    """A model's answer to one expansion (or the fault that stood in for it)."""

    kind: Literal["proposal"] = "proposal"
    model: str
    depth: int
    action: dict[str, Any] | None  # {"edits": [[name, [[arg, value], ...]], ...], "next_model"}
    error_kind: str | None = None
    error_detail: str = ""
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    answer_errors: list[str] = Field(default_factory=list)
    more: list[dict[str, Any]] = Field(default_factory=list)  # the other children's actions


class SampleMeasured(Event):
    """One measured sample: its latency, or why it counts as a failure."""

    kind: Literal["measure"] = "measure"
    key: Any
    latency_s: float | None
    run_secs: list[float] = Field(default_factory=list)
    error: str | None = None
    device: str | None = None
    retries: list[Any] = Field(default_factory=list)
    elapsed_s: float | None = None
    trace: Any = None  # the sample's trace, Trace.as_json
    # True: checked against the reference and correct; False: it beat the best so far but a
    # faster sample of its batch was checked instead, so it can never be the best; None: not
    # a new best when measured (and an older journal's sample: each new best was checked then)
    verified: bool | None = None
    screened: bool = False  # timed once: far slower than the best when measured


class DeviceStateChanged(Event):
    """A remote device was lost (hung, dropped, silent) or readmitted, and why."""

    kind: Literal["device"] = "device"
    time: float  # seconds since the epoch
    device: str
    state: str  # "lost" | "readmitted"
    reason: str


class NaiveTimed(Event):
    """The unscheduled kernel's latency, the run's baseline."""

    kind: Literal["naive"] = "naive"
    latency_s: float
    run_secs: list[float] = Field(default_factory=list)
    device: str | None = None


class UnscheduledPassTimed(Event):
    """A network's unscheduled forward pass, checked against the reference, and PyTorch eager."""

    kind: Literal["unscheduled"] = "unscheduled"
    latency_s: float
    error: str | None = None
    eager_s: float | None = None


class TunedPassTimed(Event):
    """A network's tuned forward pass, built from the run's database and checked."""

    kind: Literal["tuned"] = "tuned"
    latency_s: float
    error: str | None = None
    # the tasks whose kept program reads a weight in a layout of its own choosing, made once
    # at load (``colt.schedule.weight_layouts``)
    weight_layouts: list[str] = Field(default_factory=list)


AnyEvent = Annotated[
    ProposalAnswered
    | ValuesPredicted
    | ProgramsOffered
    | NodeAdded
    | NodePruned
    | NodeRevisited
    | SampleMeasured
    | DeviceStateChanged
    | NaiveTimed
    | UnscheduledPassTimed
    | TunedPassTimed,
    Field(discriminator="kind"),
]
_PARSER: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)
E = TypeVar("E", bound=Event)


class Journal:
    """Append-only typed events; each is flushed and fsynced before the run goes on."""

    def __init__(self, path: Path) -> None:
        """Opens the journal to append to it (one writer: the run). A torn last line from a
        kill is cut off first, so that what is appended next starts a line of its own."""
        self.path = path
        self._fd: int | None = None
        self.events: list[Event] = self._read()
        # Unbuffered: a line a full disk refused is cut off again at once, not kept in a
        # buffer that would write its rest later (or complain at exit).
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._lock = threading.Lock()  # the search may journal while a round is measured

    def _read(self) -> list[Event]:
        if not self.path.exists():
            return []
        events: list[Event] = []
        data = self.path.read_bytes()
        intact = 0  # bytes of whole, readable lines
        for number, line in enumerate(data.splitlines(keepends=True), 1):
            try:
                if not line.endswith(b"\n"):
                    raise ValueError("no line end")
                record = json.loads(line)
            except ValueError:
                break  # a torn last line from a kill: everything before it is intact
            try:
                events.append(_PARSER.validate_python(record))
            except ValidationError:
                kind = record.get("kind") if isinstance(record, dict) else None
                raise UserError(
                    f"{self.path} line {number} holds a {kind!r} event this version of COLT "
                    "cannot read; start a new run"
                ) from None
            intact += len(line)
        if intact < len(data):
            with self.path.open("r+b") as stream:
                stream.truncate(intact)
        return events

    def append(self, event: Event) -> None:
        """Writes ``event`` as one synced line; on a full disk raises DiskFull and leaves the
        journal as it was before the call."""
        line = json.dumps(event.model_dump(by_alias=True), default=json_default) + "\n"
        with self._lock:
            assert self._fd is not None, "the journal is closed"
            append_line(self._fd, line.encode("utf-8"), self.path)
        self.events.append(event)

    def of_kind(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:  # as a file object would: a journal dropped unclosed
        self.close()


def json_default(value: Any) -> Any:
    if hasattr(value, "value"):  # TVM IntImm / FloatImm inside traces
        return value.value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)
