from __future__ import annotations

import math

import pytest

from colt.search.base import ModelInfo
from colt.search.policy import (
    acting_model,
    best_child,
    is_stand_in,
    ma_uct,
    models_out_of_time,
    phi_small,
)
from colt.search.tree import ROOT, Tree

MODELS = (ModelInfo("small", 1e9), ModelInfo("mid", 1e10), ModelInfo("large", 1e11))


def test_phi_small_is_log_normalized() -> None:
    assert phi_small("small", MODELS) == pytest.approx(1.0)
    assert phi_small("mid", MODELS) == pytest.approx(0.5)
    assert phi_small("large", MODELS) == pytest.approx(0.0)


def test_phi_small_single_model_is_zero() -> None:
    assert phi_small("only", (ModelInfo("only", 7e9),)) == 0.0


def test_ma_uct_matches_hand_computation() -> None:
    # W=3, N=4, N_parent=10, phi=0.5, lam=0.5, c=sqrt(2):
    # 0.5*0.75 + 0.5*0.5 + sqrt(2)*sqrt(ln 10 / 4)
    expected = 0.375 + 0.25 + math.sqrt(2) * math.sqrt(math.log(10) / 4)
    assert ma_uct(3.0, 4, 10, 0.5) == pytest.approx(expected)
    assert ma_uct(3.0, 4, 10, 0.5, lam=0.0, c=0.0) == pytest.approx(0.75)


def test_a_fading_prior_gives_way_to_values_as_a_node_is_visited() -> None:
    # the prior term is λ·φ/√N: a quarter at N = 16 of what it is at N = 1
    assert ma_uct(0.75, 1, 10, 1.0, c=0.0, fades=True) == pytest.approx(0.375 + 0.5)
    assert ma_uct(12.0, 16, 10, 1.0, c=0.0, fades=True) == pytest.approx(0.375 + 0.125)
    # a large model's better node, visited 16 times, beats a small model's worse one only
    # once the prior fades
    small, large = phi_small("small", MODELS), phi_small("large", MODELS)
    for fades, large_wins in ((False, False), (True, True)):
        worse = ma_uct(16 * 0.6, 16, 64, small, c=0.0, fades=fades)
        better = ma_uct(16 * 0.9, 16, 64, large, c=0.0, fades=fades)
        assert (better > worse) is large_wins


def test_unvisited_node_goes_first() -> None:
    assert ma_uct(0.0, 0, 5, 0.0) == math.inf


def test_smaller_model_preferred_at_equal_value() -> None:
    small = ma_uct(2.0, 4, 10, phi_small("small", MODELS))
    large = ma_uct(2.0, 4, 10, phi_small("large", MODELS))
    assert small - large == pytest.approx(0.5)


def test_a_tie_under_ma_uct_goes_to_the_oldest_child() -> None:
    tree = Tree("large")
    older = tree.add(ROOT, 1, 1, model="small", proposed_by=None, edits=(), value=0.0)
    newer = tree.add(ROOT, 2, 2, model="small", proposed_by=None, edits=(), value=0.0)
    assert best_child([newer, older], 0, {"small": 1.0}) is older
    newer.visits, newer.value_sum = 1, 1.0
    older.visits, older.value_sum = 1, 0.5
    assert best_child([older, newer], 2, {"small": 1.0}) is newer


def test_the_floor_calls_in_the_largest_model_only_for_other_models_nodes() -> None:
    calls = {"small": 9, "large": 1}
    assert acting_model("small", calls, "large", floor=0.2, grace_calls=4) == ("large", True)
    assert acting_model("large", calls, "large", floor=0.2, grace_calls=4) == ("large", False)
    assert acting_model("small", calls, "large", floor=0.2, grace_calls=20) == ("small", False)


def test_the_models_stop_before_their_next_call_would_cross_their_time_share() -> None:
    # 4 s in 2 calls: the next is expected to take 2 s; 6 s of 15 s is 0.4 of the run
    assert not models_out_of_time(4.0, 2, 13.0, share=0.4)
    assert models_out_of_time(4.0, 2, 12.0, share=0.4)
    assert not models_out_of_time(0.0, 0, 0.0, share=0.4)


def test_the_random_stand_in_is_no_model_of_a_random_run() -> None:
    assert is_stand_in("random", {"small", "large"})
    assert not is_stand_in("random", {"random"})
    assert not is_stand_in("small", {"small", "large"})
