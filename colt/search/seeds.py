"""Independent random streams split from one run seed (``numpy.random.SeedSequence.spawn``).

One seed used to feed the search, the proposer and the design-space sampler alike, so a change
in how one of them consumes randomness shifted the others. Each now draws from its own stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Streams:
    search: np.random.Generator  # edits, rollouts: the tree's own randomness
    proposer: np.random.Generator  # the random proposer and scripted models
    sampler: np.random.Generator  # design-space samples (initial and fresh)
    preview: np.random.Generator  # the candidate edits scripted models choose from
    stand_in: np.random.Generator  # random proposals made when the models' time is spent


def streams(seed: int) -> Streams:
    # spawn(5) gives the same first four children as spawn(4) did: older runs replay alike
    search, proposer, sampler, preview, stand_in = np.random.SeedSequence(seed).spawn(5)
    return Streams(
        search=np.random.default_rng(search),
        proposer=np.random.default_rng(proposer),
        sampler=np.random.default_rng(sampler),
        preview=np.random.default_rng(preview),
        stand_in=np.random.default_rng(stand_in),
    )
