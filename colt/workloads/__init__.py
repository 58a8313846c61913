"""Workloads to tune: built-in model layers at their real dimensions, and user kernels.

Each family module (``matmul``, ``attention``, ``moe``, ``conv``, ``mlp``) defines its TE
program, a float64 numpy reference, a PyTorch implementation, and ``WORKLOADS``; every
built-in has a ``-small`` twin with tiny dimensions for tests. ``tvm_suite`` adds TVM's own
MetaSchedule test workloads (``tvm-c2d``, ...) at TVM's own shapes (the sizing rule below does
not apply to them), with numpy references but no PyTorch or ``-small`` twins (their tests run
them at TVM's shapes). ``get_workload`` also accepts
``path/to/file.py:function`` (see ``colt.workloads.user``). Nothing here compiles at import.

Sizes: the model dimensions are the real ones; the free sizes (tokens, sequence, spatial grid)
are the largest whose unscheduled build runs in at most ~0.7 s on the project's 2-core VM, so
that even with the cores shared a naive run stays well under 2 s. Tolerances (atol = rtol) are
20-150 times the error of the unscheduled build against the float64 reference, measured as
max |actual - expected| / (1 + |expected|) and written in each module's docstring.
"""

from __future__ import annotations

from ..errors import UserError, unknown_choice
from . import attention, conv, matmul, mlp, moe, networks, tvm_suite
from .base import FAMILIES, Workload
from .inputs import make_inputs
from .networks import Network
from .user import is_user_spec, load_user_workload

__all__ = [
    "FAMILIES",
    "Network",
    "Workload",
    "get_kernel",
    "get_workload",
    "make_inputs",
    "workload_names",
]

_BUILTINS: dict[str, Workload | Network] = {
    workload.name: workload
    for module in (matmul, attention, moe, conv, mlp, tvm_suite)
    for workload in module.WORKLOADS
}
_BUILTINS.update({network.name: network for network in networks.NETWORKS})


def workload_names(include_small: bool = True, *, networks: bool = True) -> list[str]:
    """Built-in workload names in registry order (full-size and, optionally, small variants),
    kernels first, then networks unless ``networks`` is False."""
    return [
        name
        for name, workload in _BUILTINS.items()
        if (include_small or not workload.small) and (networks or isinstance(workload, Workload))
    ]


def get_kernel(spec: str) -> Workload:
    """``get_workload`` for the commands that take one kernel only (bench, library timings)."""
    workload = get_workload(spec)
    if isinstance(workload, Network):
        raise UserError(
            f"{spec} is a network; this command takes one kernel "
            f"({', '.join(workload_names(networks=False))})"
        )
    return workload


def get_workload(spec: str) -> Workload | Network:
    """A built-in kernel or network by name, or a user one given as ``path/to/file.py:function``.

    Raises ``colt.errors.UserError`` with one sentence for unknown names and bad user kernels.
    """
    if spec in _BUILTINS:
        return _BUILTINS[spec]
    if is_user_spec(spec):
        return load_user_workload(spec)
    if spec.endswith(".py"):
        raise UserError(f"user kernel {spec!r} needs a function name, as in {spec}:function")
    raise unknown_choice("workload", spec, workload_names())
