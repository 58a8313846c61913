"""Embedded model servers: one ``llama_cpp.server`` process per model on 127.0.0.1.

``EmbeddedServers`` starts them, waits until each answers ``/v1/models`` and stops them on
exit, on Ctrl-C, on errors, at interpreter exit and on SIGTERM. Each process runs in its own
process group (the whole group is killed) and dies with its parent (see ``colt.llm._child``),
so servers never outlive the run that started them. ``colt models serve`` records its servers
in ``servers.json`` under the cache dir; runs reuse those and leave them running.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from colt import interrupt
from colt.disk import write_atomic
from colt.errors import UserError
from colt.llm.sets import ModelSpec
from colt.llm.weights import EMBEDDED_WEIGHTS, cache_dir

HOST = "127.0.0.1"
STOP_GRACE_S = 5.0  # SIGTERM, then SIGKILL after this long
# Every core per server unless $COLT_LLM_THREADS says otherwise: without overlap the models
# answer one at a time while nothing else runs, so the answering server has the cores to
# itself. The default job (matmul, 64 samples, seed 0) on the 2-core VM spent 577 s in model
# calls with one thread per server and 295 s with two (docs/results/2026-12-02-default-job).
# With another process busy on the cores, one thread was faster (a 16-token answer: 0.5 s
# against 1.2 s), since llama.cpp's threads wait on each other at every step.


def server_threads() -> int:
    value = os.environ.get("COLT_LLM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else (os.cpu_count() or 1)


_live: dict[int, subprocess.Popen[bytes]] = {}  # pid -> process, for the atexit safety net


@dataclass(frozen=True)
class ServerRecord:
    """One running server, as written to ``servers.json``."""

    name: str  # model name in the set
    model_id: str  # alias the server answers to
    weights: str  # key of EMBEDDED_WEIGHTS
    n_ctx: int
    port: int
    pid: int
    log_path: str

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet reaped) counts as dead."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def healthy(record: ServerRecord, *, timeout_s: float = 2.0) -> bool:
    """True when the server lists ``record.model_id`` on ``/v1/models``."""
    try:
        listed = httpx.get(f"{record.base_url}/models", timeout=timeout_s).json()
    except (httpx.HTTPError, ValueError):
        return False
    return any(m.get("id") == record.model_id for m in listed.get("data", []))


def _server_config(spec: ModelSpec, gguf: Path, port: int, threads: int) -> dict[str, Any]:
    weights = EMBEDDED_WEIGHTS[str(spec.embedded)]
    model: dict[str, Any] = {
        "model": str(gguf),
        "model_alias": spec.model,
        "n_ctx": spec.context_window,
        "n_threads": threads,
        "n_threads_batch": threads,
        "logits_all": False,  # True took gemma to 2.5 GB
        "flash_attn": True,  # the same answers ~6 % sooner on 2 CPU cores (A/B, 2026-12-07)
        "verbose": False,
    }
    if weights.chat_format:
        model["chat_format"] = weights.chat_format
    return {"host": HOST, "port": port, "interrupt_requests": True, "models": [model]}


def _log_tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, SIGKILL after ``STOP_GRACE_S``; always reaps."""
    for sig, wait_s in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, STOP_GRACE_S)):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue
    _live.pop(process.pid, None)


def _stop_all_live() -> None:
    for process in list(_live.values()):
        stop_process(process)


atexit.register(_stop_all_live)


