"""A tuned kernel as a deployable shared library that TVM's runtime loads.

The run's MetaSchedule database holds every verified program; ``compile_tir`` picks its best
record for the workload, exactly as a user's own TVM build would, and the result is compiled
for the run's target and written with ``export_library``. A short example of calling it from
PyTorch through DLPack is written beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tvm
from tvm.s_tir import meta_schedule as ms

from colt.errors import UserError
from colt.workloads.inputs import buffer_params, static_shape

EXAMPLE_SUFFIX = ".example.py"


def export_kernel(
    run_dir: Path, out: Path, *, workload: Any, target_json: dict[str, Any], headline: str
) -> Path:
    """Writes ``out`` (a ``.so``) and ``out`` + ``.example.py`` (its first line a comment:
    ``headline``); ``target_json``: the run's target. Returns the library path."""
    target = tvm.target.Target(target_json)
    func = workload.build()
    database = ms.database.JSONDatabase(work_dir=str(run_dir / "database"))
    sch = ms.tir_integration.compile_tir(database, func, target)
    if sch is None:
        raise UserError(f"the database of {run_dir} holds no record for {workload.name}")
    lib = tvm.compile(sch.mod, target=target)
    out.parent.mkdir(parents=True, exist_ok=True)
    lib.export_library(str(out))
    example = out.with_name(out.name + EXAMPLE_SUFFIX)
    example.write_text(example_snippet(out, func, headline))
    return out


def example_snippet(library: Path, func: Any, headline: str) -> str:
    """Python that loads ``library`` and calls it on PyTorch tensors through DLPack."""
    params = buffer_params(func)
    lines = [
        f"# {headline}",
        "import torch",
        "import tvm",
        "",
        f"kernel = tvm.runtime.load_module({str(library.resolve())!r})['main']",
    ]
    for index, buffer in enumerate(params):
        shape = static_shape(buffer)
        lines.append(f"arg{index} = torch.zeros({shape}, dtype=torch.{buffer.dtype})")
    args = ", ".join(f"tvm.runtime.from_dlpack(arg{i})" for i in range(len(params)))
    lines += [
        "# fill the inputs, then (the last argument receives the output, in place):",
        f"kernel({args})",
        "",
    ]
    return "\n".join(lines)


def export_network(
    run_dir: Path, out: Path, *, network: Any, target_json: dict[str, Any], headline: str
) -> Path:
    """The tuned forward pass (the run's database applied by ``compile_relax``) as ``out``,
    the weights its ``main`` takes (transformed once) as ``out`` + ``.params.npz`` and a
    PyTorch example as ``out`` + ``.example.py`` (its first line a comment: ``headline``)."""
    from colt.schedule.network import export_network as write
    from colt.schedule.network import params_path

    program = network.build()
    write(run_dir / "database", program, tvm.target.Target(target_json), out)
    example = out.with_name(out.name + EXAMPLE_SUFFIX)
    example.write_text(network_snippet(out, params_path(out), program, headline))
    return out


def network_snippet(library: Path, params: Path, program: Any, headline: str) -> str:
    """Python that loads the network and runs it on PyTorch tensors through DLPack."""
    lines = [
        f"# {headline}",
        "import numpy as np",
        "import torch",
        "import tvm",
        "from tvm import relax",
        "",
        f"vm = relax.VirtualMachine(tvm.runtime.load_module({str(library.resolve())!r}), "
        "tvm.cpu())",
        "# main's weights, already through main_transform_params (the weight-only work, such as",
        "# each Linear's transpose, that the library runs once at load and not in main)",
        f"stored = np.load({str(params.resolve())!r})",
        "weights = [tvm.runtime.tensor(stored[name]) for name in sorted(stored.files)]",
    ]
    for index, array in enumerate(program.inputs):
        lines.append(f"input{index} = torch.zeros({tuple(array.shape)}, dtype=torch.{array.dtype})")
    args = ", ".join(f"tvm.runtime.from_dlpack(input{i})" for i in range(len(program.inputs)))
    lines += [
        "# fill the inputs, then:",
        f"out = vm['main']({args}, *weights)",
        "result = torch.from_dlpack(out if isinstance(out, tvm.runtime.Tensor) else out[0])",
        "",
    ]
    return "\n".join(lines)
