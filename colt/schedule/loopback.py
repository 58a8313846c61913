"""A real RPC tracker and servers on 127.0.0.1, started with TVM's own modules, for trying
``--rpc`` on one machine (the tests and the remote-measurement benchmark use it).

Each process gets a session of its own, and stopping kills the whole process group. TVM runs
the tracker and every server in a popen worker child, which outlives a plain ``terminate``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from types import TracebackType

from colt.lifeline import lifeline_command
from colt.schedule.tracker import TrackerAddress, tracker_devices
from colt.worker_site import pythonpath

HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class LoopbackDevices:
    """``servers`` RPC servers under ``key`` behind one tracker, all on 127.0.0.1."""

    def __init__(self, servers: int = 2, *, key: str = "cpu", threads: int = 1) -> None:
        self.key = key
        self.threads = threads
        self.tracker_port = _free_port()
        self.tracker: subprocess.Popen[bytes] | None = None
        self.servers: list[subprocess.Popen[bytes]] = []
        self.count = servers

    @property
    def rpc(self) -> str:
        """The ``--rpc`` value that measures on these servers."""
        return f"{HOST}:{self.tracker_port}:{self.key}"

    @property
    def address(self) -> TrackerAddress:
        return TrackerAddress(HOST, self.tracker_port, self.key)

    def __enter__(self) -> LoopbackDevices:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self, timeout_s: float = 120.0) -> None:
        port = str(self.tracker_port)
        self.tracker = self._spawn(
            "tvm.exec.rpc_tracker", "--host", HOST, "--port", port, "--port-end", str(int(port) + 1)
        )
        deadline = time.monotonic() + timeout_s
        self._wait(lambda: self._listed() is not None, deadline, "the tracker to listen")
        for _ in range(self.count):
            self.add_server()
        self._wait(lambda: self._listed() == self.count, deadline, "the servers to register")

    def add_server(self) -> None:
        port = _free_port()
        self.servers.append(
            self._spawn(
                "tvm.exec.rpc_server",
                "--host",
                HOST,
                "--port",
                str(port),
                "--port-end",
                str(port + 1),
                "--tracker",
                f"{HOST}:{self.tracker_port}",
                "--key",
                self.key,
            )
        )

    def kill_server(self, index: int) -> None:
        """Kills server ``index`` and everything it started, as a crash or power cut would."""
        _kill_group(self.servers[index])

    def hang_server(self, index: int) -> None:
        """Stops server ``index`` and everything it started (SIGSTOP), as a wedged machine
        would: it stays registered with the tracker and its sockets stay open, silent."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.servers[index].pid, signal.SIGSTOP)

    def resume_server(self, index: int) -> None:
        """Lets a hung server ``index`` run again (SIGCONT)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.servers[index].pid, signal.SIGCONT)

    def server_address(self, index: int) -> str:
        """Server ``index``'s host:port, as the tracker lists it and samples record it."""
        args = [str(arg) for arg in self.servers[index].args]  # type: ignore[union-attr]
        return f"{HOST}:{args[args.index('--port') + 1]}"

    def server_index(self, port: int) -> int:
        return [self.server_address(i) for i in range(len(self.servers))].index(f"{HOST}:{port}")

    def stop(self) -> None:
        for process in [*self.servers, *([self.tracker] if self.tracker else [])]:
            _kill_group(process)

    def registered(self) -> int:
        return self._listed() or 0

    def _listed(self) -> int | None:
        """Servers registered under the key; None while the tracker does not answer."""
        try:
            keys = tracker_devices(self.address, timeout_s=2.0)
        except Exception:
            return None
        return len(keys.get(self.key, {}).get("devices", []))

    def _spawn(self, module: str, *args: str) -> subprocess.Popen[bytes]:
        env = dict(
            os.environ,
            TVM_NUM_THREADS=str(self.threads),
            PYTHONPATH=pythonpath(os.environ.get("PYTHONPATH")),  # no PyTorch in TVM's RPC
        )
        # Through the launcher: the tracker and servers (and the popen workers TVM runs them
        # in) die with the process that started them, even one killed with SIGKILL.
        return subprocess.Popen(
            lifeline_command([sys.executable, "-m", module, *args, "--silent"], group=True),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _wait(self, ready: Callable[[], bool], deadline: float, what: str) -> None:
        while not ready():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what} on {HOST}:{self.tracker_port}")
            time.sleep(0.5)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    # The group outlives its leader while TVM's popen child lives: kill it either way.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
