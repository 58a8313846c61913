"""The COLT search loop: select (MA-UCT) → expand (acting model) → rollout → course alteration →
backpropagate, over one tree shared by every model. No I/O: the environment, the proposer and
the clock come in as arguments; measurements come back through :meth:`Search.record_measurement`.

The tree's roots are the best measured initial programs (``SearchConfig.roots`` of them); a
fresh design-space sample joins them only when its measurement beats every program so far, and
then with that measurement as its first visit, so it competes under MA-UCT instead of winning
every selection as an unvisited node would.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from colt.search.base import (
    Edit,
    Environment,
    ModelInfo,
    Proposal,
    Proposer,
    State,
)
from colt.search.config import SearchConfig
from colt.search.context import prompt_context
from colt.search.course import needs_course_alteration
from colt.search.feedback import MeasurementFeedback
from colt.search.policy import floor_applies, ma_uct, phi_small
from colt.search.pool import Candidate, Pool
from colt.search.seeds import streams
from colt.search.stats import ModelCounters, SearchTimes
from colt.search.summary import search_summary
from colt.search.tree import ROOT, Node, Tree


@dataclass(frozen=True)
class Expansion:
    child: Node
    terminal_key: Hashable
    value: float  # what is backed up: the rollout end's value


class Search:
    def __init__(
        self,
        env: Environment,
        proposer: Proposer,
        models: Sequence[ModelInfo],
        *,
        config: SearchConfig,
        seed: int,
        trials_total: int,
        transformation_help: dict[str, str] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.env, self.proposer, self.config, self.clock = env, proposer, config, clock
        self.models = tuple(models)
        self.largest = max(self.models, key=lambda m: m.parameters).name
        self.phi = {m.name: phi_small(m.name, self.models) for m in self.models}
        self.root_model = self.largest if config.model_selection else self.models[0].name
        rngs = streams(seed)
        self.rng, self.preview_rng = rngs.search, rngs.preview
        self.tree = Tree(self.root_model)
        self.counters = {m.name: ModelCounters() for m in self.models}
        self.pool = Pool()
        self.times = SearchTimes()
        self.help = transformation_help or {}
        self.trials_done, self.trials_total = 0, trials_total
        self.expansions = self.duplicates = self.course_alterations = 0
        self.feedback = MeasurementFeedback(self.tree, self.pool)
        self.overhead_marks: list[dict[str, float]] = []  # one per measurement round
        self.depth_calls: defaultdict[int, Counter[str]] = defaultdict(Counter)
        self._repredicted_from = 0  # pool offers below this were re-predicted once already

    # -- set-up ---------------------------------------------------------------------------

    def start(self, initial: Sequence[State]) -> None:
        """Offers the initial programs (design-space sketches and random samples) for the first
        measurement round; the best measured ones become the tree's roots."""
        for state in initial:
            self.pool.offer(self.env.key(state), state, 0.0, "initial")

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

    # -- one iteration ----------------------------------------------------------------------

    def step(self) -> Node:
        """One MCTS iteration; returns the node whose value was backed up."""
        started = self.clock()
        if not self.tree.live_children(ROOT):
            self._plant_roots()
        node = self._select()
        if not self._expandable(node):
            self.tree.backpropagate(node.id, node.value, node.key)
            self.times.total += self.clock() - started
            return node
        model = self._acting_model(node)
        expansion = self._expand_and_rollout(node, model)
        if self._needs_alteration(model, expansion.child):
            self._prune(expansion)
            self.course_alterations += 1
            self.counters[self.largest].course_alterations += 1
            expansion = self._expand_and_rollout(node, self.largest, course_alteration=True)
        self.tree.backpropagate(expansion.child.id, expansion.value, expansion.terminal_key)
        self.expansions += 1
        self.times.total += self.clock() - started
        return expansion.child

    def _select(self) -> Node:
        """Descends by MA-UCT from the virtual root while the node has all its children."""
        node = self.tree.nodes[ROOT]
        while node.id == ROOT or not self._expandable(node):
            children = self.tree.live_children(node.id)
            if not children:
                return node
            parent_visits = node.visits
            node = max(children, key=lambda c: (self._ma_uct(c, parent_visits), -c.id))
        return node

    def _ma_uct(self, node: Node, parent_visits: int) -> float:
        return ma_uct(
            node.value_sum,
            node.visits,
            parent_visits,
            self.phi[node.model],
            lam=self.config.lam,
            c=self.config.exploration,
        )

    def _expandable(self, node: Node) -> bool:
        return (
            node.id != ROOT
            and node.depth < self.config.max_depth
            and len(self.tree.live_children(node.id)) < self.config.branching_factor
        )

    def _acting_model(self, node: Node) -> str:
        """The node's model, unless the largest model's share of calls is under its floor."""
        calls = {name: c.calls for name, c in self.counters.items()}
        if node.model != self.largest and floor_applies(
            calls,
            self.largest,
            floor=self.config.largest_model_floor,
            grace_calls=self.config.floor_grace_calls,
        ):
            self.counters[self.largest].floor_calls += 1
            return self.largest
        return node.model

    def _needs_alteration(self, model: str, child: Node) -> bool:
        return (
            self.config.course_alteration
            and model != self.largest
            and needs_course_alteration(self.tree.path(child.id), self.largest)
        )

    def _prune(self, expansion: Expansion) -> None:
        """The regressive child leaves the tree and, with its rollout end, the pool."""
        self.tree.prune(expansion.child.id)
        self.pool.withdraw(expansion.child.key)
        self.pool.withdraw(expansion.terminal_key)

    # -- expansion and rollout --------------------------------------------------------------

    def _expand_and_rollout(
        self, node: Node, model: str, *, course_alteration: bool = False
    ) -> Expansion:
        proposal = self._propose(node, model)
        self.depth_calls[node.depth][model] += 1
        node.expanded_by = model
        edits, next_model = self._interpret(proposal, model)
        state, applied = self._apply(node.state, edits, model)
        if self.env.key(state) == node.key:  # nothing legal changed: still make progress
            state, applied = self._apply(node.state, (self._random_edit(),), None)
        rollout = [self._random_edit() for _ in range(self.config.rollout_steps)]
        terminal, _ = self._apply(state, rollout, None)
        parent_now, child_value, terminal_value = self._predict_expansion(node, state, terminal)
        key, terminal_key = self.env.key(state), self.env.key(terminal)
        if any(not self.tree.nodes[i].pruned for i in self.tree.by_key.get(key, ())):
            self.duplicates += 1
        child = self.tree.add(
            node.id,
            state,
            key,
            model=next_model,
            proposed_by=model,
            edits=applied,
            value=self._known_value(key, child_value),
            course_alteration=course_alteration,
            regressed=child_value < parent_now,
        )
        if child_value > parent_now:
            self.counters[model].hits += 1
        self.pool.offer(key, state, child_value, "proposal", model)
        self.pool.offer(terminal_key, terminal, terminal_value, "rollout")
        return Expansion(child, terminal_key, self._known_value(terminal_key, terminal_value))

    def _predict_expansion(
        self, node: Node, child: State, terminal: State
    ) -> tuple[float, float, float]:
        """Parent, child and rollout end predicted in one cost-model call, so the child is
        compared with its parent like with like. Before the cost model has data every program
        inherits the parent's value: no noise reaches the tree, and nothing regresses."""
        parent, child_value, terminal_value = self._predict(
            [node.state, child, terminal], [node.value] * 3
        )
        return parent, child_value, terminal_value

    def _propose(self, node: Node, model: str) -> Proposal:
        started = self.clock()
        proposal = self.proposer.propose(model, prompt_context(self, node, model))
        self.times.proposals += self.clock() - started
        self.counters[model].record_call(proposal)
        return proposal

    def _interpret(self, proposal: Proposal, model: str) -> tuple[tuple[Edit, ...], str]:
        """The edits to apply and the child's model; a failed call falls back to a random edit
        and keeps the acting model."""
        action = proposal.action
        edits = action.edits if action and action.edits else (self._random_edit(),)
        next_model = action.next_model if action else model
        if next_model not in self.counters:
            next_model = model
        if not self.config.model_selection:
            next_model = self.root_model
        return tuple(edits), next_model

    def _apply(
        self, state: State, edits: Sequence[Edit], model: str | None
    ) -> tuple[State, tuple[Edit, ...]]:
        started = self.clock()
        result = self.env.apply(state, edits, self.rng)
        self.times.edits += self.clock() - started
        if model is not None and result.invalid:
            self.counters[model].add_error("invalid_edit", len(result.invalid))
        return result.state, result.applied

    def _random_edit(self) -> Edit:
        return Edit(str(self.rng.choice(list(self.env.transformations))))

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

    def _known_value(self, key: Hashable, predicted: float) -> float:
        candidate = self.pool.get(key)
        if candidate is not None and candidate.measured:
            return candidate.value
        return predicted

    # -- measurement feedback -------------------------------------------------------------

    def pending(self) -> list[Candidate]:
        return self.pool.pending()

    @property
    def waiting_proposals(self) -> int:
        """Proposed programs not measured yet (what the next round would measure first)."""
        return self.pool.waiting_proposals

    def fresh_slots(self, count: int) -> int:
        return self.config.fresh_slots(count)

    def pick_for_measurement(self, count: int, fresh: Sequence[State] = ()) -> list[Candidate]:
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
            newcomers = self._best_fresh(fresh, wanted + short)
            picks = tree_ranked[: count - len(newcomers)] + newcomers
        for pick in picks:  # held until measured: a pruning meanwhile must not drop it
            pick.refs += 1
        return picks

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
        values = self._predict(
            [c.state for c in pending], [c.value for c in pending], in_step=False
        )
        for candidate, value in zip(pending, values, strict=True):
            candidate.value = value
            self.tree.correct(candidate.key, value, measured=False)

    def summary(self) -> dict[str, Any]:
        return search_summary(self)
