"""The measurement side of the search, composed into it: the pool of programs waiting to be
measured, programs entering from outside the tree (the initial programs, fresh design-space
samples), the tree's roots, picking what to measure, and measurements and retrained predictions
coming back.

Offers and re-predictions are events (``ProgramsOffered``, ``ValuesPredicted``): a live search
decides one, writes it to the journal and applies it; a resumed search applies the recorded one
instead. Both go through :meth:`Measurements.apply`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

from colt.search.base import Environment, ModelInfo, State
from colt.search.config import SearchConfig
from colt.search.events import Origin, PoolEvent, ProgramsOffered, ValuesPredicted
from colt.search.feedback import MeasurementFeedback
from colt.search.pool import Candidate, Pool
from colt.search.record import SearchEvents, hashable
from colt.search.tree import ROOT, Node, Tree

Programs = Sequence[State] | Callable[[], Sequence[State]]  # a callable draws them when needed


def predicted(env: Environment, states: Sequence[State], fallbacks: Sequence[float]) -> list[float]:
    """The cost model's values, ``fallbacks`` where it has nothing to say yet."""
    values = env.predict(states)
    return [f if p is None else float(p) for p, f in zip(values, fallbacks, strict=True)]


class Measurements:
    def __init__(
        self,
        tree: Tree,
        env: Environment,
        record: SearchEvents,
        *,
        config: SearchConfig,
        models: Sequence[ModelInfo],
        root_model: str,
    ) -> None:
        """``root_model``: every root's model when the search does not select models."""
        self.tree, self.env, self.record, self.config = tree, env, record, config
        self.models, self.root_model = tuple(models), root_model
        self.pool = Pool()
        self.feedback = MeasurementFeedback(tree, self.pool)
        self.trials_done = 0
        self._repredicted_from = 0  # pool offers below this were re-predicted once already

    def apply(self, event: PoolEvent, programs: Sequence[State] = ()) -> None:
        """Changes the pool as ``event`` says, whether decided now or replayed. ``programs``:
        the states an offer names, when they are in memory already (a live offer); a replayed
        offer's are loaded from the event."""
        if isinstance(event, ProgramsOffered):
            states = programs or [self.env.load(p.program) for p in event.programs]
            for offered, state in zip(event.programs, states, strict=True):
                self.pool.offer(hashable(offered.key), state, offered.value, event.origin)
            return
        for key, value in zip(event.keys, event.values, strict=True):
            candidate = self.pool[hashable(key)]
            candidate.value = candidate.value if value is None else value
            self.tree.correct(candidate.key, candidate.value, measured=False)

    def _offer(
        self, origin: Origin, offered: Sequence[tuple[Hashable, State, float]]
    ) -> ProgramsOffered:
        """Offers ``(key, state, predicted value)`` programs now: written down, then applied."""
        event = ProgramsOffered(
            origin=origin,
            programs=[self.record.program(key, state, value) for key, state, value in offered],
            generators=self.record.snapshot(),
        )
        self.record.emit(event)
        self.apply(event, [state for _, state, _ in offered])
        return event

    # -- programs from outside the tree, and the roots -------------------------------------

    def start(self, initial: Programs) -> None:
        """Offers the initial programs (design-space sketches and random samples; a callable
        is called only when the journal does not hold them) for the first measurement round;
        the best measured ones become the tree's roots."""
        recorded = self.record.next_offered("initial")
        if recorded is not None:
            self.apply(recorded)
            return
        states = initial() if callable(initial) else initial
        self._offer("initial", [(self.env.key(state), state, 0.0) for state in states])

    def plant_roots(self) -> None:
        """The ``roots`` best initial programs (measured first, then by prediction) go under
        the virtual root with their measurement as first visit; the others leave the pool."""
        initial = [c for c in self.pool.values() if c.origin == "initial"]
        ranked = sorted(initial, key=lambda c: (not c.measured, -c.value, c.order))
        for index, candidate in enumerate(ranked):
            if index < max(1, self.config.roots):
                self._add_root(candidate, self._root_model(index))
            elif not candidate.measured:
                self.pool.withdraw(candidate.key)

    def _root_model(self, index: int) -> str:
        """Roots go to the models in turn, smallest first: the tree has no evidence yet, and
        MA-UCT with its small-model prior decides from there."""
        if not self.config.model_selection:
            return self.root_model
        by_size = sorted(self.models, key=lambda m: (m.parameters, m.name))
        return by_size[index % len(by_size)].name

    def _add_root(self, candidate: Candidate, model: str) -> Node:
        node = self.tree.add(
            ROOT,
            candidate.state,
            candidate.key,
            model=model,
            proposed_by=None,
            edits=(),
            value=candidate.value,
        )
        if candidate.measured:
            self.tree.backpropagate(node.id, candidate.value, candidate.key)
            node.measured = node.measurement_backed_up = True
        return node

    def known_value(self, key: Hashable, predicted_value: float) -> float:
        """The program's measured value once it was measured, else ``predicted_value``."""
        candidate = self.pool.get(key)
        if candidate is not None and candidate.measured:
            return candidate.value
        return predicted_value

    # -- picking what to measure ------------------------------------------------------------

    def pick_for_measurement(self, count: int, fresh: Programs = ()) -> list[Candidate]:
        """The programs to measure next.

        Before the tree has roots: the initial programs, in the order given. After: a
        ``fresh_share`` of the slots for the best predicted of the ``fresh`` design-space
        samples, the rest for unmeasured proposals (best predicted first), topped up with
        rollout ends and then (unless the fresh share is 0) more fresh samples when the models
        left slots empty.
        """
        if not self.tree.live_children(ROOT):
            picks = [c for c in self.pool.pending() if c.origin == "initial"][:count]
        else:
            wanted = self.config.fresh_slots(count)
            tree_ranked = self.pool.ranked_for_measurement()
            short = max(0, count - wanted - len(tree_ranked)) if wanted else 0
            newcomers = self._fresh(fresh, wanted + short)
            picks = tree_ranked[: count - len(newcomers)] + newcomers
        for pick in picks:  # held until measured: a pruning meanwhile must not drop it
            pick.refs += 1
        return picks

    def _fresh(self, fresh: Programs, count: int) -> list[Candidate]:
        """The round's fresh samples: as recorded, or the best of ``fresh`` (a callable is
        called, to draw them, only then)."""
        event = self.record.next_offered("fresh")
        if event is not None:
            self.apply(event)
        else:
            drawn = fresh() if callable(fresh) else fresh
            event = self._offer("fresh", self._best_fresh(drawn, count))
        return [self.pool[hashable(p.key)] for p in event.programs]

    def _best_fresh(
        self, states: Sequence[State], count: int
    ) -> list[tuple[Hashable, State, float]]:
        """Up to ``count`` of ``states`` not seen before, best predicted first (before the cost
        model has data: in the order drawn)."""
        unseen: dict[Hashable, State] = {}
        for state in states:
            key = self.env.key(state)
            if key not in self.pool:
                unseen.setdefault(key, state)
        if not unseen or count <= 0:
            return []
        values = predicted(self.env, list(unseen.values()), [0.0] * len(unseen))
        ranked = sorted(zip(unseen.items(), values, strict=True), key=lambda x: -x[1])[:count]
        return [(key, state, value) for (key, state), value in ranked]

    # -- what comes back ----------------------------------------------------------------------

    def record_measurement(self, key: Hashable, latency_s: float | None) -> float:
        """Feeds a real measurement back (``None``: the candidate failed); returns the value it
        got, its throughput relative to the fastest program so far (0 for a failure). A fresh
        sample that is the fastest so far joins the tree's roots, its measurement its first
        visit."""
        self.trials_done += 1
        candidate, value, improved = self.feedback.record(key, latency_s)
        self.pool.withdraw(key)  # the hold taken when it was picked
        if candidate.origin == "fresh" and improved and self.tree.live_children(ROOT):
            self._add_root(candidate, self._root_model(len(self.tree.nodes[ROOT].children)))
        return value

    def repredict(self) -> None:
        """Re-predicts, after the cost model was retrained, the unmeasured candidates offered
        since the last retraining, in the pool and along every path their predictions were
        backed up. Each candidate is re-predicted once, so the cost stays linear in the run."""
        pending = self.pool.pending(since_order=self._repredicted_from)
        self._repredicted_from = self.pool.offers
        if not pending:
            return
        keys = [c.key for c in pending]
        event = self.record.next_predicted(keys)
        if event is None:
            values = predicted(self.env, [c.state for c in pending], [c.value for c in pending])
            event = ValuesPredicted(keys=keys, values=list(values))
            self.record.emit(event)
        self.apply(event)
