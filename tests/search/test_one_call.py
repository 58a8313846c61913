"""One model call answers all of a node's children; the prompt context shows what was tried."""

from __future__ import annotations

import itertools

import numpy as np

from colt.search.base import Edit, JointAction, ModelInfo, PromptContext, Proposal
from colt.search.mcts import Search
from colt.search.random_proposer import RandomProposer
from colt.search.scripted import ScriptedProposer
from colt.search.time_share import ModelSpend
from tests.search.fakes import fake_latency, simulate, two_root_search

MODELS = (ModelInfo("small", 1e9), ModelInfo("large", 1e11))


class CountingProposer:
    """Answers ``context.children`` different actions per call and records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, PromptContext]] = []

    def propose(self, model: str, context: PromptContext) -> Proposal:
        self.calls.append((model, context))
        actions = [
            JointAction((Edit("Up", (("by", i + 1),)),), model) for i in range(context.children)
        ]
        return Proposal(actions[0], more=tuple(actions[1:]))


def _search(proposer, **overrides) -> Search:  # type: ignore[no-untyped-def]
    return two_root_search(proposer, MODELS, **overrides)


def test_a_node_gets_all_its_children_from_one_call() -> None:
    proposer = CountingProposer()
    search = _search(proposer, course_alteration=False, largest_model_floor=0.0)
    simulate(search, rounds=4, expansions=6)
    expanded = [n for n in search.tree.nodes[1:] if search.tree.live_children(n.id)]
    assert search.expansions >= 20
    assert len(proposer.calls) == search.calls == len(expanded)
    # every second child came out of its sibling's answer, without a call
    full = [n for n in expanded if len(search.tree.live_children(n.id)) == 2]
    assert search.calls == search.expansions - len(full) < search.expansions
    assert all(context.children == 2 for _, context in proposer.calls)
    summary = search.summary()
    assert summary["model_calls"] == search.calls
    assert summary["calls_per_expansion"] == search.calls / search.expansions


def test_children_of_one_answer_are_its_different_actions() -> None:
    search = _search(CountingProposer(), course_alteration=False, largest_model_floor=0.0)
    simulate(search, rounds=2, expansions=4)
    parent = next(n for n in search.tree.nodes[1:] if len(search.tree.live_children(n.id)) == 2)
    edits = [c.edits for c in search.tree.live_children(parent.id)]
    assert edits == [(Edit("Up", (("by", 1),)),), (Edit("Up", (("by", 2),)),)]


def test_a_course_alteration_asks_the_largest_model_anew() -> None:
    proposer = CountingProposer()
    search = _search(proposer, largest_model_floor=0.0)
    search.env.scale = -100  # every Up regresses: small-model regressions trigger alterations
    simulate(search, rounds=3, expansions=6)
    assert search.course_alterations > 0
    large_calls = [c for m, c in proposer.calls if m == "large"]
    assert len(large_calls) >= search.course_alterations
    assert search.calls <= search.expansions


def test_the_context_shows_siblings_and_the_fastest_measured_program() -> None:
    proposer = CountingProposer()
    search = _search(proposer, course_alteration=False, largest_model_floor=0.0)
    simulate(search, rounds=3, expansions=6)
    root = search.tree.live_children(0)[0]
    search.queued.pop(root.id, None)
    search.tree.prune(search.tree.live_children(root.id)[0].id)
    search._propose(root, root.model)
    context = proposer.calls[-1][1]
    assert context.children == 1 and len(context.siblings) == 1
    assert context.best is not None
    assert context.best.measured_s == min(
        fake_latency(k) for k in search.feedback.latencies if fake_latency(k)
    )
    assert context.current.measured_s is not None  # the root was measured


def test_the_parent_view_names_the_model_that_made_the_current_node() -> None:
    proposer = CountingProposer()
    search = _search(proposer, course_alteration=False, largest_model_floor=0.0)
    simulate(search, rounds=3, expansions=6)
    deep = next(n for n in search.tree.nodes[1:] if n.depth >= 3)
    search._propose(deep, deep.model)
    context = proposer.calls[-1][1]
    parent = search.tree.nodes[deep.parent]
    assert context.parent is not None and context.grandparent is not None
    assert context.parent.model == deep.proposed_by
    assert context.grandparent.model == parent.proposed_by


def test_random_and_scripted_proposers_answer_every_child_asked_for() -> None:
    context = PromptContext(
        current=None,  # type: ignore[arg-type]
        parent=None,
        grandparent=None,
        transformations=("Up", "Down"),
        transformation_help={},
        models=MODELS,
        model_stats={},
        leaf_depth=1,
        trials_done=0,
        trials_total=8,
        preview=lambda k: [(Edit("Up", (("by", i),)), i / 10) for i in range(k)],
        children=3,
    )
    random_answer = RandomProposer(np.random.default_rng(0)).propose("small", context)
    greedy = ScriptedProposer("greedy", "self", rng=np.random.default_rng(0), k=8)
    scripted_answer = greedy.propose("small", context)
    assert len(random_answer.actions) == 3
    assert [a.edits[0].arg("by") for a in scripted_answer.actions] == [7, 6, 5]


def test_credit_names_each_source_of_measured_samples() -> None:
    search = _search(CountingProposer(), course_alteration=False, largest_model_floor=0.0)
    simulate(search, rounds=3, expansions=6)
    credit = search.summary()["credit"]
    assert credit["initial"]["samples"] == 2
    assert sum(c["samples"] for c in credit.values()) == search.trials_done
    shares = [c["improvement_share"] for c in credit.values() if c["improvement_share"]]
    assert abs(sum(shares) - 1.0) < 1e-9
    assert credit["small"]["calls"] + credit["large"]["calls"] == search.calls


# the models asked from the first round: what these tests check does not wait for a stall
FROM_START = {"stall_rounds": 0}


class SlowProposer(CountingProposer):
    """Every call takes ``seconds`` of model time."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def propose(self, model: str, context: PromptContext) -> Proposal:
        proposal = super().propose(model, context)
        return Proposal(proposal.action, latency_s=self.seconds, more=proposal.more)


