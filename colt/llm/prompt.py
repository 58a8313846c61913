"""The expansion prompt of the paper's Appendix B, built from a ``PromptContext``.

``build_prompt`` returns the system and user texts. When the whole prompt would not fit the
model's budget it shrinks the parts in a fixed order (program text first, see
``colt.llm.shrink``; then parent code diffs; then old history steps) and keeps every section.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, replace

from colt.llm.answers import answer_example
from colt.llm.prompt_models import (
    compact_models_section,
    largest_model,
    models_section,
    under_used,
)
from colt.llm.shrink import MAX_LEVEL, shrink_history, shrink_program
from colt.llm.tokens import estimate_tokens, format_parameters
from colt.search.base import Edit, NodeView, PromptContext

SYSTEM_PROMPT = """\
You are an AI scheduling assistant to help with a Monte Carlo Tree Search (MCTS) to find an \
optimal program in the search space starting from an unoptimized program.
In this MCTS, the current program is the leaf we are expanding, while immediate parent and \
grandparent refer to the ancestors in the tree.
Each program has:
- a piece of code
- a transformation history sequence
- a predicted performance score
You are given:
- Code of the current program
- Historical performance info of current/parent/grandparent (pieces of code, transformation \
history sequences, predicted scores)
- A list of possible transformations that can be applied next
- Search context: leaf depth and trials progress
- Global per-model stats:
  - hit_rate: fraction of calls where score(child) > score(parent)
  - number of times the model is invoked
  - number of errors the model has made in past invocations (+1 for invalid transformation, \
+1 for invalid next_model name)
  - parameter counts
- Local model context:
  - model used to expand current/parent/grandparent
