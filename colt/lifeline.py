"""Child processes that die with the process that started them.

A ``colt`` killed with SIGKILL runs no cleanup, so what it started has to end by itself: a
MetaSchedule worker would otherwise finish a build or a timing nobody waits for (minutes of a
busy core for a slow kernel), a server would keep its port and memory. On Linux each child asks
the kernel for a signal when its parent dies (``prctl(PR_SET_PDEATHSIG)``):

- popen workers (TVM's builder and runner pools) in their ``initializer``
  (``worker_initializer()``), the first thing each worker runs;
- commands through this module as a launcher (``lifeline_command``): it sets the signal, then
  execs the command, since the setting survives ``exec``. No code runs between fork and exec
  in the parent's copy, which a ``preexec_fn`` would do in a process that has threads.

The kernel sends the signal when the *thread* that started the child ends, not the process:
every child here is started from the main thread or from a pool thread that lives as long as
its pool. Elsewhere (macOS) nothing is set and the parent's own cleanup is all there is.

``python -m colt.lifeline PARENT_PID [--group] -- COMMAND ...``; with ``--group`` the launcher
stays, runs the command as its child and, when ``PARENT_PID`` dies, kills its whole process
group: for a command whose own children would outlive it (TVM's RPC tracker and server run in
a popen worker of their own, with threads that keep it alive).
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(parent_pid: int, signum: int = signal.SIGKILL) -> None:
    """Asks for ``signum`` when the parent (``parent_pid``) dies; if it died already (this
    process was reparented before the request took effect), exits at once."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"prctl(PR_SET_PDEATHSIG): {os.strerror(error)}")
    if os.getppid() != parent_pid:
        os._exit(1)


def worker_initializer() -> Callable[[], None]:
    """An ``initializer`` for TVM's PopenPoolExecutor, LocalBuilder and LocalRunner: each worker
    then dies with this process. Pickled by reference, so the worker imports only this module."""
    return functools.partial(die_with_parent, os.getpid())


def lifeline_command(command: Sequence[str], *, group: bool = False) -> list[str]:
    """``command`` started through the launcher, so that it dies with this process; with
    ``group``, the launcher leads a process group of its own (a new session, if the caller
    starts it so), and the whole group dies with this process."""
    mode = ["--group"] if group else []
    return [sys.executable, "-m", "colt.lifeline", str(os.getpid()), *mode, "--", *command]


def _kill_own_group(signum: int, frame: object) -> None:
    os.killpg(os.getpgrp(), signal.SIGKILL)  # this launcher included


def _launch(argv: Sequence[str]) -> int:
    parent_pid, rest = int(argv[0]), list(argv[1:])
    group = rest[:1] == ["--group"]
    command = rest[rest.index("--") + 1 :]
    if not group:
        die_with_parent(parent_pid)
        os.execvp(command[0], command)  # returns only by raising
    if os.getpgrp() != os.getpid():
        os.setpgid(0, 0)  # a group of its own: the kill below must not reach the parent's
    signal.signal(signal.SIGTERM, _kill_own_group)  # before asking for it
    die_with_parent(parent_pid, signal.SIGTERM)
    child = subprocess.Popen(command)
    return child.wait()


if __name__ == "__main__":
    sys.exit(_launch(sys.argv[1:]))
