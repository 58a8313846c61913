"""What a search did, as plain JSON for the run's results (``results.json``'s ``search``)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, Protocol

from colt.search.base import ModelInfo
from colt.search.measurements import Measurements
from colt.search.pool import ORIGINS
from colt.search.stats import ModelCounters, SearchTimes
from colt.search.time_share import ModelTimeShare, Stall
from colt.search.tree import ROOT, Tree


class SearchFacts(Protocol):
    """What the summary reads of a search (``colt.search.mcts.Search``)."""

    tree: Tree
    models: tuple[ModelInfo, ...]
    counters: dict[str, ModelCounters]
    times: SearchTimes
    expansions: int
    course_alterations: int
    duplicates: int
    depth_calls: defaultdict[int, Counter[str]]
    overhead_marks: list[dict[str, float]]
    measurements: Measurements
    time_share: ModelTimeShare
    stall: Stall


def _credit(search: SearchFacts) -> dict[str, dict[str, Any]]:
    """Per source of measured samples (each model, rollout ends, fresh and initial samples):
    samples, improvements, share of the run's speed-up, best latency, and a model's seconds."""
    credit = search.measurements.feedback.credit_json()
    for name, counters in search.counters.items():
        credit.setdefault(
            name,
            {"samples": 0, "improvements": 0, "improvement_share": None, "best_latency_s": None},
        )
        credit[name]["seconds"] = counters.latency_s
        credit[name]["calls"] = counters.calls
    return credit


def _model_calls(search: SearchFacts) -> int:
    """Calls to the set's models (a random stand-in's are not calls to a model)."""
    return sum(search.counters[m.name].calls for m in search.models)


def _calls_per_expansion(search: SearchFacts) -> float | None:
    """The models' calls per child made from their answers."""
    children = sum(search.counters[m.name].children for m in search.models)
    return _model_calls(search) / children if children else None


def _model_share(share: ModelTimeShare, stall: Stall) -> dict[str, Any] | None:
    """The models' share of the wall: the cap, the share at the end (smaller while their
    proposals earned less than they cost), what they earned and what the whole search earned
    after the first round (the run's, for a network's task), and whether they waited for
    rounds that found nothing faster (how many in a row, and how many of the measurement rounds
    did); None when the proposer is random itself."""
    if share.random_run:
        return None
    spent = share.run_spent()
    return {
        "cap": share.share,
        "at_end": share.current_share(spent),
        "gain": spent.gain,
        "search_gain": spent.search_gain,
        "on_stall": share.stalled is not None,
        "stall_rounds": stall.rounds_needed,
        "rounds": stall.rounds,
        "stalled_rounds": stall.stalled_rounds,
    }


def search_summary(search: SearchFacts) -> dict[str, Any]:
    feedback = search.measurements.feedback
    return {
        "expansions": search.expansions,
        "tree_size": len(search.tree.nodes) - 1,
        "tree_depth": search.tree.depth(),
        "roots": len(search.tree.live_children(ROOT)),
        "course_alterations": search.course_alterations,
        "floor_calls": sum(c.floor_calls for c in search.counters.values()),
        "duplicates": search.duplicates,
        "invalid_edits": sum(c.errors.get("invalid_edit", 0) for c in search.counters.values()),
        "repaired_arguments": sum(c.repaired_arguments for c in search.counters.values()),
        "origins": {origin: feedback.origins.get(origin, 0) for origin in ORIGINS},
        "proposals_by_model": dict(feedback.measured_proposals),
        "model_calls": _model_calls(search),
        # one call answers for all a node's children: at most 1 (less with branching > 1)
        "calls_per_expansion": _calls_per_expansion(search),
        "model_share": _model_share(search.time_share, search.stall),
        "credit": _credit(search),
        "expansions_by_depth": {
            str(depth): dict(calls) for depth, calls in sorted(search.depth_calls.items())
        },
        "search_overhead_per_expansion_s": (
            search.times.overhead / search.expansions if search.expansions else None
        ),
        "overhead_by_round": list(search.overhead_marks),
        "time_s": {
            "total": search.times.total,
            "proposals": search.times.proposals,
            "scoring": search.times.scoring,
            "edits": search.times.edits,
        },
    }
