"""What a transformation is, and the helpers the vocabularies are written with.

A :class:`Transformation` is data: where it applies (its sites), how it rewrites a trace, and
how to read back the arguments of an edit it made. All randomness comes from the ``rng``
argument: the same program and generator state give the same trace.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from tvm.s_tir import Trace

from colt.schedule.program import Program, ProgramSpace
from colt.schedule.trace_points import IllegalEdit, TracePoint

Site = TracePoint  # an editable decision or annotation of a program's trace


class Args(dict[str, Any]):
    """An edit's arguments, and the repairs made to them on the way: an illegal value a model
    wrote is moved to the nearest legal one (``colt.schedule.repair``) and noted here."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.repairs: list[str] = []

    def repaired(self, key: str, value: Any, why: str) -> Any:
        """Sets ``key`` to its repaired ``value`` and notes why; returns ``value``."""
        self.repairs.append(f"{key}={self.get(key)!r} -> {value!r}: {why}")
        self[key] = value
        return value


SiteOrder = Callable[[ProgramSpace, Program, list[Site], Args, np.random.Generator], list[Site]]

_RANDOM_TRIES = 6  # alternatives replayed before an edit without arguments gives up


def shuffled_sites(
    space: ProgramSpace, program: Program, sites: list[Site], args: Args, rng: np.random.Generator
) -> list[Site]:
    return shuffled(sites, rng)


def shuffled(items: list[Any], rng: np.random.Generator) -> list[Any]:
    return [items[i] for i in rng.permutation(len(items))]


@dataclass(frozen=True)
class Transformation:
    """One kind of edit: where it applies (``sites``) and how it rewrites a trace (``edit``).

    ``order_sites`` lists the sites the edit's arguments allow, in the (seeded random) order
    :func:`apply_edit` tries them; ``realized`` reads back, from the edited program, the
    arguments that reproduce the edit, so random edits can be recorded as explicit ones.
    """

    name: str
    help: str  # one line for LLM prompts: what it edits and its optional arguments
    sites: Callable[[Program], list[Site]]
    edit: Callable[[ProgramSpace, Program, Site, Args, np.random.Generator], Trace]
    arg_names: tuple[str, ...] = ()
    order_sites: SiteOrder = shuffled_sites
    realized: Callable[[Program, Site], tuple[tuple[str, Any], ...]] = lambda program, site: ()


def point_at(program: Program, index: int) -> TracePoint:
    """The program's editable point at trace position ``index``."""
    for point in program.points:
        if point.index == index:
            return point
    raise KeyError(index)


def first_change(
    space: ProgramSpace,
    program: Program,
    site: Site,
    alternatives: list[Any],
    rewrite: Callable[[Any], Trace],
    rng: np.random.Generator,
) -> Trace:
    """The first of up to ``_RANDOM_TRIES`` alternatives, in random order, whose trace replays
    unaltered into a different program.

    One decision can change which values later decisions may take (a tile of extent 1 removes
    a compute location, a compute location moves the loops of the next block); such
    alternatives are skipped rather than reported, since no argument asked for them.
    """
    reason = f"no alternative value at {site.label}"
    for index in rng.permutation(len(alternatives))[:_RANDOM_TRIES]:
        trace = rewrite(alternatives[index])
        try:
            if space.replay(trace).key != program.key:
                return trace
            reason = f"{site.label}: the program did not change"
        except IllegalEdit as err:
            reason = str(err)
    raise IllegalEdit(reason)


# -- argument parsing ------------------------------------------------------------------------


def as_int(value: Any, what: str) -> int:
    """Accepts ints and their float or string spellings (models write 64.0 and "64")."""
    if isinstance(value, bool):
        raise IllegalEdit(f"{what} must be an integer, got {value!r}")
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise IllegalEdit(f"{what} must be an integer, got {value!r}")


def as_int_list(value: Any, what: str) -> list[int]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise IllegalEdit(f"{what} must be a list of integers, got {value!r}") from err
    if not isinstance(value, list | tuple):
        raise IllegalEdit(f"{what} must be a list of integers, got {value!r}")
    return [as_int(item, what) for item in value]