class EmbeddedServers:
    """Context manager running one server per embedded model spec; ``records`` once entered."""

    def __init__(
        self,
        specs: Sequence[ModelSpec],
        log_dir: Path,
        *,
        threads: int | None = None,
        startup_timeout_s: float = 180.0,
    ) -> None:
        self.specs = tuple(specs)
        self.log_dir = Path(log_dir)
        self.threads = threads or server_threads()
        self.startup_timeout_s = startup_timeout_s
        self.records: tuple[ServerRecord, ...] = ()
        self._processes: list[subprocess.Popen[bytes]] = []
        self._sigterm: contextlib.ExitStack[bool | None] | None = None

    @property
    def urls(self) -> dict[str, str]:
        return {r.name: r.base_url for r in self.records}

    def __enter__(self) -> EmbeddedServers:
        self._install_sigterm()
        try:
            pending = [self._launch(spec) for spec in self.specs]
            self._wait_healthy(pending)
        except BaseException:
            self.stop()
            raise
        self.records = tuple(pending)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _launch(self, spec: ModelSpec) -> ServerRecord:
        gguf = EMBEDDED_WEIGHTS[str(spec.embedded)].path()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        config_path = self.log_dir / f"{spec.name}.config.json"
        config = _server_config(spec, gguf, port, self.threads)
        write_atomic(config_path, json.dumps(config, indent=2))
        log_path = self.log_dir / f"{spec.name}.log"
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "colt.llm._child", str(os.getpid()), str(config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group; Ctrl-C reaches us, not it
            )
        _live[process.pid] = process
        self._processes.append(process)
        record = ServerRecord(
            spec.name,
            str(spec.model),  # an embedded model always has one (ModelSpec's validator)
            str(spec.embedded),
            spec.context_window,
            port,
            process.pid,
            str(log_path),
        )
        return record

    def _wait_healthy(self, records: list[ServerRecord]) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        waiting = list(zip(records, self._processes, strict=True))
        while waiting:
            for record, process in list(waiting):
                if process.poll() is not None:
                    raise UserError(
                        f"the embedded server for {record.name} exited with status "
                        f"{process.returncode}; see {record.log_path}: "
                        f"{_log_tail(Path(record.log_path))}"
                    )
                if healthy(record, timeout_s=1.0):
                    waiting.remove((record, process))
            if waiting and time.monotonic() > deadline:
                names = ", ".join(r.name for r, _ in waiting)
                raise UserError(
                    f"the embedded server for {names} did not become healthy within "
                    f"{self.startup_timeout_s:.0f} s; see {self.log_dir}"
                )
            if waiting:
                time.sleep(0.25)

    def stop(self) -> None:
        for process in self._processes:
            stop_process(process)
        self._processes.clear()
        self._restore_sigterm()

    def _install_sigterm(self) -> None:
        """SIGTERM stops a run like Ctrl-C (so ``__exit__`` runs) while the servers are up,
        unless the program already handles it (the CLI does, the same way)."""
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            self._sigterm = contextlib.ExitStack()
            self._sigterm.enter_context(interrupt.stopping_on_signals((signal.SIGTERM,)))

    def _restore_sigterm(self) -> None:
        if self._sigterm is not None:
            self._sigterm.close()
            self._sigterm = None


def state_path() -> Path:
    return cache_dir() / "servers.json"


def write_state(records: Sequence[ServerRecord]) -> None:
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"owner_pid": os.getpid(), "servers": [asdict(r) for r in records]}
    partial = path.with_suffix(f".tmp-{os.getpid()}")
    partial.write_text(json.dumps(data, indent=2))
    os.replace(partial, path)


def clear_state() -> None:
    """Removes ``servers.json`` if this process wrote it."""
    path = state_path()
    try:
        if json.loads(path.read_text()).get("owner_pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def served_records() -> tuple[ServerRecord, ...]:
    """Records of ``colt models serve`` servers that are alive (health not yet checked)."""
    try:
        data = json.loads(state_path().read_text())
        records = tuple(ServerRecord(**r) for r in data.get("servers", []))
    except (OSError, ValueError, TypeError):
        return ()
    return tuple(r for r in records if pid_alive(r.pid))


def reusable(spec: ModelSpec, records: Sequence[ServerRecord]) -> ServerRecord | None:
    """A healthy served record matching ``spec`` (same weights, alias and context size)."""
    for record in records:
        same = (record.name, record.model_id, record.weights, record.n_ctx) == (
            spec.name,
            spec.model,
            spec.embedded,
            spec.context_window,
        )
        if same and healthy(record):
            return record
    return None
