"""The TVM target a run builds for, and the toolchain it builds with, as plain data."""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

import tvm

from colt.errors import UserError, last_line
from colt.schedule.program import host_target


def resolve_target(spec: str | None, num_threads: int | None) -> tvm.target.Target:
    """The host CPU through llvm (mcpu detected) unless ``spec`` is a JSON target."""
    if spec is None:
        return host_target(num_threads)
    try:
        data = json.loads(spec)
    except json.JSONDecodeError:
        raise UserError(
            f'--target must be a JSON object such as \'{{"kind": "llvm", "mcpu": '
            f'"skylake-avx512", "num-cores": 2}}\', not {spec!r}'
        ) from None
    if not isinstance(data, dict) or data.get("kind") != "llvm":
        raise UserError(f'unsupported target {spec}; COLT tunes CPU targets: kind must be "llvm"')
    try:
        return tvm.target.Target(data)
    except Exception as error:
        raise UserError(f"TVM rejected the target {spec}: {last_line(error)}") from None


def target_json(target: tvm.target.Target) -> dict[str, Any]:
    return {str(k): _plain(v) for k, v in dict(target.export()).items()}


def toolchain_versions() -> dict[str, str]:
    import xgboost

    return {
        "tvm": tvm.__version__,
        "tvm_ffi": version("apache-tvm-ffi"),
        "xgboost": xgboost.__version__,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "value"):
        return value.value
    if (
        isinstance(value, (list, tuple))
        or hasattr(value, "__iter__")
        and not isinstance(value, dict)
    ):
        return [_plain(v) for v in value]
    return str(value)
