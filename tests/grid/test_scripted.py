"""Scripted models: the policies, their routing through ``LLMProposer``, the controlled set."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pytest

from colt.config import TuneConfig
from colt.grid import BenchConfig, model_pair, set_models
from colt.llm import (
    LLMProposer,
    check_set,
    commands,
    endpoints,
    list_sets,
    load_model_set,
    start_embedded,
)
from colt.llm.serving import llm_proposer
from colt.llm.sets import ModelSet, ModelSpec
from colt.search.base import Edit, ModelInfo, NodeView, PromptContext
from colt.search.scripted import ScriptedProposer, pick_edit, recommend

VOCABULARY = ("TileSize", "Parallel", "Unroll", "Vectorize")
MODELS = (ModelInfo("mid", 8e9), ModelInfo("tiny", 1e9), ModelInfo("huge", 7e10))
# Candidates in preview order: the best is neither first nor last, nor the worst.
CANDIDATES: list[tuple[Edit, float | None]] = [
    (Edit("Unroll", (("max_step", 16),)), 0.4),
    (Edit("TileSize", (("factors", (4, 8)),)), 0.9),
    (Edit("Parallel", (("extent", 64),)), 0.1),
    (Edit("Vectorize"), 0.5),
]


class FakePreview:
    """``PromptContext.preview`` over fixed candidates; records how many each call asked for."""

    def __init__(self, candidates: list[tuple[Edit, float | None]]) -> None:
        self.candidates = candidates
        self.asked: list[int] = []

    def __call__(self, count: int) -> list[tuple[Edit, float | None]]:
        self.asked.append(count)
        return self.candidates[:count]


def _context(
    preview: Callable[[int], list[tuple[Edit, float | None]]] | None = None,
    *,
    transformations: tuple[str, ...] = VOCABULARY,
    models: tuple[ModelInfo, ...] = MODELS,
) -> PromptContext:
    node = NodeView.of("def main(): pass", (), 0.5, "mid", 1)
    return PromptContext(
        node, None, None, transformations, {}, models, {}, 1, 0, 8, preview=preview
    )


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _untrained() -> list[tuple[Edit, float | None]]:
    return [(edit, None) for edit, _ in CANDIDATES]


def test_pick_edit_per_policy() -> None:
    assert pick_edit("greedy", CANDIDATES) == CANDIDATES[1][0]
    assert pick_edit("adversarial", CANDIDATES) == CANDIDATES[2][0]
    assert pick_edit("random", CANDIDATES) == CANDIDATES[0][0]
    assert pick_edit("greedy", []) is None


def test_pick_edit_untrained_and_partly_scored() -> None:
    assert pick_edit("greedy", _untrained()) == CANDIDATES[0][0]
    assert pick_edit("adversarial", _untrained()) == CANDIDATES[0][0]
    partly = [(CANDIDATES[0][0], None), (CANDIDATES[1][0], 0.2), (CANDIDATES[2][0], 0.3)]
    assert pick_edit("greedy", partly) == CANDIDATES[2][0]  # unscored candidates are skipped
    assert pick_edit("adversarial", partly) == CANDIDATES[1][0]


@pytest.mark.parametrize(
    ("policy", "asked", "expected"),
    [("greedy", 8, 1), ("adversarial", 8, 2), ("random", 1, 0)],
)
def test_scripted_proposer_uses_the_preview(policy: Any, asked: int, expected: int) -> None:
    preview = FakePreview(CANDIDATES)
    proposal = ScriptedProposer(policy, "self", rng=_rng()).propose("mid", _context(preview))
    assert proposal.error_kind is None and proposal.action is not None
    assert proposal.action.edits == (CANDIDATES[expected][0],)
    assert proposal.action.next_model == "mid"
    assert preview.asked == [asked]
    assert proposal.prompt_tokens == 0 and proposal.latency_s >= 0


def test_k_is_passed_to_the_preview() -> None:
    preview = FakePreview(CANDIDATES)
    proposer = ScriptedProposer("greedy", "self", rng=_rng(), k=3)
    proposal = proposer.propose("mid", _context(preview))
    assert preview.asked == [3]
    assert proposal.action is not None and proposal.action.edits == (CANDIDATES[1][0],)


def test_untrained_cost_model_gives_the_first_candidate() -> None:
    preview = FakePreview(_untrained())
    proposal = ScriptedProposer("greedy", "self", rng=_rng()).propose("mid", _context(preview))
    assert proposal.action is not None and proposal.action.edits == (CANDIDATES[0][0],)


@pytest.mark.parametrize("preview", [None, FakePreview([])])
def test_no_candidates_falls_back_to_random_names(preview: FakePreview | None) -> None:
    proposer = ScriptedProposer("greedy", "self", rng=_rng(3))
    names = []
    for _ in range(40):
        proposal = proposer.propose("mid", _context(preview))
        assert proposal.action is not None and not proposal.action.edits[0].args
        names.append(proposal.action.edits[0].name)
    assert set(names) == set(VOCABULARY)  # drawn, not always the same name


def test_nothing_to_propose_is_an_error_not_a_crash() -> None:
    proposer = ScriptedProposer("random", "self", rng=_rng())
    proposal = proposer.propose("mid", _context(FakePreview([]), transformations=()))
    assert proposal.action is None and proposal.error_kind == "invalid_edit"


def test_invalid_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid scripted model"):
        ScriptedProposer("clever", "self", rng=_rng())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="k=0"):
        ScriptedProposer("greedy", "self", rng=_rng(), k=0)


def test_recommend_each_option() -> None:
    assert recommend("smallest", "mid", MODELS, _rng()) == "tiny"
    assert recommend("largest", "mid", MODELS, _rng()) == "huge"
    assert recommend("self", "mid", MODELS, _rng()) == "mid"
    assert recommend("largest", "mid", (), _rng()) == "mid"
    rng = _rng(1)
    drawn = [recommend("random", "mid", MODELS, rng) for _ in range(60)]
    assert set(drawn) == {"mid", "tiny", "huge"}
    assert max(drawn.count(name) for name in set(drawn)) < 40  # roughly uniform


def test_recommendation_reaches_the_action() -> None:
    proposer = ScriptedProposer("greedy", "smallest", rng=_rng())
    proposal = proposer.propose("huge", _context(FakePreview(CANDIDATES)))
    assert proposal.action is not None and proposal.action.next_model == "tiny"


def _no_client(spec: ModelSpec, key: str | None) -> NoReturn:
    raise AssertionError(f"a client was made for {spec.name}")


def _controlled_proposer(log: Path | None, seed: int = 0) -> LLMProposer:
    model_set = load_model_set("controlled")
    return LLMProposer(
        model_set, VOCABULARY, {}, log_path=log, client_factory=_no_client, rng=_rng(seed)
    )


def _controlled_context(preview: FakePreview | None) -> PromptContext:
    return _context(preview, models=load_model_set("controlled").infos())


def test_llm_proposer_routes_scripted_models(tmp_path: Path) -> None:
    log = tmp_path / "llm_calls.jsonl"
    with _controlled_proposer(log) as proposer:
        proposal = proposer.propose("large-greedy", _controlled_context(FakePreview(CANDIDATES)))
    assert proposal.error_kind is None and proposal.action is not None
    assert proposal.action.edits == (CANDIDATES[1][0],)
    assert proposal.action.next_model == "small-random"
    (line,) = log.read_text().splitlines()
    record = json.loads(line)
    assert record["model"] == "large-greedy" and record["endpoint"] == "scripted:greedy"
    assert record["outcome"] == "ok" and record["prompt"] == {"system": "", "user": ""}
    assert record["action"] == {
        "edits": [CANDIDATES[1][0].describe()],
        "next_model": "small-random",
    }


def test_llm_proposer_unknown_model_still_errors(tmp_path: Path) -> None:
    log = tmp_path / "llm_calls.jsonl"
    with _controlled_proposer(log) as proposer:
        proposal = proposer.propose("gpt-5.2", _controlled_context(FakePreview(CANDIDATES)))
    assert proposal.error_kind == "unknown_model" and proposal.action is None
    assert json.loads(log.read_text())["outcome"] == "unknown_model"


def test_scripted_draws_follow_the_seed() -> None:
    def names(seed: int) -> list[str]:
        with _controlled_proposer(None, seed) as proposer:
            proposals = [
                proposer.propose("small-random", _controlled_context(None)) for _ in range(12)
            ]
        return [p.action.edits[0].name for p in proposals if p.action is not None]

    assert names(5) == names(5)
    assert len(names(5)) == 12
    assert any(names(seed) != names(5) for seed in (6, 7, 8))


def test_a_served_model_does_not_shift_scripted_draws() -> None:
    scripted = load_model_set("controlled")
    served = ModelSpec(name="remote", parameters=3e9, base_url="http://127.0.0.1:9/v1", model="r")
    mixed = ModelSet(name="mixed", models=(served, *scripted.models))

    def names(model_set: ModelSet) -> list[str]:
        proposer = LLMProposer(model_set, VOCABULARY, {}, log_path=None, rng=_rng(2))
        context = _context(None, models=model_set.infos())
        proposals = [proposer.propose("small-random", context) for _ in range(10)]
        return [p.action.edits[0].name for p in proposals if p.action is not None]

    assert names(mixed) == names(scripted) and len(names(mixed)) == 10


def test_controlled_set_loads_without_key_or_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model_set = load_model_set("controlled")
    assert model_set.names == ("small-random", "large-greedy")
    assert model_set.largest.name == "large-greedy" and not model_set.needs_embedded
    small, large = model_set.models
    assert (small.scripted, small.recommends) == ("random", "self")
    assert (large.scripted, large.recommends, large.scripted_k) == ("greedy", "smallest", 8)
    assert model_set.missing_keys() == ()


def test_bench_accepts_the_controlled_set() -> None:
    assert set_models("controlled") == [("small-random", 1.0e9), ("large-greedy", 7.0e10)]
    bench = BenchConfig(grid_dir=Path("unused"), model_set="controlled")
    assert model_pair(bench) == ("small-random", "large-greedy")


class FakeServers:
    """Stands in for ``EmbeddedServers``: records which specs it was asked to serve."""

    served: list[str] = []

    def __init__(self, specs: Any, log_dir: Path, **kwargs: Any) -> None:
        FakeServers.served = [spec.name for spec in specs]
        self.records = ()
        self.urls = {spec.name: "http://127.0.0.1:1/v1" for spec in specs}

    def __enter__(self) -> FakeServers:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def test_scripted_models_get_no_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(endpoints, "EmbeddedServers", FakeServers)
    monkeypatch.setattr(endpoints, "served_records", lambda: ())
    embedded = load_model_set("embedded").models[0]
    mixed = ModelSet(name="mixed", models=(embedded, *load_model_set("controlled").models))
    FakeServers.served = ["not called"]
    with start_embedded(mixed, tmp_path) as live:
        assert FakeServers.served == [embedded.name]
        assert live.model_set.spec("large-greedy").base_url is None
    FakeServers.served = ["not called"]
    with start_embedded(load_model_set("controlled"), tmp_path):
        assert FakeServers.served == ["not called"]


def test_check_set_calls_no_scripted_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(endpoints, "ChatClient", _no_client)
    rows = check_set("controlled")
    assert [(row["model"], row["ok"], row["scripted"]) for row in rows] == [
        ("small-random", True, "random"),
        ("large-greedy", True, "greedy"),
    ]
    assert commands.check_set("controlled") == 0


def test_models_list_shows_scripted_models() -> None:
    rows = {row["model"]: row for row in list_sets() if row["set"] == "controlled"}
    assert rows["large-greedy"]["endpoint"] == "scripted: greedy, recommends smallest"
    assert rows["small-random"]["endpoint"] == "scripted: random, recommends self"
    lines = commands.list_sets()
    assert any("large-greedy" in line and "scripted: greedy" in line for line in lines)


def test_session_seeds_scripted_models_from_the_run_seed(tmp_path: Path) -> None:
    def names(seed: int) -> list[str]:
        config = TuneConfig(model_set="controlled", seed=seed)
        with llm_proposer(config, tmp_path / str(seed)) as (proposer, infos):
            context = _context(None, models=infos)
            proposals = [proposer.propose("small-random", context) for _ in range(12)]
        return [p.action.edits[0].name for p in proposals if p.action is not None]

    assert names(4) == names(4) and len(names(4)) == 12
    assert (tmp_path / "4" / "llm_calls.jsonl").exists()
