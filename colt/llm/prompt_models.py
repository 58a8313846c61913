"""The models' part of the expansion prompt: their statistics, who expanded the node and its
ancestors, and the predicted score changes along the path."""

from __future__ import annotations

from colt.llm.tokens import format_parameters
from colt.search.base import ModelInfo, ModelStats, NodeView, PromptContext


def _stats_line(info: ModelInfo, stats: ModelStats, largest: str) -> str:
    line = (
        f"Model {info.name}: params={format_parameters(info.parameters)}, "
        f"number_of_calls={stats.calls}, hit_rate={stats.hit_rate:.3g}, "
        f"errors={stats.error_count}"
    )
    if info.name == largest:
        line += f", course_alteration={stats.course_alterations}"
    return line


def largest_model(models: tuple[ModelInfo, ...]) -> str:
    return max(models, key=lambda m: m.parameters).name if models else ""


def compact_models_section(context: PromptContext) -> list[str]:
    """The facts of ``models_section`` in two short lines: parameter counts are in the guidance
    (which the server's prompt cache keeps), a model not yet called has no statistics to show,
    and the score changes follow from the scores the history section gives. On 2 cores each
    new prompt token costs ~5 ms."""
    largest = largest_model(context.models)
    stats = []
    for m in context.models:
        s = context.model_stats.get(m.name, ModelStats())
        if s.calls == 0:
            stats.append(f"{m.name} no calls yet")
            continue
        text = f"{m.name} calls {s.calls}, hit rate {s.hit_rate:.2g}, errors {s.error_count}"
        if m.name == largest and s.course_alterations:
            text += f", course alterations {s.course_alterations}"
        stats.append(text)
    nodes = (context.current, context.parent, context.grandparent)
    used = [node.model if node is not None and node.model else "N/A" for node in nodes]
    lines = ["Model stats: " + "; ".join(stats)]
    return lines + ["Expanded by: current {}, parent {}, grandparent {}".format(*used)]


def models_section(context: PromptContext) -> list[str]:
    largest = largest_model(context.models)
    lines = ["Global Per-Model Stats"]
    lines += [
        _stats_line(m, context.model_stats.get(m.name, ModelStats()), largest)
        for m in context.models
    ]
    params = {m.name: format_parameters(m.parameters) for m in context.models}
    lines.append("Local Model Context")
    nodes: tuple[tuple[str, NodeView | None], ...] = (
        ("current", context.current),
        ("parent", context.parent),
        ("grandparent", context.grandparent),
    )
    for label, node in nodes:
        used = node.model if node is not None and node.model else None
        shown = f"{used} (params={params[used]})" if used in params else used or "N/A"
        lines.append(f"Model used to expand the {label} node: {shown}")
    lines += _score_changes(context)
    return lines


def _score_changes(context: PromptContext) -> list[str]:
    lines = []
    if context.parent is not None:
        change = context.current.value - context.parent.value
        lines.append(f"Predicted score change parent -> current: {change:+.4g}")
        if context.grandparent is not None:
            change = context.parent.value - context.grandparent.value
            lines.append(f"Predicted score change grandparent -> parent: {change:+.4g}")
    return lines


def under_used(context: PromptContext) -> list[str]:
    names = [m.name for m in context.models]
    calls = {n: context.model_stats.get(n, ModelStats()).calls for n in names}
    fair_share = sum(calls.values()) / max(1, len(names))
    under_used = [n for n in names if calls[n] < 0.5 * fair_share] if fair_share else []
    return ["Under-used models deserve calls: " + ", ".join(under_used)] if under_used else []
