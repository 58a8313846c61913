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


def streams(seed: int) -> Streams:
    search, proposer, sampler, preview = np.random.SeedSequence(seed).spawn(4)
    return Streams(
        search=np.random.default_rng(search),
        proposer=np.random.default_rng(proposer),
        sampler=np.random.default_rng(sampler),
        preview=np.random.default_rng(preview),
    )
