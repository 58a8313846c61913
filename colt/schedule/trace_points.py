"""Trace points: the editable instructions of a replayed trace (tile decisions, categorical
samples, compute locations, annotations) as plain data, with the checks and the one-line
history the prompts show."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import tvm
from tvm.s_tir import Trace
from tvm.s_tir.schedule import Instruction

PARALLEL_KEY = "meta_schedule.parallel"
VECTORIZE_KEY = "meta_schedule.vectorize"
UNROLL_KEYS = ("meta_schedule.unroll_explicit", "meta_schedule.unroll_implicit")
ROOT_LOCATION = -1  # SampleComputeLocation: compute at the root (no loop)
INLINE_LOCATION = -2  # SampleComputeLocation: inline into the consumers
ALTERED = "TVM altered"  # how a replay that changed a decision is reported


class IllegalEdit(Exception):
    """An edit TVM rejects or would silently alter; the message is one short reason."""


@dataclass(frozen=True)
class TracePoint:
    """One editable instruction of a trace, as the schedule saw it when the trace was replayed.

    ``kind`` is the instruction kind (``SamplePerfectTile``, ``SampleCategorical``,
    ``SampleComputeLocation`` or ``Annotate``); ``value`` is the decision as plain Python (tile
    factors outermost first, a categorical index, a compute location) or the annotation value.
    ``label`` names the point for people: the loop for tiles (``block.loop`` when a loop name is
    ambiguous), the block otherwise.
    """

    index: int  # position in Program.trace.insts
    kind: str
    block: str
    label: str
    value: Any
    loop: str = ""
    extent: int = 0  # loop extent of a tiled loop
    max_innermost: int = 0  # largest innermost tile factor; <= 0 means unlimited
    candidates: tuple[int, ...] = ()  # the values a SampleCategorical picks among
    ann_key: str = ""  # the annotation key (for categoricals: of the annotation they feed)

    @property
    def chosen(self) -> Any:
        """The effective value: the picked candidate for categoricals, else ``value``."""
        return self.candidates[self.value] if self.candidates else self.value


def plain(decision: Any) -> Any:
    """A trace decision as plain Python: None, an int, a string or a tuple of tile factors."""
    if decision is None or isinstance(decision, int | str):
        return decision
    if isinstance(decision, tvm.tirx.IntImm):
        return int(decision)
    return tuple(int(x) for x in decision)


def check_tiles(points: tuple[TracePoint, ...]) -> None:
    """TVM accepts an innermost factor above max_innermost_factor; MetaSchedule never samples it."""
    for point in points:
        if point.kind != "SamplePerfectTile" or not point.extent:
            continue
        if int(np.prod(point.value)) != point.extent:
            raise IllegalEdit(
                f"tile {list(point.value)} of {point.label} does not multiply to {point.extent}"
            )
        if 0 < point.max_innermost < point.value[-1]:
            raise IllegalEdit(
                f"innermost tile {point.value[-1]} of {point.label} exceeds {point.max_innermost}"
            )


def check_unaltered(requested: Trace, replayed: Trace) -> None:
    """Raises when replay changed a decision (TVM snaps or recomputes invalid ones silently)."""
    moved = altered_decisions(requested, replayed)
    if moved:
        raise IllegalEdit(moved[0][1])


def altered_decisions(requested: Trace, replayed: Trace) -> list[tuple[int, str]]:
    """(instruction index, one line) per decision replay changed."""
    moved = []
    for index, (asked, got) in enumerate(zip(requested.insts, replayed.insts, strict=False)):
        want = plain(requested.get_decision(asked))
        have = plain(replayed.get_decision(got))
        if want is not None and want != have:
            line = f"{ALTERED} {asked.kind.name} (instruction {index}) from {want} to {have}"
            moved.append((index, line))
    return moved


def trace_points(trace: Trace, facts: dict[int, dict[str, Any]]) -> tuple[TracePoint, ...]:
    """The editable points of a replayed ``trace``; ``facts`` holds what replay saw at each
    instruction position (the tiled loop, the block an annotation acts on)."""
    insts = list(trace.insts)
    fed = _categorical_annotations(insts, facts)
    found = (_point(i, inst, trace.get_decision(inst), facts, fed) for i, inst in enumerate(insts))
    return _disambiguate_tiles([p for p in found if p is not None])


def _categorical_annotations(
    insts: list[Instruction], facts: dict[int, dict[str, Any]]
) -> dict[Any, tuple[str, str]]:
    """Maps each sampled annotation value (a variable) to the (key, block) that consumes it."""
    fed: dict[Any, tuple[str, str]] = {}
    for position, inst in enumerate(insts):
        if inst.kind.name == "Annotate" and isinstance(inst.inputs[1], tvm.tirx.Var):
            block = facts.get(position, {}).get("block", "?")
            fed[inst.inputs[1]] = (str(inst.attrs[0]), block)
    return fed


def _point(
    index: int,
    inst: Instruction,
    decision: Any,
    facts: dict[int, dict[str, Any]],
    fed: dict[Any, tuple[str, str]],
) -> TracePoint | None:
    kind = inst.kind.name
    fact = facts.get(index, {})
    block = fact.get("block", "?")
    if kind == "SamplePerfectTile":
        return TracePoint(
            index,
            kind,
            block,
            fact["loop"],
            plain(decision),
            loop=fact["loop"],
            extent=fact["extent"],
            max_innermost=int(inst.attrs[1]),
        )
    if kind == "SampleCategorical":
        key, block = fed.get(inst.outputs[0], ("", "?"))
        candidates = tuple(int(c) for c in inst.attrs[0])
        return TracePoint(
            index, kind, block, block, plain(decision), candidates=candidates, ann_key=key
        )
    if kind == "SampleComputeLocation":
        return TracePoint(index, kind, block, block, plain(decision))
    if kind == "Annotate" and not isinstance(inst.inputs[1], tvm.tirx.Var):
        value = inst.inputs[1]
        value = int(value) if isinstance(value, tvm.tirx.IntImm | int) else str(value)
        return TracePoint(index, kind, block, block, value, ann_key=str(inst.attrs[0]))
    return None


def _disambiguate_tiles(points: list[TracePoint]) -> tuple[TracePoint, ...]:
    """Labels a tile by its loop name, or ``block.loop`` when several tiled loops share it."""
    tiles = [p for p in points if p.kind == "SamplePerfectTile"]
    names = [p.loop for p in tiles]
    out = []
    for point in points:
        if point.kind == "SamplePerfectTile" and names.count(point.loop) > 1:
            point = replace(point, label=f"{point.block}.{point.loop}")
        out.append(point)
    return tuple(out)


def history_line(point: TracePoint) -> str:
    if point.kind == "SamplePerfectTile":
        return f"TileSize {point.label}: {list(point.value)}"
    if point.kind == "SampleCategorical":
        name = "Unroll" if point.ann_key in UNROLL_KEYS else "Categorical"
        return f"{name} {point.label}: {point.chosen}"
    if point.kind == "SampleComputeLocation":
        return f"ComputeLocation {point.label}: {location_name(point.value)}"
    names = {PARALLEL_KEY: "Parallel", VECTORIZE_KEY: "Vectorize"}
    return f"{names[point.ann_key]} {point.label}: {point.value}" if point.ann_key in names else ""


def location_name(location: int) -> str:
    """A compute location for people: ``root``, ``inline`` or ``loop N``."""
    if location == ROOT_LOCATION:
        return "root"
    if location == INLINE_LOCATION:
        return "inline"
    return f"loop {location}"
