"""The COLT search loop: select (MA-UCT) → expand (acting model) → rollout → course alteration →
backpropagate, over one tree shared by every model. No I/O: the environment, the proposer and
the clock come in as arguments."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from colt.config import SearchConfig
from colt.search.base import (
    Edit,
    Environment,
    ModelInfo,
    NodeView,
    PromptContext,
    Proposal,
    Proposer,
    State,
)
from colt.search.course import needs_course_alteration
from colt.search.policy import ma_uct, phi_small
from colt.search.stats import ModelCounters, SearchTimes
from colt.search.tree import ROOT, Node, Tree

FAILED_VALUE = 0.0  # value of a program that failed to build, run or verify


@dataclass
class Candidate:
    """A scored program that may be measured: tree nodes and rollout terminals alike."""

    key: Hashable
    state: State
    value: float  # predicted until measured, then the measured value
    order: int
    measured: bool = False


@dataclass(frozen=True)
class Expansion:
    child: Node
    terminal_key: Hashable
    reward: float


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
        self.rng = np.random.default_rng(seed)
        self.tree = Tree(self.root_model)
        self.counters = {m.name: ModelCounters() for m in self.models}
        self.pool: dict[Hashable, Candidate] = {}
        self.times = SearchTimes()
        self.help = transformation_help or {}
        self.trials_done, self.trials_total = 0, trials_total
        self.expansions = self.duplicates = self.course_alterations = 0
        self.best_latency_s: float | None = None
        self.latencies: dict[Hashable, float | None] = {}  # every measured program's latency

    # -- set-up ---------------------------------------------------------------------------

    def start(self, sketches: Sequence[State]) -> None:
        """Hangs the design-space sketches under the virtual root."""
        scores = self._score(sketches, [0.0] * len(sketches), in_step=False)
        for index, (state, score) in enumerate(zip(sketches, scores, strict=True)):
            key = self.env.key(state)
            model = self._initial_model(index)
            self.tree.add(ROOT, state, key, model=model, proposed_by=None, edits=(), score=score)
            self._offer(key, state, score)

    def _initial_model(self, index: int) -> str:
        """Starting states go to the models in turn, smallest first: no model is favoured
        before the tree has any evidence (MA-UCT's prior and the floor take it from there)."""
        if not self.config.model_selection:
            return self.root_model
        by_size = sorted(self.models, key=lambda m: (m.parameters, m.name))
        return by_size[index % len(by_size)].name

    # -- one iteration ----------------------------------------------------------------------

    def step(self) -> Node:
        """One MCTS iteration; returns the node whose reward was backed up."""
        started = self.clock()
        node = self._select()
        if not self._expandable(node):
            self.tree.backpropagate(node.id, node.score, node.key)
            self.times.total += self.clock() - started
            return node
        model = self._acting_model(node)
        expansion = self._expand_and_rollout(node, model)
        if self._needs_alteration(model, expansion.child):
            self.tree.prune(expansion.child.id)
            self.course_alterations += 1
            self.counters[self.largest].course_alterations += 1
            expansion = self._expand_and_rollout(node, self.largest, course_alteration=True)
        self.tree.backpropagate(expansion.child.id, expansion.reward, expansion.terminal_key)
        self.expansions += 1
        self.times.total += self.clock() - started
        return expansion.child

    def _select(self) -> Node:
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
        total = sum(c.calls for c in self.counters.values())
        largest_share = self.counters[self.largest].calls / total if total else 1.0
        if (
            node.model != self.largest
            and total >= self.config.floor_grace_calls
            and largest_share < self.config.largest_model_floor
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

    # -- expansion and rollout --------------------------------------------------------------

    def _expand_and_rollout(
        self, node: Node, model: str, *, course_alteration: bool = False
    ) -> Expansion:
        proposal = self._propose(node, model)
        edits, next_model = self._interpret(proposal, model)
        state, applied = self._apply(node.state, edits, model)
        if self.env.key(state) == node.key:  # nothing legal changed: still make progress
            state, applied = self._apply(node.state, (self._random_edit(),), None)
        terminal, _ = self._apply(state, [self._random_edit()] * self.config.rollout_steps, None)
        child_score, terminal_score = self._score([state, terminal], [node.score, node.score])
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
            score=self._known_value(key, child_score),
            course_alteration=course_alteration,
        )
        if child.score > node.score:
            self.counters[model].hits += 1
        self._offer(key, state, child_score)
        self._offer(terminal_key, terminal, terminal_score)
        return Expansion(child, terminal_key, self._known_value(terminal_key, terminal_score))

    def _propose(self, node: Node, model: str) -> Proposal:
        started = self.clock()
        proposal = self.proposer.propose(model, self._context(node))
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

    def _score(
        self, states: Sequence[State], fallbacks: Sequence[float], *, in_step: bool = True
    ) -> list[float]:
        """Predicted values; where the cost model has nothing to say yet (no measurements), a
        state inherits the value of the program it came from instead of random noise.

        Only scoring inside iterations counts as the search's ``scoring`` time (a part of its
        ``total``); scoring between measurement rounds is timed by the caller."""
        started = self.clock()
        predicted = self.env.score(states)
        if in_step:
            self.times.scoring += self.clock() - started
        return [f if p is None else float(p) for p, f in zip(predicted, fallbacks, strict=True)]

    def _known_value(self, key: Hashable, predicted: float) -> float:
        candidate = self.pool.get(key)
        if candidate is not None and candidate.measured:
            return candidate.value
        return predicted

    def _offer(self, key: Hashable, state: State, predicted: float) -> None:
        if key not in self.pool:
            self.pool[key] = Candidate(key, state, predicted, len(self.pool))

    # -- prompts --------------------------------------------------------------------------

    def _context(self, node: Node) -> PromptContext:
        parent = self.tree.ancestor(node.id, 1)
        grandparent = self.tree.ancestor(node.id, 2)
        return PromptContext(
            current=self._view(node),
            parent=self._view(parent) if parent else None,
            grandparent=self._view(grandparent) if grandparent else None,
            transformations=tuple(self.env.transformations),
            transformation_help=dict(self.help),
            models=self.models,
            model_stats={name: c.snapshot() for name, c in self.counters.items()},
            leaf_depth=node.depth,
            trials_done=self.trials_done,
            trials_total=self.trials_total,
        )

    def _view(self, node: Node) -> NodeView:
        return NodeView(
            program=self.env.describe(node.state),
            history=self.env.history(node.state),
            score=node.score,
            model=node.model,
            depth=node.depth,
        )

    # -- measurement feedback -------------------------------------------------------------

    def pending(self) -> list[Candidate]:
        return [c for c in self.pool.values() if not c.measured]

    def pick_for_measurement(self, count: int, fresh: Sequence[State] = ()) -> list[Candidate]:
        """The programs to measure next: the best unmeasured candidates by prediction, and a
        ``fresh_share`` of the slots for the best predicted of the ``fresh`` design-space
        samples, which join the tree as new roots (before the cost model has data, the first
        ones drawn: plain random samples)."""
        wanted = min(int(round(count * self.config.fresh_share)), count)
        newcomers = self._adopt_best(fresh, wanted)
        taken = {c.key for c in newcomers}
        ranked = sorted(
            (c for c in self.pending() if c.key not in taken), key=lambda c: (-c.value, c.order)
        )
        return ranked[: count - len(newcomers)] + newcomers

    def _adopt_best(self, states: Sequence[State], count: int) -> list[Candidate]:
        """The ``count`` best predicted of ``states`` not seen before, hung under the root."""
        unseen: dict[Hashable, State] = {}
        for state in states:
            key = self.env.key(state)
            if key not in self.pool:
                unseen.setdefault(key, state)
        if not unseen or count <= 0:
            return []
        scores = self._score(list(unseen.values()), [0.0] * len(unseen), in_step=False)
        ranked = sorted(zip(unseen.items(), scores, strict=True), key=lambda x: -x[1])[:count]
        adopted = []
        for (key, state), score in ranked:
            roots = len(self.tree.nodes[ROOT].children)
            self.tree.add(
                ROOT,
                state,
                key,
                model=self._initial_model(roots),
                proposed_by=None,
                edits=(),
                score=score,
            )
            self._offer(key, state, score)
            adopted.append(self.pool[key])
        return adopted

    def record_measurement(self, key: Hashable, latency_s: float | None) -> float:
        """Feeds a real measurement back; returns the value it got (throughput relative to the
        best seen, 0 for a failure). ``None`` means the candidate failed.

        Values are relative to the fastest program measured so far, so a new best rescales
        every earlier measurement: a program that was the best once must not keep the value 1
        it had then, or the tree would keep favouring whatever it measured first.
        """
        self.trials_done += 1
        self.latencies[key] = latency_s
        improved = latency_s is not None and (
            self.best_latency_s is None or latency_s < self.best_latency_s
        )
        if improved:
            self.best_latency_s = latency_s
        for measured_key in self.latencies if improved else (key,):
            self._set_measured_value(measured_key)
        return self._measured_value(key)

    def _measured_value(self, key: Hashable) -> float:
        latency_s = self.latencies[key]
        if latency_s is None or self.best_latency_s is None:
            return FAILED_VALUE
        return self.best_latency_s / latency_s

    def _set_measured_value(self, key: Hashable) -> None:
        value = self._measured_value(key)
        candidate = self.pool.get(key)
        if candidate is not None:
            candidate.measured, candidate.value = True, value
        self.tree.correct(key, value)

    def rescore(self) -> None:
        """Re-predicts unmeasured candidates after the cost model was retrained, in the pool and
        along every path their earlier predictions were backed up: the tree's statistics then
        reflect what the model knows now, on the same scale as the measured values."""
        pending = self.pending()
        if not pending:
            return
        scores = self._score([c.state for c in pending], [c.value for c in pending], in_step=False)
        for candidate, score in zip(pending, scores, strict=True):
            candidate.value = score
            self.tree.correct(candidate.key, score, measured=False)

    # -- reporting --------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        return {
            "expansions": self.expansions,
            "tree_size": len(self.tree.nodes) - 1,
            "tree_depth": self.tree.depth(),
            "course_alterations": self.course_alterations,
            "duplicates": self.duplicates,
            "invalid_edits": sum(c.errors.get("invalid_edit", 0) for c in self.counters.values()),
            "search_overhead_per_expansion_s": (
                self.times.overhead / self.expansions if self.expansions else None
            ),
            "time_s": {
                "total": self.times.total,
                "proposals": self.times.proposals,
                "scoring": self.times.scoring,
                "edits": self.times.edits,
            },
        }
