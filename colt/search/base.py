"""Contracts of the search core: the records that cross its boundary and the callables it uses.

The core never touches TVM or the network. A program state is opaque to it (``State``); the
schedule layer implements :class:`Environment` over MetaSchedule traces, the LLM layer implements
:class:`Proposer`, and unit tests use small fakes of both.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

import numpy as np

State = Any  # an opaque program state: a schedule trace in the real environment


@dataclass(frozen=True)
class Edit:
    """One requested transformation: a vocabulary name and optional arguments.

    ``args`` is a tuple of (key, value) pairs so the record stays hashable and frozen; an empty
    tuple means "edit a random applicable decision".
    """

    name: str
    args: tuple[tuple[str, Any], ...] = ()

    def arg(self, key: str, default: Any = None) -> Any:
        return dict(self.args).get(key, default)

    def describe(self) -> str:
        if not self.args:
            return self.name
        inner = ", ".join(f"{k}={_literal(v)}" for k, v in self.args)
        return f"{self.name}({inner})"


def _literal(value: Any) -> str:
    """A Python literal with lists for sequences: what answers may write back (no nested
    parentheses inside ``Name(...)``)."""
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return repr(value)


@dataclass(frozen=True)
class JointAction:
    """What an acting model proposes: edits applied in order, and the model to expand the child."""

    edits: tuple[Edit, ...]
    next_model: str


@dataclass(frozen=True)
class Proposal:
    """The outcome of one proposer call; errors are data, the search goes on without an action.

    ``error_kind`` is one of ``ERROR_KINDS`` or None; ``action`` may be set together with an
    error when only part of the answer was usable (e.g. unknown next model). ``answer_errors``
    lists every error of the answer once (each unknown transformation name, an unknown model
    name), as the paper counts them; empty means ``error_kind`` alone counts once.
    """

    action: JointAction | None
    error_kind: str | None = None
    error_detail: str = ""
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    answer_errors: tuple[str, ...] = ()
    # The further children's actions of one multi-child answer (``action`` is the first): a
    # node's expansion asks its model once for all its children.
    more: tuple[JointAction, ...] = ()
    # Seconds of ``latency_s`` the call was charged without taking them (a scripted model's
    # price per call): the run's clock adds them, as if the call had taken that long.
    charged_s: float = 0.0

    @property
    def actions(self) -> tuple[JointAction, ...]:
        return ((self.action,) if self.action is not None else ()) + self.more


ERROR_KINDS = (
    "unknown_transformation",
    "unknown_model",
    "unparsable",
    "timeout",
    "http_error",
    "connection_refused",
    "invalid_edit",
)
# Faults of the endpoint, not of the model's answer: counted apart (the prompt's error count and
# the paper's are about answers).
FAULT_KINDS = ("timeout", "http_error", "connection_refused")


@dataclass(frozen=True)
class ApplyResult:
    """A state after applying edits in order; illegal edits are skipped and counted."""

    state: State
    applied: tuple[Edit, ...]
    invalid: tuple[str, ...] = ()  # one short reason per rejected edit
    repaired: tuple[str, ...] = ()  # one note per argument moved to its nearest legal value


@dataclass(frozen=True)
class ModelInfo:
    name: str
    parameters: float  # parameter count, e.g. 1.35e8


@dataclass(frozen=True)
class ModelStats:
    """Global per-model statistics shown in the prompt and written to results."""

    calls: int = 0  # every call: regular, floor and course-alteration calls
    children: int = 0  # children made from the model's answers (one call answers several)
    hits: int = 0  # children predicted better than their parent
    errors: dict[str, int] = field(default_factory=dict)  # the model's answer errors by kind
    repaired_arguments: int = 0  # illegal arguments moved to the nearest legal value
    faults: dict[str, int] = field(default_factory=dict)  # endpoint faults by kind
    course_alterations: int = 0  # calls made as a course alteration (largest model only)
    floor_calls: int = 0  # calls redirected to the largest model by the minimum-share floor
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def hit_rate(self) -> float:
        """The share of the model's children predicted better than their parent."""
        made = self.children or self.calls
        return self.hits / made if made else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def regular_calls(self) -> int:
        """Calls the tree policy chose this model for: Table 1's invocation count."""
        return self.calls - self.course_alterations - self.floor_calls


