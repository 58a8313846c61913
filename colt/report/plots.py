"""Figures as PNG bytes: the paper's Figure 2, a tree summary, per-model call bars and
expansions by depth.

matplotlib is imported inside each function with the Agg backend, so importing the report
package stays cheap and works without a display.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from colt.report.runs import RunRecord, TreeNode
from colt.report.stats import mean_curve

DPI = 110


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    _pyplot().close(figure)
    return buffer.getvalue()


def speedup_curves(
    runs: Sequence[RunRecord],
    *,
    configs: Sequence[str] | None = None,
    workloads: Sequence[str] | None = None,
    title: str = "Speedup vs. number of measured samples",
) -> bytes:
    """Figure 2: one panel per workload, one line per configuration (mean over seeds, min–max
    shaded), best-so-far speedup against measured samples on a log-scaled x axis."""
    plt = _pyplot()
    from matplotlib import ticker

    workloads = list(workloads or dict.fromkeys(run.workload for run in runs))
    configs = list(configs or dict.fromkeys(run.label for run in runs))
    columns = min(len(workloads), 3) or 1
    rows = (len(workloads) + columns - 1) // columns or 1
    figure, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.6 * rows), squeeze=False)
    colors = plt.get_cmap("tab10")
    several = False
    for index, workload in enumerate(workloads):
        axis = axes[index // columns][index % columns]
        for color_index, config in enumerate(configs):
            chosen = [r for r in runs if r.workload == workload and r.label == config and r.curve]
            if not chosen:
                continue
            means, lows, highs = mean_curve([r.curve for r in chosen], [r.complete for r in chosen])
            samples = list(range(1, len(means) + 1))
            color = colors(color_index % 10)
            axis.plot(
                samples,
                means,
                color=color,
                drawstyle="steps-post",
                label=f"{config} (n={len(chosen)})",
            )
            if len(chosen) > 1:
                several = True
                axis.fill_between(
                    samples, lows, highs, color=color, alpha=0.18, linewidth=0, step="post"
                )
        axis.set_xscale("log")
        axis.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
        axis.set_title(workload)
        axis.set_xlabel("Number of measured samples")
        axis.set_ylabel("Speedup over naive (×)")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7, loc="lower right")
    for index in range(len(workloads), rows * columns):
        axes[index // columns][index % columns].set_visible(False)
    figure.suptitle(f"{title} (mean over seeds, shaded: min–max)" if several else title)
    figure.tight_layout()
    return _png(figure)


def speedup_over_time(
    runs: Sequence[RunRecord],
    *,
    configs: Sequence[str] | None = None,
    workloads: Sequence[str] | None = None,
) -> bytes | None:
    """Best-so-far speedup against wall-clock seconds: one panel per workload, one line per run
    (seeds do not share a time axis, so they are not averaged). None when no run recorded
    wall time per sample."""
    from colt.report.time_to_result import timed_curve

    timed = [run for run in runs if any(t is not None for t in run.sample_elapsed)]
    if not timed:
        return None
    plt = _pyplot()
    workloads = [w for w in (workloads or dict.fromkeys(r.workload for r in timed))]
    workloads = [w for w in workloads if any(r.workload == w for r in timed)]
    configs = list(configs or dict.fromkeys(run.label for run in timed))
    columns = min(len(workloads), 3) or 1
    rows = (len(workloads) + columns - 1) // columns or 1
    figure, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.6 * rows), squeeze=False)
    colors = plt.get_cmap("tab10")
    for index, workload in enumerate(workloads):
        axis = axes[index // columns][index % columns]
        for color_index, config in enumerate(configs):
            chosen = [r for r in timed if r.workload == workload and r.label == config]
            for number, run in enumerate(chosen):
                seconds, speedups = timed_curve(run)
                axis.plot(
                    seconds,
                    speedups,
                    color=colors(color_index % 10),
                    drawstyle="steps-post",
                    linewidth=1.2,
                    label=f"{config} (n={len(chosen)})" if number == 0 else None,
                )
        axis.set_title(workload)
        axis.set_xlabel("Wall-clock seconds since the run started")
        axis.set_ylabel("Speedup over naive (×)")
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=7, loc="lower right")
    for index in range(len(workloads), rows * columns):
        axes[index // columns][index % columns].set_visible(False)
    figure.suptitle("Speedup vs. wall-clock time (one line per run)")
    figure.tight_layout()
    return _png(figure)


def tree_depths(nodes: Sequence[TreeNode], *, title: str = "Search tree") -> bytes:
    """Nodes per depth, stacked by the model that expands them; course alterations marked."""
    plt = _pyplot()
    counts = Counter((node.depth, node.model or "none") for node in nodes)
    depths = list(range(max((node.depth for node in nodes), default=0) + 1))
    models = list(dict.fromkeys(node.model or "none" for node in nodes))
    figure, axis = plt.subplots(figsize=(7, 3.6))
    bottom = [0] * len(depths)
    colors = plt.get_cmap("tab10")
    for index, model in enumerate(models):
        heights = [counts.get((depth, model), 0) for depth in depths]
        axis.bar(depths, heights, bottom=bottom, label=model, color=colors(index % 10))
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    altered = Counter(node.depth for node in nodes if node.course_alteration)
    if altered:
        axis.scatter(
            list(altered),
            [bottom[d] + 0.3 for d in altered],
            marker="v",
            color="black",
            label="course alteration",
            zorder=3,
        )
    from matplotlib import ticker

    axis.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    axis.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    axis.set_xlabel("Depth (edits from the root)")
    axis.set_ylabel("Nodes")
    axis.set_title(f"{title}: {len(nodes)} nodes by depth and model")
    axis.legend(fontsize=8)
    axis.grid(True, axis="y", alpha=0.3)
    figure.tight_layout()
    return _png(figure)


def model_calls(
    runs: Sequence[RunRecord], *, title: str = "Model calls", palette: Sequence[str] = ()
) -> bytes:
    """Calls per model, regular, floor calls and course alterations stacked; one group per
    configuration.

    ``palette`` lists configurations in the order that picks their colours (as in Figure 2).
    """
    plt = _pyplot()
    present = {run.label for run in runs if run.models}
    palette = list(dict.fromkeys((*palette, *(run.label for run in runs))))
    configs = [config for config in palette if config in present]
    models = list(dict.fromkeys(m.name for run in runs for m in run.models))
    figure, axis = plt.subplots(figsize=(min(12, 3 + 1.2 * len(models) * len(configs)), 3.8))
    width = min(0.8 / max(len(configs), 1), 0.45)
    colors = plt.get_cmap("tab10")
    for index, config in enumerate(configs):
        chosen = [run for run in runs if run.label == config]
        regular, floor, altered = [], [], []
        for model in models:
            entries = [m for run in chosen for m in run.models if m.name == model]
            count = max(len(chosen), 1)
            regular.append(sum(m.regular_calls for m in entries) / count)
            floor.append(sum(m.floor_calls for m in entries) / count)
            altered.append(sum(m.course_alterations for m in entries) / count)
        positions = [i + (index - (len(configs) - 1) / 2) * width for i in range(len(models))]
        color = colors(palette.index(config) % 10)
        axis.bar(positions, regular, width, color=color, label=f"{config}: regular")
        if any(floor):
            axis.bar(
                positions,
                floor,
                width,
                bottom=regular,
                color=color,
                alpha=0.7,
                hatch="..",
                label=f"{config}: floor call",
            )
        below = [r + f for r, f in zip(regular, floor, strict=True)]
        axis.bar(
            positions,
            altered,
            width,
            bottom=below,
            color=color,
            alpha=0.45,
            hatch="//",
            label=f"{config}: course alteration",
        )
    axis.set_xticks(range(len(models)), models, rotation=15)
    axis.set_ylabel("Calls per run (mean)")
    axis.set_xlabel("Model")
    axis.set_title(title)
    axis.legend(fontsize=7)
    axis.grid(True, axis="y", alpha=0.3)
    figure.tight_layout()
    return _png(figure)


def expansion_depths(
    by_config: Mapping[str, Mapping[int, Mapping[str, int]]],
    *,
    models: Sequence[str] = (),
    title: str = "Expansions by depth",
) -> bytes:
    """One panel per configuration: expansions per depth of the expanded node, stacked by the
    model that answered. ``models`` fixes the stacking order and colours (largest first, say);
    models not listed follow in order of appearance."""
    plt = _pyplot()
    from matplotlib import ticker

    seen = (m for depths in by_config.values() for counts in depths.values() for m in counts)
    order = list(dict.fromkeys((*models, *seen)))
    columns = min(len(by_config), 3) or 1
    rows = (len(by_config) + columns - 1) // columns or 1
    figure, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.4 * rows), squeeze=False)
    colors = plt.get_cmap("tab10")
    for index, (config, depths) in enumerate(by_config.items()):
        axis = axes[index // columns][index % columns]
        levels = sorted(depths)
        bottom = [0] * len(levels)
        for color_index, model in enumerate(order):
            heights = [depths[level].get(model, 0) for level in levels]
            if any(heights):
                axis.bar(
                    levels, heights, bottom=bottom, label=model, color=colors(color_index % 10)
                )
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        axis.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        axis.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        axis.set_title(config)
        axis.set_xlabel("Depth of the expanded node")
        axis.set_ylabel("Expansions")
        axis.grid(True, axis="y", alpha=0.3)
        axis.legend(fontsize=7)
    for index in range(len(by_config), rows * columns):
        axes[index // columns][index % columns].set_visible(False)
    figure.suptitle(title)
    figure.tight_layout()
    return _png(figure)
