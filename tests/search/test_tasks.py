"""The gradient task scheduler that shares a network's budget among its tasks."""

from __future__ import annotations

import math

import numpy as np

from colt.search.tasks import TaskProgress, gradient, next_task, round_size


def test_every_task_gets_its_first_round_in_order_before_any_second() -> None:
    tasks = [TaskProgress(weight=1), TaskProgress(weight=5), TaskProgress(weight=2)]
    rng = np.random.default_rng(0)
    order = []
    for _ in range(3):
        index = next_task(tasks, rng)
        assert index is not None
        order.append(index)
        tasks[index].history.append(1.0)
    assert order == [0, 1, 2]


def test_the_round_goes_to_the_largest_weighted_expected_gain() -> None:
    # best / rounds times weight: 1e-3 * 1 vs 1e-3 * 4 -> the heavier task
    tasks = [TaskProgress(weight=1, history=[1e-3]), TaskProgress(weight=4, history=[1e-3])]
    assert next_task(tasks, np.random.default_rng(0)) == 1
    # a task whose recent rounds keep improving outranks a flat one of the same weight
    improving = TaskProgress(weight=1, history=[8e-3, 4e-3, 2e-3, 1e-3])
    flat = TaskProgress(weight=1, history=[1e-3, 1e-3, 1e-3, 1e-3])
    assert gradient(improving) > gradient(flat)
    assert next_task([flat, improving], np.random.default_rng(0)) == 1


def test_unmeasured_and_finished_tasks_rank_last_and_none_is_returned_when_all_are_done() -> None:
    never = TaskProgress(weight=10, history=[math.inf])
    measured = TaskProgress(weight=1, history=[1e-3])
    assert next_task([never, measured], np.random.default_rng(0)) == 1
    measured.done = True
    assert next_task([never, measured], np.random.default_rng(0)) == 0
    never.done = True
    assert next_task([never, measured], np.random.default_rng(0)) is None


def test_ties_are_broken_by_the_seeded_generator() -> None:
    def picks(seed: int) -> list[int | None]:
        tasks = [TaskProgress(weight=1, history=[1e-3]) for _ in range(4)]
        rng = np.random.default_rng(seed)
        return [next_task(tasks, rng) for _ in range(8)]

    assert picks(3) == picks(3)
    assert len(set(picks(3))) > 1


def test_the_first_rounds_take_at_most_half_the_budget_when_they_can() -> None:
    assert round_size(trials=64, tasks=4, per_round=8) == 8
    assert round_size(trials=128, tasks=18, per_round=8) == 3  # 54 of 128 in first rounds
    assert round_size(trials=40, tasks=18, per_round=8) == 1
    assert round_size(trials=18, tasks=18, per_round=8) == 1  # one sample each, nothing left
