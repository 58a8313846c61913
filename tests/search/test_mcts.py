from __future__ import annotations

import itertools

import pytest

from colt.config import SearchConfig
from colt.search.base import ModelInfo
from colt.search.events import NodePruned
from colt.search.mcts import Search
from colt.search.tree import ROOT
from tests.search.fakes import (
    FailingProposer,
    LineEnvironment,
    PerModelProposer,
    ScriptedProposer,
    line_search,
)

MODELS = (ModelInfo("small", 1e9), ModelInfo("large", 1e11))


def _search(proposer, env=None, **overrides) -> Search:
    overrides = {"rollout_steps": 2, **overrides}
    return line_search(proposer, MODELS, start=(50,), seed=7, trials_total=10, env=env, **overrides)


def test_backpropagation_updates_every_node_on_the_path() -> None:
    search = _search(ScriptedProposer(["Up"], ["small"]))
    child = search.step()
    for node in search.tree.path(child.id):
        assert node.visits == 1
    root = search.tree.nodes[ROOT]
    (backup,) = [b for bs in search.tree.backups.values() for b in bs]
    assert root.value_sum == pytest.approx(backup.value)
    assert backup.path == tuple(n.id for n in search.tree.path(child.id))


def test_measurement_replaces_predicted_value_along_its_path() -> None:
    search = _search(ScriptedProposer(["Up"], ["small"]))
    search.step()
    (key, (backup,)) = next(iter(search.tree.backups.items()))
    search.record_measurement(key, 2.0)  # the first measurement is the best seen: value 1
    root = search.tree.nodes[ROOT]
    assert root.value_sum == pytest.approx(1.0)
    assert search.pool[key].measured


def test_a_faster_program_rescales_earlier_measurements() -> None:
    search = _search(ScriptedProposer(["Up"], ["small"]))
    for _ in range(3):
        search.step()
    first, second = list(search.tree.backups)[:2]
    assert search.record_measurement(first, 2.0) == pytest.approx(1.0)
    assert search.record_measurement(second, 1.0) == pytest.approx(1.0)
    # the first program is half as fast as the best: its value drops from 1 to 0.5 everywhere
    assert search.pool[first].value == pytest.approx(0.5)
    assert all(b.value == pytest.approx(0.5) for b in search.tree.backups[first])
    assert all(n.value == pytest.approx(0.5) for n in search.tree.live() if n.key == first)
    root = search.tree.nodes[ROOT]
    assert root.value_sum == pytest.approx(
        sum(b.value for bs in search.tree.backups.values() for b in bs)
    )


def test_a_failed_measurement_is_worth_nothing_and_keeps_the_scale() -> None:
    search = _search(ScriptedProposer(["Up"], ["small"]))
    search.step()
    key = next(iter(search.tree.backups))
    assert search.record_measurement(key, None) == 0.0
    assert search.best_latency_s is None


def test_repredict_revalues_the_tree_with_the_retrained_model() -> None:
    env = LineEnvironment()
    search = _search(ScriptedProposer(["Up"], ["small"]), env=env)
    for _ in range(4):
        search.step()
    env.scale = 1000  # the retrained model predicts ten times lower values
    search.repredict()
    for key, backups in search.tree.backups.items():
        assert all(b.value == pytest.approx(key / 1000) for b in backups)
        assert search.pool[key].value == pytest.approx(key / 1000)
    root = search.tree.nodes[ROOT]
    assert root.value_sum == pytest.approx(
        sum(b.value for bs in search.tree.backups.values() for b in bs)
    )
    assert not any(n.measured for n in search.tree.live())


def test_branching_factor_limits_children() -> None:
    search = _search(ScriptedProposer(["Up"], ["small"]))
    for _ in range(12):
        search.step()
    for node in search.tree.live():
        assert len(search.tree.live_children(node.id)) <= 2


def test_next_model_is_the_childs_model_and_expands_it() -> None:
    # The root goes to the small model; the small model recommends the large one.
    proposer = PerModelProposer({"small": (["Up"], "large"), "large": (["Up"], "small")})
    search = _search(proposer, largest_model_floor=0.0, course_alteration=False)
    child = search.step()
    assert (child.proposed_by, child.model) == ("small", "large")
    search.step()  # the root takes its second child
    grandchild = search.step()  # the selection descends into a child: its model answers
    assert search.tree.nodes[grandchild.parent].model == grandchild.proposed_by
    assert [model for model, _ in proposer.calls] == ["small", "small", "large"]


