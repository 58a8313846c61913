"""Tables of where measured samples came from and of which model expanded nodes at which depth.

Samples come from four places (``results.json`` curve ``origin``): ``initial`` (design-space
sketches and the initial random samples of the first round), ``fresh`` (fresh design-space
samples), ``proposal`` (a tree child a model proposed) and ``rollout`` (a rollout terminal).
MetaSchedule's own strategies and older runs record none, and get no row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from colt.report.document import Table
from colt.report.runs import ORIGINS, RunRecord
from colt.report.stats import Spread, best_sample_origin, merge_expansions, origin_shares
from colt.report.tables import DASH, models_by_size

ORIGIN_NOTE = (
    "initial: design-space sketches and initial random samples of the first round; fresh: "
    "fresh design-space samples; proposal: tree children a model proposed; rollout: rollout "
    "terminals."
)


def share_cell(value: Spread | None) -> str:
    """A fraction as a percentage, ``mean ± std`` when several runs contributed."""
    if value is None:
        return DASH
    if value.n < 2:
        return f"{100 * value.mean:.1f}"
    return f"{100 * value.mean:.1f} ± {100 * value.std:.1f}"


def origin_table(runs_by_config: Mapping[str, Sequence[RunRecord]]) -> Table | None:
    """Per configuration: % of measured samples per origin and per proposing model."""
    shares = [
        s
        for config, runs in runs_by_config.items()
        if (s := origin_shares(config, runs)) is not None
    ]
    if not shares:
        return None
    origins = list(dict.fromkeys(o for s in shares for o in s.origin))
    all_runs = [run for runs in runs_by_config.values() for run in runs]
    proposers = {m for s in shares for m in s.proposed_by}
    models = [m for m in models_by_size(all_runs) if m in proposers]
    models += sorted(proposers - set(models))
    rows = tuple(
        (
            s.config,
            str(s.runs),
            *(share_cell(s.origin.get(o)) for o in origins),
            *(share_cell(s.proposed_by.get(m)) for m in models),
            ", ".join(f"{origin} {n}" for origin, n in s.best_from.items()) or DASH,
        )
        for s in shares
    )
    return Table(
        headers=(
            "Configuration",
            "Runs",
            *(f"{o.capitalize()} (%)" for o in origins),
            *(f"Proposed by {m} (%)" for m in models),
            "Best from (runs)",
        ),
        rows=rows,
        caption="Where measured samples came from: % of each run's measured samples, mean ± "
        "std over runs",
        note=ORIGIN_NOTE + " Proposed by: the proposal share split by the proposing model. "
        "Best from: the origin of the sample that set each run's final best.",
    )


def run_origin_table(run: RunRecord) -> Table | None:
    """Measured samples of one run per origin and per proposing model; None without origins."""
    total = sum(run.origins.values())
    if not total:
        return None
    names = dict.fromkeys((*ORIGINS, *run.origins))
    rows = [
        (o, str(run.origins.get(o, 0)), f"{100 * run.origins.get(o, 0) / total:.1f}%")
        for o in names
    ]
    rows += [
        (f"proposal by {model}", str(n), f"{100 * n / total:.1f}%")
        for model, n in run.proposals_by_model.items()
    ]
    best = best_sample_origin(run)
    found = DASH if best is None else best[0] + (f" ({best[1]})" if best[1] else "")
    return Table(
        headers=("Origin", "Samples", "Share"),
        rows=tuple(rows),
        caption="Where measured samples came from",
        note=f"{ORIGIN_NOTE} The sample that set the final best came from: {found}.",
    )


def expansion_table(config: str, runs: Sequence[RunRecord]) -> Table | None:
    """Expansions per depth of the expanded node (rows) and answering model (columns), summed
    over runs; None when no run recorded them."""
    merged = merge_expansions(runs)
    if not merged:
        return None
    answered = {model for counts in merged.values() for model in counts}
    models = [m for m in models_by_size(runs) if m in answered]
    models += sorted(answered - set(models))
    rows = [
        (str(depth), *(str(counts.get(m, 0)) for m in models), str(sum(counts.values())))
        for depth, counts in merged.items()
    ]
    rows.append(
        (
            "all",
            *(str(sum(c.get(m, 0) for c in merged.values())) for m in models),
            str(sum(sum(c.values()) for c in merged.values())),
        )
    )
    counted = sum(bool(run.expansions_by_depth) for run in runs)
    summed = f", summed over {counted} runs" if counted > 1 else ""
    return Table(
        headers=("Depth", *models, "Total"),
        rows=tuple(rows),
        caption=f"Expansions by depth: {config}{summed}",
        note="Depth: of the node that was expanded (the root is 0, its children, the "
        "design-space sketches, 1). Columns: the model that answered, floor calls and course "
        "alterations included.",
    )
