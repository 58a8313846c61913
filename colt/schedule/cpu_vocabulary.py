"""The CPU vocabulary of the paper: TileSize, Parallel, Unroll and ComputeLocation.

Each edit rewrites one decision or annotation of a trace;
:func:`colt.schedule.edits.apply_edit` replays the result and rejects anything TVM would
refuse or silently alter.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
from tvm.s_tir import Trace

from colt.schedule.program import Program, ProgramSpace
from colt.schedule.trace_points import (
    INLINE_LOCATION,
    PARALLEL_KEY,
    ROOT_LOCATION,
    UNROLL_KEYS,
    IllegalEdit,
)
from colt.schedule.transformation import (
    Args,
    Site,
    Transformation,
    as_int,
    as_int_list,
    first_change,
    point_at,
    shuffled,
)

MAX_PARALLEL_PER_CORE = 512  # Parallel extents are kept within [1, 512 * num_cores]


# -- TileSize ----------------------------------------------------------------------------------


def _tile_sites(program: Program) -> list[Site]:
    return [p for p in program.points if p.kind == "SamplePerfectTile" and p.extent > 1]


def _order_tile_sites(
    space: ProgramSpace, program: Program, sites: list[Site], args: Args, rng: np.random.Generator
) -> list[Site]:
    """The loops ``loop`` names; else, with ``factors``, the loops they fit; in random order."""
    if "loop" in args:
        candidates = _tile_sites_named(sites, args["loop"])
    elif "factors" in args:
        factors = as_int_list(args["factors"], "factors")
        candidates = [s for s in sites if _fits(s, factors)]
        if not candidates:
            raise IllegalEdit(f"factors {factors} fit no tiled loop ({_tile_shapes(sites)})")
    else:
        candidates = sites
    return shuffled(candidates, rng)


def _tile_sites_named(sites: list[Site], loop: Any) -> list[Site]:
    if isinstance(loop, int | float) and not isinstance(loop, bool):
        index = as_int(loop, "loop")
        if not 0 <= index < len(sites):
            raise IllegalEdit(f"loop index {index} out of range: {len(sites)} tiled loops")
        return [sites[index]]
    name = str(loop)
    named = [s for s in sites if name in (s.label, s.loop, f"{s.block}.{s.loop}")]
    if not named:
        labels = ", ".join(s.label for s in sites)
        raise IllegalEdit(f"unknown loop {name!r} (tiled loops: {labels})")
    return named


def _fits(site: Site, factors: list[int]) -> bool:
    return len(factors) == len(site.value) and int(np.prod(factors)) == site.extent


def _tile_shapes(sites: list[Site]) -> str:
    return "; ".join(f"{s.label}: {len(s.value)} factors, product {s.extent}" for s in sites)


def _tile_edit(
    space: ProgramSpace, program: Program, site: Site, args: Args, rng: np.random.Generator
) -> Trace:
    if "factors" in args:
        factors = _checked_factors(site, as_int_list(args["factors"], "factors"))
        return space.with_decision(program, site.index, factors)
    moves = _tile_moves(list(site.value), site.max_innermost)
    rewrite = partial(space.with_decision, program, site.index)
    return first_change(space, program, site, moves, rewrite, rng)


def _checked_factors(site: Site, factors: list[int]) -> list[int]:
    if len(factors) != len(site.value):
        raise IllegalEdit(f"{site.label} has {len(site.value)} tile levels, got {len(factors)}")
    if min(factors) < 1 or int(np.prod(factors)) != site.extent:
        raise IllegalEdit(
            f"factors {factors} of {site.label} must be positive with product {site.extent}"
        )
    if 0 < site.max_innermost < factors[-1]:
        raise IllegalEdit(
            f"innermost factor {factors[-1]} of {site.label} exceeds {site.max_innermost}"
        )
    return factors


def _tile_moves(factors: list[int], max_innermost: int) -> list[list[int]]:
    """Every way to move one prime factor of one level to another within the innermost limit."""
    moves = []
    for source, factor in enumerate(factors):
        for prime in _prime_factors(factor):
            for target in range(len(factors)):
                if target == source:
                    continue
                moved = list(factors)
                moved[source] //= prime
                moved[target] *= prime
                if max_innermost <= 0 or moved[-1] <= max_innermost:
                    moves.append(moved)
    return moves


def _prime_factors(number: int) -> list[int]:
    """The distinct prime factors of ``number``, ascending."""
    primes, divisor = [], 2
    while divisor * divisor <= number:
        if number % divisor == 0:
            primes.append(divisor)
            while number % divisor == 0:
                number //= divisor
        divisor += 1
    return primes + ([number] if number > 1 else [])


def _tile_realized(program: Program, site: Site) -> tuple[tuple[str, Any], ...]:
    return (("loop", site.label), ("factors", tuple(point_at(program, site.index).value)))


# -- Unroll ------------------------------------------------------------------------------------


def _unroll_sites(program: Program) -> list[Site]:
    return [p for p in program.points if p.kind == "SampleCategorical" and p.ann_key in UNROLL_KEYS]


def _unroll_edit(
    space: ProgramSpace, program: Program, site: Site, args: Args, rng: np.random.Generator
) -> Trace:
    if "value" in args:
        value = as_int(args["value"], "value")
        if value not in site.candidates:
            raise IllegalEdit(f"unroll value {value} is not one of {list(site.candidates)}")
        return space.with_decision(program, site.index, site.candidates.index(value))
    others = [i for i in range(len(site.candidates)) if i != site.value]
    rewrite = partial(space.with_decision, program, site.index)
    return first_change(space, program, site, others, rewrite, rng)


def _unroll_realized(program: Program, site: Site) -> tuple[tuple[str, Any], ...]:
    return (("value", point_at(program, site.index).chosen),)


# -- ComputeLocation ---------------------------------------------------------------------------


def _location_sites(program: Program) -> list[Site]:
    return [p for p in program.points if p.kind == "SampleComputeLocation"]


def _order_location_sites(
    space: ProgramSpace, program: Program, sites: list[Site], args: Args, rng: np.random.Generator
) -> list[Site]:
    """The decisions of the block ``block`` names, else all, in random order."""
    candidates = sites
    if "block" in args:
        candidates = [s for s in sites if s.block == str(args["block"])]
        if not candidates:
            blocks = ", ".join(s.block for s in sites)
            raise IllegalEdit(f"unknown block {args['block']!r} (movable blocks: {blocks})")
    return shuffled(candidates, rng)


def _as_location(value: Any) -> int:
    names = {"root": ROOT_LOCATION, "inline": INLINE_LOCATION}
    if isinstance(value, str) and value.strip().lower() in names:
        return names[value.strip().lower()]
    return as_int(value, "location")


def _location_edit(
    space: ProgramSpace, program: Program, site: Site, args: Args, rng: np.random.Generator
) -> Trace:
    legal = space.compute_locations(program, site.index)
    if "location" in args:
        location = _as_location(args["location"])
        if location not in legal:
            raise IllegalEdit(
                f"location {location} is illegal for {site.block} (legal: "
                f"{', '.join(str(x) for x in legal)})"
            )
        return space.with_decision(program, site.index, location)
    others = [x for x in legal if x != site.value]
    rewrite = partial(space.with_decision, program, site.index)
    return first_change(space, program, site, others, rewrite, rng)


def _location_realized(program: Program, site: Site) -> tuple[tuple[str, Any], ...]:
    return (("block", site.block), ("location", point_at(program, site.index).value))


# -- Parallel ----------------------------------------------------------------------------------


def _parallel_sites(program: Program) -> list[Site]:
    return [p for p in program.points if p.kind == "Annotate" and p.ann_key == PARALLEL_KEY]


def _parallel_edit(
    space: ProgramSpace, program: Program, site: Site, args: Args, rng: np.random.Generator
) -> Trace:
    limit = MAX_PARALLEL_PER_CORE * space.num_cores
    if "extent" in args:
        extent = as_int(args["extent"], "extent")
        if not 1 <= extent <= limit:
            raise IllegalEdit(f"parallel extent {extent} outside [1, {limit}]")
        return space.with_annotation(program, site.index, extent)
    candidates = _parallel_candidates(space, program, int(site.value), limit)
    rewrite = partial(space.with_annotation, program, site.index)
    return first_change(space, program, site, candidates, rewrite, rng)


def _parallel_candidates(
    space: ProgramSpace, program: Program, current: int, limit: int
) -> list[int]:
    """Extents where the fused parallel loop changes: prefix products of the loop nests.

    The postprocessor fuses outer loops until their product exceeds the annotation, so only
    these thresholds (and halving or doubling) give distinct programs.
    """
    values = {1, current // 2, current * 2}
    for nest in space.loop_extents(program):
        values.update(int(np.prod(nest[:depth])) for depth in range(1, len(nest) + 1))
    return sorted(v for v in values if 1 <= v <= limit and v != current)


def _parallel_realized(program: Program, site: Site) -> tuple[tuple[str, Any], ...]:
    return (("extent", point_at(program, site.index).value),)


CPU_VOCABULARY: tuple[Transformation, ...] = (
    Transformation(
        name="TileSize",
        help="re-tile one loop, moving factors between its tile levels (product stays the loop "
        "extent); args: loop (name or index), factors (full list, outermost first)",
        sites=_tile_sites,
        edit=_tile_edit,
        arg_names=("loop", "factors"),
        order_sites=_order_tile_sites,
        realized=_tile_realized,
    ),
    Transformation(
        name="Parallel",
        help="change the largest extent of the fused outer parallel loop; args: extent "
        "(positive integer)",
        sites=_parallel_sites,
        edit=_parallel_edit,
        arg_names=("extent",),
        realized=_parallel_realized,
    ),
    Transformation(
        name="Unroll",
        help="change the auto-unroll max step of the kernel; args: value (one of 0, 16, 64, 512)",
        sites=_unroll_sites,
        edit=_unroll_edit,
        arg_names=("value",),
        realized=_unroll_realized,
    ),
    Transformation(
        name="ComputeLocation",
        help="move a producer block into another loop of its consumer; args: block (name), "
        "location (loop index, -1 root, -2 inline)",
        sites=_location_sites,
        edit=_location_edit,
        arg_names=("block", "location"),
        order_sites=_order_location_sites,
        realized=_location_realized,
    ),
)
