"""The pool side of the search: programs entering from outside the tree (the initial programs,
fresh design-space samples), the tree's roots, picking what to measure, and measurements and
retrained predictions coming back. ``Search`` is the tree side."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

from colt.search.base import Environment, ModelInfo, State
from colt.search.config import SearchConfig
from colt.search.events import Origin, ProgramsOffered, ValuesPredicted
from colt.search.feedback import MeasurementFeedback
from colt.search.pool import Candidate, Pool
from colt.search.record import SearchRecord, hashable
from colt.search.stats import SearchTimes
from colt.search.tree import ROOT, Node, Tree


class PoolSide:
    env: Environment
    config: SearchConfig
    models: tuple[ModelInfo, ...]
    root_model: str
    tree: Tree
    pool: Pool
    record: SearchRecord
    feedback: MeasurementFeedback
    times: SearchTimes
    clock: Callable[[], float]
    trials_done: int
    expansions: int
    overhead_marks: list[dict[str, float]]
    _repredicted_from: int

    # -- set-up ---------------------------------------------------------------------------

    def start(self, initial: Sequence[State] | Callable[[], Sequence[State]]) -> None:
        """Offers the initial programs (design-space sketches and random samples; a callable
        is called only when the journal does not hold them) for the first measurement round;
        the best measured ones become the tree's roots."""
        recorded = self.record.next_offered("initial")
        if recorded is not None:
            self._offer_recorded(recorded)
            return
        offered = [
            self.pool.offer(self.env.key(state), state, 0.0, "initial")
            for state in (initial() if callable(initial) else initial)
        ]
        self._emit_offered("initial", offered)

    def _offer_recorded(self, event: ProgramsOffered) -> list[Candidate]:
        return [
            self.pool.offer(hashable(p.key), self.env.load(p.program), p.value, event.origin)
            for p in event.programs
        ]

    def _emit_offered(self, origin: Origin, offered: Sequence[Candidate]) -> None:
        programs = [self.record.program(c.key, c.state, c.value) for c in offered]
        snapshot = self.record.snapshot()
        self.record.emit(ProgramsOffered(origin=origin, programs=programs, generators=snapshot))

    def _plant_roots(self) -> None:
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

    def _predict(
        self, states: Sequence[State], fallbacks: Sequence[float], *, in_step: bool = True
    ) -> list[float]:
        """Predicted values, ``fallbacks`` where the cost model has nothing to say yet.

        Only scoring inside iterations counts as the search's ``scoring`` time (a part of its
        ``total``); scoring between measurement rounds is timed by the caller."""
        started = self.clock()
        predicted = self.env.predict(states)
        if in_step:
            self.times.scoring += self.clock() - started
        return [f if p is None else float(p) for p, f in zip(predicted, fallbacks, strict=True)]

    # -- measurement feedback -------------------------------------------------------------

    def pending(self) -> list[Candidate]:
        return self.pool.pending()

    @property
    def waiting_proposals(self) -> int:
        """Proposed programs not measured yet (what the next round would measure first)."""
        return self.pool.waiting_proposals

    def fresh_slots(self, count: int) -> int:
        return self.config.fresh_slots(count)

    def pick_for_measurement(
        self, count: int, fresh: Sequence[State] | Callable[[], Sequence[State]] = ()
    ) -> list[Candidate]:
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
            wanted = self.fresh_slots(count)
            tree_ranked = self.pool.ranked_for_measurement()
            short = max(0, count - wanted - len(tree_ranked)) if wanted else 0
            newcomers = self._fresh(fresh, wanted + short)
            picks = tree_ranked[: count - len(newcomers)] + newcomers
        for pick in picks:  # held until measured: a pruning meanwhile must not drop it
            pick.refs += 1
        return picks

    def _fresh(
        self, fresh: Sequence[State] | Callable[[], Sequence[State]], count: int
    ) -> list[Candidate]:
        """The round's fresh samples: as recorded, or the best of ``fresh`` (a callable is
        called, to draw them, only then)."""
        recorded = self.record.next_offered("fresh")
        if recorded is not None:
            return self._offer_recorded(recorded)
        newcomers = self._best_fresh(fresh() if callable(fresh) else fresh, count)
        self._emit_offered("fresh", newcomers)
        return newcomers

    def _best_fresh(self, states: Sequence[State], count: int) -> list[Candidate]:
        """Up to ``count`` of ``states`` not seen before, best predicted first, offered to the
        pool as fresh samples (before the cost model has data: in the order drawn)."""
        unseen: dict[Hashable, State] = {}
        for state in states:
            key = self.env.key(state)
            if key not in self.pool:
                unseen.setdefault(key, state)
        if not unseen or count <= 0:
            return []
        values = self._predict(list(unseen.values()), [0.0] * len(unseen), in_step=False)
        ranked = sorted(zip(unseen.items(), values, strict=True), key=lambda x: -x[1])[:count]
        return [self.pool.offer(key, state, value, "fresh") for (key, state), value in ranked]

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

    @property
    def best_latency_s(self) -> float | None:
        return self.feedback.best_latency_s

    def end_round(self) -> None:
        """After a measurement round and the cost model's retraining: re-predict what is new,
        and note the search's own overhead so far (a run shows whether it stays linear)."""
        self.repredict()
        self.overhead_marks.append(
            {
                "samples": self.trials_done,
                "expansions": self.expansions,
                "overhead_s": round(self.times.overhead, 4),
            }
        )

    def repredict(self) -> None:
        """Re-predicts, after the cost model was retrained, the unmeasured candidates offered
        since the last retraining, in the pool and along every path their predictions were
        backed up. Each candidate is re-predicted once, so the cost stays linear in the run."""
        pending = self.pool.pending(since_order=self._repredicted_from)
        self._repredicted_from = self.pool.offers
        if not pending:
            return
        keys = [c.key for c in pending]
        recorded = self.record.next_predicted(keys)
        if recorded is not None:
            fallbacks = [c.value for c in pending]
            values = [
                f if v is None else v for v, f in zip(recorded.values, fallbacks, strict=True)
            ]
        else:
            values = self._predict(
                [c.state for c in pending], [c.value for c in pending], in_step=False
            )
            self.record.emit(ValuesPredicted(keys=keys, values=list(values)))
        for candidate, value in zip(pending, values, strict=True):
            candidate.value = value
            self.tree.correct(candidate.key, value, measured=False)
