"""The edits that copy a known schedule's decisions onto a program: what a ``copy`` oracle model
(``colt.search.scripted``) proposes, a stand-in for a model that has seen good schedules of the
workload and writes them down.

Two programs of one workload's space align point by point: a tile by its block and loop, a
compute location by its block, an unroll step or a parallel extent by the block it annotates.
Each point where the program differs from the reference becomes one explicit edit of the CPU
vocabulary (``colt.schedule.cpu_vocabulary``), in trace order, so that a tiling is copied
before the compute locations that depend on it. Pure: it reads ``TracePoint`` data only.
"""

from __future__ import annotations

from collections.abc import Sequence

from colt.schedule.trace_points import PARALLEL_KEY, UNROLL_KEYS, TracePoint
from colt.search.base import Edit

PointKey = tuple[str, str, str]  # (instruction kind, block, loop or annotation key)


def _key(point: TracePoint) -> PointKey:
    return (point.kind, point.block, point.loop or point.ann_key)


def _copy(point: TracePoint, reference: TracePoint) -> Edit | None:
    """The edit that gives ``point`` the reference's decision; None for a point the vocabulary
    does not edit (a vectorize choice, another annotation)."""
    if point.kind == "SamplePerfectTile":
        loop = f"{point.block}.{point.loop}"
        return Edit("TileSize", (("loop", loop), ("factors", tuple(reference.value))))
    if point.kind == "SampleComputeLocation":
        return Edit("ComputeLocation", (("block", point.block), ("location", reference.value)))
    if point.kind == "SampleCategorical" and point.ann_key in UNROLL_KEYS:
        return Edit("Unroll", (("value", reference.chosen),))
    if point.kind == "Annotate" and point.ann_key == PARALLEL_KEY:
        return Edit("Parallel", (("extent", reference.value),))
    return None


def decision_copies(program: Sequence[TracePoint], reference: Sequence[TracePoint]) -> list[Edit]:
    """One edit per point of ``program`` whose decision differs from the aligned point of
    ``reference``, in ``program``'s trace order; points either lacks are left alone."""
    known = {_key(point): point for point in reference}
    copies = []
    for point in sorted(program, key=lambda p: p.index):
        match = known.get(_key(point))
        if match is None or match.chosen == point.chosen:
            continue
        edit = _copy(point, match)
        if edit is not None:
            copies.append(edit)
    return copies
