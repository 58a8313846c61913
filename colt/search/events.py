"""What changes the search's state, as typed events: the run's journal holds them, and a resumed
run rebuilds its tree, pool and counters from them instead of searching again.

Each event carries its outcome, not the inputs that led to it: a node added names its parent,
its program (``Environment.dump``) and the predictions it was made with. Replaying one does not
draw a random number, call a model or the cost model, so a change in how the code consumes
randomness or picks a node does not strand an old run. The events that end a random draw also
carry the generators' states, so a run resumed with unchanged code goes on exactly as it would
have without the interruption.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import AliasChoices, BaseModel, ConfigDict, Field


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)


class EventLog(Protocol):
    """Where the search writes its events (the run's journal) and what it holds already."""

    events: list[Any]

    def append(self, event: Any) -> None: ...


class ProgramRecord(BaseModel):
    """One program as an event carries it: its key, ``Environment.dump`` of it, and its
    predicted value at the time."""

    model_config = ConfigDict(frozen=True)

    key: Any
    program: Any
    value: float


Origin = Literal["initial", "fresh"]


class ProgramsOffered(Event):
    """Programs that entered the measurement pool from outside the tree: the initial programs,
    or a round's fresh design-space samples (the best predicted of its draws)."""

    kind: Literal["offered"] = "offered"
    origin: Origin
    programs: list[ProgramRecord]
    generators: dict[str, Any] = Field(default_factory=dict)


class NodeAdded(Event):
    """One expansion: the acting model's proposal applied to ``parent``, and its rollout."""

    kind: Literal["node"] = "node"
    parent: int
    acting: str  # the model that answered
    floor: bool = False  # the largest model acted because its share was under the floor
    course_alteration: bool = False
    model: str  # the child's model: the answer's next model
    edits: list[list[Any]]  # the edits applied: [name, [[arg, value], ...]]
    invalid_edits: int = 0
    repaired_arguments: int = 0  # arguments moved to their nearest legal value
    child: ProgramRecord
    terminal: ProgramRecord  # where the rollout ended
    regressed: bool  # the child's prediction below its parent's (same cost-model call)
    hit: bool  # above it
    generators: dict[str, Any] = Field(default_factory=dict)


class NodePruned(Event):
    """A course alteration removed the regressive child ``node`` (and its rollout end)."""

    kind: Literal["pruned"] = "pruned"
    node: int


class NodeRevisited(Event):
    """Selection ended at ``node``, which could not be expanded: its own value was backed up."""

    kind: Literal["revisit"] = "revisit"
    node: int


class ValuesPredicted(Event):
    """The retrained cost model's values for the unmeasured programs, by key."""

    kind: Literal["score"] = "score"
    keys: list[Any]
    # written as "scores", the name earlier journals used
    values: list[float | None] = Field(
        validation_alias=AliasChoices("values", "scores"), serialization_alias="scores"
    )


TreeEvent = NodeAdded | NodePruned | NodeRevisited  # applied by ``Search.apply``
PoolEvent = ProgramsOffered | ValuesPredicted  # applied by ``Measurements.apply``
SEARCH_EVENTS = (ProgramsOffered, NodeAdded, NodePruned, NodeRevisited, ValuesPredicted)
