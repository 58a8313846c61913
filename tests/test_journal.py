"""The journal's typed events and the replay of a search from them, without TVM."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from colt.config import SearchConfig
from colt.errors import UserError
from colt.journal import (
    Journal,
    NaiveTimed,
    ProposalAnswered,
    SampleMeasured,
    TunedPassTimed,
    UnscheduledPassTimed,
    ValuesPredicted,
)
from colt.replay import JournaledProposer
from colt.search.base import ModelInfo, PromptContext, Proposal
from colt.search.mcts import Search
from tests.search.fakes import LineEnvironment, PerModelProposer, fake_latency

MODELS = (ModelInfo("small", 1e9), ModelInfo("large", 1e11))


def test_every_event_type_reads_back_as_written(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    written = [
        NaiveTimed(latency_s=0.5, run_secs=[0.5, 0.51], device="local"),
        ProposalAnswered(
            model="small", depth=2, action={"edits": [["Up", [["by", 2]]]], "next_model": "large"}
        ),
        ValuesPredicted(keys=[3, 4], values=[0.1, None]),
        SampleMeasured(key=3, latency_s=None, error="build failed", trace=[[], []]),
        UnscheduledPassTimed(latency_s=9.6, eager_s=0.23),
        TunedPassTimed(latency_s=0.3, error=None),
    ]
    journal = Journal(path)
    for event in written:
        journal.append(event)
    journal.close()
    assert Journal(path).events == written
    assert Journal(path).of_kind(ValuesPredicted) == [written[2]]


def test_a_journal_of_the_previous_version_still_loads(tmp_path: Path) -> None:
    """The lines as the untyped journal wrote them (same kinds, same fields)."""
    path = tmp_path / "journal.jsonl"
    lines = [
        {"kind": "naive", "latency_s": 0.2, "run_secs": [0.2], "device": "local"},
        {
            "kind": "proposal",
            "model": "large",
            "depth": 0,
            "action": None,
            "error_kind": "timeout",
            "error_detail": "no answer",
            "latency_s": 30.0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
        },
        {"kind": "measure", "key": 7, "latency_s": 0.1, "error": None, "trace": None},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    events = Journal(path).events
    assert [type(e) for e in events] == [NaiveTimed, ProposalAnswered, SampleMeasured]
    assert events[1].answer_errors == [] and events[2].device is None  # type: ignore[union-attr]


def test_a_torn_last_line_is_dropped_and_an_unknown_event_is_one_sentence(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.jsonl"
    good = json.dumps({"kind": "naive", "latency_s": 0.2})
    path.write_text(good + '\n{"kind": "meas')  # killed while writing
    journal = Journal(path)
    assert len(journal.events) == 1
    journal.append(NaiveTimed(latency_s=0.3))  # the torn tail is gone: this is a line of its own
    journal.close()
    assert [e.latency_s for e in Journal(path).events] == [0.2, 0.3]  # type: ignore[attr-defined]
    path.write_text(good + '\n{"kind": "node_added", "id": 3}\n')
    with pytest.raises(UserError, match=r"line 2 holds a 'node_added' event .* start a new run"):
        Journal(path)


class _Refusing:
    def propose(self, model: str, context: PromptContext) -> Proposal:
        raise AssertionError("a replayed run must not ask a model what the journal holds")


ANSWERS = {"small": (["Up", "Up"], "large"), "large": (["Down", "Up"], "small")}


def _search(env, proposer, journal: Journal, *, seed: int = 11) -> Search:
    clock = itertools.count(0.0, 0.001)
    search = Search(
        env,
        proposer,
        MODELS,
        config=SearchConfig(rollout_steps=2),
        seed=seed,
        trials_total=60,
        clock=lambda: next(clock),
        log=journal,
    )
    search.start([50, 60])
    return search


def _run(search: Search, rounds: int) -> None:
    for _ in range(rounds):
        for _ in range(3):
            search.step()
        for pick in search.pick_for_measurement(4, [30, 70, 90, 110]):
            search.record_measurement(pick.key, fake_latency(pick.key))
        search.end_round()


def _live(path: Path, rounds: int) -> Search:
    journal = Journal(path)
    search = _search(
        LineEnvironment(), JournaledProposer(PerModelProposer(ANSWERS), journal), journal
    )
    _run(search, rounds)
    journal.close()
    return search


def _resumed(path: Path, rounds: int, *, seed: int = 11) -> tuple[Search, LineEnvironment]:
    env = LineEnvironment(trained=False)  # a replay that predicted live would differ
    journal = Journal(path)
    search = _search(env, JournaledProposer(_Refusing(), journal), journal, seed=seed)
    _run(search, rounds)
    return search, env


def test_a_search_is_rebuilt_from_its_events_whatever_its_randomness(tmp_path: Path) -> None:
    """Replaying draws no random number: a resumed search with another seed (as a code change
    that consumes randomness differently would have) rebuilds the very same tree and pool,
    without calling a model or the cost model."""
    live = _live(tmp_path / "journal.jsonl", 3)
    assert live.tree.depth() >= 2 and live.course_alterations + live.duplicates >= 0
    kinds = {type(e).__name__ for e in Journal(tmp_path / "journal.jsonl").events}
    assert {"NodeAdded", "ProgramsOffered", "ValuesPredicted", "ProposalAnswered"} <= kinds
    replayed, env = _resumed(tmp_path / "journal.jsonl", 3, seed=999)
    assert env.score_calls == 0
    assert replayed.tree.to_json() == live.tree.to_json()
    assert {k: c.snapshot() for k, c in replayed.counters.items()} == {
        k: c.snapshot() for k, c in live.counters.items()
    }
    assert sorted(map(str, replayed.pool.values())) == sorted(map(str, live.pool.values()))
    assert replayed.record.replayed > 0


def test_a_resumed_search_goes_on_as_if_never_stopped(tmp_path: Path) -> None:
    """After the replay, every generator is where the last replayed event left it: the resumed
    run's live rounds are the uninterrupted run's."""
    whole = _live(tmp_path / "whole.jsonl", 5)
    _live(tmp_path / "killed.jsonl", 3)
    journal = Journal(tmp_path / "killed.jsonl")
    resumed = _search(
        LineEnvironment(), JournaledProposer(PerModelProposer(ANSWERS), journal), journal
    )
    _run(resumed, 5)
    assert resumed.tree.to_json() == whole.tree.to_json()
    assert resumed.expansions == whole.expansions


def test_the_run_directory_page_names_every_event_kind() -> None:
    from typing import get_args

    from colt.journal import AnyEvent

    page = (Path(__file__).parents[1] / "docs" / "run-directory.md").read_text()
    (line,) = [row for row in page.splitlines() if row.startswith("| `journal.jsonl`")]
    union = get_args(AnyEvent)[0]
    kinds = [cls.model_fields["kind"].default for cls in get_args(union)]
    assert len(kinds) == 11
    for kind in kinds:
        assert f"`{kind}`" in line, kind
