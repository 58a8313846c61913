"""Graded scripted models: the oracle's distance and noise, the context-dependent recommender,
the charged price per call, the graded set's validation and the ablation configurations."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from colt.bench_config import ABLATIONS, BenchConfig, check_config
from colt.errors import UserError
from colt.grid import tune_config
from colt.llm.sets import load_model_set
from colt.replay import JournaledProposer
from colt.run import Timer
from colt.schedule.decision_copies import decision_copies
from colt.schedule.trace_distance import decision_distance, decisions_of, nearest_distance
from colt.schedule.trace_points import PARALLEL_KEY, UNROLL_KEYS, TracePoint
from colt.search.base import Edit, ModelInfo, NodeView, PromptContext, Proposal
from colt.search.scripted import (
    ScriptedProposer,
    escalates,
    noisy_pick,
    pick_edit,
    recommend,
    site_of,
)
from colt.search.stats import ModelCounters

MODELS = (ModelInfo("small", 1e9), ModelInfo("large", 7e10), ModelInfo("mid", 8e9))
NEAR, FAR, MIDDLE = Edit("TileSize", (("f", 1),)), Edit("Unroll"), Edit("Parallel")
# (edit, distance to the nearest good schedule): the nearest is neither first nor last
GUIDED: list[tuple[Edit, float | None]] = [(FAR, 3.0), (NEAR, 0.5), (MIDDLE, 1.5)]


def _trace(tiles: list[int], unroll: int) -> Any:
    """A trace's JSON as MetaSchedule writes it: instructions, then [index, decision] pairs."""
    instructions = [
        ["GetSBlock", [], ["C", "main"], ["b0"]],
        ["SamplePerfectTile", ["l1"], [2, 64], ["v2", "v3"]],
        ["SampleCategorical", [], [[0, 16, 64], [0.3, 0.3, 0.4]], ["v4"]],
    ]
    return [instructions, [[1, tiles], [2, unroll]]]


def test_decisions_follow_instruction_order() -> None:
    assert decisions_of(_trace([4, 16], 2)) == (
        ("SamplePerfectTile", [4, 16]),
        ("SampleCategorical", 2),
    )


def test_distance_is_zero_only_for_equal_decisions_and_grows_with_the_difference() -> None:
    base = decisions_of(_trace([4, 16], 2))
    assert decision_distance(base, base) == 0.0
    near = decision_distance(base, decisions_of(_trace([8, 8], 2)))  # one factor of 2 apart
    far = decision_distance(base, decisions_of(_trace([64, 1], 2)))
    other_unroll = decision_distance(base, decisions_of(_trace([4, 16], 1)))
    assert 0 < near < far < 1.0  # a tile never counts more than a differing choice
    assert other_unroll == 1.0
    assert decision_distance(base, base[:1]) == 1.0  # a decision only one trace has
    assert decision_distance(base, (("Other", 0), base[1])) == 1.0  # another kind in its place


def test_nearest_distance_takes_the_closest_reference() -> None:
    program = decisions_of(_trace([4, 16], 2))
    references = [decisions_of(_trace([64, 1], 0)), decisions_of(_trace([4, 16], 1))]
    assert nearest_distance(program, references) == 1.0
    assert nearest_distance(program, []) is None


def test_oracle_picks_the_smallest_distance() -> None:
    assert pick_edit("oracle", GUIDED) == NEAR
    assert pick_edit("oracle", [(FAR, None), (NEAR, None)]) == FAR  # no knowledge: the first


def test_noise_is_the_share_of_random_picks() -> None:
    rng = np.random.default_rng(0)
    assert all(noisy_pick("oracle", GUIDED, 0.0, rng) == NEAR for _ in range(50))
    picks = [noisy_pick("oracle", GUIDED, 0.6, rng) for _ in range(3000)]
    # a random pick lands on NEAR a third of the time: 0.4 + 0.6 / 3 = 0.6 of all picks
    assert abs(picks.count(NEAR) / len(picks) - 0.6) < 0.04
    assert abs(picks.count(FAR) / len(picks) - 0.2) < 0.04


def _context(
    value: float, parent_value: float | None, depth: int, *, guide: Any = None, preview: Any = None
) -> PromptContext:
    node = NodeView.of("", (), value, "small", depth)
    parent = None if parent_value is None else NodeView.of("", (), parent_value, "small", depth - 1)
    return PromptContext(
        node, parent, None, ("TileSize",), {}, MODELS, {}, depth, 0, 8, preview=preview, guide=guide
    )


