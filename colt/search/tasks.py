"""Sharing one sample budget among a network's tasks: MetaSchedule's gradient task scheduler.

Every task first gets one round, in order. After that the next round goes to the task whose
weighted latency is expected to fall most: with ``best`` its best latency after each of its
rounds (``history``), the gradient is ``alpha * (history[-1-window] - best) / window + (1 -
alpha) * best / rounds``, times the task's weight (how often the network calls it). Ties
(all equal, e.g. nothing measured yet) go to a seeded random task. A task with no
schedule yet (an infinite best) ranks last. Pure: the caller keeps the histories.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

ALPHA = 0.2  # MetaSchedule's GradientBased defaults
WINDOW = 3


@dataclass
class TaskProgress:
    weight: float
    history: list[float] = field(default_factory=list)  # best latency after each round (inf)
    done: bool = False  # its search has nothing left to propose, or its cap is reached


def gradient(task: TaskProgress, alpha: float = ALPHA, window: int = WINDOW) -> float:
    rounds = len(task.history)
    best = task.history[-1]
    if not math.isfinite(best):
        return -math.inf
    trend = (task.history[-1 - window] - best) / window if rounds >= 1 + window else 0.0
    return (alpha * trend + (1 - alpha) * best / rounds) * task.weight


def next_task(tasks: Sequence[TaskProgress], rng: np.random.Generator) -> int | None:
    """The task that gets the next round, or None when every task is done."""
    for index, task in enumerate(tasks):  # the first rounds: each task once, in order
        if not task.history and not task.done:
            return index
    alive = [index for index, task in enumerate(tasks) if not task.done]
    if not alive:
        return None
    grads = [gradient(tasks[index]) for index in alive]
    if max(grads) == min(grads):
        return alive[int(rng.integers(len(alive)))]
    return alive[int(np.argmax(grads))]


def round_size(trials: int, tasks: int, per_round: int) -> int:
    """Samples per task round: ``per_round``, smaller where the first rounds (one per task)
    would take more than half the budget, and never below one sample, so the scheduler has
    budget left to follow the gradient."""
    return max(1, min(per_round, trials // (2 * max(1, tasks))))
