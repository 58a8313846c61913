"""A startup for the Python processes COLT starts that keeps PyTorch out of TVM's workers.

``import tvm`` imports PyTorch whenever it is installed (``tvm_ffi`` does so eagerly, for its
DLPack bridge): 1.7-2.6 s of CPU in every process, measured on a 2-core VM, where one of TVM's
popen workers took 4.4 s to start and answer with it and 1.8 s without. TVM's build and
timing workers and its RPC tracker and server never touch a PyTorch tensor, yet a run starts
three of them (two builders, one runner) on two cores, and a builder is replaced after 64
builds. This folder on ``PYTHONPATH`` makes its ``sitecustomize`` run at their start; it
marks PyTorch as absent in those processes only, and leaves every other process as it was.

The folder holds only this package's two files: whatever it holds, every child process could
import.
"""

from __future__ import annotations

import os
from pathlib import Path

SITE_DIR = str(Path(__file__).resolve().parent)


def pythonpath(current: str | None) -> str:
    """``current`` (a ``PYTHONPATH``, or None) with this folder first, once."""
    entries = [entry for entry in (current or "").split(os.pathsep) if entry]
    return os.pathsep.join([SITE_DIR, *(entry for entry in entries if entry != SITE_DIR)])


def keep_torch_out_of_workers() -> None:
    """Every process started from here on gets this folder's startup (the running one is
    already started and keeps PyTorch)."""
    os.environ["PYTHONPATH"] = pythonpath(os.environ.get("PYTHONPATH"))
