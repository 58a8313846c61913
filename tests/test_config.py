from __future__ import annotations

from pathlib import Path

import pytest

from colt.config import SearchConfig, TuneConfig
from colt.errors import UserError


def test_expansions_per_round_follow_the_proposer_unless_set() -> None:
    # LLM rounds under a time share: as many as random rounds, the share decides who answers
    assert SearchConfig().expansions_for("llm") == 8
    # without one: one call per proposal slot (8 slots, a quarter of them fresh)
    assert SearchConfig(model_time_share=1.0).expansions_for("llm") == 6
    assert SearchConfig(model_time_share=1.0, fresh_share=0.0).expansions_for("llm") == 8
    assert SearchConfig().expansions_for("random") == 8
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


@pytest.mark.parametrize(
    ("make", "sentence"),
    [
        (lambda: SearchConfig(lam=2), "--lam must be between 0 and 1, not 2"),
        (lambda: SearchConfig(branching_factor=0), "--branching must be at least 1, not 0"),
        (lambda: SearchConfig(fresh_pool=-1), "--fresh-pool must not be negative, not -1"),
        (lambda: TuneConfig(trials=0), "--trials must be a positive number of samples, not 0"),
        (lambda: TuneConfig(num_threads=0), "--threads must be positive, not 0"),
        (
            lambda: TuneConfig(screen=0.5),
            "--screen must be 0 (time every candidate in full) or at least 1, not 0.5",
        ),
        (
            lambda: TuneConfig(strategy="annealing"),  # type: ignore[arg-type]
            "unknown strategy 'annealing'; valid choices: colt, evolutionary, random",
        ),
    ],
)
def test_a_config_is_validated_when_made(make: object, sentence: str) -> None:
    """An API user gets pydantic's error at construction; the CLI prints ``explain``'s sentence."""
    from pydantic import ValidationError

    from colt.config import explain

    with pytest.raises(ValidationError) as caught:
        make()  # type: ignore[operator]
    assert explain(caught.value) == sentence


def test_a_saved_config_out_of_range_is_one_sentence() -> None:
    data = TuneConfig().to_json()
    data["search"]["lam"] = -1
    with pytest.raises(UserError, match=r"--lam must be between 0 and 1, not -1"):
        TuneConfig.from_json(data)


def test_configs_are_frozen() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        TuneConfig().trials = 3  # type: ignore[misc]


def test_the_run_directory_page_names_every_setting_of_config_json() -> None:
    page = (Path(__file__).parents[1] / "docs" / "run-directory.md").read_text()
    (line,) = [row for row in page.splitlines() if row.startswith("| `config.json`")]
    missing = [name for name in TuneConfig.model_fields if f"`{name}`" not in line]
    assert not missing


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90.0), ("90s", 90.0), ("10m", 600.0), ("1.5h", 5400.0)]
)
def test_time_budgets_read_as_seconds(text: str, seconds: float) -> None:
    assert TuneConfig(time_budget_s=text).time_budget_s == seconds


def test_a_zero_time_budget_is_refused() -> None:
    with pytest.raises(ValueError):
        TuneConfig(time_budget_s="0s")


def test_one_reader_gives_each_setting_s_flag_with_what_its_field_says() -> None:
    from colt.bench_config import BenchConfig
    from colt.options import flag_of

    lam = flag_of(SearchConfig, "lam")
    assert lam is not None and (lam.flag, lam.low, lam.high) == ("--lam", 0.0, 1.0)
    switch = flag_of(TuneConfig, "use_records")
    assert switch is not None and switch.negate and switch.flag.startswith("--no-")
    suite = flag_of(BenchConfig, "suite")
    assert suite is not None and suite.metavar == "SUITE" and suite.help
    assert flag_of(TuneConfig, "search") is None  # a field that is no option