@dataclass(frozen=True)
class NodeView:
    """A read-only snapshot of one tree node for prompts: program, history, value, model.

    The program text and the history are rendered on first use (``render`` gives both):
    printing a big kernel takes up to a second, and proposers that never read them (random,
    scripted) must not pay for it. ``NodeView.of`` makes one from texts at hand.
    """

    render: Callable[[], tuple[str, tuple[str, ...]]] = field(repr=False, compare=False)
    value: float  # predicted, or measured once measured (the prompt calls it a score)
    model: str | None  # the model that expands (expanded) this node
    depth: int
    measured_s: float | None = None  # the program's measured latency, None until measured

    @classmethod
    def of(
        cls,
        program: str,
        history: tuple[str, ...],
        value: float,
        model: str | None,
        depth: int,
        measured_s: float | None = None,
    ) -> NodeView:
        return cls(lambda: (program, tuple(history)), value, model, depth, measured_s)

    @cached_property
    def _texts(self) -> tuple[str, tuple[str, ...]]:
        return self.render()

    @property
    def program(self) -> str:
        return self._texts[0]

    @property
    def history(self) -> tuple[str, ...]:
        return self._texts[1]


@dataclass(frozen=True)
class Tried:
    """A child already made from the node being expanded: what it did and how it came out."""

    edits: str  # the applied edits, as the prompt writes them
    value: float  # predicted, or measured once measured
    measured_s: float | None  # its measured latency, None until measured
    model: str | None  # the model that proposed it


@dataclass(frozen=True)
class PromptContext:
    """Everything Appendix B's prompt carries, as plain data (no tree, no TVM objects)."""

    current: NodeView
    parent: NodeView | None
    grandparent: NodeView | None
    transformations: tuple[str, ...]
    transformation_help: dict[str, str]  # name -> one line on its optional arguments
    models: tuple[ModelInfo, ...]
    model_stats: dict[str, ModelStats]
    leaf_depth: int
    trials_done: int
    trials_total: int
    # Realized random edits of the current program with their predicted values (None while the
    # cost model has seen no measurement): ``preview(k)`` draws k. Scripted models decide with
    # it; LLMs never see it. None where the caller offers no preview (prompt-only tests).
    preview: Callable[[int], list[tuple[Edit, float | None]]] | None = None
    # Realized random edits, each with an oracle's score of the program it leads to (lower is
    # better: a distance from known good schedules, or minus a held-out model's predicted
    # throughput): what an oracle model decides with. None where the environment has no oracle.
    guide: Callable[[int], list[tuple[Edit, float | None]]] | None = None
    # The edits that copy the nearest known good schedule's decisions onto the current program,
    # in trace order: what a ``copy`` oracle writes down. None where the environment has none.
    copies: Callable[[], list[Edit]] | None = None
    children: int = 1  # how many children's actions one answer gives (the node's missing ones)
    siblings: tuple[Tried, ...] = ()  # the node's children so far, oldest first
    best: NodeView | None = None  # the fastest program measured in the run so far


class Proposer(Protocol):
    """Asks ``model`` for ``context.children`` joint actions in one call (the first as
    ``Proposal.action``, the rest as ``Proposal.more``; fewer is allowed); never raises for
    endpoint faults."""

    def propose(self, model: str, context: PromptContext) -> Proposal: ...


class Environment(Protocol):
    """The program side of the search: applying edits, predicting values, describing states."""

    transformations: tuple[str, ...]

    def key(self, state: State) -> Hashable:
        """Structural identity of a program: equal keys mean the same program."""
        ...

    def apply(self, state: State, edits: Sequence[Edit], rng: np.random.Generator) -> ApplyResult:
        """Applies ``edits`` in order; every randomness comes from ``rng``."""
        ...

    def predict(self, states: Sequence[State]) -> list[float | None]:
        """Predicted normalized throughput in [0, 1] (higher is faster), one batched call;
        None where nothing can be predicted yet (a cost model that has seen no measurement)."""
        ...

    def preview(
        self, state: State, count: int, rng: np.random.Generator
    ) -> list[tuple[Edit, float | None]]:
        """Up to ``count`` random edits of ``state``, each with explicit arguments (applying it
        again gives the same program), and the predicted value of the program it leads to."""
        ...

    def describe(self, state: State) -> str:
        """Program text for prompts."""
        ...

    def dump(self, state: State) -> Any:
        """``state`` as JSON data for the journal (``load`` rebuilds it)."""
        ...

    def load(self, data: Any) -> State:
        """The state ``dump`` wrote."""
        ...

    def history(self, state: State) -> tuple[str, ...]:
        """The transformation history of ``state`` as short lines, oldest first."""
        ...
