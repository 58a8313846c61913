from __future__ import annotations

import math

import pytest

from colt.search.base import ModelInfo
from colt.search.policy import ma_uct, phi_small

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


def test_unvisited_node_goes_first() -> None:
    assert ma_uct(0.0, 0, 5, 0.0) == math.inf


def test_smaller_model_preferred_at_equal_value() -> None:
    small = ma_uct(2.0, 4, 10, phi_small("small", MODELS))
    large = ma_uct(2.0, 4, 10, phi_small("large", MODELS))
    assert small - large == pytest.approx(0.5)
