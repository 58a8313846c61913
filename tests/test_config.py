from __future__ import annotations

from pathlib import Path

import pytest

from colt.config import SearchConfig, TuneConfig
from colt.errors import UserError


def test_expansions_per_round_follow_the_proposer_unless_set() -> None:
    # LLM rounds: one call per proposal slot (8 slots, a quarter of them fresh)
    assert SearchConfig().expansions_for("llm") == 6
    assert SearchConfig(fresh_share=0.0).expansions_for("llm") == 8
    assert SearchConfig().expansions_for("random") == 32
    assert SearchConfig(expansions_per_round=7).expansions_for("random") == 7


def test_config_round_trips_through_json() -> None:
    config = TuneConfig(
        workload="flux-conv",
        proposer="random",
        models=("a", "b"),
        out_dir=Path("runs/x"),
        search=SearchConfig(expansions_per_round=9, lam=0.3),
    )
    assert TuneConfig.from_json(config.to_json()) == config


def test_a_run_with_retired_search_settings_is_refused_by_name() -> None:
    data = TuneConfig().to_json()
    data["search"]["measure_exploration"] = 0.2  # a setting older versions had
    with pytest.raises(UserError, match="measure_exploration"):
        TuneConfig.from_json(data)
