"""What runs inside one RPC session with a device: timing a built candidate with MetaSchedule's
RPC runner steps, and running a built library once on the check's inputs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tvm


def time_remote(
    session: Any,
    dev: Any,
    artifact: Path,
    args_info: tuple,
    evaluator: Any,
    evaluate: Callable[..., list[float]] | None = None,
) -> list[float]:
    """``evaluate``: a screening evaluator (``screened_evaluator``), None: MetaSchedule's."""
    from tvm.s_tir.meta_schedule.runner import rpc_runner

    remote_path = artifact.name
    try:
        rt_mod = rpc_runner.default_upload_module(session, str(artifact), remote_path)
        args = rpc_runner.default_alloc_argument(session, dev, args_info, 1)
        if evaluate is not None:
            return list(evaluate(rt_mod, dev, evaluator, args))
        return list(rpc_runner.default_run_evaluator(session, rt_mod, dev, evaluator, args))
    finally:
        rpc_runner.default_cleanup(session, remote_path)


def run_remote(session: Any, path: Path, arrays: list[np.ndarray]) -> list[np.ndarray]:
    session.upload(str(path), path.name)
    try:
        lib = session.load_module(path.name)
        dev = session.cpu(0)
        tensors = [tvm.runtime.tensor(array, dev) for array in arrays]
        lib["main"](*tensors)
        return [t.numpy() for t in tensors]
    finally:
        session.remove(path.name)
