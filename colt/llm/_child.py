"""Entry point of one embedded server process: dies with its parent, then runs llama_cpp.server.

``python -m colt.llm._child PARENT_PID CONFIG_FILE``. On Linux the kernel sends SIGKILL to this
process when the thread that started it exits (``PR_SET_PDEATHSIG`` survives ``exec`` and
holds here because the server runs in this same process), so a killed run never leaves a
server behind.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL))
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        sys.exit(1)


def main() -> None:
    parent_pid, config_file = int(sys.argv[1]), sys.argv[2]
    _die_with_parent(parent_pid)
    sys.argv = ["llama_cpp.server", "--config_file", config_file]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
