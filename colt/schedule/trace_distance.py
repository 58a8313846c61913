"""How far a program lies from known good schedules of its workload: what an oracle model
(``colt.search.scripted``) decides with (``colt.schedule.oracle`` finds the schedules).

A schedule is compared by its trace's decisions (the sampled tile sizes, categorical choices
and compute locations, in instruction order): two traces of one sketch align decision by
decision. A tile decision contributes d / (1 + d), d the mean absolute log2 ratio of its
factors; any other decision 1 where it differs; a decision of another kind at the same place,
or one that only one trace has, 1. Equal decisions are distance 0. Only the trace's JSON is
read, so the pure functions here run on data a test writes by hand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

Decisions = tuple[tuple[str, Any], ...]  # (instruction kind, decision), in trace order


def plain(value: Any) -> Any:
    """A trace's JSON as plain Python: TVM's arrays as lists, its IntImm and FloatImm as
    numbers (``Trace.as_json`` may hand back TVM containers; the record library holds lists)."""
    if isinstance(value, (str, bytes, int, float, bool)) or value is None:
        return value
    if hasattr(value, "value"):
        return value.value
    if isinstance(value, Sequence) or hasattr(value, "__iter__"):
        return [plain(item) for item in value]
    return value


def decisions_of(trace_json: Any) -> Decisions:
    """The decisions of a trace in MetaSchedule's JSON form ``[instructions, decisions]``,
    where ``decisions`` holds ``[instruction index, decision]`` pairs."""
    instructions, decided = trace_json[0], trace_json[1]
    by_index = {int(plain(index)): plain(decision) for index, decision in decided}
    return tuple((str(plain(instructions[i][0])), by_index[i]) for i in sorted(by_index))


def _tile_distance(a: Sequence[Any], b: Sequence[Any]) -> float:
    """d / (1 + d) of the mean absolute log2 ratio d of the factors: 0 for equal tiles, 1/2
    for factors a power of 2 apart on average, towards 1 (a differing choice) far apart."""
    logs = [
        abs(math.log2(max(1, int(x))) - math.log2(max(1, int(y))))
        for x, y in zip(a, b, strict=True)
    ]
    mean = sum(logs) / max(1, len(logs))
    return mean / (1 + mean)


def decision_distance(a: Decisions, b: Decisions) -> float:
    """How far apart two schedules' decisions are (0: the same); see the module's text."""
    total = float(abs(len(a) - len(b)))
    for (kind_a, value_a), (kind_b, value_b) in zip(a, b, strict=False):
        if kind_a != kind_b:
            total += 1.0
        elif (
            isinstance(value_a, list) and isinstance(value_b, list) and len(value_a) == len(value_b)
        ):
            total += _tile_distance(value_a, value_b)
        else:
            total += float(value_a != value_b)
    return total


def nearest_distance(program: Decisions, references: Sequence[Decisions]) -> float | None:
    """The distance to the closest of ``references``; None without any."""
    return min((decision_distance(program, ref) for ref in references), default=None)
