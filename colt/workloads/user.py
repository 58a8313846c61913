"""User kernels: a ``path/to/file.py:function`` that returns a PrimFunc (or an IRModule).

The same function may instead return a network (see ``colt.workloads.networks``): a Relax
IRModule, or a ``(torch.nn.Module, example_inputs)`` pair imported through ``torch.export``.

The function is called with no arguments. Its buffer parameters must be the inputs followed by
the outputs (the buffers the function writes), all with static shapes. A user workload has no
numpy reference: the caller verifies a schedule against the unscheduled build of the same
function. ``flops`` comes from TVM's ``estimate_tir_flops`` and is 0 when that fails.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import tvm

from ..errors import UserError
from .base import Workload
from .inputs import buffer_params, static_shape, written_params
from .networks import Network


def is_user_spec(spec: str) -> bool:
    """A spec names a user kernel when it has a ``:`` (built-in names never do)."""
    return ":" in spec


def load_user_workload(spec: str) -> Workload | Network:
    """Import the file, call the function once to validate it, and wrap it as a workload:
    a kernel for a PrimFunc, a network for a Relax IRModule or a ``(torch.nn.Module, inputs)``."""
    path_text, _, function_name = spec.rpartition(":")
    if not path_text or not function_name:
        raise UserError(f"user kernel {spec!r} must have the form path/to/file.py:function")
    path = Path(path_text).expanduser()
    function = _find_function(_import_file(path), path, function_name)
    result = _call(function, spec)
    network = _as_network(result, spec, path, function_name)
    if network is not None:
        return network
    func = _as_prim_func(result, spec)
    num_outputs = _check_params(func, spec)
    return Workload(
        name=spec,
        family="user",
        description=f"User kernel {function_name}() from {path}.",
        flops=_estimate_flops(func),
        build=lambda: _call_kernel(function, spec),
        num_outputs=num_outputs,
    )


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise UserError(f"user kernel file {str(path)!r} does not exist")
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    module_name = f"colt_user_kernel_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"user kernel file {str(path)!r} cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look modules up here
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise UserError(f"importing {str(path)!r} failed: {_one_line(exc)}") from exc
    return module


def _find_function(module: ModuleType, path: Path, name: str) -> Callable[[], object]:
    function = getattr(module, name, None)
    if callable(function):
        return function
    defined = sorted(
        attr
        for attr, value in vars(module).items()
        if inspect.isfunction(value) and value.__module__ == module.__name__
    )
    listing = f"it defines {', '.join(defined)}" if defined else "it defines no functions"
    raise UserError(f"{str(path)!r} has no function {name!r}; {listing}")


def _call(function: Callable[[], object], spec: str) -> object:
    try:
        return function()
    except Exception as exc:
        raise UserError(f"user kernel {spec} raised {_one_line(exc)}") from exc


def _call_kernel(function: Callable[[], object], spec: str) -> tvm.tirx.PrimFunc:
    return _as_prim_func(_call(function, spec), spec)


def _as_network(result: object, spec: str, path: Path, function_name: str) -> Network | None:
    """A network when ``result`` is a Relax IRModule or a PyTorch module with its inputs."""
    from tvm import relax

    from .networks import import_torch, relax_program

    if isinstance(result, tvm.IRModule):
        if not any(isinstance(f, relax.Function) for _, f in result.functions_items()):
            return None
        program = relax_program(result, spec)
    elif _is_torch_pair(result):
        module, inputs = cast(tuple[Any, Any], result)
        examples = inputs if isinstance(inputs, tuple | list) else (inputs,)
        program = import_torch(module, examples, spec)
    else:
        return None
    return Network(
        name=spec,
        description=f"User network {function_name}() from {path}.",
        build=lambda: program,
    )


def _is_torch_pair(result: object) -> bool:
    if not (isinstance(result, tuple) and len(result) == 2):
        return False
    module_type = getattr(sys.modules.get("torch"), "nn", None)
    return module_type is not None and isinstance(result[0], module_type.Module)


def _as_prim_func(result: object, spec: str) -> tvm.tirx.PrimFunc:
    if isinstance(result, tvm.tirx.PrimFunc):
        return result
    if not isinstance(result, tvm.IRModule):
        raise UserError(
            f"user kernel {spec} returned {type(result).__name__}, expected a tvm.tirx.PrimFunc, "
            "an IRModule (TIR or Relax) or a (torch.nn.Module, example_inputs) pair "
            "(wrap TE tensors with te.create_prim_func([inputs..., outputs...]))"
        )
    prim_funcs = {
        gv.name_hint: f for gv, f in result.functions_items() if isinstance(f, tvm.tirx.PrimFunc)
    }
    if len(prim_funcs) == 1:
        return next(iter(prim_funcs.values()))
    if "main" in prim_funcs:
        return prim_funcs["main"]
    raise UserError(
        f"user kernel {spec} returned an IRModule with {len(prim_funcs)} PrimFuncs "
        f"({', '.join(sorted(prim_funcs)) or 'none'}) and none named 'main'"
    )


def _check_params(func: tvm.tirx.PrimFunc, spec: str) -> int:
    """Validate the parameters and return the number of outputs (the trailing written buffers)."""
    buffers = buffer_params(func)
    scalars = [param.name for param in func.params if not isinstance(param, tvm.tirx.Buffer)]
    if scalars:
        raise UserError(
            f"user kernel {spec} has scalar parameters ({', '.join(scalars)}); "
            "only buffer parameters with static shapes are supported"
        )
    symbolic = [buffer.name for buffer in buffers if static_shape(buffer) is None]
    if symbolic:
        raise UserError(
            f"user kernel {spec} has buffers with symbolic shapes "
            f"({', '.join(symbolic)}); give them static shapes"
        )
    return _count_outputs(func, spec)


def _count_outputs(func: tvm.tirx.PrimFunc, spec: str) -> int:
    try:
        written = written_params(func)
    except Exception:  # no s_tir blocks to analyse: assume the usual single trailing output
        return 1
    if not any(written):
        raise UserError(f"user kernel {spec} writes none of its parameters, so it has no output")
    first_output = written.index(True)
    if not all(written[first_output:]):
        names = [param.name for param in func.params]
        raise UserError(
            f"user kernel {spec} must list its inputs before its outputs, "
            f"but its parameters are {', '.join(names)} and it writes "
            f"{', '.join(n for n, w in zip(names, written, strict=True) if w)}"
        )
    return len(written) - first_output


def _estimate_flops(func: tvm.tirx.PrimFunc) -> float:
    try:
        from tvm.s_tir.analysis import estimate_tir_flops

        return float(estimate_tir_flops(tvm.IRModule({"main": func})))
    except Exception:  # unknown constructs: report 0 rather than refuse the kernel
        return 0.0


def _one_line(exc: BaseException) -> str:
    """``Type: first line of the message``, so the UserError stays one sentence."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
