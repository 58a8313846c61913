"""Endpoint faults and key hygiene against a loopback fake OpenAI server (no model needed)."""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from colt.llm import ChatClient, LLMProposer, check_set, load_model_set
from colt.llm.servers import free_port
from colt.llm.sets import ModelSet, ModelSpec
from colt.search.base import ModelInfo, ModelStats, NodeView, PromptContext
from colt.search.stats import ModelCounters

VOCABULARY = ("TileSize", "ComputeLocation", "Parallel", "Unroll")
GOOD_ANSWER = '{"transformations": ["TileSize", "Parallel"], "next_model": "small"}'
FAKE_KEY = "sk-colt-test-0123456789abcdef"


class FakeOpenAI:
    """A loopback chat-completions endpoint whose behaviour a test sets through ``mode``."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.answer = GOOD_ANSWER
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()  # ends hanging handlers at teardown
        # threaded: a retry must reach the server while the hanging first attempt still waits
        self.server = HTTPServer(host="127.0.0.1", threaded=True)
        self.server.expect_request("/v1/chat/completions", method="POST").respond_with_handler(
            self._respond
        )

    @property
    def base_url(self) -> str:
        return self.server.url_for("/v1")

    def _respond(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        self.requests.append({"body": request.get_json(silent=True) or {}, "authorization": auth})
        if self.mode == "hang":
            self.release.wait(10)
            return Response("", 504)
        if self.mode == "500":  # a careless server that echoes the credentials
            return Response(json.dumps({"error": {"message": f"boom, you sent {auth}"}}), 500)
        if self.mode == "garbage":
            return Response("<html>definitely not json", 200, content_type="text/html")
        return Response(json.dumps(_completion(self.answer)), content_type="application/json")

    def __enter__(self) -> FakeOpenAI:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.clear()
        self.server.stop()


def _completion(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": "fake",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 321, "completion_tokens": 12, "total_tokens": 333},
    }


@pytest.fixture
def llm_fake_endpoint() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def _spec(name: str, base_url: str, **overrides: Any) -> ModelSpec:
    fields: dict[str, Any] = {
        "name": name,
        "parameters": 1e9 if name == "small" else 7e10,
        "base_url": base_url,
        "model": f"fake-{name}",
        "structured_output": "json_schema",
        "timeout_s": 0.5,
        "retries": 1,
        "context_window": 4096,
        "max_tokens": 64,
    }
    return ModelSpec(**(fields | overrides))


def _set(base_url: str, **overrides: Any) -> ModelSet:
    models = (_spec("small", base_url, **overrides), _spec("large", base_url, **overrides))
    return ModelSet(name="fake", models=models)


def _context() -> PromptContext:
    node = NodeView.of(
        "@T.prim_func\ndef main(A, B):\n    for i in T.serial(8):\n        B[i] = A[i]",
        ("sch.sample_perfect_tile(loop=i, decision=[2, 4])",),
        0.25,
        "small",
        1,
    )
    models = (ModelInfo("small", 1e9), ModelInfo("large", 7e10))
    return PromptContext(
        node, None, None, VOCABULARY, {}, models, {"small": ModelStats(calls=2)}, 1, 4, 64
    )


def _proposer(model_set: ModelSet, log_path: Path) -> LLMProposer:
    fast = functools.partial(ChatClient, backoff_s=0.01)
    return LLMProposer(model_set, VOCABULARY, {}, log_path=log_path, client_factory=fast)


def test_good_answer_parses_and_logs(llm_fake_endpoint: FakeOpenAI, tmp_path: Path) -> None:
    log = tmp_path / "llm_calls.jsonl"
    with _proposer(_set(llm_fake_endpoint.base_url), log) as proposer:
        proposal = proposer.propose("small", _context())
    assert proposal.error_kind is None
    assert proposal.action is not None
    assert [e.name for e in proposal.action.edits] == ["TileSize", "Parallel"]
    assert proposal.action.next_model == "small"
    assert proposal.prompt_tokens == 321 and proposal.completion_tokens == 12
    sent = llm_fake_endpoint.requests[0]["body"]
    schema = sent["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["next_model"]["enum"] == ["small", "large"]
    assert schema["properties"]["transformations"]["items"]["enum"] == list(VOCABULARY)
    record = json.loads(log.read_text().splitlines()[0])
    assert record["outcome"] == "ok" and record["model"] == "small"
    assert record["prompt_tokens_source"] == "endpoint"
    assert "Global Per-Model Stats" in record["prompt"]["user"]


@pytest.mark.parametrize(
    ("mode", "kind"),
    [("garbage", "unparsable"), ("hang", "timeout"), ("500", "http_error")],
)
def test_endpoint_faults_are_data(
    llm_fake_endpoint: FakeOpenAI, tmp_path: Path, mode: str, kind: str
) -> None:
    llm_fake_endpoint.mode = mode
    start = time.monotonic()
    with _proposer(_set(llm_fake_endpoint.base_url), tmp_path / "calls.jsonl") as proposer:
        proposal = proposer.propose("large", _context())
    assert proposal.error_kind == kind and proposal.action is None
    assert time.monotonic() - start < 5.0  # 0.5 s timeout, one retry
    expected_attempts = 1 if mode == "garbage" else 2  # 500 and timeouts are retried once
    assert len(llm_fake_endpoint.requests) == expected_attempts


def test_garbage_content_is_unparsable(llm_fake_endpoint: FakeOpenAI, tmp_path: Path) -> None:
    llm_fake_endpoint.answer = "I think you should tile the loops, honestly."
    with _proposer(_set(llm_fake_endpoint.base_url), tmp_path / "calls.jsonl") as proposer:
        proposal = proposer.propose("small", _context())
    assert proposal.error_kind == "unparsable" and proposal.action is None


def test_unknown_names_in_answer(llm_fake_endpoint: FakeOpenAI, tmp_path: Path) -> None:
    llm_fake_endpoint.answer = '{"transformations": ["tile_size", "Vectorize"], "next_model": "x"}'
    with _proposer(_set(llm_fake_endpoint.base_url), tmp_path / "calls.jsonl") as proposer:
        proposal = proposer.propose("small", _context())
    assert proposal.error_kind == "unknown_transformation"
    assert proposal.action is not None and proposal.action.edits[0].name == "TileSize"
    assert proposal.action.next_model == "small"  # the asking model stands in


def test_refused_connection_is_data(tmp_path: Path) -> None:
    base_url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    start = time.monotonic()
    with _proposer(_set(base_url), tmp_path / "calls.jsonl") as proposer:
        proposal = proposer.propose("small", _context())
    assert proposal.error_kind == "connection_refused"
    assert time.monotonic() - start < 5.0
    counters = ModelCounters()
    counters.record_call(proposal)
    assert counters.faults == {"connection_refused": 1} and counters.errors == {}


def test_model_outside_the_set(llm_fake_endpoint: FakeOpenAI, tmp_path: Path) -> None:
    with _proposer(_set(llm_fake_endpoint.base_url), tmp_path / "calls.jsonl") as proposer:
        proposal = proposer.propose("gpt-9", _context())
    assert proposal.error_kind == "unknown_model" and not llm_fake_endpoint.requests


def test_streamed_answer(llm_fake_endpoint: FakeOpenAI, tmp_path: Path) -> None:
    """The fake answers non-streamed JSON to a streamed request: a readable fault, not a crash."""
    model_set = _set(llm_fake_endpoint.base_url, stream=True)
    with _proposer(model_set, tmp_path / "calls.jsonl") as proposer:
        proposal = proposer.propose("small", _context())
    # no server-sent events in the body: an empty answer, counted as unparsable
    assert (proposal.error_kind, proposal.error_detail) == (
        "unparsable",
        "no JSON object in the answer",
    )
    assert llm_fake_endpoint.requests[0]["body"]["stream"] is True


def test_api_key_never_written(
    llm_fake_endpoint: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLT_TEST_FAKE_KEY", FAKE_KEY)
    set_file = tmp_path / "fakeai.toml"
    set_file.write_text(
        "\n".join(
            f'[[models]]\nname = "{name}"\nparameters = {params}\n'
            f'base_url = "{llm_fake_endpoint.base_url}"\nmodel = "m-{name}"\n'
            'api_key_env = "COLT_TEST_FAKE_KEY"\nstructured_output = "json_schema"\n'
            "timeout_s = 0.5\nretries = 1\n"
            for name, params in (("small", 1e9), ("large", 7e10))
        )
    )
    model_set = load_model_set(set_file)
    run_dir = tmp_path / "run"
    proposals = []
    with _proposer(model_set, run_dir / "llm_calls.jsonl") as proposer:
        for mode in ("ok", "500", "hang", "garbage"):
            llm_fake_endpoint.mode = mode
            proposals.append(proposer.propose("small", _context()))
    assert llm_fake_endpoint.requests[0]["authorization"] == f"Bearer {FAKE_KEY}"
    assert [p.error_kind for p in proposals] == [None, "http_error", "timeout", "unparsable"]
    assert all(FAKE_KEY not in p.error_detail for p in proposals)
    assert "boom" in proposals[1].error_detail  # the message survives, the key does not
    written = [p for p in run_dir.rglob("*") if p.is_file()]
    assert written
    for path in written:
        assert FAKE_KEY not in path.read_text()


def test_check_set_rows(llm_fake_endpoint: FakeOpenAI, tmp_path: Path) -> None:
    refused = f"http://127.0.0.1:{free_port()}/v1"
    set_file = tmp_path / "check.toml"
    set_file.write_text(
        "\n".join(
            f'[[models]]\nname = "{name}"\nparameters = 1e9\nbase_url = "{url}"\n'
            f'model = "m"\ntimeout_s = 0.5\nretries = 0\n'
            for name, url in (("up", llm_fake_endpoint.base_url), ("down", refused))
        )
    )
    llm_fake_endpoint.answer = '{"transformations": ["Parallel"], "next_model": "up"}'
    rows = check_set(str(set_file), log_dir=tmp_path)
    assert [(row["model"], row["ok"]) for row in rows] == [("up", True), ("down", False)]
    assert rows[1]["error"].startswith("connection_refused")
    assert set(rows[0]) == {"model", "ok", "latency_s", "error"}


def test_run_session_wiring(llm_fake_endpoint: FakeOpenAI, tmp_path: Path) -> None:
    from colt.config import TuneConfig
    from colt.llm.serving import llm_proposer

    set_file = tmp_path / "two.toml"
    set_file.write_text(
        "\n".join(
            f'[[models]]\nname = "{name}"\nparameters = {params}\n'
            f'base_url = "{llm_fake_endpoint.base_url}"\nmodel = "m"\ntimeout_s = 0.5\n'
            for name, params in (("small", 1e9), ("large", 7e10))
        )
    )
    config = TuneConfig(model_set=str(set_file), models=("small",))
    with llm_proposer(config, tmp_path / "run") as (proposer, infos):
        assert infos == (ModelInfo("small", 1e9),)
        proposal = proposer.propose("small", _context())
    assert proposal.error_kind is None  # the vocabulary came with the context
    assert (tmp_path / "run" / "llm_calls.jsonl").is_file()


def test_embedded_servers_start_at_the_first_call_and_only_then(
    llm_fake_endpoint: FakeOpenAI, tmp_path: Path
) -> None:
    """A run's embedded servers start when a model is first asked: a search that never asks
    one pays nothing for them."""
    not_served = ModelSet(
        name="fake",
        models=tuple(
            _spec(name, llm_fake_endpoint.base_url).model_copy(
                update={"base_url": None, "embedded": "gemma3-270m"}
            )
            for name in ("small", "large")
        ),
    )
    live = _set(llm_fake_endpoint.base_url)
    started: list[ModelSet] = []

    def go_live() -> ModelSet:
        started.append(live)
        return live

    fast = functools.partial(ChatClient, backoff_s=0.01)
    log = tmp_path / "llm_calls.jsonl"
    with LLMProposer(
        not_served, VOCABULARY, {}, log_path=log, client_factory=fast, go_live=go_live
    ) as proposer:
        assert started == [] and proposer.model_set is not_served
        first = proposer.propose("small", _context())
        second = proposer.propose("large", _context())
    assert len(started) == 1 and proposer.model_set is live
    assert first.error_kind is None and second.error_kind is None
    assert len(llm_fake_endpoint.requests) == 2
