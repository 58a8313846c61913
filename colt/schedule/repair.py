"""Nearest legal arguments: what a model asked for, moved to the closest value the trace allows.

A model that writes ``TileSize(loop='i', factors=[64, 64, 1])`` for a loop of extent 512 asked
for something specific; replacing it with a random draw would throw that away. These pure
functions map an illegal value to the nearest legal one (tile factors by log distance, unroll
steps and parallel extents by ratio, compute locations by position, names by spelling), and the
edit layer counts every repair. Values that cannot be read at all stay illegal.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterator, Sequence

_MAX_FACTORINGS = 50_000  # ordered factorizations compared at most (512 into 4 levels: 220)


def factorings(extent: int, levels: int) -> Iterator[tuple[int, ...]]:
    """Every ordered ``levels``-tuple of positive integers whose product is ``extent``."""
    if levels == 1:
        yield (extent,)
        return
    for first in range(1, extent + 1):
        if extent % first == 0:
            for rest in factorings(extent // first, levels - 1):
                yield (first, *rest)


def _log_distance(a: Sequence[int], b: Sequence[int]) -> float:
    return sum(abs(math.log2(x) - math.log2(y)) for x, y in zip(a, b, strict=True))


def nearest_factors(
    requested: Sequence[int], extent: int, levels: int, max_innermost: int = 0
) -> tuple[int, ...]:
    """The legal tiling of ``extent`` into ``levels`` factors closest to ``requested`` in log
    space (a factor of 64 asked for 32 is one step off). A request of the wrong length is
    padded with 1 at the outer levels or cut from the outside; factors below 1 count as 1."""
    asked = [max(1, int(f)) for f in requested][-levels:]
    asked = [1] * (levels - len(asked)) + asked
    best: tuple[int, ...] | None = None
    best_distance = math.inf
    for count, candidate in enumerate(factorings(extent, levels)):
        if count >= _MAX_FACTORINGS:
            break
        if 0 < max_innermost < candidate[-1]:
            continue
        distance = _log_distance(candidate, asked)
        if distance < best_distance:
            best, best_distance = candidate, distance
    if best is None:  # nothing within the innermost limit: everything outermost
        return (extent, *([1] * (levels - 1)))
    return best


def nearest_step(requested: int, legal: Sequence[int]) -> int:
    """The legal value closest to ``requested`` by ratio (unroll steps 0, 16, 64, 512)."""
    return min(legal, key=lambda v: (abs(math.log2(v + 1) - math.log2(max(0, requested) + 1)), v))


def clamp(requested: int, low: int, high: int) -> int:
    return max(low, min(high, requested))


def nearest_location(requested: int, legal: Sequence[int]) -> int:
    """The legal compute location closest to ``requested`` (-2 inline, -1 root, 0.. loops)."""
    return min(legal, key=lambda v: (abs(v - requested), v))


def nearest_name(requested: str, names: Sequence[str]) -> str | None:
    """The name ``requested`` most likely meant: exact, a unique one it ends with or that ends
    with it (``i`` for ``C.i``), else the closest spelling; None when nothing is close."""
    if requested in names:
        return requested
    suffixed = [n for n in names if n.endswith("." + requested) or requested.endswith("." + n)]
    if len(suffixed) == 1:
        return suffixed[0]
    close = difflib.get_close_matches(requested, list(names), n=1, cutoff=0.6)
    return close[0] if close else None
