"""The Appendix B prompt and its deliberate shrinking (pure, no endpoint)."""

from __future__ import annotations

from colt.llm.prompt import build_prompt
from colt.llm.shrink import shrink_program
from colt.llm.tokens import estimate_tokens, format_parameters
from colt.search.base import ModelInfo, ModelStats, NodeView, PromptContext

BLOCK = """\
        for i0_1, i1_1 in T.grid(8, 8):
            for k_0, i1_2 in T.grid(128, 64):
                with T.sblock("C_{n}"):
                    vi = T.axis.spatial(512, i0_0_i1_0_fused // 8 * 64 + i0_1)
                    vj = T.axis.spatial(512, i1_1 * 64 + i1_2)
                    vk = T.axis.reduce(512, k_0)
                    T.reads(A[vi, vk], B[vk, vj])
                    T.writes(C_global[vi, vj])
                    with T.init():
                        C_global[vi, vj] = T.float32(0.0)
                    C_global[vi, vj] = C_global[vi, vj] + A[vi, vk] * B[vk, vj]
"""
HEADER = """\
# from tvm.script import tirx as T
@T.prim_func(s_tir=True)
def main(A: T.Buffer((512, 512), "float32"), B: T.Buffer((512, 512), "float32"), \
C: T.Buffer((512, 512), "float32")):
    T.func_attr({"tir.noalias": True})
    C_global = T.alloc_buffer((512, 512))
    for i0_0_i1_0_fused in T.parallel(64):
"""
VOCABULARY = ("TileSize", "ComputeLocation", "Parallel", "Unroll")
MODELS = (ModelInfo("gpt-5-mini", 2e10), ModelInfo("gpt-5.2", 3e11))


def _program(blocks: int) -> str:
    return HEADER + "".join(BLOCK.format(n=n) for n in range(blocks))


def _context(blocks: int = 1, history: int = 4) -> PromptContext:
    steps = tuple(
        f"sch.sample_perfect_tile(loop=l{n}, decision=[8, 8, 1, 8])" for n in range(history)
    )
    program = _program(blocks)
    current = NodeView.of(program, steps, 0.0739, "gpt-5.2", 3)
    parent = NodeView.of(program.replace("T.parallel", "T.serial"), steps[:-1], 0.136, "gpt-5.2", 2)
    grandparent = NodeView.of(program.replace("T.parallel", "T.serial"), steps[:-2], 0.05, None, 1)
    stats = {
        "gpt-5-mini": ModelStats(calls=12, hits=4, errors={"unknown_transformation": 2}),
        "gpt-5.2": ModelStats(calls=11, hits=5, course_alterations=1),
    }
    helps = {"TileSize": "TileSize(loop=<index>, factors=[...]): re-split one loop"}
    return PromptContext(current, parent, grandparent, VOCABULARY, helps, MODELS, stats, 3, 10, 300)


def test_every_appendix_b_section() -> None:
    system, user = build_prompt(_context(), max_prompt_tokens=8000)
    assert "Monte Carlo Tree Search" in system and '"next_model"' in system
    assert "Use the smallest model that could give best results" in system
    for section in (
        "Historical Performance Info (Leaf, Parent, Grandparent)",
        "Current Program:",
        "Immediate Parent Program:",
        "Grandparent Program:",
        "Transformation history:",
        "Predicted score: 0.0739",
        "Predicted score: 0.136",
        "Available Transformations",
        '"ComputeLocation"',
        "- TileSize: TileSize(loop=<index>, factors=[...]): re-split one loop",
        "Search Context",
        "Leaf depth: 3",
        "Trials progress: 10 / 300",
        "Global Per-Model Stats",
        "Model gpt-5-mini: params=20.0B, number_of_calls=12, hit_rate=0.333, errors=2",
        "Model gpt-5.2: params=300.0B, number_of_calls=11, hit_rate=0.455, errors=0, "
        "course_alteration=1",
        "Local Model Context",
        "Model used to expand the current node: gpt-5.2",
        "Model used to expand the grandparent node: N/A",
        "Predicted score change parent -> current: -0.0621",
        "smallest model",
        "fewer errors",
        "minimum share",
    ):
        assert section in user or section in system, section
    assert "sch.sample_perfect_tile(loop=l3" in user
    # the compact rendering, even when the full program would fit: the loops, blocks and
    # statements, buffers by shape, no declarations
    assert "T.reads(" not in user and "T.axis" not in user and "T.alloc_buffer" not in user
    assert "def main(A: [512, 512] float32, B: [512, 512] float32, C: [512, 512] float32):" in user
    assert "\n    for i0_0_i1_0_fused in T.parallel(64):" in user
    assert 'with T.sblock("C_0"):' in user
    assert "C_global[vi, vj] = C_global[vi, vj] + A[vi, vk] * B[vk, vj]" in user


def test_course_alteration_only_for_the_largest() -> None:
    _, user = build_prompt(_context(), max_prompt_tokens=8000)
    mini_line = next(line for line in user.splitlines() if line.startswith("Model gpt-5-mini:"))
    assert "course_alteration" not in mini_line


def test_under_used_models_are_named() -> None:
    context = _context()
    stats = {"gpt-5-mini": ModelStats(calls=30), "gpt-5.2": ModelStats(calls=2)}
    _, user = build_prompt(
        PromptContext(**{**context.__dict__, "model_stats": stats}), max_prompt_tokens=8000
    )
    assert "Under-used models deserve calls: gpt-5.2" in user


