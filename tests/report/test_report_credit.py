"""The report's credit section: who earned the speed-up, and the plain verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from colt.report.credit import credit_table, credit_verdict
from colt.report.runs import RunRecord


def _run(
    credit: dict[str, Any], proposer: str = "llm", model_share: dict | None = None
) -> RunRecord:
    return RunRecord(
        path=Path("runs/x"),
        label="colt",
        status="complete",
        workload="matmul",
        flops=1.0,
        strategy="colt",
        proposer=proposer,
        seed=0,
        trials=8,
        samples=8,
        naive_latency_s=0.1,
        best_latency_s=0.001,
        speedup=100.0,
        verified=True,
        curve=(),
        time_s={},
        models=(),
        search={"credit": credit, "model_share": model_share},
        machine={},
        versions={},
        config={},
    )


def _source(best: float | None, share: float = 0.0, seconds: float | None = None) -> dict:
    entry: dict[str, Any] = {
        "samples": 4,
        "improvements": 1,
        "improvement_share": share,
        "best_latency_s": best,
    }
    if seconds is not None:
        entry |= {"seconds": seconds, "calls": 3}
    return entry


def test_the_verdict_says_plainly_when_the_models_did_no_better_than_random() -> None:
    run = _run({"fresh": _source(0.001, 0.7), "smollm2": _source(0.002, 0.3, seconds=40.0)})
    verdict = credit_verdict(run)
    assert verdict is not None
    assert verdict.text.startswith("The models did no better than random in this run")
    assert "2 ms" in verdict.text and "1 ms" in verdict.text and "40 s" in verdict.text


def test_the_verdict_credits_models_that_reached_the_best() -> None:
    credit = {"random": _source(0.003), "smollm2": _source(0.001, 0.5, seconds=10.0)}
    verdict = credit_verdict(_run(credit))
    assert verdict is not None and "reached the run's best, 1 ms" in verdict.text


def test_no_verdict_without_models_and_a_row_per_source() -> None:
    credit = {"fresh": _source(0.001), "random": _source(0.002, seconds=0.0)}
    assert credit_verdict(_run(credit, proposer="random")) is None
    table = credit_table(_run(credit))
    assert table is not None and [row[0] for row in table.rows] == ["fresh", "random"]


def test_the_verdict_says_when_the_models_share_was_cut_for_earning_nothing() -> None:
    credit = {"fresh": _source(0.001, 1.0), "smollm2": _source(0.002, 0.0, seconds=9.0)}
    cut = _run(credit, model_share={"cap": 0.4, "at_end": 0.1, "gain": 0.0})
    text = credit_verdict(cut).text  # type: ignore[union-attr]
    assert "share of the wall fell from 40 % to 10 %" in text
    kept = _run(credit, model_share={"cap": 0.4, "at_end": 0.4, "gain": 0.0})
    assert "fell" not in credit_verdict(kept).text  # type: ignore[union-attr]


def test_the_verdict_says_when_the_models_waited_for_the_search_to_stall() -> None:
    credit = {"fresh": _source(0.001, 1.0), "smollm2": _source(0.002, 0.0, seconds=9.0)}
    share = {"cap": 0.4, "at_end": 0.4, "gain": 0.0, "rounds": 8, "stalled_rounds": 3}
    waited = _run(credit, model_share={**share, "on_stall": True})
    text = credit_verdict(waited).text  # type: ignore[union-attr]
    assert "asked only after one round that found nothing faster: 3 of 8" in text
    two = _run(credit, model_share={**share, "on_stall": True, "stall_rounds": 2})
    text = credit_verdict(two).text  # type: ignore[union-attr]
    assert "asked only after 2 rounds in a row that found nothing faster: 3 of 8" in text
    eager = _run(credit, model_share={**share, "on_stall": False})
    assert "asked only" not in credit_verdict(eager).text  # type: ignore[union-attr]