Task:
1. Compare code/transformation history/predicted performance scores to infer what changes \
might improve performance.
2. Propose a sequence of transformations from the provided list. You may repeat a \
transformation to explore different decisions.
3. Choose exactly one model from the provided model list as the next model to expand the \
child. Use the smallest model that could give best results. Prefer models with fewer errors."""

# The same instructions in a fifth of the tokens, for models whose prompt budget the paper's
# text would mostly fill (the embedded set's 900 tokens: it took ~430 of them).
SHORT_SYSTEM_PROMPT = """\
You guide a Monte Carlo tree search for the fastest schedule of a tensor program. You see the \
current program (the leaf being expanded), its parent and grandparent (code, transformation \
history, score: higher is faster), the transformations allowed, the search's progress and \
each model's statistics. Propose transformations from the list that should raise the score, \
and the next model to expand the child: the smallest model likely to do well, preferring \
models with fewer errors."""

ARGUMENTS_NOTE = (
    "A transformation may carry arguments as Name(key=value, ...) as its help line describes; "
    "a bare name edits a random decision of that kind."
)


@dataclass(frozen=True)
class _Shrink:
    program_level: int = 0
    ancestor_diffs: bool = True  # show parent/grandparent code as a diff against the current
    history_keep: int | None = None  # last steps of each history (None: all)
    compact: bool = False  # the model statistics in two lines instead of one per fact
    short: bool = False  # the short instructions and vocabulary (``SHORT_SYSTEM_PROMPT``)


def _plans() -> list[_Shrink]:
    # From level 1: the compact rendering loses nothing a transformation names, and the
    # full TVMScript was 2.3x its tokens on matmul.
    plans = [_Shrink(1), _Shrink(1, compact=True), _Shrink(1, False, compact=True)]
    plans += [_Shrink(level, False, compact=True) for level in range(2, 5)]
    plans += [_Shrink(4, False, keep, True) for keep in (24, 12, 6)]
    plans += [_Shrink(level, False, 6, True) for level in range(5, MAX_LEVEL + 1)]
    plans.append(_Shrink(MAX_LEVEL + 1, False, 2, True))  # code omitted entirely
    return plans


def _history_lines(node: NodeView, keep: int | None) -> list[str]:
    if not node.history:
        return ["(none: the unoptimized program)"]
    return shrink_history(node.history, keep)


def _ancestor(title: str, node: NodeView, current: NodeView, plan: _Shrink) -> list[str]:
    lines = [f"{title}:"]
    if plan.ancestor_diffs and node.program != current.program:
        level = min(plan.program_level, 1)  # the diff of what the prompt shows
        diff = difflib.unified_diff(
            shrink_program(node.program, level).splitlines(),
            shrink_program(current.program, level).splitlines(),
            lineterm="",
            n=1,
        )
        body = list(diff)[2:42]
        lines += ["Code (diff from this program to the current one):", *body]
    elif node.program == current.program:
        lines.append("Code: same as the current program")
    elif not plan.compact:
        lines.append("Code: differs from the current program (diff omitted for length)")
    prefix = current.history[: len(node.history)] == node.history
    changed = _changed_steps(node.history, current.history)
    if prefix and node.history:
        lines.append(
            f"Transformation history: the first {len(node.history)} steps of the current one"
        )
    elif changed is not None:
        lines += ["Transformation history: the current one's, except:", *changed]
    else:
        lines += ["Transformation history:", *_history_lines(node, plan.history_keep)]
    lines.append(_score_line(node))
    return lines


_MAX_CHANGED_STEPS = 4


def _changed_steps(history: tuple[str, ...], current: tuple[str, ...]) -> list[str] | None:
    """An ancestor's steps where they differ from the current program's, when the two have as
    many steps and differ in a few (an edit rewrites a decision in place); else None."""
    if not history or len(history) != len(current):
        return None
    changed = [mine for mine, theirs in zip(history, current, strict=True) if mine != theirs]
    return changed if len(changed) <= _MAX_CHANGED_STEPS else None


def _score_line(node: NodeView) -> str:
    """The score, and the measured latency apart from it: what the machine said, or that it has
    not been measured (the score is then the cost model's prediction)."""
    if node.measured_s is None:
        return f"Predicted score: {node.value:.4g} (not measured yet)"
    return f"Score: {node.value:.4g}, measured latency: {1e3 * node.measured_s:.4g} ms"


def _history_section(context: PromptContext, plan: _Shrink) -> list[str]:
    current = context.current
    lines = ["Historical Performance Info (Leaf, Parent, Grandparent)", "Current Program:"]
    if plan.program_level > MAX_LEVEL:
        lines.append("Code: omitted (too long for this model's context window)")
    else:
        lines += ["Code:", shrink_program(current.program, plan.program_level)]
    lines += ["Transformation history:", *_history_lines(current, plan.history_keep)]
    lines.append(_score_line(current))
    if context.parent is not None:
        lines += _ancestor("Immediate Parent Program", context.parent, current, plan)
    if context.grandparent is not None:
        lines += _ancestor("Grandparent Program", context.grandparent, current, plan)
    return lines


def _tried_section(context: PromptContext, plan: _Shrink) -> list[str]:
    """The node's children already made (so an answer does not repeat them) and the fastest
    program measured so far (what the search is trying to beat)."""
    lines = []
    if context.siblings:
        lines.append("Children of the current program already tried:")
        for tried in context.siblings:
            result = (
                f"measured {1e3 * tried.measured_s:.4g} ms"
                if tried.measured_s is not None
                else f"predicted score {tried.value:.4g}"
            )
            lines.append(f"- {tried.edits}: {result} (proposed by {tried.model or 'N/A'})")
    best = context.best
    if best is not None and best.measured_s is not None and best.history == context.current.history:
        lines.append(
            f"Fastest program measured so far: the current one ({1e3 * best.measured_s:.4g} ms)"
        )
    elif best is not None and best.measured_s is not None:
        keep = 6 if plan.history_keep is None else min(6, plan.history_keep)
        lines += [
            f"Fastest program measured so far: {1e3 * best.measured_s:.4g} ms; its last steps:",
            *_history_lines(best, keep),
        ]
    return lines


def _examples_section(examples: list[tuple[Edit, float | None]]) -> list[str]:
    """Legal edits of the current program with the arguments that make them, and what the cost
    model predicts for each result: the argument syntax by example."""
    if not examples:
        return []
    lines = ["Some legal edits of the current program (predicted score of the result):"]
    for edit, value in examples:
        score = "unknown" if value is None else f"{value:.4g}"
        lines.append(f"- {edit.describe()}: {score}")
    return lines


def _transformations_section(context: PromptContext, *, short: bool = False) -> list[str]:
    """The vocabulary and its help; ``short``: the help lines alone, each naming its
    transformation (the JSON list repeats the names)."""
    helped = [n for n in context.transformations if context.transformation_help.get(n)]
    lines = ["Available Transformations"]
    if not short or len(helped) < len(context.transformations):
        lines.append(json.dumps(list(context.transformations), indent=0))
    if helped:
        lines += [] if short else ["Transformation help:"]
        lines += [f"- {name}: {context.transformation_help[name]}" for name in helped]
    return lines


def _guidance_section(context: PromptContext, *, short: bool = False) -> list[str]:
    """What stays the same for every call of a run: the model list and how to choose
    (``short``: the list alone; the short instructions say how to choose)."""
    names = [m.name for m in context.models]
    smallest_first = sorted(context.models, key=lambda m: m.parameters)
    by_size = ", ".join(f"{m.name} ({format_parameters(m.parameters)})" for m in smallest_first)
    if short:
        return [f"Models, smallest first: {by_size}; next_model is one of {json.dumps(names)}"]
    lines = [
        "Model Selection Guidance",
        "Models from smallest to largest: " + by_size,
        "- Choose the smallest model that could give the best results; pick a larger one only "
        "when progress needs more capacity.",
        "- Prefer models with fewer errors and higher hit rates.",
    ]
    largest = largest_model(context.models)
    if largest and len(names) > 1:
        lines.append(f"- The largest model ({largest}) must still get a minimum share of calls.")
    lines.append("next_model is one of " + json.dumps(names))
    return lines


def _user_text(
    context: PromptContext,
    plan: _Shrink,
    arguments: bool,
    examples: list[tuple[Edit, float | None]],
) -> str:
    """The parts every call of a run shares come first (vocabulary, model list, how to choose),
    so a server's prompt cache (llama.cpp keeps the longest common prefix) reuses them; what
    changes from call to call follows."""
    sections = [
        _transformations_section(context, short=plan.short)
        + ([ARGUMENTS_NOTE] if arguments else []),
        _guidance_section(context, short=plan.short),
        _history_section(context, plan),
        _examples_section(examples),
        _tried_section(context, plan),
        [
            "Search Context",
            f"Leaf depth: {context.leaf_depth}",
            f"Trials progress: {context.trials_done} / {context.trials_total}",
        ],
        (compact_models_section(context) if plan.compact else models_section(context))
        + under_used(context),
        _closing(context, examples),
    ]
    return "\n\n".join("\n".join(section) for section in sections if section)


def system_text(context: PromptContext, *, short: bool = False) -> str:
    """The instructions (the paper's, or ``short``: ``SHORT_SYSTEM_PROMPT``) and the answer's
    form (the schema the call sends, made by ``colt.llm.answers.answer_schema`` for the same
    number of children)."""
    names = [m.name for m in context.models]
    form = answer_example(context.transformations, names, children=context.children)
    ask = ""
    if context.children > 1:
        ask = (
            f"Propose {context.children} different children of the current program at once: "
            "for each, a sequence of transformations and the next model.\n"
        )
    instructions = SHORT_SYSTEM_PROMPT if short else SYSTEM_PROMPT
    return f"{instructions}\n{ask}Output a single valid JSON object in the EXACT format:\n{form}"


def _closing(context: PromptContext, examples: list[tuple[Edit, float | None]]) -> list[str]:
    """The last lines: an answer for this program in the exact form, made of its best
    predicted legal edits, which a model may keep or change."""
    names = [m.name for m in context.models]
    edits = [edit.describe() for edit, _ in examples]
    if not edits:
        return ["Answer with the JSON object only."]
    example = answer_example(context.transformations, names, children=context.children, edits=edits)
    return ["Answer with the JSON object only, for example:", example]


def build_prompt(
    context: PromptContext,
    *,
    max_prompt_tokens: int,
    token_scale: float = 1.0,
    edit_arguments: bool = False,
    examples: int = 0,
) -> tuple[str, str]:
    """(system, user) texts whose estimated size fits ``max_prompt_tokens`` when possible.

    The least shrunk version that fits wins; if none fits, the smallest one is returned and
    the endpoint decides (an over-long prompt comes back as an HTTP error, as data). With
    ``edit_arguments``, ``examples`` legal edits of the current program (the context's
    preview) show the argument syntax, best predicted first.
    """
    shown: list[tuple[Edit, float | None]] = []
    if edit_arguments and examples and context.preview is not None:
        unique = {edit: value for edit, value in context.preview(examples)}
        shown = sorted(unique.items(), key=lambda e: -(e[1] or 0.0))
    short = _needs_short_form(context, max_prompt_tokens, token_scale)
    system = system_text(context, short=short)
    system_tokens = estimate_tokens(system, scale=token_scale)
    user = ""
    for plan in _plans():
        user = _user_text(context, replace(plan, short=short), edit_arguments, shown)
        if system_tokens + estimate_tokens(user, scale=token_scale) <= max_prompt_tokens:
            break
    return system, user


def _needs_short_form(context: PromptContext, budget: int, token_scale: float) -> bool:
    """Whether the paper's instructions, vocabulary and model guidance alone take more than
    half of ``budget``. Decided from what every call of a run shares, so all its calls start
    with the same text and a server's prompt cache keeps serving it."""
    shared = [
        system_text(context),
        "\n".join(_transformations_section(context) + [ARGUMENTS_NOTE]),
        "\n".join(_guidance_section(context)),
    ]
    return sum(estimate_tokens(text, scale=token_scale) for text in shared) > budget / 2