def test_failed_call_counts_a_fault_and_search_goes_on() -> None:
    search = _search(FailingProposer())
    for _ in range(3):
        search.step()
    assert search.counters["small"].faults == {"timeout": 3}  # the child keeps the acting model
    assert search.counters["small"].errors == {}  # a fault is not the model's answer error
    assert len(search.tree.nodes) == 5  # root, sketch, three children


def test_course_alteration_prunes_and_reexpands_with_largest() -> None:
    # "Down" always regresses: the second small-model regression on the path triggers.
    search = _search(ScriptedProposer(["Down"], ["small"]), largest_model_floor=0.0)
    for _ in range(12):
        search.step()
    assert search.course_alterations >= 1
    pruned = [n for n in search.tree.nodes if n.pruned]
    assert pruned and all(n.proposed_by == "small" for n in pruned)
    altered = [n for n in search.tree.nodes if n.course_alteration]
    assert len(altered) == search.course_alterations
    for node in altered:
        assert node.proposed_by == "large"
        sibling_pruned = [search.tree.nodes[c] for c in search.tree.nodes[node.parent].children]
        assert any(s.pruned for s in sibling_pruned)
        assert node.visits >= 1  # the altered continuation was backed up
    for node in pruned:
        assert node.visits == 0  # the regressive child never influenced values


def test_no_course_alteration_when_disabled() -> None:
    search = _search(
        ScriptedProposer(["Down"], ["small"]), course_alteration=False, largest_model_floor=0.0
    )
    for _ in range(6):
        search.step()
    assert search.course_alterations == 0
    assert not any(n.pruned for n in search.tree.nodes)


def test_floor_enforces_largest_model_share() -> None:
    search = _search(
        ScriptedProposer(["Up"], ["small"]),
        largest_model_floor=0.4,
        floor_grace_calls=2,
        course_alteration=False,
    )
    for _ in range(20):
        search.step()
    calls = {m: c.calls for m, c in search.counters.items()}
    assert calls["large"] / sum(calls.values()) >= 0.4 - 1 / 20
    assert search.counters["large"].floor_calls > 0


def test_without_floor_small_model_dominates() -> None:
    search = _search(
        ScriptedProposer(["Up"], ["small"]), largest_model_floor=0.0, course_alteration=False
    )
    for _ in range(20):
        search.step()
    assert search.counters["small"].calls > search.counters["large"].calls


def test_untrained_cost_model_inherits_parent_value() -> None:
    search = _search(ScriptedProposer(["Up"], ["small"]), env=LineEnvironment(trained=False))
    child = search.step()
    assert child.value == 0.0  # the sketch had no prediction: nothing random reaches the tree


def test_same_seed_same_proposals_same_tree() -> None:
    def run() -> list[tuple]:
        search = _search(ScriptedProposer(["Up", "Down"], ["small", "large"]))
        for _ in range(15):
            search.step()
        picks = search.pick_for_measurement(4)
        return [(n.parent, n.key, n.model, n.pruned) for n in search.tree.nodes] + [
            tuple(c.key for c in picks)
        ]

    assert run() == run()


def test_pick_for_measurement_takes_proposals_first_best_predicted_first() -> None:
    search = _search(ScriptedProposer(["Up"], ["small"]), fresh_share=0.0)
    for _ in range(5):
        search.step()
    picks = search.pick_for_measurement(3)
    pending = search.pool.pending()
    proposals = sorted((c.value for c in pending if c.origin == "proposal"), reverse=True)
    assert [c.origin for c in picks] == ["proposal"] * 3
    assert [c.value for c in picks] == proposals[:3]
    for c in picks:
        search.record_measurement(c.key, 1.0)
    assert all(c.key not in {p.key for p in search.pick_for_measurement(3)} for c in picks)


def test_model_selection_off_uses_one_model() -> None:
    search = _search(ScriptedProposer(["Up"], ["large"]), model_selection=False)
    for _ in range(5):
        search.step()
    assert {n.model for n in search.tree.live()} == {"small"}
    assert search.counters["large"].calls == 0


def test_uniform_model_choice_ignores_the_recommendation() -> None:
    recommended = _search(ScriptedProposer(["Up"], ["small"]))
    uniform = _search(ScriptedProposer(["Up"], ["small"]), model_choice="uniform")
    for _ in range(12):
        recommended.step()
        uniform.step()
    children = [n for n in uniform.tree.live() if n.parent is not None]
    assert {n.model for n in recommended.tree.live() if n.parent is not None} == {"small"}
    assert {n.model for n in children} == {"small", "large"}  # drawn, not recommended


