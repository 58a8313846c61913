"""The models keep their share of the wall only while their proposals earn something."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

from colt.config import TuneConfig
from colt.search.base import Edit, JointAction, ModelInfo, PromptContext, Proposal
from colt.search.mcts import Search
from colt.search.time_share import ModelSpend, ModelTimeShare
from colt.strategies.shared_tree import open_proposer
from tests.search.fakes import simulate, two_root_search

MODELS = (ModelInfo("small", 1e9), ModelInfo("large", 1e11))


def _share(spend: ModelSpend) -> ModelTimeShare:
    share = ModelTimeShare(
        {}, 0.4, wall=lambda: 100.0, random_run=False, unearned_share=0.1, probation_calls=4
    )
    share.spent = lambda: spend  # type: ignore[method-assign]
    return share


def test_the_share_is_whole_during_probation_and_once_earned_and_small_otherwise() -> None:
    assert _share(ModelSpend(5.0, 3)).current_share() == 0.4  # probation
    assert _share(ModelSpend(5.0, 4)).current_share() == 0.1  # four calls, nothing earned
    assert _share(ModelSpend(5.0, 9, gain=0.02)).current_share() == 0.4
    # a network's other tasks count: their calls end the probation, their gain earns it back
    share = _share(ModelSpend(1.0, 1))
    share.other_models = lambda: ModelSpend(4.0, 3)
    assert share.current_share() == 0.1
    share.other_models = lambda: ModelSpend(4.0, 3, gain=0.5)
    assert share.current_share() == 0.4


def test_one_early_win_keeps_the_share_only_while_the_models_earn_what_they_cost() -> None:
    # wall 100 s: 20 s of calls is 20 % of it; the models need a fifth of the search's gain
    assert _share(ModelSpend(20.0, 9, gain=0.5, search_gain=2.0)).current_share() == 0.4
    assert _share(ModelSpend(20.0, 9, gain=0.3, search_gain=2.0)).current_share() == 0.1
    # cheaper calls keep the same gain in the share
    assert _share(ModelSpend(10.0, 9, gain=0.3, search_gain=2.0)).current_share() == 0.4
    # a network's other tasks' gains count on both sides
    share = _share(ModelSpend(20.0, 9, gain=0.3, search_gain=1.0))
    share.other_models = lambda: ModelSpend(0.0, 0, gain=0.0, search_gain=2.0)
    assert share.current_share() == 0.1


def test_no_limit_means_no_probation_either() -> None:
    share = ModelTimeShare({}, 1.0, wall=lambda: 1.0, random_run=False, unearned_share=0.1)
    assert share.current_share(ModelSpend(50.0, 40)) == 1.0 and not share.used_up()


class OneWayProposer:
    """Every answer moves the program one way; each call takes a second."""

    def __init__(self, direction: str) -> None:
        self.direction, self.calls = direction, 0

    def propose(self, model: str, context: PromptContext) -> Proposal:
        self.calls += 1
        actions = tuple(
            JointAction((Edit(self.direction, (("by", 6),)),), model)
            for _ in range(context.children)
        )
        return Proposal(actions[0], latency_s=1.0, more=actions[1:])


def _run(direction: str) -> tuple[Search, OneWayProposer]:
    proposer = OneWayProposer(direction)
    search = two_root_search(
        proposer,
        MODELS,
        model_time_share=0.4,
        largest_model_floor=0.0,
        course_alteration=False,
        stall_rounds=0,
    )
    # two seconds of run wall time per expansion
    search.time_share.wall = lambda: 2.0 * (search.expansions + 1)
    simulate(search, rounds=6, expansions=8)
    return search, proposer


def test_models_whose_proposals_never_lead_give_way_after_their_probation() -> None:
    losing, losing_calls = _run("Down")  # every proposal slower than its parent
    winning, winning_calls = _run("Up")  # the models' proposals keep setting the best
    assert losing.summary()["model_share"]["at_end"] == 0.1
    assert losing.summary()["model_share"]["gain"] == 0.0
    assert winning.summary()["model_share"]["at_end"] == 0.4
    assert winning.summary()["model_share"]["gain"] > 0.0
    probation = losing.config.probation_calls
    assert probation > 0 and losing_calls.calls >= probation
    assert 1.5 * losing_calls.calls < winning_calls.calls
    model_s = sum(c.latency_s for n, c in losing.counters.items() if n != "random")
    assert model_s <= 0.1 * losing.time_share.wall() + probation * 1.0 + 1.0  # + one crossing


def _model_calls(search: Search) -> int:
    return sum(search.counters[m.name].calls for m in MODELS)


def _rounds(
    search: Search, latencies: Iterator[float] | Callable[[int], float], rounds: int
) -> list[int]:
    """The tuning loop with every measurement taking the next of ``latencies`` (or, a
    function, its value for the round's index); the models' calls made in each round of
    expansions."""
    calls_by_round = []
    for index in range(rounds + 1):
        before = _model_calls(search)
        for _ in range(8 if index else 0):
            search.step()
        calls_by_round.append(_model_calls(search) - before)
        for pick in search.pick_for_measurement(8):
            latency = latencies(index) if callable(latencies) else next(latencies)
            search.record_measurement(pick.key, latency)
        search.end_round()
    return calls_by_round[1:]


def _waiting_search(proposer: OneWayProposer) -> Search:
    search = two_root_search(proposer, MODELS, model_time_share=0.4, largest_model_floor=0.0)
    search.time_share.wall = lambda: 1000.0  # far under their share: only the stall decides
    return search


def test_the_models_wait_for_two_rounds_in_a_row_that_found_nothing_faster() -> None:
    proposer = OneWayProposer("Up")
    stalling = _waiting_search(proposer)
    calls = _rounds(stalling, itertools.repeat(1.0), rounds=5)  # nothing is ever faster
    # round 1 follows the initial round, which set the first best, and round 2 follows the
    # first stalled round: the stand-in expands both; every later round follows two in a row
    assert calls[:2] == [0, 0] and all(c > 0 for c in calls[2:])
    share = stalling.summary()["model_share"]
    assert share["on_stall"] and share["stall_rounds"] == 2
    assert (share["rounds"], share["stalled_rounds"]) == (6, 5)

    # faster programs every other round: never two stalled rounds in a row
    alternating = _waiting_search(OneWayProposer("Up"))
    _rounds(alternating, lambda index: 1.0 / (1 + index // 2), rounds=5)
    assert _model_calls(alternating) == 0 and alternating.summary()["model_share"]["stalled_rounds"]

    improving = _waiting_search(OneWayProposer("Up"))
    _rounds(improving, (1.0 / n for n in itertools.count(1)), rounds=4)  # always faster
    assert _model_calls(improving) == 0 and improving.counters["random"].calls > 0


def test_until_the_models_are_asked_the_tree_grows_as_a_random_runs_would(
    tmp_path: Path,
) -> None:
    """The stand-in draws what --proposer random draws, and selection drops the small-model
    prior while the models sit out: same seed, same tree, same programs measured."""

    def grown(search: Search) -> tuple[list[tuple[int | None, int]], list[int]]:
        measured = []
        latencies = (1.0 / n for n in itertools.count(1))  # always faster: never stalls
        for index in range(4):
            for _ in range(8 if index else 0):
                search.step()
            for pick in search.pick_for_measurement(8):
                measured.append(pick.key)
                search.record_measurement(pick.key, next(latencies))
            search.end_round()
        return [(node.parent, node.state) for node in search.tree.nodes], measured

    with_models = _waiting_search(OneWayProposer("Up"))  # seed 3, as two_root_search's
    random_config = TuneConfig(proposer="random", seed=3)
    with open_proposer(random_config, tmp_path) as (random_proposer, random_models):
        random_run = two_root_search(random_proposer, random_models)
        assert grown(with_models) == grown(random_run)
    assert _model_calls(with_models) == 0 and len(with_models.tree.nodes) > 20


def test_asked_from_the_start_the_models_do_not_wait() -> None:
    eager = two_root_search(OneWayProposer("Up"), MODELS, model_time_share=0.4, stall_rounds=0)
    eager.time_share.wall = lambda: 1000.0
    assert _rounds(eager, (1.0 / n for n in itertools.count(1)), rounds=2)[0] > 0
    assert eager.summary()["model_share"]["on_stall"] is False
