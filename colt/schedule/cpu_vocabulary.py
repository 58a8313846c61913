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
from colt.schedule.repair import (
    clamp,
    nearest_factors,
    nearest_location,
    nearest_name,
    nearest_step,
)
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
        candidates = _tile_sites_named(sites, args)
    elif "factors" in args:
        factors = as_int_list(args["factors"], "factors")
        candidates = [s for s in sites if _fits(s, factors)]
        # none fits: the loops with as many levels, whose nearest tiling is then taken
        candidates = candidates or [s for s in sites if len(s.value) == len(factors)] or sites
    else:
        candidates = sites
    return shuffled(candidates, rng)


def _tile_sites_named(sites: list[Site], args: Args) -> list[Site]:
    """The loops ``args["loop"]`` names: an index (out of range: the nearest one), or a name
    (unknown: the closest spelling among the tiled loops, noted as a repair)."""
    loop = args["loop"]
    if isinstance(loop, int | float) and not isinstance(loop, bool):
        index = as_int(loop, "loop")
        if not 0 <= index < len(sites):
            index = args.repaired("loop", clamp(index, 0, len(sites) - 1), "out of range")
        return [sites[index]]
    name = str(loop)
    named = [s for s in sites if name in (s.label, s.loop, f"{s.block}.{s.loop}")]
    if named:
        return named
    labels = [s.label for s in sites]
    nearest = nearest_name(name, labels)
    if nearest is None:
        raise IllegalEdit(f"unknown loop {name!r} (tiled loops: {', '.join(labels)})")
    args.repaired("loop", nearest, "no such tiled loop")
    return [s for s in sites if s.label == nearest]


def _fits(site: Site, factors: list[int]) -> bool:
    return len(factors) == len(site.value) and int(np.prod(factors)) == site.extent


def _tile_edit(
    space: ProgramSpace, program: Program, site: Site, args: Args, rng: np.random.Generator
) -> Trace:
    if "factors" in args:
        factors = _checked_factors(site, as_int_list(args["factors"], "factors"), args)
        return space.with_decision(program, site.index, factors)
    moves = _tile_moves(list(site.value), site.max_innermost)
    rewrite = partial(space.with_decision, program, site.index)
    return first_change(space, program, site, moves, rewrite, rng)


def _checked_factors(site: Site, factors: list[int], args: Args) -> list[int]:
    """``factors``, or the nearest legal tiling of the loop (noted as a repair)."""
    levels = len(site.value)
    if len(factors) != levels:
        why = f"{site.label} has {levels} tile levels"
    elif min(factors) < 1 or int(np.prod(factors)) != site.extent:
        why = f"factors of {site.label} must be positive with product {site.extent}"
    elif 0 < site.max_innermost < factors[-1]:
        why = f"the innermost factor of {site.label} is at most {site.max_innermost}"
    else:
        return factors
    legal = nearest_factors(factors, site.extent, levels, site.max_innermost)
    return list(args.repaired("factors", list(legal), why))


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
            legal = list(site.candidates)
            value = args.repaired("value", nearest_step(value, legal), f"one of {legal}")
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
            blocks = [s.block for s in sites]
            nearest = nearest_name(str(args["block"]), blocks)
            if nearest is None:
                movable = ", ".join(blocks)
                raise IllegalEdit(f"unknown block {args['block']!r} (movable blocks: {movable})")
            args.repaired("block", nearest, "no such movable block")
            candidates = [s for s in sites if s.block == nearest]
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
        if location not in legal and legal:
            why = f"legal for {site.block}: {', '.join(str(x) for x in legal)}"
            location = args.repaired("location", nearest_location(location, legal), why)
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
            extent = args.repaired("extent", clamp(extent, 1, limit), f"within [1, {limit}]")
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
