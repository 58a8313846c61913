"""What a search did, as plain JSON for the run's results (``results.json``'s ``search``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from colt.search.pool import ORIGINS
from colt.search.tree import ROOT

if TYPE_CHECKING:
    from colt.search.mcts import Search


def search_summary(search: Search) -> dict[str, Any]:
    return {
        "expansions": search.expansions,
        "tree_size": len(search.tree.nodes) - 1,
        "tree_depth": search.tree.depth(),
        "roots": len(search.tree.live_children(ROOT)),
        "course_alterations": search.course_alterations,
        "floor_calls": sum(c.floor_calls for c in search.counters.values()),
        "duplicates": search.duplicates,
        "invalid_edits": sum(c.errors.get("invalid_edit", 0) for c in search.counters.values()),
        "origins": {origin: search.feedback.origins.get(origin, 0) for origin in ORIGINS},
        "proposals_by_model": dict(search.feedback.measured_proposals),
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
