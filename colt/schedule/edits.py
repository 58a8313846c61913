"""Applying transformations: an edit of a program, checked by replay, or a random one.

The vocabulary is data (:class:`~colt.schedule.transformation.Transformation` records, the CPU
one in :mod:`colt.schedule.cpu_vocabulary`) so another target can bring its own. Every edit
returns a new trace; :func:`apply_edit` replays it through the program space, which rejects
anything TVM would refuse or silently alter.
"""

from __future__ import annotations

import numpy as np
from tvm.target import Target

from colt.schedule.cpu_vocabulary import CPU_VOCABULARY
from colt.schedule.program import Program, ProgramSpace
from colt.schedule.trace_points import ALTERED, IllegalEdit
from colt.schedule.transformation import Args, Site, Transformation, point_at
from colt.search.base import Edit

__all__ = [
    "CPU_VOCABULARY",
    "Transformation",
    "apply_edit",
    "apply_repaired",
    "point_at",
    "random_edit",
    "vocabulary_for",
]

_RANDOM_EDIT_ATTEMPTS = 8
_SITE_TRIES = 4  # sites an edit is tried at, in order, before it is reported illegal


def _apply_at(
    space: ProgramSpace,
    program: Program,
    transformation: Transformation,
    site: Site,
    args: Args,
    rng: np.random.Generator,
) -> Program:
    trace = transformation.edit(space, program, site, args, rng)
    if not args:
        result = space.replay(trace)
        if result.key == program.key:
            raise IllegalEdit(f"{transformation.name} at {site.label} left the program unchanged")
        return result
    try:
        return space.replay(trace)
    except IllegalEdit as error:
        if ALTERED not in str(error):
            raise
        # perhaps the decision asked for holds, but a later one depended on it (a compute
        # location into a loop the new tiling removed): TVM recomputes those, noted as repairs
        result, moved = space.replay_adjusted(trace, keep=site.index)
        args.repairs += [f"{line}: it depended on this edit" for line in moved]
        return result


def _lookup(name: str, vocabulary: tuple[Transformation, ...]) -> Transformation:
    wanted = _normalized(name)
    for transformation in vocabulary:
        if _normalized(transformation.name) == wanted:
            return transformation
    known = ", ".join(t.name for t in vocabulary)
    raise IllegalEdit(f"unknown transformation {name!r} (known: {known})")


def _normalized(name: str) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def apply_edit(
    space: ProgramSpace,
    program: Program,
    edit: Edit,
    rng: np.random.Generator,
    vocabulary: tuple[Transformation, ...] = CPU_VOCABULARY,
) -> Program:
    """Applies ``edit`` to ``program``; raises IllegalEdit with a one-line reason when it can't
    (see :func:`apply_repaired`)."""
    return apply_repaired(space, program, edit, rng, vocabulary)[0]


def apply_repaired(
    space: ProgramSpace,
    program: Program,
    edit: Edit,
    rng: np.random.Generator,
    vocabulary: tuple[Transformation, ...] = CPU_VOCABULARY,
) -> tuple[Program, Edit, tuple[str, ...]]:
    """``edit`` applied to ``program``: the new program, the edit as applied and one note per
    repair; raises IllegalEdit with a one-line reason when it can't.

    An edit without arguments must change the program. Explicit arguments are honored (asking
    for the current value is legal and returns the same program); an illegal value is moved to
    the nearest legal one and an unknown argument dropped, each noted, never replaced by a
    random draw; a value that cannot be read is illegal. A later decision that depended on the
    one asked for (a compute location into a loop a new tiling removed) is recomputed by TVM
    and noted.
    """
    transformation = _lookup(edit.name, vocabulary)
    given = Args(edit.args)
    for key in sorted(set(given) - set(transformation.arg_names)):
        valid = ", ".join(transformation.arg_names) or "none"
        given.repairs.append(f"dropped unknown argument {key!r} (valid: {valid})")
        del given[key]
    sites = transformation.sites(program)
    if not sites:
        raise IllegalEdit(f"{transformation.name}: no applicable site in this program")
    candidates = transformation.order_sites(space, program, sites, given, rng)
    errors = []
    for site in candidates[:_SITE_TRIES]:
        args = Args(given)
        args.repairs = list(given.repairs)
        try:
            result = _apply_at(space, program, transformation, site, args, rng)
        except IllegalEdit as err:
            errors.append(err)
            continue
        repaired = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in args.items())
        applied = Edit(transformation.name, repaired) if args.repairs else edit
        return result, applied, tuple(args.repairs)
    if len(errors) == 1:
        raise errors[0]
    raise IllegalEdit(f"{transformation.name}: no site took the edit; last: {errors[-1]}")


def random_edit(
    space: ProgramSpace,
    program: Program,
    rng: np.random.Generator,
    vocabulary: tuple[Transformation, ...] = CPU_VOCABULARY,
) -> tuple[Edit, Program]:
    """A random applicable transformation at a random site, recorded with explicit arguments.

    Retries a few times on IllegalEdit (rollouts rely on it); raises IllegalEdit if none works.
    """
    applicable = [(t, sites) for t in vocabulary if (sites := t.sites(program))]
    if not applicable:
        raise IllegalEdit("no transformation applies to this program")
    last = "no attempt"
    for _ in range(_RANDOM_EDIT_ATTEMPTS):
        transformation, sites = applicable[int(rng.integers(len(applicable)))]
        site = sites[int(rng.integers(len(sites)))]
        try:
            result = _apply_at(space, program, transformation, site, Args(), rng)
        except IllegalEdit as err:
            last = str(err)
            continue
        return Edit(transformation.name, transformation.realized(result, site)), result
    raise IllegalEdit(f"no random edit worked in {_RANDOM_EDIT_ATTEMPTS} attempts; last: {last}")


def vocabulary_for(target: Target) -> tuple[Transformation, ...]:
    """The transformations for ``target``'s kind (only llvm so far)."""
    if target.kind.name == "llvm":
        return CPU_VOCABULARY
    raise ValueError(f"no transformation vocabulary for target kind {target.kind.name!r} yet")
