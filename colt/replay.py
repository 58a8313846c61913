"""Journaling wrappers around the search's two outside calls (proposals and predictions).

A live run writes every answer to the journal; a resumed run replays the recorded answers in
order, so the seeded search rebuilds exactly the same tree without calling a model or the cost
model again, then goes live at the first call the journal does not hold.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Generic, TypeVar

import numpy as np

from colt.journal import Event, Journal, ProposalAnswered, ValuesPredicted
from colt.search.base import (
    ApplyResult,
    Edit,
    Environment,
    JointAction,
    PromptContext,
    Proposal,
    Proposer,
    State,
)

E = TypeVar("E", bound=Event)


def proposal_event(model: str, depth: int, proposal: Proposal) -> ProposalAnswered:
    action = proposal.action
    return ProposalAnswered(
        model=model,
        depth=depth,
        action=None
        if action is None
        else {
            "edits": [[e.name, [list(a) for a in e.args]] for e in action.edits],
            "next_model": action.next_model,
        },
        error_kind=proposal.error_kind,
        error_detail=proposal.error_detail,
        latency_s=proposal.latency_s,
        prompt_tokens=proposal.prompt_tokens,
        completion_tokens=proposal.completion_tokens,
        answer_errors=list(proposal.answer_errors),
    )


def proposal_from_event(event: ProposalAnswered) -> Proposal:
    joint = None
    if event.action is not None:
        edits = tuple(
            Edit(name, tuple((k, v) for k, v in args)) for name, args in event.action["edits"]
        )
        joint = JointAction(edits, event.action["next_model"])
    return Proposal(
        joint,
        event.error_kind,
        event.error_detail,
        event.latency_s,
        event.prompt_tokens,
        event.completion_tokens,
        tuple(event.answer_errors),
    )


class _Replay(Generic[E]):
    """The recorded events of one kind, handed out in order while each answers the question the
    search asks now; at the first that does not, the run goes live for good."""

    def __init__(self, journal: Journal, kind: type[E]) -> None:
        self.journal = journal
        self.recorded = journal.of_kind(kind)
        self.index = 0
        self.live = not self.recorded

    def next_matching(self, **expected: Any) -> E | None:
        if not self.live and self.index < len(self.recorded):
            event = self.recorded[self.index]
            if all(getattr(event, k) == v for k, v in expected.items()):
                self.index += 1
                return event
        self.live = True
        return None

    def record(self, event: E) -> None:
        self.journal.append(event)


class JournaledProposer:
    def __init__(self, live: Proposer, journal: Journal) -> None:
        self.live_proposer = live
        self.replay = _Replay(journal, ProposalAnswered)

    def propose(self, model: str, context: PromptContext) -> Proposal:
        event = self.replay.next_matching(model=model, depth=context.leaf_depth)
        if event is not None:
            return proposal_from_event(event)
        proposal = self.live_proposer.propose(model, context)
        self.replay.record(proposal_event(model, context.leaf_depth, proposal))
        return proposal


class JournaledEnvironment:
    """Delegates to ``env``; predictions are journaled and replayed."""

    def __init__(self, env: Environment, journal: Journal) -> None:
        self.env = env
        self.transformations = env.transformations
        self.replay = _Replay(journal, ValuesPredicted)

    def key(self, state: State) -> Hashable:
        return self.env.key(state)

    def apply(self, state: State, edits: Sequence[Edit], rng: np.random.Generator) -> ApplyResult:
        return self.env.apply(state, edits, rng)

    def predict(self, states: Sequence[State]) -> list[float | None]:
        keys = [self.env.key(s) for s in states]
        event = self.replay.next_matching(keys=keys)
        if event is not None:
            return list(event.values)
        values = self.env.predict(states)
        self.replay.record(ValuesPredicted(keys=keys, values=values))
        return values

    def preview(
        self, state: State, count: int, rng: np.random.Generator
    ) -> list[tuple[Edit, float | None]]:
        """Not journaled: only a live scripted model asks for it, and a replayed proposal
        does not (its answer comes from the journal)."""
        return self.env.preview(state, count, rng)

    def describe(self, state: State) -> str:
        return self.env.describe(state)

    def history(self, state: State) -> tuple[str, ...]:
        return self.env.history(state)