def test_long_program_is_shrunk_deliberately_to_fit() -> None:
    context = _context(blocks=40, history=60)
    full = estimate_tokens(context.current.program)
    budget = 1400
    assert full > 4 * budget
    system, user = build_prompt(context, max_prompt_tokens=budget)
    assert estimate_tokens(system) + estimate_tokens(user) <= budget
    assert "T.alloc_buffer" not in user and "T.reads(" not in user  # declarations go first
    assert "def main(A, B, C):" in user  # the signature keeps its names
    assert "lines elided" in user or "\n                    ...\n" in user  # marked, not cut
    assert "for i0_0_i1_0_fused in T.parallel(64):" in user  # the loop nest stays
    assert "earlier steps" in user  # old history steps are counted, not silently lost
    assert "Model stats: " in user and "Available Transformations" in user  # compact stats


def test_shrink_levels_never_grow() -> None:
    program = _program(6)
    sizes = [len(shrink_program(program, level)) for level in range(0, 13)]
    assert sizes == sorted(sizes, reverse=True)
    compact = shrink_program(program, 1)
    assert "C_global[vi, vj] = C_global[vi, vj] + A[vi, vk] * B[vk, vj]" in compact
    assert "T.axis" not in compact and "T.func_attr" not in compact


def test_estimate_is_not_low_for_code() -> None:
    """Counts measured with the SmolLM2 tokenizer (Gemma 3's were within 2 % of them)."""
    assert estimate_tokens(_program(1)) >= 388
    assert estimate_tokens(_program(6)) >= 1573
    system, _ = build_prompt(_context(), max_prompt_tokens=8000)
    assert estimate_tokens(system) >= 363


def test_parameters_format() -> None:
    assert format_parameters(2e10) == "20.0B" and format_parameters(1.35e8) == "135M"


def test_what_every_call_shares_comes_first() -> None:
    """Two calls at different nodes, with different statistics, share the whole prompt up to the
    history: the vocabulary, the model list and the choice rules (a server's prompt cache keeps
    that prefix)."""
    first = _context()
    second = PromptContext(
        **{
            **first.__dict__,
            "current": first.parent,
            "parent": first.grandparent,
            "grandparent": None,
            "trials_done": 200,
            "model_stats": {"gpt-5-mini": ModelStats(calls=30), "gpt-5.2": ModelStats(calls=2)},
        }
    )
    texts = [build_prompt(c, max_prompt_tokens=8000)[1] for c in (first, second)]
    assert texts[0] != texts[1]
    prefixes = [text.split("Historical Performance Info")[0] for text in texts]
    assert prefixes[0] == prefixes[1]
    for shared in ("Available Transformations", "Models from smallest to largest", "next_model"):
        assert shared in prefixes[0]
    assert "Trials progress" not in prefixes[0] and "number_of_calls" not in prefixes[0]


def test_an_ancestor_history_shows_only_the_steps_that_differ() -> None:
    history = tuple(f"Tile loop {i}: [4, 8]" for i in range(20))
    current = NodeView.of("program a", history[:-1] + ("Unroll root: 64",), 0.5, "gpt-5-mini", 2)
    parent = NodeView.of("program b", history[:-1] + ("Unroll root: 16",), 0.4, "gpt-5.2", 1)
    context = PromptContext(
        **{**_context().__dict__, "current": current, "parent": parent, "grandparent": None}
    )
    _, user = build_prompt(context, max_prompt_tokens=8000)
    section = user[user.index("Immediate Parent Program:") :]
    assert "the current one's, except:\nUnroll root: 16" in section
    assert "Tile loop 3" not in section.split("Search Context")[0]


def test_a_small_budget_gets_the_short_instructions_and_fits() -> None:
    """The embedded set's 900 tokens: the paper's instructions, vocabulary and guidance took
    about half of them before any program was shown."""
    budget = 900
    long_system, _ = build_prompt(_context(), max_prompt_tokens=8000)
    system, user = build_prompt(_context(blocks=6, history=10), max_prompt_tokens=budget)
    assert "Monte Carlo Tree Search (MCTS)" in long_system
    assert "You guide a Monte Carlo tree search" in system
    assert estimate_tokens(system) < estimate_tokens(long_system) / 2
    assert estimate_tokens(system) + estimate_tokens(user) <= budget
    assert "Historical Performance Info" in user and "Search Context" in user  # every section
    other = build_prompt(_context(blocks=2, history=3), max_prompt_tokens=budget)
    shared_prefix = user.split("Historical Performance Info")[0]
    assert other[0] == system and other[1].startswith(shared_prefix)  # one cached prefix


def test_the_fastest_program_is_not_repeated_when_it_is_the_current_one() -> None:
    context = _context()
    measured = NodeView.of(context.current.program, context.current.history, 1.0, None, 3)
    measured = NodeView(**{**measured.__dict__, "measured_s": 0.0005})
    same = PromptContext(**{**context.__dict__, "best": measured})
    _, user = build_prompt(same, max_prompt_tokens=8000)
    assert "Fastest program measured so far: the current one (0.5 ms)" in user
    assert "its last steps" not in user


def test_the_compact_model_lines_leave_out_what_says_nothing() -> None:
    """A model not called yet has no statistics, zero course alterations are not news, and the
    score changes are the history's scores subtracted: each token costs the small models time."""
    context = _context(blocks=40, history=60)
    stats = {"gpt-5-mini": ModelStats(calls=3, hits=1)}
    context = PromptContext(**{**context.__dict__, "model_stats": stats})
    _, user = build_prompt(context, max_prompt_tokens=1400)
    line = next(line for line in user.splitlines() if line.startswith("Model stats: "))
    assert line == "Model stats: gpt-5-mini calls 3, hit rate 0.33, errors 0; gpt-5.2 no calls yet"
    assert "Predicted score change" not in user and "diff omitted" not in user
    _, full = build_prompt(_context(), max_prompt_tokens=8000)
    assert "Predicted score change parent -> current" in full  # the paper's form keeps them
