"""Entry point of one embedded server process: dies with its parent, then runs llama_cpp.server.

``python -m colt.llm._child PARENT_PID CONFIG_FILE``. On Linux the kernel sends SIGKILL to this
process when the thread that started it exits (``PR_SET_PDEATHSIG`` survives ``exec`` and
holds here because the server runs in this same process), so a killed run never leaves a
server behind.
"""

from __future__ import annotations

import runpy
import sys

from colt.lifeline import die_with_parent


def main() -> None:
    parent_pid, config_file = int(sys.argv[1]), sys.argv[2]
    die_with_parent(parent_pid)
    sys.argv = ["llama_cpp.server", "--config_file", config_file]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
