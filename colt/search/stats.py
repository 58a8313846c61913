"""Per-model call statistics and the search's own time accounting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields

from colt.search.base import FAULT_KINDS, ModelStats, Proposal


@dataclass
class ModelCounters:
    calls: int = 0
    children: int = 0  # children made from this model's answers (one call answers several)
    hits: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # answer errors
    repaired_arguments: int = 0
    faults: dict[str, int] = field(default_factory=dict)  # endpoint faults
    course_alterations: int = 0
    floor_calls: int = 0
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def record_call(self, proposal: Proposal) -> None:
        self.calls += 1
        self.latency_s += proposal.latency_s
        self.prompt_tokens += proposal.prompt_tokens
        self.completion_tokens += proposal.completion_tokens
        for kind in proposal.answer_errors or (
            (proposal.error_kind,) if proposal.error_kind else ()
        ):
            self.add_error(kind)

    def add_error(self, kind: str, count: int = 1) -> None:
        bucket = self.faults if kind in FAULT_KINDS else self.errors
        bucket[kind] = bucket.get(kind, 0) + count

    def snapshot(self) -> ModelStats:
        return ModelStats(
            calls=self.calls,
            children=self.children,
            hits=self.hits,
            errors=dict(self.errors),
            repaired_arguments=self.repaired_arguments,
            faults=dict(self.faults),
            course_alterations=self.course_alterations,
            floor_calls=self.floor_calls,
            latency_s=self.latency_s,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
        )


@dataclass
class SearchTimes:
    """Seconds spent per activity inside the search (measurement is accounted elsewhere)."""

    total: float = 0.0
    proposals: float = 0.0
    scoring: float = 0.0
    edits: float = 0.0

    @property
    def overhead(self) -> float:
        """Search time excluding model calls: selection, edits, scoring, bookkeeping."""
        return self.total - self.proposals


def merged_counters(
    counters: Sequence[dict[str, ModelCounters]],
) -> dict[str, ModelCounters]:
    """Each model's counters summed over several searches (a network's tasks)."""
    merged: dict[str, ModelCounters] = {}
    for per_model in counters:
        for name, c in per_model.items():
            total = merged.setdefault(name, ModelCounters())
            for f in fields(ModelCounters):
                value = getattr(c, f.name)
                if isinstance(value, dict):
                    into = getattr(total, f.name)
                    for key, count in value.items():
                        into[key] = into.get(key, 0) + count
                else:
                    setattr(total, f.name, getattr(total, f.name) + value)
    return merged


def model_stats_json(counters: dict[str, ModelCounters]) -> dict[str, dict[str, object]]:
    """``errors`` keeps the union of answer errors and faults for readers of older runs."""
    out: dict[str, dict[str, object]] = {}
    for name, c in counters.items():
        snap = c.snapshot()
        out[name] = {
            "calls": snap.calls,
            "regular_calls": snap.regular_calls,
            "children": snap.children,
            "hits": snap.hits,
            "hit_rate": snap.hit_rate,
            "errors": {**snap.errors, **snap.faults},
            "answer_errors": dict(snap.errors),
            "repaired_arguments": snap.repaired_arguments,
            "faults": dict(snap.faults),
            "course_alterations": snap.course_alterations,
            "floor_calls": snap.floor_calls,
            "latency_s": snap.latency_s,
            "prompt_tokens": snap.prompt_tokens,
            "completion_tokens": snap.completion_tokens,
        }
    return out
