"""Remote devices that hang or drop mid-run: a real tracker and real servers on 127.0.0.1, one
stopped with SIGSTOP (it stays registered and silent, as a wedged machine does), one killed.

Every process these tests start belongs to a LoopbackDevices, which kills its process groups
(stopped ones included) when the test ends; nothing here touches an address outside 127.0.0.0/8.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tvm

from colt.api import tune
from colt.config import SearchConfig, TuneConfig
from colt.schedule.devices import DevicesLost, TrackedDevices
from colt.schedule.loopback import LoopbackDevices
from colt.schedule.measure import EVALUATOR

pytestmark = pytest.mark.slow

TRIALS = 16
DEADLINE_S = 8.0


def _config(rpc: str, out: Path, **settings: Any) -> TuneConfig:
    return TuneConfig(
        workload="matmul-small",
        proposer="random",
        trials=TRIALS,
        rpc=rpc,
        out_dir=out,
        device_deadline_s=DEADLINE_S,
        use_records=False,  # the same sessions in the same order every time
        search=SearchConfig(trials_per_round=8),
        **settings,
    )


def _read(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    return json.loads((run_dir / "results.json").read_text()), _journal(run_dir)


def _journal(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]


def _on_session(number: int, act: Callable[[int], None]) -> Callable[..., Any]:
    """tvm.rpc.connect that, once the ``number``-th session is open, calls ``act(port)`` on
    its server: the session's work then meets a silent or a dead server."""
    real_connect = tvm.rpc.connect
    opened: list[int] = []

    def connect(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        session = real_connect(host, port, *args, **kwargs)
        opened.append(port)
        if len(opened) == number:
            act(port)
        return session

    return connect


def test_the_heartbeat_loses_a_silent_or_vanished_server_and_readmits_one_that_answers() -> None:
    with LoopbackDevices(2) as loop:
        health = TrackedDevices(loop.address, EVALUATOR, 30.0).health
        hung, killed = loop.server_address(0), loop.server_address(1)
        health.beat()
        assert health.lost == {}
        loop.hang_server(0)
        health.beat()
        assert set(health.lost) == {hung}
        loop.resume_server(0)
        health.beat()
        assert health.lost == {}
        loop.kill_server(1)
        deadline = time.monotonic() + 30
        while loop.registered() != 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        health.beat()
        assert health.lost == {killed: "the tracker no longer lists it"}
    changes = [(c.device, c.state) for c in health.take_changes()]
    assert changes == [(hung, "lost"), (hung, "readmitted"), (killed, "lost")]
    assert health.take_changes() == []


def test_a_run_survives_a_device_that_hangs_and_one_killed_mid_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three servers: the one holding the 3rd session is stopped inside it (the measurement
    passes its deadline), the one holding the 7th is killed inside it. The run measures its
    whole budget on the survivors, journals each sample once and records both losses."""
    acted: dict[str, str] = {}
    with LoopbackDevices(3) as loop:

        def hang_then_kill(port: int) -> None:
            index = loop.server_index(port)
            acted["hung"] = loop.server_address(index)
            loop.hang_server(index)
            later = _on_session(4, lambda p: _kill(loop, p, acted))
            monkeypatch.setattr(tvm.rpc, "connect", later)

        monkeypatch.setattr(tvm.rpc, "connect", _on_session(3, hang_then_kill))
        run_dir = tune(_config(loop.rpc, tmp_path / "run"), progress=False)
        survivors = {loop.server_address(i) for i in range(3)} - set(acted.values())
    results, journal = _read(run_dir)
    assert results["status"] == "complete" and results["samples"] == TRIALS
    assert results["verified"]
    measured = [e for e in journal if e["kind"] == "measure"]
    keys = [json.dumps(e["key"]) for e in measured]
    assert len(keys) == TRIALS and len(set(keys)) == TRIALS  # each sample journaled once
    assert not [p for p in results["curve"] if "no device could time it" in (p["error"] or "")]
    timed = [p for p in results["curve"] if p["latency_s"] is not None]
    records = (run_dir / "database" / "database_tuning_record.json").read_text().splitlines()
    assert len(records) == len(timed)  # nothing timed twice into the database
    lost = {e["device"]: e["reason"] for e in results["device_events"] if e["state"] == "lost"}
    assert "measurement deadline" in lost[acted["hung"]]
    assert acted["killed"] in lost
    assert [e for e in journal if e["kind"] == "device"] == [
        {"kind": "device", **event} for event in results["device_events"]
    ]
    retried = [p for p in results["curve"] if p["retries"]]
    assert {r.split(": ", 1)[0] for p in retried for r in p["retries"]} == set(acted.values())
    assert {p["device"] for p in timed} <= survivors | set(acted.values())
    after = results["curve"][results["curve"].index(retried[-1]) + 1 :]
    assert all(p["device"] in survivors for p in after if p["device"])


def _kill(loop: LoopbackDevices, port: int, acted: dict[str, str]) -> None:
    acted["killed"] = loop.server_address(loop.server_index(port))
    loop.kill_server(loop.server_index(port))


def test_with_every_device_lost_the_run_measures_here_when_allowed_and_stops_when_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LoopbackDevices(1) as loop:
        monkeypatch.setattr(tvm.rpc, "connect", _on_session(3, lambda p: loop.kill_server(0)))
        run_dir = tune(_config(loop.rpc, tmp_path / "here", local_fallback=True), progress=False)
    results, _ = _read(run_dir)
    assert results["status"] == "complete" and results["samples"] == TRIALS
    assert results["verified"]
    assert "local" in {p["device"] for p in results["curve"]}
    assert [e["state"] for e in results["device_events"]] == ["lost"]

    with LoopbackDevices(1) as loop:
        monkeypatch.setattr(tvm.rpc, "connect", _on_session(3, lambda p: loop.kill_server(0)))
        with pytest.raises(DevicesLost, match="--local-fallback, and continue with --resume"):
            tune(_config(loop.rpc, tmp_path / "stopped"), progress=False)
    journal = _journal(tmp_path / "stopped")
    assert [e["state"] for e in journal if e["kind"] == "device"] == ["lost"]
    assert not [e for e in journal if e["kind"] == "measure" and e["error"]]
