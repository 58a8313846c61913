"""Python runs this at the start of every process whose ``PYTHONPATH`` holds this folder
(``colt.worker_site``): in TVM's worker processes PyTorch is marked absent, so that
``import tvm`` does not import it; then the ``sitecustomize`` this one hides, if any, runs."""

import importlib.machinery
import importlib.util
import os
import sys

# TVM's entry points that never hand a PyTorch tensor to TVM: builds, timings, RPC.
TORCH_FREE_MODULES = ("tvm.exec.popen_worker", "tvm.exec.rpc_server", "tvm.exec.rpc_tracker")


def _started_module(argv: list[str]) -> str | None:
    """The module of ``python [options] -m MODULE ...``; None for anything else."""
    args = iter(argv[1:])
    for arg in args:
        if arg == "-m":
            return next(args, None)
        if arg in ("-X", "-W"):
            next(args, None)  # the option's value
        elif arg == "-c" or not arg.startswith("-"):
            return None  # a command or a script: no module
    return None


def _run_hidden_sitecustomize() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


if _started_module(getattr(sys, "orig_argv", [])) in TORCH_FREE_MODULES:
    if "torch" not in sys.modules:  # None there: `import torch` raises ImportError at once
        sys.modules["torch"] = None  # type: ignore[assignment]
_run_hidden_sitecustomize()
