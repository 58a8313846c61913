"""The journal's record of model calls: a live run writes every answer; a resumed run, while
it rebuilds its tree from the search's events, gets the recorded answers in order (for the
models' call statistics) without calling a model, then goes live at the first call the journal
does not hold."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import numpy as np

from colt.journal import Event, Journal, ProposalAnswered
from colt.search.base import (
    Edit,
    JointAction,
    PromptContext,
    Proposal,
    Proposer,
)

E = TypeVar("E", bound=Event)


def _action_json(action: JointAction) -> dict[str, Any]:
    return {
        "edits": [[e.name, [list(a) for a in e.args]] for e in action.edits],
        "next_model": action.next_model,
    }


def _action_from_json(data: dict[str, Any]) -> JointAction:
    edits = tuple(Edit(name, tuple((k, v) for k, v in args)) for name, args in data["edits"])
    return JointAction(edits, data["next_model"])


def proposal_event(model: str, depth: int, proposal: Proposal) -> ProposalAnswered:
    action = proposal.action
    return ProposalAnswered(
        model=model,
        depth=depth,
        action=None if action is None else _action_json(action),
        more=[_action_json(a) for a in proposal.more],
        error_kind=proposal.error_kind,
        error_detail=proposal.error_detail,
        latency_s=proposal.latency_s,
        prompt_tokens=proposal.prompt_tokens,
        completion_tokens=proposal.completion_tokens,
        answer_errors=list(proposal.answer_errors),
    )


def proposal_from_event(event: ProposalAnswered) -> Proposal:
    return Proposal(
        None if event.action is None else _action_from_json(event.action),
        event.error_kind,
        event.error_detail,
        event.latency_s,
        event.prompt_tokens,
        event.completion_tokens,
        tuple(event.answer_errors),
        more=tuple(_action_from_json(a) for a in event.more),
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
    def __init__(
        self,
        live: Proposer,
        journal: Journal,
        *,
        charge: Callable[[float], None] | None = None,
    ) -> None:
        """``charge(seconds)``: the run's clock, told of each live call's charged seconds (a
        replayed call's were counted by the run that made it)."""
        self.live_proposer = live
        self.charge = charge
        self.replay = _Replay(journal, ProposalAnswered)
        # the live proposer's random generators, whose states the search's events carry
        self.generators: dict[str, np.random.Generator] = dict(getattr(live, "generators", {}))

    def propose(self, model: str, context: PromptContext) -> Proposal:
        event = self.replay.next_matching(model=model, depth=context.leaf_depth)
        if event is not None:
            return proposal_from_event(event)
        proposal = self.live_proposer.propose(model, context)
        if self.charge is not None and proposal.charged_s > 0:
            self.charge(proposal.charged_s)
        self.replay.record(proposal_event(model, context.leaf_depth, proposal))
        return proposal
