"""The search's side of the run's journal: the events it writes as it changes state, and, for a
resumed run, the recorded events it applies instead of searching again (``colt.search.events``).

Recorded events are handed out in journal order per kind (tree changes, offers by origin,
predictions). When a kind runs out, the search acts live from there on; the first live action
after a replay restores every random generator to the state the last replayed event recorded.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from colt.search.events import (
    EventLog,
    NodeAdded,
    NodePruned,
    NodeRevisited,
    ProgramRecord,
    ProgramsOffered,
    TreeEvent,
    ValuesPredicted,
)

E = TypeVar("E")


class SearchEvents:
    def __init__(
        self,
        log: EventLog | None,
        generators: Mapping[str, np.random.Generator],
        dump: Callable[[Any], Any],
    ) -> None:
        self.log = log
        self.generators = dict(generators)
        self._dump = dump
        recorded = list(enumerate(log.events)) if log is not None else []
        self._tree: deque[tuple[int, TreeEvent]] = deque(
            (i, e) for i, e in recorded if isinstance(e, NodeAdded | NodePruned | NodeRevisited)
        )
        self._offered = {
            origin: deque((i, e) for i, e in recorded if _offered(e, origin))
            for origin in ("initial", "fresh")
        }
        self._predicted: deque[tuple[int, ValuesPredicted]] = deque(
            (i, e) for i, e in recorded if isinstance(e, ValuesPredicted)
        )
        self._snapshot: tuple[int, dict[str, Any]] | None = None  # the latest replayed
        self._restored_at = -1
        self.replayed = 0  # events applied instead of searching

    # -- writing ------------------------------------------------------------------------

    @property
    def writing(self) -> bool:
        return self.log is not None

    def emit(self, event: Any) -> None:
        if self.log is not None:
            self.log.append(event)

    def program(self, key: Hashable, state: Any, value: float) -> ProgramRecord:
        """How an event carries a program (without a log, the program is left out)."""
        return ProgramRecord(
            key=key, program=self._dump(state) if self.writing else None, value=value
        )

    def snapshot(self) -> dict[str, Any]:
        """Every generator's state, for the events that end a random draw."""
        if not self.writing:
            return {}
        return {name: g.bit_generator.state for name, g in self.generators.items()}

    # -- replaying ----------------------------------------------------------------------

    def next_tree(self) -> TreeEvent | None:
        return self._take(self._tree)

    def next_added(self) -> NodeAdded | None:
        """The recorded re-expansion after a pruning (None: decide it live)."""
        if self._tree and isinstance(self._tree[0][1], NodeAdded):
            return self._take(self._tree)  # type: ignore[return-value]
        return self._take(deque())

    def pruned_next(self, node_id: int) -> bool | None:
        """Whether the recorded step went on by pruning ``node_id``; None when the record ends
        here and the search must decide."""
        if not self._tree:
            self._go_live()
            return None
        event = self._tree[0][1]
        if isinstance(event, NodePruned) and event.node == node_id:
            self._take(self._tree)
            return True
        return False

    def next_offered(self, origin: str) -> ProgramsOffered | None:
        return self._take(self._offered[origin])

    def next_predicted(self, keys: Sequence[Hashable]) -> ValuesPredicted | None:
        """The recorded predictions for exactly these programs; at the first that does not
        match, predictions go live for good."""
        if self._predicted and list(self._predicted[0][1].keys) != list(keys):
            self._predicted.clear()
        return self._take(self._predicted)

    def _take(self, queue: deque[tuple[int, E]]) -> E | None:
        if not queue:
            self._go_live()
            return None
        index, event = queue.popleft()
        generators = getattr(event, "generators", None)
        if generators and (self._snapshot is None or index > self._snapshot[0]):
            self._snapshot = (index, generators)
        self.replayed += 1
        return event

    def _go_live(self) -> None:
        """Before acting live: every generator as the latest replayed event left it."""
        if self._snapshot is None or self._snapshot[0] <= self._restored_at:
            return
        index, states = self._snapshot
        for name, state in states.items():
            if name in self.generators:
                self.generators[name].bit_generator.state = state
        self._restored_at = index


def _offered(event: Any, origin: str) -> bool:
    return isinstance(event, ProgramsOffered) and event.origin == origin


def hashable(value: Any) -> Hashable:
    """A key or an edit's argument as the journal gives it back (lists for tuples), with
    sequences as tuples again, so that a live and a replayed node hold equal values."""
    return tuple(hashable(v) for v in value) if isinstance(value, list | tuple) else value
