"""One fake environment and scripted proposers for the search core's unit tests."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from colt.search.base import ApplyResult, Edit, JointAction, ModelInfo, PromptContext, Proposal
from colt.search.config import SearchConfig
from colt.search.mcts import Search


class LineEnvironment:
    """Programs are integers; "Up" adds 1..3, "Down" subtracts 1..3, "Bad" is always illegal.

    The predicted value of program x is x / 100 (higher is better), or None while untrained.
    """

    transformations = ("Up", "Down")

    def __init__(self, *, trained: bool = True, spread: int = 3) -> None:
        self.trained = trained
        self.spread = spread  # an edit moves the program by 1..spread
        self.scale = 100  # predicted value of program x: x / scale
        self.score_calls = 0

    def key(self, state: int) -> int:
        return state

    def apply(self, state: int, edits: Sequence[Edit], rng: np.random.Generator) -> ApplyResult:
        applied, invalid = [], []
        for edit in edits:
            step = int(rng.integers(1, self.spread + 1))
            if edit.name == "Up":
                state += edit.arg("by", step)
            elif edit.name == "Down":
                state -= edit.arg("by", step)
            else:
                invalid.append(f"unknown {edit.name}")
                continue
            applied.append(edit)
        return ApplyResult(state, tuple(applied), tuple(invalid))

    def predict(self, states: Sequence[int]) -> list[float | None]:
        self.score_calls += 1
        return [s / self.scale if self.trained else None for s in states]

    def preview(
        self, state: int, count: int, rng: np.random.Generator
    ) -> list[tuple[Edit, float | None]]:
        drawn = []
        for _ in range(count):
            name = str(rng.choice(self.transformations))
            by = int(rng.integers(1, self.spread + 1))
            result = self.apply(state, [Edit(name, (("by", by),))], rng).state
            drawn.append((Edit(name, (("by", by),)), result))
        scores = self.predict([program for _, program in drawn])
        return [(edit, score) for (edit, _), score in zip(drawn, scores, strict=True)]

    def describe(self, state: int) -> str:
        return f"program {state}"

    def dump(self, state: int) -> int:
        return state

    def load(self, data: int) -> int:
        return data

    def history(self, state: int) -> tuple[str, ...]:
        return ()


class ScriptedProposer:
    """Answers every call with the same edits; the next model cycles through ``next_models``."""

    def __init__(self, edits: Sequence[str], next_models: Sequence[str]) -> None:
        self.edits = tuple(Edit(name) for name in edits)
        self.next_models = list(next_models)
        self.calls: list[tuple[str, PromptContext]] = []

    def propose(self, model: str, context: PromptContext) -> Proposal:
        self.calls.append((model, context))
        nxt = self.next_models[len(self.calls) % len(self.next_models)]
        return Proposal(JointAction(self.edits, nxt), latency_s=0.5, prompt_tokens=10)


class FailingProposer:
    def propose(self, model: str, context: PromptContext) -> Proposal:
        return Proposal(None, error_kind="timeout", error_detail="no answer in 1 s")


class PerModelProposer:
    """Each model answers with its own fixed edits and its own next-model recommendation."""

    def __init__(self, answers: dict[str, tuple[Sequence[str], str]]) -> None:
        self.answers = {
            m: (tuple(Edit(e) for e in edits), nxt) for m, (edits, nxt) in answers.items()
        }
        self.calls: list[tuple[str, PromptContext]] = []

    def propose(self, model: str, context: PromptContext) -> Proposal:
        self.calls.append((model, context))
        edits, next_model = self.answers[model]
        return Proposal(JointAction(edits, next_model))


def fake_latency(program: int) -> float | None:
    """Higher programs run faster; programs at or below -200 fail to build."""
    return 100.0 / (program + 200.0) if program > -200 else None


def simulate(
    search, rounds: int, *, expansions: int, batch: int = 8, fresh=(), top_up: bool = True
) -> None:
    """The tuning loop of ``colt.strategies.shared_tree.colt_rounds`` without TVM: measure the
    initial programs, then rounds of expansions (topped up, bounded, until the proposal slots
    have proposals waiting) each followed by a measurement round."""
    wanted = batch - search.config.fresh_slots(batch)
    for index in range(rounds + 1):
        steps = 0
        while index and (
            steps < expansions
            or (top_up and search.waiting_proposals < wanted and steps < 5 * expansions)
        ):
            search.step()
            steps += 1
        for pick in search.pick_for_measurement(batch, fresh):
            search.record_measurement(pick.key, fake_latency(pick.key))
        search.end_round()


def line_search(  # type: ignore[no-untyped-def]
    proposer,
    models: Sequence[ModelInfo],
    *,
    start: Sequence[int],
    seed: int,
    trials_total: int,
    env=None,
    **overrides,
) -> Search:
    """A search on the line (``env``, default ``LineEnvironment()``), started from the
    programs ``start``, with a fake clock; ``overrides`` change the search's settings."""
    clock = itertools.count(0.0, 0.001)
    search = Search(
        env or LineEnvironment(),
        proposer,
        models,
        config=SearchConfig(**overrides),
        seed=seed,
        trials_total=trials_total,
        clock=lambda: next(clock),
    )
    search.start(list(start))
    return search


def two_root_search(proposer, models: Sequence[ModelInfo], **overrides) -> Search:  # type: ignore[no-untyped-def]
    """A search on the line from programs 50 and 40, one-step rollouts, a fake clock."""
    overrides = {"rollout_steps": 1, **overrides}
    return line_search(proposer, models, start=(50, 40), seed=3, trials_total=64, **overrides)
