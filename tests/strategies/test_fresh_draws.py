"""The fresh pool: drawn whole once, then kept and renewed by a share each round."""

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


def test_later_rounds_draw_only_the_renewed_share_and_drop_taken_draws() -> None:
    taken: set[int] = set()
    draws, space = _draws(0.25, taken)
    first = [p.key for p in draws()]
    assert first == list(range(8)) and space.drawn == 8
    taken.update({0, 1})  # the first round measured two of them
    second = [p.key for p in draws()]
    assert space.drawn == 10  # 2 new draws: a quarter of the pool
    assert second == [2, 3, 4, 5, 6, 7, 8, 9]


def test_the_pool_keeps_its_size_with_the_newest_draws() -> None:
    draws, space = _draws(0.5, set())
    draws()
    assert [p.key for p in draws()] == [4, 5, 6, 7, 8, 9, 10, 11]


def test_full_renewal_draws_a_whole_pool_every_round() -> None:
    draws, space = _draws(1.0, set())
    draws()
    assert [p.key for p in draws()] == list(range(8, 16))


def test_no_fresh_share_draws_nothing() -> None:
    space = _Space()
    settings = SearchConfig(fresh_share=0.0)
    draws = FreshDraws(
        SimpleNamespace(space=space), np.random.default_rng(0), settings, seen=lambda key: False
    )
    assert draws() == [] and space.drawn == 0