def test_past_their_time_share_the_models_make_way_for_a_random_stand_in() -> None:
    proposer = SlowProposer(seconds=1.0)
    wall = itertools.count(0.0, 0.5)  # half a second of run wall time per question
    search = _search(proposer, model_time_share=0.4, largest_model_floor=0.0, **FROM_START)
    search.time_share.wall = lambda: next(wall)
    simulate(search, rounds=4, expansions=8)
    stand_in = search.counters["random"]
    assert stand_in.calls > 0 and len(proposer.calls) > 0
    model_s = sum(c.latency_s for n, c in search.counters.items() if n != "random")
    assert model_s <= 0.4 * search.time_share.wall() + 1.0  # one call may cross the line
    # a stand-in child keeps its parent's model and never counts as a model's regression
    made = [n for n in search.tree.nodes[1:] if n.proposed_by == "random"]
    assert made and all(n.model == search.tree.nodes[n.parent].model for n in made)
    assert search.summary()["credit"]["random"]["calls"] == stand_in.calls


def test_without_a_time_share_only_the_models_answer() -> None:
    proposer = SlowProposer(seconds=1.0)
    search = _search(proposer, model_time_share=1.0)
    search.time_share.wall = lambda: 1.0
    simulate(search, rounds=2, expansions=4)
    assert "random" not in search.counters and search.calls == len(proposer.calls)


def test_a_network_s_tasks_share_one_model_time_share() -> None:
    """Another task's model time counts against the same share of the run's wall: a task
    whose own calls are few still hands over to the stand-in when the run's models are over."""
    proposer = SlowProposer(seconds=0.1)
    search = _search(proposer, model_time_share=0.4, largest_model_floor=0.0)
    search.time_share.wall = lambda: 100.0
    # the other tasks' calls took 60 % of the wall
    search.time_share.other_models = lambda: ModelSpend(60.0, 50)
    simulate(search, rounds=2, expansions=4)
    assert len(proposer.calls) == 0 and search.counters["random"].calls > 0
    alone = _search(
        SlowProposer(seconds=0.1), model_time_share=0.4, largest_model_floor=0.0, **FROM_START
    )
    alone.time_share.wall = lambda: 100.0
    simulate(alone, rounds=2, expansions=4)
    assert "random" not in alone.counters  # on its own it was far under its share
