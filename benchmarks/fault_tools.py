"""What the fault suite (``benchmarks/faults.py``) injects faults with and counts them by:
a colt command watched by process id, the samples a run journaled, a loopback chat endpoint
that answers garbage, a small disk, and an independent check of a run's reported kernel."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil

COLT = [sys.executable, "-m", "colt.cli"]
DEVICE_ERRORS = ("no device could time it", "unverified")  # a sample a device fault cost


class Watched:
    """``colt ARGS`` in a session of its own. Every process it starts is noted by process id
    (with its start time, so a reused id is not mistaken for it) while it runs: those still
    alive once it has ended are its orphans."""

    def __init__(self, args: list[str], *, env: dict[str, str] | None = None) -> None:
        self.stderr = tempfile.TemporaryFile(mode="w+")  # a pipe would wait for orphans
        self.process = subprocess.Popen(
            [*COLT, *args],
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
            text=True,
            start_new_session=True,
            env=env,
        )
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                for child in psutil.Process(self.process.pid).children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        self.seen.setdefault(child.pid, child.create_time())
            self._stop.wait(0.1)

    def wait_until(self, ready: Callable[[], bool], timeout_s: float = 300.0) -> bool:
        """Waits for ``ready()`` while the command runs; whether it became true."""
        deadline = time.monotonic() + timeout_s
        while self.process.poll() is None and time.monotonic() < deadline:
            if ready():
                return True
            time.sleep(0.1)
        return ready()

    def kill(self) -> None:
        """SIGKILL to the parent alone, as a crash or the OOM killer would send it."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGKILL)

    def finish(self, timeout_s: float = 600.0) -> tuple[int, str]:
        """(exit status, stderr); a command past ``timeout_s`` is killed (status -9)."""
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            self.process.wait()
        self.stderr.seek(0)
        return self.process.returncode, self.stderr.read()

    def orphans(self, grace_s: float = 10.0) -> list[str]:
        """The processes it started that outlived it by ``grace_s``, described, then killed."""
        self._stop.set()
        self._thread.join()
        alive = [p for p in (_same(pid, t) for pid, t in self.seen.items()) if p is not None]
        _, alive = psutil.wait_procs(alive, timeout=grace_s)
        described = []
        for survivor in alive:
            with contextlib.suppress(psutil.Error):
                described.append(f"{survivor.pid} {' '.join(survivor.cmdline())[:100]}")
                survivor.kill()
        with contextlib.suppress(ProcessLookupError):  # whatever is left of its session
            os.killpg(self.process.pid, signal.SIGKILL)
        return described


def _same(pid: int, created: float) -> psutil.Process | None:
    with contextlib.suppress(psutil.Error):
        process = psutil.Process(pid)
        if abs(process.create_time() - created) < 0.01:
            return process
    return None


def journal_events(path: Path, kind: str) -> list[dict[str, Any]]:
    """The events of ``kind`` in a journal, up to a line a kill tore."""
    events = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return [e for e in events if e.get("kind") == kind]


def measured(run_dir: Path) -> list[dict[str, Any]]:
    """Every sample a kernel run (its journal) or a network run (its tasks' journals) holds."""
    journals = [run_dir / "journal.jsonl", *sorted((run_dir / "tasks").glob("*/journal.jsonl"))]
    return [e for journal in journals for e in journal_events(journal, "measure")]


def samples_lost(before: list[dict[str, Any]], after: list[dict[str, Any]], budget: int) -> int:
    """Samples the fault cost: journaled before it but gone or changed after the resume, the
    budget not measured, and samples whose only error is that no device could time them."""
    kept = {json.dumps(e, sort_keys=True) for e in after}
    gone = sum(json.dumps(e, sort_keys=True) not in kept for e in before)
    by_device = sum(any(m in (e.get("error") or "") for m in DEVICE_ERRORS) for e in after)
    unique = len({json.dumps(e["key"]) for e in after})
    return gone + max(budget - unique, 0) + by_device


class GarbageEndpoint:
    """A loopback OpenAI-compatible chat endpoint that answers garbage: every other call HTML
    with status 200, the rest a well-formed completion whose content is noise."""

    def __init__(self) -> None:
        self.calls = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.calls += 1
                body, kind = outer.answer()
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self) -> tuple[bytes, str]:
        if self.calls % 2:
            return b"<html>502 upstream said \x00\xff nothing</html>", "text/html"
        noise = '{"transformations": ["rm -rf", 42, null], "next_model": "nobody"} trailing'
        completion = {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "garbage",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": noise}}],
        }
        return json.dumps(completion).encode(), "application/json"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def model_set(self, folder: Path) -> Path:
        path = folder / "garbage.toml"
        path.write_text(
            "\n".join(
                f'[[models]]\nname = "{name}"\nparameters = {size}\nbase_url = "{self.base_url}"\n'
                f'model = "garbage-{name}"\ntimeout_s = 5\nretries = 1\n'
                for name, size in (("small", 1e9), ("large", 7e10))
            )
        )
        return path

    def __enter__(self) -> GarbageEndpoint:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def small_disk(path: Path, size: str = "64m") -> Iterator[Path | None]:
    """A tmpfs of ``size`` at ``path``; None where mounting is not allowed (not root)."""
    path.mkdir(parents=True)
    if os.geteuid() != 0:
        yield None
        return
    name = f"colt-faults-{os.getpid()}"
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", name, str(path)])
    if done.returncode != 0:
        yield None
        return
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder: Path) -> Path:
    """Fills the disk holding ``folder`` to the last byte; the filler file to delete."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as stream:
        for block in (65536, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    stream.write(b"\0" * block)
    return filler


def reported_kernel_is_wrong(run_dir: Path, workload: str) -> bool:
    """Whether the kernel the run reports (exported from its database) computes anything but
    the reference, run here on this machine's CPU."""
    import numpy as np
    import tvm

    from colt import cli
    from colt.workloads import Workload, get_workload, make_inputs

    library = run_dir.parent / f"{run_dir.name}-best.so"
    if cli.main(["export", str(run_dir), str(library)]) != 0:
        return False  # nothing reported
    chosen = get_workload(workload)
    assert isinstance(chosen, Workload) and chosen.reference is not None, "a built-in kernel"
    arrays = make_inputs(chosen, chosen.build(), np.random.default_rng(11))
    tensors = [tvm.runtime.tensor(a, tvm.cpu()) for a in arrays]
    tvm.runtime.load_module(str(library))["main"](*tensors)
    expected = chosen.reference(arrays[: len(arrays) - chosen.num_outputs])[0]
    return not np.allclose(tensors[-1].numpy(), expected, rtol=chosen.rtol, atol=chosen.atol)