@pytest.mark.parametrize(
    ("value", "parent", "depth", "escalate_depth", "expected"),
    [
        (0.4, 0.5, 1, None, True),  # the node's step regressed
        (0.6, 0.5, 1, None, False),
        (0.6, None, 0, None, False),  # a root regressed from nothing
        (0.6, 0.5, 6, 6, True),  # deep enough
        (0.6, 0.5, 5, 6, False),
    ],
)
def test_escalation_depends_on_the_context(
    value: float, parent: float | None, depth: int, escalate_depth: int | None, expected: bool
) -> None:
    context = _context(value, parent, depth)
    assert escalates(context, escalate_depth=escalate_depth) is expected


def test_escalate_recommends_largest_or_smallest() -> None:
    rng = np.random.default_rng(0)
    assert recommend("escalate", "mid", MODELS, rng, escalate=True) == "large"
    assert recommend("escalate", "mid", MODELS, rng, escalate=False) == "small"


def test_oracle_proposer_uses_the_guide_never_the_cost_model() -> None:
    asked: list[str] = []

    def guide(count: int) -> list[tuple[Edit, float | None]]:
        asked.append("guide")
        return GUIDED[:count]

    def preview(count: int) -> list[tuple[Edit, float | None]]:
        asked.append("preview")
        return [(FAR, 0.99), (NEAR, 0.0)]

    oracle = ScriptedProposer("oracle", "escalate", rng=np.random.default_rng(0))
    proposal = oracle.propose("small", _context(0.4, 0.5, 2, guide=guide, preview=preview))
    assert proposal.action is not None and proposal.action.edits == (NEAR,)
    assert proposal.action.next_model == "large"  # the step to this node regressed
    assert asked == ["guide"]
    # without a guide the oracle knows nothing: the preview's first, not its best predicted
    blind = oracle.propose("small", _context(0.6, 0.5, 2, preview=preview))
    assert blind.action is not None and blind.action.edits == (FAR,)
    assert blind.action.next_model == "small"


def test_charged_seconds_reach_the_models_seconds_and_the_run_clock(tmp_path: Path) -> None:
    from colt.journal import Journal

    proposer = ScriptedProposer("random", "self", rng=np.random.default_rng(0), charged_s=2.5)
    timer = Timer()
    journaled = JournaledProposer(
        proposer, Journal(tmp_path / "journal.jsonl"), charge=timer.charge
    )
    counters = ModelCounters()
    for _ in range(3):
        proposal = journaled.propose("small", _context(0.5, None, 0, preview=lambda n: GUIDED[:n]))
        counters.record_call(proposal)
    assert proposal.charged_s == 2.5 and proposal.latency_s >= 2.5
    assert counters.latency_s >= 7.5  # the models' seconds: credit, time share and reports
    assert timer.seconds["charged"] == pytest.approx(7.5)
    assert timer.elapsed() >= 7.5 and timer.as_json()["total"] >= 7.5


def test_a_replayed_call_is_not_charged_twice(tmp_path: Path) -> None:
    from colt.journal import Journal

    path = tmp_path / "journal.jsonl"
    proposer = ScriptedProposer("random", "self", rng=np.random.default_rng(0), charged_s=1.0)
    first = JournaledProposer(proposer, Journal(path), charge=Timer().charge)
    context = _context(0.5, None, 0, preview=lambda n: GUIDED[:n])
    first.propose("small", context)
    resumed_timer = Timer()
    resumed = JournaledProposer(proposer, Journal(path), charge=resumed_timer.charge)
    replayed = resumed.propose("small", context)
    assert isinstance(replayed, Proposal) and replayed.latency_s >= 1.0  # counted in stats
    assert resumed_timer.seconds.get("charged", 0.0) == 0.0  # the earlier total holds it


@pytest.mark.parametrize("name", ["graded", "graded-gap", "graded-latency", "graded-copy"])
def test_graded_set_loads_and_grades_noise_and_price_by_size(name: str) -> None:
    graded = load_model_set(name, require_keys=False)
    oracles = sorted(
        (m for m in graded.models if m.scripted == "oracle"), key=lambda m: m.parameters
    )
    assert len(oracles) >= 3 and graded.has_oracle
    assert [m.noise for m in oracles] == sorted((m.noise for m in oracles), reverse=True)
    assert [m.charged_s for m in oracles] == sorted(m.charged_s for m in oracles)
    assert [m.scripted_k for m in oracles] == sorted(m.scripted_k for m in oracles)
    assert any(m.scripted == "adversarial" for m in graded.models)