def test_search_overhead_excludes_proposals() -> None:
    search = _search(ScriptedProposer(["Up"], ["small"]))
    for _ in range(3):
        search.step()
    summary = search.summary()
    assert summary["time_s"]["proposals"] > 0
    assert summary["search_overhead_per_expansion_s"] == pytest.approx(
        (summary["time_s"]["total"] - summary["time_s"]["proposals"]) / 3
    )


def test_scoring_between_rounds_is_not_search_time() -> None:
    search = _search(ScriptedProposer(["Up"], ["small"]))
    for _ in range(3):
        search.step()
    in_steps = search.summary()["time_s"]
    search.pick_for_measurement(4, [400, 300, 90])
    search.repredict()
    after = search.summary()["time_s"]
    assert 0 < in_steps["scoring"] <= in_steps["total"]
    assert after["scoring"] == in_steps["scoring"] and after["total"] == in_steps["total"]


def test_fresh_samples_take_their_share_but_stay_out_of_the_tree() -> None:
    search = _search(ScriptedProposer(["Up"], ["small"]), fresh_share=0.5)
    for _ in range(5):
        search.step()
    fresh = [10, 400, 90, 300, 50]  # 50 is the root already in the pool: not fresh
    picks = search.pick_for_measurement(4, fresh)
    assert [c.key for c in picks[2:]] == [400, 300]  # the best predicted of the fresh draws
    assert [c.origin for c in picks] == ["proposal", "proposal", "fresh", "fresh"]
    roots = [search.tree.nodes[i].key for i in search.tree.nodes[ROOT].children]
    assert roots == [50]  # picked for measurement, not planted as unvisited roots
    assert 10 not in search.pool and 90 not in search.pool  # draws not picked are dropped


def test_a_fresh_sample_joins_the_roots_only_as_the_new_best_with_its_measurement() -> None:
    search = _search(ScriptedProposer(["Up"], ["small"]), fresh_share=0.5)
    for _ in range(3):
        search.step()
    for pick in search.pick_for_measurement(2):
        search.record_measurement(pick.key, 1.0)
    fresh = [c for c in search.pick_for_measurement(4, [300, 400]) if c.origin == "fresh"]
    fast, slow = fresh
    search.record_measurement(slow.key, 2.0)  # slower than the best: stays out of the tree
    search.record_measurement(fast.key, 0.5)  # the fastest so far: a new root
    roots = search.tree.live_children(ROOT)
    assert [n.key for n in roots] == [50, fast.key]
    assert (roots[1].visits, roots[1].value_sum) == (1, pytest.approx(1.0))


def test_before_the_tree_has_roots_the_initial_programs_are_measured() -> None:
    env = LineEnvironment(trained=False)
    search = _search(ScriptedProposer(["Up"], ["small"]), env=env, fresh_share=0.25)
    search.start([7, 300, 5])
    picks = search.pick_for_measurement(8, [200, 100])
    assert [c.key for c in picks] == [50, 7, 300, 5]
    assert {c.origin for c in picks} == {"initial"}


def test_no_fresh_share_measures_only_what_the_tree_found() -> None:
    search = _search(ScriptedProposer(["Up"], ["small"]), fresh_share=0.0)
    search.step()
    picks = search.pick_for_measurement(3, [999])
    assert 999 not in {c.key for c in picks}
    assert len(search.tree.nodes[ROOT].children) == 1


def test_program_text_is_rendered_only_for_proposers_that_read_it() -> None:
    class Counting(LineEnvironment):
        described = 0

        def describe(self, state: int) -> str:
            Counting.described += 1
            return super().describe(state)

    class Reading(ScriptedProposer):
        def propose(self, model, context):
            assert context.current.program.startswith("program ")
            return super().propose(model, context)

    blind = _search(ScriptedProposer(["Up"], ["small"]), env=Counting())
    for _ in range(5):
        blind.step()
    assert Counting.described == 0
    reading = _search(Reading(["Up"], ["small"]), env=Counting())
    for _ in range(5):
        reading.step()
    assert Counting.described == 5


def test_a_journal_that_prunes_a_node_the_step_did_not_add_is_refused() -> None:
    class Log:
        events = [NodePruned(node=1)]

        def append(self, event) -> None:  # type: ignore[no-untyped-def]
            pass

    clock = itertools.count(0.0, 0.001)
    search = Search(
        LineEnvironment(),
        ScriptedProposer(["Up"], ["small"]),
        MODELS,
        config=SearchConfig(),
        seed=7,
        trials_total=10,
        clock=lambda: next(clock),
        log=Log(),
    )
    search.start([50])
    with pytest.raises(ValueError, match="prunes node 1"):
        search.step()
