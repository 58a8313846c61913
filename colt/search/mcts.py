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
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from colt.search.base import (
    Edit,
    Environment,
    JointAction,
    ModelInfo,
    Proposal,
    Proposer,
    State,
)
from colt.search.config import SearchConfig
from colt.search.context import prompt_context
from colt.search.course import needs_course_alteration
from colt.search.events import (
    EventLog,
    NodeAdded,
    NodePruned,
    NodeRevisited,
)
from colt.search.feedback import MeasurementFeedback
from colt.search.policy import floor_applies, ma_uct, phi_small
from colt.search.pool import Pool
from colt.search.pool_side import PoolSide
from colt.search.random_proposer import RANDOM_MODEL, RandomProposer
from colt.search.record import SearchRecord, hashable
from colt.search.seeds import streams
from colt.search.stats import ModelCounters, SearchTimes
from colt.search.summary import search_summary
from colt.search.tree import ROOT, Node, Tree


@dataclass(frozen=True)
class Expansion:
    child: Node
    terminal_key: Hashable
    value: float  # what is backed up: the rollout end's value


class Search(PoolSide):
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
        log: EventLog | None = None,
        generators: Mapping[str, np.random.Generator] | None = None,
        wall: Callable[[], float] | None = None,
    ) -> None:
        """``log``: the run's journal; the search writes its events there and, when it holds
        some already (a resumed run), rebuilds its state from them first. ``generators``: the
        caller's random generators whose states the events carry (the sampler, the proposer).
        ``wall``: the run's wall seconds so far; with it, the models' calls may take at most
        ``config.model_time_share`` of them, and a random stand-in expands past that."""
        self.env, self.proposer, self.config, self.clock = env, proposer, config, clock
        self.models = tuple(models)
        self.largest = max(self.models, key=lambda m: m.parameters).name
        self.phi = {m.name: phi_small(m.name, self.models) for m in self.models}
        self.root_model = self.largest if config.model_selection else self.models[0].name
        rngs = streams(seed)
        self.rng, self.preview_rng = rngs.search, rngs.preview
        self.wall = wall
        self.stand_in = RandomProposer(rngs.stand_in)
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
        # The rest of a multi-child answer, per node: (the model that gave it, its actions not
        # used yet). The node's next children come from it without another call.
        self.queued: dict[int, tuple[str, list[JointAction]]] = {}
        self.calls = 0  # proposer calls: at most one per node expansion
        own = {"search": self.rng, "preview": self.preview_rng, "stand_in": self.stand_in.rng}
        self.record = SearchRecord(log, own | dict(generators or {}), env.dump)

    # -- one iteration ----------------------------------------------------------------------

    def step(self) -> Node:
        """One MCTS iteration (or the next recorded one); returns the node whose value was
        backed up."""
        started = self.clock()
        if not self.tree.live_children(ROOT):
            self._plant_roots()
        recorded = self.record.next_tree()
        if recorded is None:
            node = self._select()
            if not self._expandable(node):
                recorded = NodeRevisited(node=node.id)
                self.record.emit(recorded)
        if isinstance(recorded, NodeRevisited):
            node = self.tree.nodes[recorded.node]
            self.tree.backpropagate(node.id, node.value, node.key)
            self.times.total += self.clock() - started
            return node
        if isinstance(recorded, NodePruned):
            raise ValueError(f"the journal prunes node {recorded.node} before adding its sibling")
        expansion = self._expansion_step(node if recorded is None else recorded)
        self.tree.backpropagate(expansion.child.id, expansion.value, expansion.terminal_key)
        self.expansions += 1
        self.times.total += self.clock() - started
        return expansion.child

    def _expansion_step(self, at: Node | NodeAdded) -> Expansion:
        """Expands ``at`` (a selected node, or the recorded expansion to apply), then makes the
        course alteration the record or the rule calls for."""
        recorded = at if isinstance(at, NodeAdded) else None
        node = at if isinstance(at, Node) else self.tree.nodes[at.parent]
        model, floor = (
            (at.acting, at.floor) if isinstance(at, NodeAdded) else self._acting_model(node)
        )
        if floor:
            self.counters[self.largest].floor_calls += 1
        expansion = self._expand(node, model, recorded, floor=floor)
        altered = self.record.pruned_next(expansion.child.id) if recorded else None
        if altered is None:
            altered = self._needs_alteration(model, expansion.child)
            if altered:
                self.record.emit(NodePruned(node=expansion.child.id))
        if altered:
            self._prune(expansion)
            self.course_alterations += 1
            self.counters[self.largest].course_alterations += 1
            again = self.record.next_added() if recorded else None
            expansion = self._expand(node, self.largest, again, course_alteration=True)
        return expansion

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

    def _acting_model(self, node: Node) -> tuple[str, bool]:
        """The node's model, unless the largest model's share of calls is under its floor;
        and whether the floor decided. A random stand-in while the models' calls have taken
        their share of the run's wall time."""
        if self._models_out_of_time():
            return RANDOM_MODEL, False
        calls = {name: c.calls for name, c in self.counters.items() if name != RANDOM_MODEL}
        if node.model != self.largest and floor_applies(
            calls,
            self.largest,
            floor=self.config.largest_model_floor,
            grace_calls=self.config.floor_grace_calls,
        ):
            return self.largest, True
        return node.model, False

    def _is_stand_in(self, model: str) -> bool:
        """Whether ``model`` is the random stand-in, not one of the set's models."""
        return model == RANDOM_MODEL and model not in self.phi

    def _models_out_of_time(self) -> bool:
        share = self.config.model_time_share
        if self.wall is None or share >= 1.0 or RANDOM_MODEL in self.phi:
            return False  # no clock, no cap, or a random-proposer run (no model to spare)
        models = [c for name, c in self.counters.items() if name != RANDOM_MODEL]
        spent = sum(c.latency_s for c in models)
        calls = sum(c.calls for c in models)
        # the next call is expected to cost what calls cost so far: stop before crossing
        expected = spent / calls if calls else 0.0
        return spent + expected > share * (self.wall() + expected)

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

    def _expand(
        self,
        node: Node,
        model: str,
        recorded: NodeAdded | None,
        *,
        floor: bool = False,
        course_alteration: bool = False,
    ) -> Expansion:
        """``model`` answers for ``node`` (a replayed run gets the recorded answer) and the
        child joins the tree: as recorded, or made now from the answer and a rollout."""
        proposal = self._answer(node, model, fresh=course_alteration)
        self.depth_calls[node.depth][model] += 1
        node.expanded_by = model
        if recorded is not None:
            child = self.env.load(recorded.child.program)
            terminal = self.env.load(recorded.terminal.program)
            return self._add_child(node, recorded, child, terminal)
        event, child, terminal = self._decide(node, model, proposal, floor, course_alteration)
        self.record.emit(event)
        return self._add_child(node, event, child, terminal)

    def _decide(
        self, node: Node, model: str, proposal: Proposal, floor: bool, course_alteration: bool
    ) -> tuple[NodeAdded, State, State]:
        """The child the answer makes (a random edit when it changes nothing legal), its
        rollout, and both predicted beside the parent in one cost-model call."""
        edits, next_model = self._interpret(proposal, model)
        if self._is_stand_in(model):
            next_model = node.model  # a stand-in leaves the choice of model as it was
        state, applied, invalid, repaired = self._apply(node.state, edits)
        if self.env.key(state) == node.key:  # nothing legal changed: still make progress
            state, applied, _, _ = self._apply(node.state, (self._random_edit(),))
        rollout = [self._random_edit() for _ in range(self.config.rollout_steps)]
        terminal, _, _, _ = self._apply(state, rollout)
        parent_now, child_value, terminal_value = self._predict_expansion(node, state, terminal)
        key, terminal_key = self.env.key(state), self.env.key(terminal)
        event = NodeAdded(
            parent=node.id,
            acting=model,
            floor=floor,
            course_alteration=course_alteration,
            model=next_model,
            edits=[[e.name, [list(a) for a in e.args]] for e in applied],
            invalid_edits=invalid,
            repaired_arguments=repaired,
            child=self.record.program(key, state, child_value),
            terminal=self.record.program(terminal_key, terminal, terminal_value),
            regressed=child_value < parent_now,
            hit=child_value > parent_now,
            generators=self.record.snapshot(),
        )
        return event, state, terminal

    def _add_child(self, node: Node, event: NodeAdded, state: State, terminal: State) -> Expansion:
        if event.invalid_edits:
            self.counters[event.acting].add_error("invalid_edit", event.invalid_edits)
        key, terminal_key = hashable(event.child.key), hashable(event.terminal.key)
        if any(not self.tree.nodes[i].pruned for i in self.tree.by_key.get(key, ())):
            self.duplicates += 1
        child = self.tree.add(
            node.id,
            state,
            key,
            model=event.model,
            proposed_by=event.acting,
            edits=tuple(
                Edit(name, tuple((k, hashable(v)) for k, v in args)) for name, args in event.edits
            ),
            value=self._known_value(key, event.child.value),
            course_alteration=event.course_alteration,
            regressed=event.regressed,
        )
        self.counters[event.acting].children += 1
        self.counters[event.acting].repaired_arguments += event.repaired_arguments
        if event.hit:
            self.counters[event.acting].hits += 1
        self.pool.offer(key, state, event.child.value, "proposal", event.acting)
        self.pool.offer(terminal_key, terminal, event.terminal.value, "rollout")
        return Expansion(child, terminal_key, self._known_value(terminal_key, event.terminal.value))

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

    def _answer(self, node: Node, model: str, *, fresh: bool) -> Proposal:
        """The next action of ``model``'s answer for ``node``: the rest of the answer it gave
        for all the node's children, or a new call. A course alteration (``fresh``) or another
        acting model (the floor) always asks anew."""
        queued = self.queued.pop(node.id, None)
        if queued is not None and queued[0] == model and queued[1] and not fresh:
            action, *rest = queued[1]
            if rest:
                self.queued[node.id] = (model, rest)
            return Proposal(action)
        proposal = self._propose(node, model)
        if proposal.more:
            self.queued[node.id] = (model, list(proposal.more))
        return proposal

    def _propose(self, node: Node, model: str) -> Proposal:
        started = self.clock()
        missing = self.config.branching_factor - len(self.tree.live_children(node.id))
        context = prompt_context(self, node, model, children=max(1, missing))
        if self._is_stand_in(model):
            proposal = self.stand_in.propose(model, context)
            self.counters.setdefault(RANDOM_MODEL, ModelCounters())
        else:
            proposal = self.proposer.propose(model, context)
        self.times.proposals += self.clock() - started
        self.counters[model].record_call(proposal)
        self.calls += 1
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
        self, state: State, edits: Sequence[Edit]
    ) -> tuple[State, tuple[Edit, ...], int, int]:
        """The program ``edits`` make, the edits applied, how many were invalid and how many
        arguments were repaired."""
        started = self.clock()
        result = self.env.apply(state, edits, self.rng)
        self.times.edits += self.clock() - started
        return result.state, result.applied, len(result.invalid), len(result.repaired)

    def _random_edit(self) -> Edit:
        return Edit(str(self.rng.choice(list(self.env.transformations))))

    def _known_value(self, key: Hashable, predicted: float) -> float:
        candidate = self.pool.get(key)
        if candidate is not None and candidate.measured:
            return candidate.value
        return predicted

    def summary(self) -> dict[str, Any]:
        return search_summary(self)