@pytest.mark.parametrize("name", ["graded-gap", "graded-latency", "graded-copy"])
def test_the_gap_sets_have_a_noiseless_largest_oracle_and_a_random_smallest(name: str) -> None:
    gap = load_model_set(name, require_keys=False)
    oracles = sorted((m for m in gap.models if m.scripted == "oracle"), key=lambda m: m.parameters)
    assert oracles[0].noise == 1.0 and oracles[-1].noise == 0.0
    assert gap.largest is oracles[-1] and oracles[-1].scripted_k > oracles[0].scripted_k


def test_the_latency_set_differs_from_the_gap_set_only_in_its_guide() -> None:
    gap = load_model_set("graded-gap", require_keys=False)
    latency = load_model_set("graded-latency", require_keys=False)
    assert (gap.guide, latency.guide) == ("distance", "latency")
    assert gap.models == latency.models


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'scripted = "oracle"\nnoise = 1.5',
            "models.0.noise: Input should be less than or equal to 1",
        ),
        ('scripted = "oracle"\ncharged_s = -1', "charged_s: Input should be greater than or equal"),
        ('scripted = "oracle"\nescalate_depth = 3', 'only recommends = "escalate" uses'),
        ('model = "m"\nbase_url = "http://x"\nnoise = 0.5', "which only a scripted model uses"),
    ],
)
def test_graded_fields_are_validated(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f'[[models]]\nname = "m"\nparameters = 1e9\n{body}\n')
    with pytest.raises(UserError, match="is invalid") as caught:
        load_model_set(path, require_keys=False)
    assert message in str(caught.value)


@pytest.mark.parametrize("field", ['references = "/x"', 'guide = "latency"'])
def test_oracle_fields_without_an_oracle_are_refused(tmp_path: Path, field: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f'{field}\n[[models]]\nname = "m"\nparameters = 1\nscripted = "random"\n')
    with pytest.raises(UserError, match='only by a scripted = "oracle" model'):
        load_model_set(path, require_keys=False)


def test_an_unknown_guide_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    oracle = '[[models]]\nname = "o"\nparameters = 1\nscripted = "oracle"\n'
    path.write_text(f'guide = "vibes"\n{oracle}')
    with pytest.raises(UserError, match="guide"):
        load_model_set(path, require_keys=False)


def test_every_ablation_and_single_model_is_a_grid_configuration(tmp_path: Path) -> None:
    configs = (*ABLATIONS, "single:oracle-8b", "colt")
    bench = BenchConfig(grid_dir=tmp_path, configs=configs, model_set="graded")
    runs = {config: tune_config(bench, config, "matmul", 0) for config in configs}
    assert runs["colt-no-course-alteration"].search.course_alteration is False
    assert runs["colt-no-floor"].search.largest_model_floor == 0.0
    assert runs["colt-lam0"].search.lam == 0.0
    assert runs["colt-no-fresh"].search.fresh_share == 0.0
    assert runs["colt-uniform-choice"].search.model_choice == "uniform"
    assert runs["single:oracle-8b"].models == ("oracle-8b",)
    assert runs["single:oracle-8b"].search.model_selection is False
    assert runs["colt"].search == bench.search


def test_an_unknown_configuration_is_one_sentence_with_the_choices() -> None:
    with pytest.raises(UserError, match="unknown config 'colt-nope'; valid choices: .*colt-lam0"):
        check_config("colt-nope")
    with pytest.raises(UserError, match="unknown config 'single:'"):
        check_config("single:")


def test_a_resumed_run_keeps_the_charges_of_its_earlier_invocations() -> None:
    earlier = Timer()
    earlier.charge(4.0)
    resumed = Timer(before=earlier.as_json())
    assert resumed.as_json()["charged"] == pytest.approx(4.0)
    assert resumed.elapsed() >= 4.0


def test_relative_references_lie_beside_the_set_file(tmp_path: Path) -> None:
    path = tmp_path / "set.toml"
    path.write_text(
        'references = "lib"\n[[models]]\nname = "o"\nparameters = 1\nscripted = "oracle"\n'
    )
    assert load_model_set(path, require_keys=False).references == str(tmp_path / "lib")


def _point(index: int, kind: str, block: str, value: Any, **more: Any) -> TracePoint:
    return TracePoint(index, kind, block, more.pop("label", block), value, **more)


