"""The COLT search loop: select (MA-UCT) → expand (acting model) → rollout → course alteration →
backpropagate, over one tree shared by every model. No I/O: the environment, the proposer and
the clock come in as arguments; measurements come back through :meth:`Search.record_measurement`.

The rules are pure functions in ``colt.search.policy``; the pool, the roots and measurement
feedback are ``colt.search.measurements``; making a child live is ``colt.search.expansion``.
Each change to the tree is an event (``colt.search.events``): a live step decides it, writes it
to the journal and applies it through :meth:`Search.apply`; a resumed run applies the recorded
event through the same method instead of deciding again.

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

from colt.search.base import Edit, Environment, JointAction, ModelInfo, Proposal, Proposer, State
from colt.search.config import SearchConfig
from colt.search.context import prompt_context
from colt.search.events import EventLog, NodeAdded, NodePruned, NodeRevisited, TreeEvent
from colt.search.expansion import Expander, Plan
from colt.search.feedback import MeasurementFeedback
from colt.search.measurements import Measurements, Programs
from colt.search.policy import (
    acting_model,
    best_child,
    is_stand_in,
    needs_course_alteration,
    phi_small,
)
from colt.search.pool import Candidate, Pool
from colt.search.random_proposer import RANDOM_MODEL, RandomProposer
from colt.search.record import SearchEvents, hashable
from colt.search.seeds import streams
from colt.search.stats import ModelCounters, SearchTimes
from colt.search.summary import search_summary
from colt.search.time_share import ModelTimeShare, Stall
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
        log: EventLog | None = None,
        generators: Mapping[str, np.random.Generator] | None = None,
        wall: Callable[[], float] | None = None,
    ) -> None:
        """``log``: the run's journal; the search writes its events there and, when it holds
        some already (a resumed run), rebuilds its state from them first. ``generators``: the
        caller's random generators whose states the events carry (the sampler, the proposer).
        ``wall``: the run's wall seconds so far; with it, the models' calls may take at most
        ``config.model_time_share`` of them, and a random stand-in expands past that
        (``colt.search.time_share``)."""
        self.env, self.proposer, self.config, self.clock = env, proposer, config, clock
        self.models = tuple(models)
        self.largest = max(self.models, key=lambda m: m.parameters).name
        self.phi = {m.name: phi_small(m.name, self.models) for m in self.models}
        self.root_model = self.largest if config.model_selection else self.models[0].name
        rngs = streams(seed)
        self.rng, self.preview_rng = rngs.search, rngs.preview
        self.stand_in = RandomProposer(rngs.stand_in, choose_model=False)
        self.tree = Tree(self.root_model)
        self.counters = {m.name: ModelCounters() for m in self.models}
        self.stall = Stall(config.stall_rounds)  # the models wait for rounds finding nothing
        self.time_share = self._time_share(wall)
        self.times = SearchTimes()
        self.help = transformation_help or {}
        self.trials_total = trials_total
        self.expansions = self.duplicates = self.course_alterations = 0
        self.overhead_marks: list[dict[str, float]] = []  # one per measurement round
        self.depth_calls: defaultdict[int, Counter[str]] = defaultdict(Counter)
        # The rest of a multi-child answer, per node: (the model that gave it, its actions not
        # used yet). The node's next children come from it without another call.
        self.queued: dict[int, tuple[str, list[JointAction]]] = {}
        self.calls = 0  # proposer calls: at most one per node expansion
        own = {"search": self.rng, "preview": self.preview_rng, "stand_in": self.stand_in.rng}
        self.record = SearchEvents(log, own | dict(generators or {}), env.dump)
        self.measurements = Measurements(
            self.tree,
            env,
            self.record,
            config=config,
            models=self.models,
            root_model=self.root_model,
        )
        self.expander = Expander(
            env, self.rng, self.record, self.times, clock, rollout_steps=config.rollout_steps
        )
        # The children this step added and has not backed up yet, by node id: a course
        # alteration may still prune one (and its rollout end) instead.
        self._unbacked: dict[int, Expansion] = {}

    def _time_share(self, wall: Callable[[], float] | None) -> ModelTimeShare:
        """The models' share of the run's wall, earned by their measured proposals."""
        return ModelTimeShare(
            self.counters,
            self.config.model_time_share,
            wall=wall,
            random_run=RANDOM_MODEL in self.phi,
            gain=lambda: self.feedback.gain_of(m.name for m in self.models),
            search_gain=lambda: self.feedback.gain_of(set(self.feedback.credit) - {"initial"}),
            unearned_share=self.config.unearned_model_share,
            probation_calls=self.config.probation_calls,
            stalled=(lambda: self.stall.stalled) if self.config.stall_rounds else None,
        )

    # -- one iteration ----------------------------------------------------------------------

    def step(self) -> Node:
        """One MCTS iteration (or the next recorded one); returns the node whose value was
        backed up."""
        started = self.clock()
        if not self.tree.live_children(ROOT):
            self.measurements.plant_roots()
        recorded = self.record.next_tree()
        node = self._live_step() if recorded is None else self._replayed_step(recorded)
        self.times.total += self.clock() - started
        return node

    def _live_step(self) -> Node:
        models_sit_out = self.time_share.used_up()
        node = self._select(prior=not models_sit_out)
        if not self._expandable(node):
            return self._commit(NodeRevisited(node=node.id))
        model, floor = (RANDOM_MODEL, False) if models_sit_out else self._acting_model(node)
        return self._expansion_step(Plan(node.id, model, floor=floor), None)

    def _replayed_step(self, event: TreeEvent) -> Node:
        if isinstance(event, NodeAdded):
            return self._expansion_step(Plan.of(event), event)
        return self.apply(event)  # a revisit (a pruning has no child of this step to prune)

    def _expansion_step(self, plan: Plan, recorded: NodeAdded | None) -> Node:
        """Expands as planned (or as recorded), makes the course alteration the record or the
        rule calls for, and backs up the surviving child's rollout value."""
        if plan.floor:
            self.counters[self.largest].floor_calls += 1
        child = self._expand(plan, recorded)
        if self._altered(child):
            self.apply(NodePruned(node=child.id))
            again = Plan(plan.parent, self.largest, course_alteration=True)
            child = self._expand(again, self.record.next_added())
        expansion = self._unbacked.pop(child.id)
        self.tree.backpropagate(child.id, expansion.value, expansion.terminal_key)
        self.expansions += 1
        return child

    def _select(self, *, prior: bool = True) -> Node:
        """Descends by MA-UCT from the virtual root while the node has all its children.

        Without ``prior`` (the models sit this step out: their share is spent, or the search
        has not stalled) the small-model prior is dropped: it favours nodes a cheap model would
        expand, and the stand-in expands whatever is chosen. The tree then grows as a random
        run's would, drawing the same random proposals: until the models are first asked, a run
        with them and one with ``--proposer random`` differ only by measurement noise (which,
        through the cost model, soon has them measure different candidates)."""
        node = self.tree.nodes[ROOT]
        phi = self.phi if prior else dict.fromkeys(self.phi, 0.0)
        lam, c, fades = self.config.lam, self.config.exploration, self.config.prior_fades
        while node.id == ROOT or not self._expandable(node):
            children = self.tree.live_children(node.id)
            if not children:
                return node
            node = best_child(children, node.visits, phi, lam=lam, c=c, fades=fades)
        return node

    def _expandable(self, node: Node) -> bool:
        return (
            node.id != ROOT
            and node.depth < self.config.max_depth
            and len(self.tree.live_children(node.id)) < self.config.branching_factor
        )

    def _acting_model(self, node: Node) -> tuple[str, bool]:
        """Which model answers for ``node`` (the floor may call in the largest model) and
        whether the floor decided."""
        calls = {name: c.calls for name, c in self.counters.items() if name != RANDOM_MODEL}
        return acting_model(
            node.model,
            calls,
            self.largest,
            floor=self.config.largest_model_floor,
            grace_calls=self.config.floor_grace_calls,
        )

    def _altered(self, child: Node) -> bool:
        """Whether a course alteration prunes ``child``: as recorded, or as the rule decides
        now (and then written down)."""
        recorded = self.record.pruned_next(child.id)
        if recorded is not None:
            return recorded
        altered = self.config.course_alteration and needs_course_alteration(
            self.tree.path(child.id), self.largest
        )
        if altered:
            self.record.emit(NodePruned(node=child.id))
        return altered

    # -- events -------------------------------------------------------------------------------

    def apply(self, event: TreeEvent, programs: Sequence[State] = ()) -> Node:
        """Changes the tree as ``event`` says, whether the step decided it now or the journal
        holds it; returns the node it is about. ``programs``: a node's program and rollout end
        when they are in memory already (made live); a replayed event's are loaded."""
        if isinstance(event, NodeAdded):
            child, terminal = programs or [
                self.env.load(program.program) for program in (event.child, event.terminal)
            ]
            return self._add_child(event, child, terminal)
        if isinstance(event, NodePruned):
            return self._prune(event.node)
        node = self.tree.nodes[event.node]
        self.tree.backpropagate(node.id, node.value, node.key)
        return node

    def _commit(self, event: TreeEvent, programs: Sequence[State] = ()) -> Node:
        """Applies an event decided now, after writing it down."""
        self.record.emit(event)
        return self.apply(event, programs)

    def _add_child(self, event: NodeAdded, state: State, terminal: State) -> Node:
        node = self.tree.nodes[event.parent]
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
            value=self.measurements.known_value(key, event.child.value),
            course_alteration=event.course_alteration,
            regressed=event.regressed,
        )
        self.counters[event.acting].children += 1
        self.counters[event.acting].repaired_arguments += event.repaired_arguments
        if event.hit:
            self.counters[event.acting].hits += 1
        self.pool.offer(key, state, event.child.value, "proposal", event.acting)
        self.pool.offer(terminal_key, terminal, event.terminal.value, "rollout")
        value = self.measurements.known_value(terminal_key, event.terminal.value)
        self._unbacked[child.id] = Expansion(child, terminal_key, value)
        return child

    def _prune(self, node_id: int) -> Node:
        """The regressive child leaves the tree and, with its rollout end, the pool; the
        largest model answers for its parent next."""
        expansion = self._unbacked.pop(node_id, None)
        if expansion is None:
            raise ValueError(f"the journal prunes node {node_id}, which this step did not add")
        self.tree.prune(node_id)
        self.pool.withdraw(expansion.child.key)
        self.pool.withdraw(expansion.terminal_key)
        self.course_alterations += 1
        self.counters[self.largest].course_alterations += 1
        return expansion.child

    # -- expansion ----------------------------------------------------------------------------

    def _expand(self, plan: Plan, recorded: NodeAdded | None) -> Node:
        """The acting model answers for the planned node (a replayed run gets the recorded
        answer) and the child joins the tree: as recorded, or made now from the answer."""
        node = self.tree.nodes[plan.parent]
        proposal = self._answer(node, plan.acting, fresh=plan.course_alteration)
        self.depth_calls[node.depth][plan.acting] += 1
        node.expanded_by = plan.acting
        if recorded is not None:
            return self.apply(recorded)
        edits, next_model = self._interpret(proposal, plan.acting)
        if is_stand_in(plan.acting, self.phi):
            next_model = node.model  # a stand-in leaves the choice of model as it was
        event, child, terminal = self.expander.make(node, plan, edits, next_model)
        return self._commit(event, (child, terminal))

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
        if is_stand_in(model, self.phi):
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
        edits = action.edits if action and action.edits else (self.expander.random_edit(),)
        next_model = action.next_model if action else model
        if next_model not in self.counters:
            next_model = model
        if not self.config.model_selection:
            next_model = self.root_model
        elif self.config.model_choice == "uniform":
            next_model = self.models[int(self.rng.integers(len(self.models)))].name
        return tuple(edits), next_model

    # -- measurements (colt.search.measurements) -------------------------------------------

    @property
    def pool(self) -> Pool:
        return self.measurements.pool

    @property
    def feedback(self) -> MeasurementFeedback:
        return self.measurements.feedback

    @property
    def trials_done(self) -> int:
        return self.measurements.trials_done

    @property
    def waiting_proposals(self) -> int:
        """Proposed programs not measured yet (what the next round would measure first)."""
        return self.pool.waiting_proposals

    @property
    def best_latency_s(self) -> float | None:
        return self.feedback.best_latency_s

    def start(self, initial: Programs) -> None:
        self.measurements.start(initial)

    def pick_for_measurement(self, count: int, fresh: Programs = ()) -> list[Candidate]:
        return self.measurements.pick_for_measurement(count, fresh)

    def record_measurement(self, key: Hashable, latency_s: float | None) -> float:
        return self.measurements.record_measurement(key, latency_s)

    def repredict(self) -> None:
        self.measurements.repredict()

    def end_round(self) -> None:
        """After a measurement round and the cost model's retraining: re-predict what is new,
        and note the search's own overhead so far (a run shows whether it stays linear)."""
        self.measurements.repredict()
        self.stall.end_round(self.best_latency_s)
        self.overhead_marks.append(
            {
                "samples": self.trials_done,
                "expansions": self.expansions,
                "overhead_s": round(self.times.overhead, 4),
            }
        )

    def summary(self) -> dict[str, Any]:
        return search_summary(self)
