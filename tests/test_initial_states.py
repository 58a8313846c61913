"""The first measurement round takes the first states offered: random draws must come before
the sketches, whose sampled decisions are the same under every seed."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from colt.tuning import _initial_states


class _Space:
    def __init__(self) -> None:
        self.drawn = 0

    def design_spaces(self) -> list:
        return [SimpleNamespace(key="sketch-a"), SimpleNamespace(key="sketch-b")]

    def random_sample(self, rng: np.random.Generator) -> SimpleNamespace:
        self.drawn += 1
        return SimpleNamespace(key="sketch-a" if self.drawn == 3 else f"draw-{self.drawn}")


def test_random_draws_come_before_the_sketches_without_duplicates() -> None:
    session = SimpleNamespace(space=_Space())
    states = _initial_states(session, 4, np.random.default_rng(0))  # type: ignore[arg-type]
    assert [s.key for s in states] == ["draw-1", "draw-2", "sketch-a", "draw-4", "sketch-b"]