def test_decision_copies_align_points_and_keep_trace_order() -> None:
    unroll = dict(candidates=(0, 16, 64), ann_key=UNROLL_KEYS[0])
    program = [
        _point(7, "SampleComputeLocation", "pad", 2),
        _point(1, "SamplePerfectTile", "conv", (4, 4), loop="x", label="x", extent=16),
        _point(2, "SamplePerfectTile", "conv", (2, 8), loop="y", label="y", extent=16),
        _point(9, "SampleCategorical", "conv", 0, **unroll),
        _point(11, "Annotate", "conv", 32, ann_key=PARALLEL_KEY),
        _point(12, "SampleCategorical", "conv", 1, candidates=(1, 2), ann_key="vectorize"),
    ]
    reference = [
        _point(1, "SamplePerfectTile", "conv", (16, 1), loop="x", label="x", extent=16),
        _point(2, "SamplePerfectTile", "conv", (2, 8), loop="y", label="y", extent=16),
        _point(5, "SampleComputeLocation", "pad", -1),
        _point(9, "SampleCategorical", "conv", 2, **unroll),
        _point(11, "Annotate", "conv", 64, ann_key=PARALLEL_KEY),
        _point(12, "SampleCategorical", "conv", 0, candidates=(1, 2), ann_key="vectorize"),
    ]
    assert decision_copies(program, reference) == [
        Edit("TileSize", (("loop", "conv.x"), ("factors", (16, 1)))),
        Edit("ComputeLocation", (("block", "pad"), ("location", -1))),
        Edit("Unroll", (("value", 64),)),
        Edit("Parallel", (("extent", 64),)),
    ]  # the equal tile and the vectorize choice (not in the vocabulary) are left alone
    assert decision_copies(program, program) == []
    assert decision_copies(program, []) == []


COPIES = [Edit("TileSize", (("loop", f"l{i}"),)) for i in range(5)]


def _copy_context(guide: Any) -> PromptContext:
    context = _context(0.6, 0.5, 1, guide=guide)
    return replace(context, copies=lambda: list(COPIES), children=2)


def test_a_copying_oracle_splits_the_copies_between_its_children_in_order() -> None:
    oracle = ScriptedProposer("oracle", "self", rng=np.random.default_rng(0), copies=3)
    proposal = oracle.propose("large", _copy_context(lambda n: GUIDED[:n]))
    assert proposal.action is not None and proposal.action.edits == tuple(COPIES[:3])
    # the second child gets what is left, and nothing that is not a copy besides it
    assert [a.edits for a in proposal.more] == [tuple(COPIES[3:])]


def test_a_noisy_oracle_takes_random_candidates_instead_of_copies() -> None:
    random_one = ScriptedProposer("oracle", "self", rng=np.random.default_rng(0), noise=1.0)
    for seed in range(20):
        random_one.rng = np.random.default_rng(seed)
        proposal = random_one.propose("small", _copy_context(lambda n: GUIDED[:n]))
        edits = [e for a in (proposal.action, *proposal.more) if a for e in a.edits]
        assert edits and not set(edits) & set(COPIES)
    # an oracle with no copy left decides by its guide, one edit per child
    done = ScriptedProposer("oracle", "self", rng=np.random.default_rng(0), copies=8)
    context = replace(_copy_context(lambda n: GUIDED[:n]), copies=lambda: [])
    proposal = done.propose("large", context)
    assert proposal.action is not None and proposal.action.edits == (NEAR,)


def test_one_action_never_edits_one_site_twice() -> None:
    same_loop = [Edit("TileSize", (("loop", "l0"), ("factors", f))) for f in ((2, 8), (4, 4))]
    oracle = ScriptedProposer("oracle", "self", rng=np.random.default_rng(0), copies=4)
    context = replace(_copy_context(lambda n: []), copies=lambda: same_loop, children=1)
    proposal = oracle.propose("large", context)
    assert proposal.action is not None and proposal.action.edits == (same_loop[0],)
    assert site_of(Edit("Unroll", (("value", 16),))) == ("Unroll", "")


def test_the_copy_set_grades_what_its_oracles_copy_by_size() -> None:
    copy = load_model_set("graded-copy", require_keys=False)
    oracles = sorted((m for m in copy.models if m.scripted == "oracle"), key=lambda m: m.parameters)
    assert copy.guide == "copy" and [m.copies for m in oracles] == [1, 4, 8]
