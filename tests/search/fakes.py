"""One fake environment and scripted proposers for the search core's unit tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from colt.search.base import ApplyResult, Edit, JointAction, PromptContext, Proposal


class LineEnvironment:
    """Programs are integers; "Up" adds 1..3, "Down" subtracts 1..3, "Bad" is always illegal.

    The predicted value of program x is x / 100 (higher is better), or None while untrained.
    """

    transformations = ("Up", "Down")

    def __init__(self, *, trained: bool = True) -> None:
        self.trained = trained
        self.scale = 100  # predicted value of program x: x / scale
        self.score_calls = 0

    def key(self, state: int) -> int:
        return state

    def apply(self, state: int, edits: Sequence[Edit], rng: np.random.Generator) -> ApplyResult:
        applied, invalid = [], []
        for edit in edits:
            step = int(rng.integers(1, 4))
            if edit.name == "Up":
                state += edit.arg("by", step)
            elif edit.name == "Down":
                state -= edit.arg("by", step)
            else:
                invalid.append(f"unknown {edit.name}")
                continue
            applied.append(edit)
        return ApplyResult(state, tuple(applied), tuple(invalid))

    def score(self, states: Sequence[int]) -> list[float | None]:
        self.score_calls += 1
        return [s / self.scale if self.trained else None for s in states]

    def describe(self, state: int) -> str:
        return f"program {state}"

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
