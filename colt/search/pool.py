"""The measurement pool: every program that may be built and timed, with where it came from.

Tree children (programs a model proposed), rollout terminals, the initial design-space programs
and fresh design-space samples all wait here until a measurement round picks them. Proposals
are measured first: they are what the paper's mechanism produces, and the rest only fills
slots the models left empty (rollout terminals) or keeps a share for escaping a basin (fresh).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass

from colt.search.base import State

ORIGINS = ("initial", "fresh", "proposal", "rollout")


@dataclass
class Candidate:
    """A scored program that may be measured.

    ``origin`` is one of ``ORIGINS``; ``proposed_by`` names the model for proposals. ``refs``
    counts the tree places (nodes, rollout ends) that hold the program: a candidate whose last
    place was pruned leaves the pool unless it was measured already.
    """

    key: Hashable
    state: State
    value: float  # predicted until measured, then the measured value
    order: int  # offer order: ties and the rescoring watermark
    origin: str
    proposed_by: str | None = None
    measured: bool = False
    refs: int = 1

    @property
    def is_waiting_proposal(self) -> bool:
        return self.origin == "proposal" and not self.measured


class Pool:
    def __init__(self) -> None:
        self._candidates: dict[Hashable, Candidate] = {}
        self._offers = 0
        self.waiting_proposals = 0  # kept current so rounds can ask for it in O(1)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._candidates

    def __len__(self) -> int:
        return len(self._candidates)

    def get(self, key: Hashable) -> Candidate | None:
        return self._candidates.get(key)

    def __getitem__(self, key: Hashable) -> Candidate:
        return self._candidates[key]

    def values(self) -> Iterator[Candidate]:
        return iter(self._candidates.values())

    def offer(
        self,
        key: Hashable,
        state: State,
        value: float,
        origin: str,
        proposed_by: str | None = None,
    ) -> Candidate:
        """Adds a program, or one more reference to it. A rollout end that a model later
        proposes itself becomes that model's proposal (it was not measured yet)."""
        existing = self._candidates.get(key)
        if existing is None:
            candidate = Candidate(key, state, value, self._offers, origin, proposed_by)
            self._offers += 1
            self._candidates[key] = candidate
            self.waiting_proposals += candidate.is_waiting_proposal
            return candidate
        existing.refs += 1
        if origin == "proposal" and existing.origin == "rollout" and not existing.measured:
            existing.origin, existing.proposed_by = origin, proposed_by
            self.waiting_proposals += 1
        return existing

    def withdraw(self, key: Hashable) -> None:
        """Drops one reference; an unmeasured program nobody holds any more leaves the pool."""
        candidate = self._candidates.get(key)
        if candidate is None:
            return
        candidate.refs -= 1
        if candidate.refs <= 0 and not candidate.measured:
            self.waiting_proposals -= candidate.is_waiting_proposal
            del self._candidates[key]

    def mark_measured(self, key: Hashable, value: float) -> None:
        candidate = self._candidates[key]
        self.waiting_proposals -= candidate.is_waiting_proposal
        candidate.measured, candidate.value = True, value

    def pending(self, *, since_order: int = 0) -> list[Candidate]:
        return [c for c in self._candidates.values() if not c.measured and c.order >= since_order]

    def ranked_for_measurement(self) -> list[Candidate]:
        """Unmeasured tree programs, proposals first, each group best predicted first."""
        waiting = (
            c
            for c in self._candidates.values()
            if not c.measured and c.origin in ("proposal", "rollout")
        )
        return sorted(waiting, key=lambda c: (c.origin != "proposal", -c.value, c.order))

    @property
    def offers(self) -> int:
        return self._offers
