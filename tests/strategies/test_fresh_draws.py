"""The fresh pool: grows by a share of its size each round, keeping the draws not taken."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from colt.search.config import SearchConfig
from colt.strategies.shared_tree import FreshDraws


class _Space:
    """Draws numbered programs and counts how many it drew."""

    def __init__(self) -> None:
        self.drawn = 0

    def random_samples(self, rng: np.random.Generator, count: int) -> list[SimpleNamespace]:
        programs = [SimpleNamespace(key=self.drawn + i) for i in range(count)]
        self.drawn += count
        return programs


def _draws(renewal: float, taken: set[int]) -> tuple[FreshDraws, _Space]:
    space = _Space()
    settings = SearchConfig(fresh_pool=8, fresh_renewal=renewal)
    draws = FreshDraws(
        SimpleNamespace(space=space), np.random.default_rng(0), settings, seen=taken.__contains__
    )
    return draws, space


def test_each_round_draws_the_renewed_share_and_keeps_the_draws_not_taken() -> None:
    taken: set[int] = set()
    draws, space = _draws(0.25, taken)
    assert [p.key for p in draws()] == [0, 1] and space.drawn == 2  # a quarter of the pool
    taken.add(0)  # the first round measured one of them
    assert [p.key for p in draws()] == [1, 2, 3] and space.drawn == 4


def test_the_pool_grows_to_its_size_then_keeps_the_newest_draws() -> None:
    draws, _ = _draws(0.5, set())
    draws()
    assert [p.key for p in draws()] == [0, 1, 2, 3, 4, 5, 6, 7]
    assert [p.key for p in draws()] == [4, 5, 6, 7, 8, 9, 10, 11]


def test_full_renewal_draws_a_whole_pool_every_round() -> None:
    draws, _ = _draws(1.0, set())
    draws()
    assert [p.key for p in draws()] == list(range(8, 16))


def test_no_fresh_share_draws_nothing() -> None:
    space = _Space()
    settings = SearchConfig(fresh_share=0.0)
    draws = FreshDraws(
        SimpleNamespace(space=space), np.random.default_rng(0), settings, seen=lambda key: False
    )
    assert draws() == [] and space.drawn == 0
